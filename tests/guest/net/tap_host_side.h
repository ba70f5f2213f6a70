// The host side of a tap that machina created in the test's own network namespace: an address
// and the link state, set with ioctls (no iproute2 needed). Used by the net guest tests and by
// guest_io_bench.
#pragma once

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "guest/guest_session.h"

namespace machina::guest {

namespace tap_detail {
inline std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}
}  // namespace tap_detail

// Moves the calling process into a network namespace of its own, where machina (its child) may
// create taps; and checks /dev/net/tun. Empty on success, else why. The guest tier runs as root:
// a test that cannot have its namespace fails (a skip would pass the whole guest binary).
inline std::string enter_private_netns_for_taps() {
  if (unshare(CLONE_NEWNET) != 0) return tap_detail::errno_text("unshare(CLONE_NEWNET)");
  if (access("/dev/net/tun", R_OK | W_OK) != 0) return tap_detail::errno_text("/dev/net/tun");
  return {};
}

// The default guest (`source_dir`/build/guest, or $MACHINA_GUEST_DIR) run by the built machina,
// with `extra`.
inline GuestOptions machina_guest_options(const std::string& source_dir,
                                          std::vector<std::string> extra) {
  GuestOptions o;
  o.binary = qtest::machina_binary();
  o.guest_dir = default_guest_dir(source_dir);
  o.extra = std::move(extra);
  return o;
}

// Brings `ifname` up (lo too: a new namespace's loopback is down). Empty on success, else why.
inline std::string bring_link_up(const char* ifname) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return tap_detail::errno_text("socket");
  ifreq r{};
  std::strncpy(r.ifr_name, ifname, IFNAMSIZ - 1);
  std::string err;
  if (ioctl(s, SIOCGIFFLAGS, &r) != 0) {
    err = tap_detail::errno_text("SIOCGIFFLAGS");
  } else {
    r.ifr_flags = short(r.ifr_flags | IFF_UP | IFF_RUNNING);
    if (ioctl(s, SIOCSIFFLAGS, &r) != 0) err = tap_detail::errno_text("SIOCSIFFLAGS");
  }
  ::close(s);
  return err;
}

// Gives `ifname` the address `ip`/24 and brings it up. Empty on success, else why.
inline std::string configure_tap_host_side(const char* ifname, const char* ip) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return tap_detail::errno_text("socket");
  ifreq r{};
  std::strncpy(r.ifr_name, ifname, IFNAMSIZ - 1);
  auto set = [&](unsigned long req, const char* a, const char* what) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&r.ifr_addr);
    sin->sin_family = AF_INET;
    inet_pton(AF_INET, a, &sin->sin_addr);
    return ioctl(s, req, &r) == 0 ? std::string() : tap_detail::errno_text(what);
  };
  std::string err = set(SIOCSIFADDR, ip, "SIOCSIFADDR");
  if (err.empty()) err = set(SIOCSIFNETMASK, "255.255.255.0", "SIOCSIFNETMASK");
  ::close(s);
  return err.empty() ? bring_link_up(ifname) : err;
}

}  // namespace machina::guest
