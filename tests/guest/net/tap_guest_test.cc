// virtio-net on a tap (`-netdev tap,ifname=...,script=no,downscript=no,vnet_hdr=on`) with
// Debian's kernel: the test process moves into a network namespace of its own, machina
// inherits it and creates the tap there, and the test configures the host side with ioctls.
// Then: ping both ways, and a TCP transfer each way whose bytes are compared exactly.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "guest/guest_session.h"
#include "guest/net/tap_host_side.h"
#include "qtest/socket_util.h"

namespace machina::guest {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kTap = "mtap0";
constexpr const char* kHostIp = "192.168.77.1";
constexpr const char* kGuestIp = "192.168.77.2";
constexpr int kLines = 60000;  // `seq 1 kLines`: ~330 KB each way

std::string seq_text(int n) {
  std::string s;
  for (int i = 1; i <= n; ++i) s += std::to_string(i) + "\n";
  return s;
}

uint16_t inet_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += uint32_t(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// Sends ICMP echo requests to `ip` from a raw socket until one is answered (or the time is up).
bool host_pings(const char* ip, std::chrono::seconds within) {
  qtest::Fd s(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
  if (s.get() < 0) return false;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &to.sin_addr);
  const uint16_t id = uint16_t(getpid());
  auto deadline = std::chrono::steady_clock::now() + within;
  for (uint16_t seq = 1; std::chrono::steady_clock::now() < deadline; ++seq) {
    uint8_t pkt[16] = {ICMP_ECHO,
                       0,
                       0,
                       0,
                       uint8_t(id >> 8),
                       uint8_t(id),
                       uint8_t(seq >> 8),
                       uint8_t(seq),
                       'm',
                       'a',
                       'c',
                       'h',
                       'i',
                       'n',
                       'a',
                       '!'};
    uint16_t c = inet_checksum(pkt, sizeof pkt);
    pkt[2] = uint8_t(c >> 8);
    pkt[3] = uint8_t(c);
    ::sendto(s.get(), pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    pollfd pfd{s.get(), POLLIN, 0};
    while (::poll(&pfd, 1, 1000) == 1) {
      uint8_t buf[1500];
      ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
      if (n < 20) break;
      size_t ihl = size_t(buf[0] & 0xf) * 4;
      if (size_t(n) < ihl + 8) continue;
      const uint8_t* icmp = buf + ihl;
      if (icmp[0] == ICMP_ECHOREPLY && (icmp[4] << 8 | icmp[5]) == id &&
          std::memcmp(icmp + 8, "machina!", 8) == 0)
        return true;
    }
  }
  return false;
}

// Reads everything from a connected socket until EOF (or the timeout).
std::string read_all(int fd, std::chrono::seconds within) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 200) != 1) continue;
    char buf[65536];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  return out;
}

TEST(TapGuest, PingAndTcpBothWaysThroughATapInANetworkNamespace) {
  ASSERT_EQ(enter_private_netns_for_taps(), "");
  GuestOptions o = machina_guest_options(
      MACHINA_SOURCE_DIR,
      {"-netdev", std::string("tap,id=n0,ifname=") + kTap + ",script=no,downscript=no,vnet_hdr=on",
       "-device", "virtio-net-pci,netdev=n0,id=nic0,mac=52:54:00:12:34:77"});
  ASSERT_TRUE(fs::exists(o.guest_dir + "/vmlinuz"))
      << "guest not built: run scripts/build-guest.sh (" << o.guest_dir << ")";
  GuestSession s(o);
  std::string err;
  ASSERT_TRUE(s.boot(600s, &err)) << err;
  ASSERT_NE(if_nametoindex(kTap), 0u) << "machina did not create " << kTap;
  ASSERT_EQ(configure_tap_host_side(kTap, kHostIp), "");

  auto up = s.run(
      std::string("ip addr add ") + kGuestIp + "/24 dev eth0 && ip link set eth0 up && echo up",
      60s);
  ASSERT_EQ(up.value_or(""), "up\n") << s.console();

  // Guest → host ping (busybox ping), then host → guest (a raw ICMP socket here).
  auto ping = s.run(
      std::string("ping -c 3 -W 10 ") + kHostIp + " | grep -o '[0-9] packets received'", 120s);
  EXPECT_EQ(ping.value_or(""), "3 packets received\n") << s.console();
  EXPECT_TRUE(host_pings(kGuestIp, 60s));

  // Guest → host TCP: the guest's nc sends `seq 1 N` to a server here.
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, kHostIp, &a.sin_addr);
  a.sin_port = htons(7001);
  qtest::Fd srv(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(srv.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ASSERT_EQ(::bind(srv.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << strerror(errno);
  ASSERT_EQ(::listen(srv.get(), 1), 0);
  ASSERT_TRUE(s.type(std::string("seq 1 ") + std::to_string(kLines) + " | nc " + kHostIp +
                     " 7001; echo SENT$((0))DONE"));
  pollfd pfd{srv.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 60'000), 1) << "the guest did not connect\n" << s.console();
  qtest::Fd conn(::accept4(srv.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_GE(conn.get(), 0);
  std::string got = read_all(conn.get(), 120s);
  conn = qtest::Fd();
  EXPECT_EQ(got.size(), seq_text(kLines).size());
  EXPECT_TRUE(got == seq_text(kLines)) << "the bytes differ";

  ASSERT_TRUE(s.wait_for("SENT0DONE", 60s)) << s.console();

  // Host → guest TCP: a guest server saves what it receives and compares it with its own seq.
  ASSERT_TRUE(s.type("nc -l -p 7002 > /tmp/in; seq 1 " + std::to_string(kLines) +
                     " | cmp - /tmp/in && echo RECEIVED-$(wc -c < /tmp/in)-SAME"));
  a.sin_port = htons(7002);
  a.sin_addr = {};
  inet_pton(AF_INET, kGuestIp, &a.sin_addr);
  qtest::Fd cli;
  int connect_errno = 0;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {  // until the guest's nc listens
    cli = qtest::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(cli.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) break;
    connect_errno = errno;
    cli = qtest::Fd();
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_GE(cli.get(), 0) << "could not reach the guest's server: " << strerror(connect_errno)
                          << "\n"
                          << s.console();
  std::string text = seq_text(kLines);
  for (size_t off = 0; off < text.size();) {
    ssize_t n = ::write(cli.get(), text.data() + off, text.size() - off);
    ASSERT_GT(n, 0) << strerror(errno);
    off += size_t(n);
  }
  cli = qtest::Fd();  // EOF: the guest's nc ends
  EXPECT_TRUE(s.wait_for("RECEIVED-" + std::to_string(text.size()) + "-SAME", 120s)) << s.console();
  auto alive = s.run("echo still-$((1+1))", 60s);
  EXPECT_EQ(alive.value_or(""), "still-2\n");
}

}  // namespace
}  // namespace machina::guest
