// virtio-net multiqueue with Debian's kernel: -netdev tap,queues=2 under virtio-net-pci,mq=on.
// The test process moves into a network namespace of its own (machina inherits it), where the
// tap gets the host's address; the guest's virtio_net negotiates MQ, finds both queue pairs (one
// MSI-X vector each), and pings the host through the tap.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "guest/guest_session.h"
#include "guest/net/tap_host_side.h"

namespace machina::guest {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kTap = "gmqtap0";

TEST(VirtioNetMqGuest, TwoQueuePairsAndAPingThroughTheTap) {
  ASSERT_EQ(enter_private_netns_for_taps(), "");
  GuestOptions o = machina_guest_options(
      MACHINA_SOURCE_DIR,
      {"-netdev", std::string("tap,id=n0,ifname=") + kTap + ",script=no,downscript=no,queues=2",
       "-device", "virtio-net-pci,netdev=n0,id=nic0,mq=on,mac=52:54:00:12:34:99"});
  ASSERT_TRUE(fs::exists(o.guest_dir + "/vmlinuz"))
      << "guest not built: run scripts/build-guest.sh (" << o.guest_dir << ")";
  GuestSession s(o);
  std::string err;
  ASSERT_TRUE(s.boot(300s, &err)) << err;
  ASSERT_EQ(configure_tap_host_side(kTap, "10.0.9.1"), "");
  auto guest = [&](const std::string& cmd, std::chrono::milliseconds t = 20s) {
    return s.run(cmd, t).value_or("(timeout)");
  };
  // The driver took VIRTIO_NET_F_MQ (bit 22 of the negotiated features)...
  EXPECT_EQ(guest("cut -c23 /sys/class/net/eth0/device/features"), "1\n");
  // ... and set up both pairs, each queue with its own vector (2 * 2 + 2 by default).
  std::string irqs = guest("grep -o 'virtio[0-9]*-[a-z]*\\.[0-9]*' /proc/interrupts | sort");
  for (const char* q : {"-input.0", "-input.1", "-output.0", "-output.1"})
    EXPECT_NE(irqs.find(q), std::string::npos) << q << " in\n" << irqs;
  // With one CPU Linux uses min(CPUs, max pairs) = 1 pair: one queue of each kind in use.
  EXPECT_EQ(guest("echo $(ls /sys/class/net/eth0/queues)"), "rx-0 tx-0\n");
  EXPECT_EQ(guest("ip link set eth0 up && ip addr add 10.0.9.2/24 dev eth0 && echo ok"), "ok\n");
  std::string ping = guest("ping -c 2 -W 10 10.0.9.1 >/dev/null && echo ping-ok", 60s);
  EXPECT_EQ(ping, "ping-ok\n");
  EXPECT_EQ(open_fds_on(s.pid(), "/dev/net/tun"), 2);
  s.stop();
}

}  // namespace
}  // namespace machina::guest
