// virtio-serial-pci with a virtconsole on a socket chardev, driven through qtest as Linux's
// virtio_console driver does: the multiport control handshake, then bytes both ways between the
// port's queues and the host socket.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "qtest/hw_pc_qtest.h"
#include "qtest/socket_util.h"
#include "qtest/virtio_driver.h"

namespace machina::qtest {
namespace {

constexpr int kSerialDevfn = 6 << 3;
constexpr uint64_t kVersion1 = 1ull << 32;
constexpr uint64_t kMultiport = 1ull << 1;

struct Control {
  uint32_t id;
  uint16_t event, value;
  std::string extra;
};

class VirtioSerialTest : public PcQtest {
 protected:
  void SetUp() override {
    sock_ = std::make_unique<TempPath>(".sock");
    start("-chardev socket,id=c0,path=" + sock_->str() +
          ",server=on,wait=off -device virtio-serial-pci,id=vser0,addr=6"
          " -device virtconsole,chardev=c0,name=org.machina.console,bus=vser0.0");
    d_ = std::make_unique<VirtioPciDriver>(m(), alloc_, kSerialDevfn);
    ASSERT_TRUE(d_->found());
    ASSERT_TRUE(d_->negotiate(kVersion1 | kMultiport));
    rx0_ = d_->setup_queue(0);
    tx0_ = d_->setup_queue(1);
    cin_ = d_->setup_queue(2);
    cout_ = d_->setup_queue(3);
    d_->driver_ok();
    for (int i = 0; i < 8; ++i) {
      d_->add_chain(cin_, {{alloc_.alloc(64), 64, true}});
    }
    d_->kick(cin_);
  }
  void send_control(uint32_t id, uint16_t event, uint16_t value) {
    uint8_t msg[8];
    std::memcpy(msg, &id, 4);
    std::memcpy(msg + 4, &event, 2);
    std::memcpy(msg + 6, &value, 2);
    uint64_t buf = alloc_.alloc(8);
    mem_write(m(), buf, std::vector<uint8_t>(msg, msg + 8));
    d_->add_chain(cout_, {{buf, 8, false}});
    d_->kick(cout_);
    ASSERT_TRUE(d_->wait_used(cout_));
  }
  std::optional<Control> next_control() {
    uint16_t before = cin_.used_seen;
    auto used = d_->wait_used(cin_);
    if (!used) return std::nullopt;
    // Buffers were added in order, one descriptor each: element `before` is at 64 * before
    // from the first buffer.
    uint64_t buf = m().readq(cin_.desc + 16u * used->first);
    (void)before;
    auto bytes = mem_read(m(), buf, used->second);
    if (bytes.size() < 8) return std::nullopt;
    Control c;
    std::memcpy(&c.id, bytes.data(), 4);
    std::memcpy(&c.event, bytes.data() + 4, 2);
    std::memcpy(&c.value, bytes.data() + 6, 2);
    c.extra.assign(bytes.begin() + 8, bytes.end());
    return c;
  }
  // DEVICE_READY → DEVICE_ADD; PORT_READY → CONSOLE_PORT, PORT_NAME (and PORT_OPEN if the host
  // is connected).
  void handshake() {
    send_control(0, 0, 1);  // DEVICE_READY
    auto add = next_control();
    ASSERT_TRUE(add);
    EXPECT_EQ(add->event, 1);  // DEVICE_ADD
    EXPECT_EQ(add->id, 0u);
    send_control(0, 3, 1);  // PORT_READY
    auto console = next_control();
    ASSERT_TRUE(console);
    EXPECT_EQ(console->event, 4);  // CONSOLE_PORT
    auto name = next_control();
    ASSERT_TRUE(name);
    EXPECT_EQ(name->event, 7);  // PORT_NAME
    EXPECT_EQ(name->extra, std::string("org.machina.console") + '\0');
  }

  std::unique_ptr<TempPath> sock_;
  GuestAlloc alloc_;
  std::unique_ptr<VirtioPciDriver> d_;
  VirtioQueue rx0_, tx0_, cin_, cout_;
};

TEST_F(VirtioSerialTest, DiscoveryAndConfig) {
  EXPECT_EQ(d_->pci().read(0x02, 2), 0x1003u);  // transitional on pcie.0 (as QEMU)
  EXPECT_EQ(d_->pci().read(0x0a, 2), 0x0780u);
  EXPECT_EQ(d_->num_queues(), 64);
  EXPECT_EQ(m().readl(d_->device_cfg() + 4), 31u);  // max_nr_ports
}

TEST_F(VirtioSerialTest, HandshakeThenBytesBothWays) {
  handshake();
  Fd host = connect_unix(sock_->str(), Ms(5000));
  ASSERT_TRUE(host.valid());
  auto open = next_control();
  ASSERT_TRUE(open);
  EXPECT_EQ(open->event, 6);  // PORT_OPEN: the host side connected
  EXPECT_EQ(open->value, 1);
  send_control(0, 6, 1);  // a guest program opened the port
  // Host → guest.
  uint64_t rx = alloc_.alloc(64);
  d_->add_chain(rx0_, {{rx, 64, true}});
  d_->kick(rx0_);
  ASSERT_TRUE(send_all(host.get(), "hello guest\n"));
  auto used = d_->wait_used(rx0_);
  ASSERT_TRUE(used);
  auto got = mem_read(m(), rx, used->second);
  EXPECT_EQ(std::string(got.begin(), got.end()), "hello guest\n");
  // Guest → host.
  std::string msg = "hello host\n";
  uint64_t tx = alloc_.alloc(64);
  mem_write(m(), tx, std::vector<uint8_t>(msg.begin(), msg.end()));
  d_->add_chain(tx0_, {{tx, uint32_t(msg.size()), false}});
  d_->kick(tx0_);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (out.size() < msg.size() && read_some(host.get(), out, deadline) == ReadResult::Data) {
  }
  EXPECT_EQ(out, msg);
  EXPECT_TRUE(d_->wait_used(tx0_));
  // The host hangs up: PORT_OPEN 0 (seen once the chardev reads again: the guest gives it room).
  d_->add_chain(rx0_, {{alloc_.alloc(64), 64, true}});
  d_->kick(rx0_);
  host.reset();
  auto closed = next_control();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->event, 6);
  EXPECT_EQ(closed->value, 0);
}

TEST(VirtioSerialPorts, PortErrorsUseQemuTexts) {
  auto refuse = [](const std::string& ports, const std::string& text) {
    std::vector<std::string> args = {
        "-M",       "q35",  "-accel",  "qtest",
        "-display", "none", "-device", "virtio-serial-pci,id=vser0,max_ports=2"};
    std::string rest = ports;
    for (size_t p; (p = rest.find(' ')) != std::string::npos; rest = rest.substr(p + 1)) {
      args.push_back(rest.substr(0, p));
    }
    args.push_back(rest);
    RawMachine raw(args);
    auto st = raw.wait_exit();
    EXPECT_EQ(st.code, 1) << ports;
    EXPECT_NE(raw.child().stderr_text().find(text), std::string::npos) << raw.child().stderr_text();
  };
  refuse("-device virtserialport,nr=0",
         "Port number 0 on virtio-serial devices reserved for virtconsole");
  refuse("-device virtserialport,nr=2", "Out-of-range port id specified, max. allowed: 1");
  refuse("-device virtconsole,name=a -device virtserialport,name=a",
         "A port already exists by name a");
  refuse("-device virtserialport -device virtserialport",
         "Maximum port limit for this device reached");
  refuse("-device virtconsole,chardev=nope",
         "Property 'virtconsole.chardev' can't find value 'nope'");
}

}  // namespace
}  // namespace machina::qtest
