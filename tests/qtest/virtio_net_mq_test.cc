// virtio-net multiqueue on a multiqueue tap (-netdev tap,queues=2 + virtio-net-pci,mq=on), driven
// through qtest as Linux's virtio_net does. The test process moves into network and mount
// namespaces of its own (machina inherits them): the tap is created there, brought up by ioctl,
// read and written through an AF_PACKET socket, and a private sysfs shows how many of its queues
// are attached (tun sets the interface's real queue count as queues attach and detach).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/if_ether.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "qtest/hw_pc_qtest.h"
#include "qtest/process.h"
#include "qtest/qmp_client.h"
#include "qtest/virtio_driver.h"

namespace machina::qtest {
namespace {

namespace fs = std::filesystem;

constexpr int kNetDevfn = 3 << 3;
constexpr const char* kTap = "mqtap0";
constexpr const char* kTun = "/dev/net/tun";
constexpr uint64_t kVersion1 = 1ull << 32;
constexpr uint64_t kMac = 1ull << 5, kMrgRxbuf = 1ull << 15, kStatus = 1ull << 16,
                   kCtrlVq = 1ull << 17, kMq = 1ull << 22;
constexpr uint8_t kCtrlMq = 4, kVqPairsSet = 0;
constexpr uint8_t kOk = 0, kErr = 1;
constexpr uint16_t kTestEthertype = 0x88b5;  // IEEE local experimental
const std::vector<uint8_t> kGuestMac = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};

// Moves this process into new network and mount namespaces with its own sysfs, with IPv6 off
// (no router solicitations on the tap). Returns why not, if it cannot.
std::optional<std::string> private_netns() {
  if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
    return std::string("unshare: ") + std::strerror(errno);
  }
  if (access(kTun, R_OK | W_OK) != 0) return std::string(kTun) + ": " + std::strerror(errno);
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      mount("sysfs", "/sys", "sysfs", 0, nullptr) != 0) {
    return std::string("sysfs: ") + std::strerror(errno);
  }
  for (const char* c : {"all", "default"}) {
    std::ofstream(std::string("/proc/sys/net/ipv6/conf/") + c + "/disable_ipv6") << "1";
  }
  return std::nullopt;
}

// The tap's attached queues, as sysfs lists them (tx-0, tx-1, ...).
int tap_tx_queues() {
  int n = 0;
  std::error_code ec;
  for (const auto& e :
       fs::directory_iterator(std::string("/sys/class/net/") + kTap + "/queues", ec))
    n += e.path().filename().string().rfind("tx-", 0) == 0;
  return ec ? -1 : n;
}

bool link_up(const char* ifname) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  bool ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags = short(ifr.ifr_flags | IFF_UP);
  ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  close(s);
  return ok;
}

// An AF_PACKET socket on the tap, for kTestEthertype frames.
class HostSide {
 public:
  bool open() {
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(kTestEthertype));
    if (fd_ < 0) return false;
    ifindex_ = int(if_nametoindex(kTap));
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(kTestEthertype);
    sll.sll_ifindex = ifindex_;
    return ifindex_ > 0 && bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) == 0;
  }
  ~HostSide() {
    if (fd_ >= 0) close(fd_);
  }
  // The next frame that came in from the guest carrying `payload`, within `timeout_ms`.
  bool receive(const std::string& payload, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, int(left)) <= 0) continue;
      uint8_t buf[2048];
      sockaddr_ll from{};
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 14 || from.sll_pkttype == PACKET_OUTGOING) continue;
      if (std::string(reinterpret_cast<char*>(buf) + 14, size_t(n) - 14).find(payload) !=
          std::string::npos)
        return true;
    }
  }
  // Sends a frame to the guest's MAC through the tap.
  bool send(const std::string& payload) {
    std::vector<uint8_t> f = kGuestMac;
    f.insert(f.end(), {0x02, 0, 0, 0, 0, 0x01, kTestEthertype >> 8, kTestEthertype & 0xff});
    f.insert(f.end(), payload.begin(), payload.end());
    f.resize(std::max<size_t>(f.size(), 60));
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex_;
    to.sll_halen = 6;
    std::memcpy(to.sll_addr, kGuestMac.data(), 6);
    return sendto(fd_, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
           ssize_t(f.size());
  }

 private:
  int fd_ = -1;
  int ifindex_ = 0;
};

class VirtioNetMqTest : public PcQtest {
 protected:
  void SetUp() override {
    if (auto why = private_netns()) GTEST_SKIP() << "no private network namespace: " << *why;
    start(std::string("-netdev tap,id=n0,ifname=") + kTap +
          ",script=no,downscript=no,queues=2 "
          "-device virtio-net-pci,addr=3,id=nic0,netdev=n0,mq=on,mac=52:54:00:ab:cd:ef");
    d_ = std::make_unique<VirtioPciDriver>(m(), alloc_, kNetDevfn);
    ASSERT_TRUE(d_->found());
    ASSERT_TRUE(link_up(kTap));
    ASSERT_TRUE(host_.open());
  }
  // Negotiates `features` and sets up every queue the device then has.
  void bring_up(uint64_t features) {
    ASSERT_TRUE(d_->negotiate(features));
    vqs_.clear();
    for (uint16_t i = 0; i < d_->num_queues(); ++i) vqs_.push_back(d_->setup_queue(i));
    d_->driver_ok();
  }
  uint8_t ctrl(VirtioQueue& cq, uint8_t cls, uint8_t cmd, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> out = {cls, cmd};
    out.insert(out.end(), data.begin(), data.end());
    uint64_t o = alloc_.alloc(out.size()), ack = alloc_.alloc(1);
    mem_write(m(), o, out);
    m().writeb(ack, 0xff);
    d_->add_chain(cq, {{o, uint32_t(out.size()), false}, {ack, 1, true}});
    d_->kick(cq);
    EXPECT_TRUE(d_->wait_used(cq));
    return m().readb(ack);
  }
  uint8_t set_pairs(uint16_t n) {
    return ctrl(vqs_.back(), kCtrlMq, kVqPairsSet, {uint8_t(n), uint8_t(n >> 8)});
  }
  // A frame with `payload` from the guest on transmit queue `q`; waits until the device used it.
  void transmit(uint16_t q, const std::string& payload) {
    std::vector<uint8_t> f(12, 0);  // virtio_net_hdr_v1
    f.insert(f.end(), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
    f.insert(f.end(), kGuestMac.begin(), kGuestMac.end());
    f.insert(f.end(), {kTestEthertype >> 8, kTestEthertype & 0xff});
    f.insert(f.end(), payload.begin(), payload.end());
    f.resize(12 + 60);
    uint64_t a = alloc_.alloc(f.size());
    mem_write(m(), a, f);
    d_->add_chain(vqs_[q], {{a, uint32_t(f.size()), false}});
    d_->kick(vqs_[q]);
    ASSERT_TRUE(d_->wait_used(vqs_[q])) << "tx queue " << q;
  }
  uint32_t msix_table_size() {
    for (uint8_t cap : d_->pci().capabilities(0x11)) {
      return (d_->pci().read(cap + 2u, 2) & 0x7ff) + 1;
    }
    return 0;
  }

  GuestAlloc alloc_;
  std::unique_ptr<VirtioPciDriver> d_;
  std::vector<VirtioQueue> vqs_;
  HostSide host_;
};

TEST_F(VirtioNetMqTest, TheTapIsOpenedOncePerQueue) {
  EXPECT_EQ(open_fds_on(m().pid(), kTun), 2);
  EXPECT_EQ(tap_tx_queues(), 1) << "only pair 0 is active until the driver says otherwise";
  json info = qmp("human-monitor-command", {{"command-line", "info network"}});
  std::string text = info["return"].get<std::string>();
  EXPECT_NE(text.find("n0: index=0,type=tap,ifname=mqtap0"), std::string::npos) << text;
  EXPECT_NE(text.find("n0: index=1,type=tap,ifname=mqtap0"), std::string::npos) << text;
}

TEST_F(VirtioNetMqTest, DeviceOffersTwoPairsAndTheirVectors) {
  EXPECT_TRUE(d_->device_features() & kMq);
  EXPECT_EQ(m().readw(d_->device_cfg() + 8), 2);  // max_virtqueue_pairs
  EXPECT_EQ(d_->num_queues(), 5);                 // rx1 tx1 rx2 tx2 ctrl
  EXPECT_EQ(msix_table_size(), 6u);               // QEMU's 2 * queues + 2
  EXPECT_EQ(qmp("qom-get", {{"path", "/machine/peripheral/nic0"}, {"property", "vectors"}}),
            json({{"return", 6}}));
}

TEST_F(VirtioNetMqTest, PairsSetActivatesTheSecondPairOnBothSides) {
  bring_up(kVersion1 | kMac | kMrgRxbuf | kStatus | kCtrlVq | kMq);
  ASSERT_EQ(vqs_.size(), 5u);
  // Pair 1 is not active yet: what the guest puts on transmitq2 does not leave.
  transmit(3, "machina-mq-early");
  EXPECT_FALSE(host_.receive("machina-mq-early", 300));
  // VQ_PAIRS_SET: 1..max_virtqueue_pairs.
  EXPECT_EQ(set_pairs(0), kErr);
  EXPECT_EQ(set_pairs(3), kErr);
  EXPECT_EQ(set_pairs(0x8001), kErr);
  EXPECT_EQ(tap_tx_queues(), 1);
  EXPECT_EQ(set_pairs(2), kOk);
  EXPECT_EQ(tap_tx_queues(), 2) << "the tap's second queue is attached";
  EXPECT_EQ(m().qmp("query-status")["return"]["status"], "running");
  // transmitq2 goes out through the tap.
  transmit(3, "machina-mq-tx2");
  EXPECT_TRUE(host_.receive("machina-mq-tx2", 5000));
  transmit(1, "machina-mq-tx1");
  EXPECT_TRUE(host_.receive("machina-mq-tx1", 5000));
  // A frame from the host arrives on one of the receive queues.
  uint64_t buf[2] = {alloc_.alloc(1526), alloc_.alloc(1526)};
  d_->add_chain(vqs_[0], {{buf[0], 1526, true}});
  d_->add_chain(vqs_[2], {{buf[1], 1526, true}});
  d_->kick(vqs_[0]);
  d_->kick(vqs_[2]);
  ASSERT_TRUE(host_.send("machina-mq-rx"));
  int got = -1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (got < 0 && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 2 && got < 0; ++i) {
      if (d_->used_idx(vqs_[size_t(2 * i)]) != vqs_[size_t(2 * i)].used_seen) got = i;
    }
    if (got < 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_GE(got, 0) << "no receive queue got the host's frame";
  auto frame = mem_read(m(), buf[got], 12 + 14 + 13);
  EXPECT_EQ(std::string(frame.begin() + 26, frame.end()), "machina-mq-rx");
  // Reset: back to one pair, the tap's second queue detached.
  d_->reset();
  EXPECT_EQ(tap_tx_queues(), 1);
}

TEST_F(VirtioNetMqTest, DriverWithoutMqGetsOnePairAndTheControlQueueAtTwo) {
  bring_up(kVersion1 | kMac | kMrgRxbuf | kStatus | kCtrlVq);
  ASSERT_EQ(vqs_.size(), 3u);
  EXPECT_EQ(set_pairs(1), kErr) << "VQ_PAIRS_SET without MQ";
  EXPECT_EQ(tap_tx_queues(), 1);
  transmit(1, "machina-sq-tx");
  EXPECT_TRUE(host_.receive("machina-sq-tx", 5000));
}

// netdev_del closes every queue's fd at once (the NIC keeps a dead link); the interface goes
// with them, and the name can carry a new multiqueue netdev.
TEST_F(VirtioNetMqTest, NetdevDelClosesEveryQueue) {
  EXPECT_EQ(qmp("netdev_del", {{"id", "n0"}}), json({{"return", json::object()}}));
  EXPECT_EQ(open_fds_on(m().pid(), kTun), 0);
  EXPECT_EQ(if_nametoindex(kTap), 0u);
  EXPECT_EQ(qmp("netdev_add", {{"type", "tap"},
                               {"id", "n1"},
                               {"ifname", kTap},
                               {"script", "no"},
                               {"downscript", "no"},
                               {"queues", 3}}),
            json({{"return", json::object()}}));
  EXPECT_EQ(open_fds_on(m().pid(), kTun), 3);
  EXPECT_EQ(tap_tx_queues(), 3);
}

// The command line's refusals, in the private namespace too (the tap would be real there).
TEST(VirtioNetMqOptions, BadQueueSetupsAreRefusedWithQemuTexts) {
  if (auto why = private_netns()) GTEST_SKIP() << "no private network namespace: " << *why;
  auto refuse = [](const std::vector<std::string>& extra, const std::string& text) {
    std::vector<std::string> args = {"-M", "q35", "-accel", "qtest", "-display", "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    RawMachine raw(args);
    auto st = raw.wait_exit();
    EXPECT_EQ(st.code, 1) << text;
    EXPECT_NE(raw.child().stderr_text().find(text), std::string::npos) << raw.child().stderr_text();
  };
  refuse({"-netdev", "user,id=n0,queues=2"}, "Invalid parameter 'queues'");
  refuse({"-netdev", "tap,id=n0,script=no,downscript=no,queues=4294967296"},
         "Parameter 'queues' expects uint32_t");
  // A multiqueue tap cannot join an interface that is single-queue (tun refuses it).
  refuse({"-netdev", "tap,id=a,ifname=sq0,script=no,downscript=no", "-netdev",
          "tap,id=b,ifname=sq0,script=no,downscript=no,queues=2"},
         "could not configure /dev/net/tun (sq0): Invalid argument");
  // tun has at most 256 queues per interface.
  refuse({"-netdev", "tap,id=n0,ifname=big0,script=no,downscript=no,queues=257"},
         "could not configure /dev/net/tun (big0): ");
}

}  // namespace
}  // namespace machina::qtest
