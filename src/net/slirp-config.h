// -netdev user options turned into a libslirp configuration, checked as QEMU 7.2's
// net_slirp_init and slirp_hostfwd check them (same error texts).
#pragma once

#include <netinet/in.h>

#include <string>
#include <vector>

#include "net/netdev-options.h"

namespace machina {

struct SlirpSettings {
  bool restricted = false;
  bool ipv4 = true, ipv6 = true;
  in_addr net{}, mask{}, host{}, dhcp{}, dns{};  // network byte order
  in6_addr prefix6{}, host6{}, dns6{};
  int prefix6_len = 64;
  std::string hostname, domainname, tftp, bootfile, tftp_server_name;
  std::vector<std::string> dnssearch;
};

struct HostFwd {
  bool udp = false;
  sockaddr_in host{};   // INADDR_ANY unless an address was given
  sockaddr_in guest{};  // 0.0.0.0 means slirp's DHCP start address
};

// Defaults: net 10.0.2.0/24, host .2, dns .3, dhcp .15, fec0::/64.
Result<SlirpSettings> slirp_settings(const NetdevOptions& opts);
// "tcp:[hostaddr]:hostport-[guestaddr]:guestport" (tcp may be udp or empty):
// "Invalid host forwarding rule 'X' (REASON)".
Result<HostFwd> parse_hostfwd(const std::string& rule);

}  // namespace machina
