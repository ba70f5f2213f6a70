// -netdev tap: in a private network namespace (a forked child), frames sent through the netdev
// come out of the TAP interface and the kernel's answers come back to the NIC. Skipped only where
// /dev/net/tun or new network namespaces are not available.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "net_test_util.h"

namespace machina::test {
namespace {

// Addresses inside the child's own namespace: nothing leaves it.
constexpr const char* kHostAddr = "192.168.77.1";
constexpr const char* kGuestAddr = "192.168.77.2";

std::string configure_interface(const std::string& name) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return "socket: " + std::string(strerror(errno));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
  sin->sin_family = AF_INET;
  inet_aton(kHostAddr, &sin->sin_addr);
  if (ioctl(s, SIOCSIFADDR, &ifr) != 0) return "SIOCSIFADDR: " + std::string(strerror(errno));
  inet_aton("255.255.255.0", &sin->sin_addr);
  if (ioctl(s, SIOCSIFNETMASK, &ifr) != 0) return "SIOCSIFNETMASK: " + std::string(strerror(errno));
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) return "SIOCGIFFLAGS: " + std::string(strerror(errno));
  ifr.ifr_flags = short(ifr.ifr_flags | IFF_UP);
  if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) return "SIOCSIFFLAGS: " + std::string(strerror(errno));
  close(s);
  return "";
}

int tun_fds() {
  int n = 0;
  for (int fd = 0; fd < 1024; ++fd) {
    char link[64], target[PATH_MAX] = {};
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, target, sizeof target - 1);
    if (len > 0 && std::string(target, size_t(len)) == "/dev/net/tun") ++n;
  }
  return n;
}

// The ARP request the guest sends for the host side, and whether `f` (after `skip` header bytes)
// is the kernel's answer.
bool is_kernel_arp_reply(const Frame& f, size_t skip) {
  Frame e(f.begin() + long(std::min(skip, f.size())), f.end());
  return is_arp(e, 2) && get32(e, 28) == ip(kHostAddr) && get32(e, 38) == ip(kGuestAddr) &&
         mac_at(e, 0) == kGuestMac;
}

enum class Mode { Ifname, VnetHdr, Fd };

// Runs in the child; "" on success, "SKIP: why" when the host cannot do it, else the failure.
std::string tap_scenario(Mode mode) {
  bool vnet_hdr = mode == Mode::VnetHdr;
  if (unshare(CLONE_NEWNET) != 0) {
    return "SKIP: unshare(CLONE_NEWNET): " + std::string(strerror(errno));
  }
  int probe = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (probe < 0) return "SKIP: /dev/net/tun: " + std::string(strerror(errno));
  std::string arg = "tap,id=t0,ifname=mtap0,script=no,downscript=no";
  std::string want_info = "ifname=mtap0,script=no,downscript=no";
  if (mode == Mode::Fd) {
    // An interface opened by the caller and handed over as fd=N (as libvirt does).
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, "mtap0", IFNAMSIZ - 1);
    if (ioctl(probe, TUNSETIFF, &ifr) != 0) return "TUNSETIFF: " + std::string(strerror(errno));
    arg = "tap,id=t0,fd=" + std::to_string(probe);
    want_info = "fd=" + std::to_string(probe);
  } else {
    close(probe);
    if (!vnet_hdr) arg += ",vnet_hdr=off";
  }
  auto nd = add_netdev(arg);
  if (!nd.ok()) return "netdev_add: " + nd.message();
  if (tun_fds() != 1) return "expected one /dev/net/tun fd, found " + std::to_string(tun_fds());
  if (nd.value()->info() != want_info) return "info: " + nd.value()->info();
  if (std::string e = configure_interface("mtap0"); !e.empty()) return e;
  auto ref = netdev_attach("t0", "nic0", "virtio-net-device");
  if (!ref.ok()) return ref.message();
  size_t skip = 0;
  if (vnet_hdr) {
    if (!nd.value()->has_vnet_hdr()) return "SKIP: the kernel offers no IFF_VNET_HDR";
    if (!nd.value()->using_vnet_hdr(true)) return "using_vnet_hdr(true) refused";
    nd.value()->set_offload(true, true, true, false, false);
    skip = 12;
  } else if (nd.value()->has_vnet_hdr()) {
    return "vnet_hdr=off still has a vnet header";
  }
  RecordingNic nic;
  nic.attach(nd.value());
  Frame req = arp_request(ip(kGuestAddr), ip(kHostAddr));
  req.insert(req.begin(), skip, 0);  // an empty virtio_net_hdr_v1 when one is in use
  if (nic.send(req) != ssize_t(req.size())) return "send: short write";
  if (!pump_until([&] {
        return nic.find([skip](const Frame& f) { return is_kernel_arp_reply(f, skip); });
      })) {
    return "no ARP reply from the kernel among " + std::to_string(nic.frames.size()) + " frames";
  }
  // Deleted while the NIC holds it (as QEMU): the fd closes at once.
  if (!netdev_del("t0").ok()) return "netdev_del failed";
  if (tun_fds() != 0) return "the tap fd is still open after netdev_del";
  if (nic.send(req) != 0) return "send after deletion was not dropped";
  ref.value().reset();
  return "";
}

void run_in_child(Mode mode) {
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipefd[0]);
    std::string r = tap_scenario(mode);
    netdev_del_all();
    (void)!write(pipefd[1], r.data(), r.size());
    _exit(0);
  }
  close(pipefd[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(pipefd[0], buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
  close(pipefd[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  if (out.rfind("SKIP: ", 0) == 0) GTEST_SKIP() << out.substr(6);
  EXPECT_EQ(out, "");
}

TEST(TapTest, FramesGoThroughTheInterfaceAndBack) {
  run_in_child(Mode::Ifname);
}

TEST(TapTest, VnetHeaderFramesGoThroughTheInterfaceAndBack) {
  run_in_child(Mode::VnetHdr);
}

TEST(TapTest, PassedFdIsUsedAndClosedOnDelete) {
  run_in_child(Mode::Fd);
}

TEST(TapTest, InterfaceNameTooLongIsRefused) {
  auto r = add_netdev("tap,id=t1,ifname=an-interface-name-too-long,script=no,downscript=no");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Parameter 'ifname' expects an interface name of at most 15 characters");
}

}  // namespace
}  // namespace machina::test
