#include "net/slirp-config.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace machina {

namespace {

std::optional<in_addr> parse_v4(const std::string& s) {
  in_addr a{};
  if (inet_aton(s.c_str(), &a) == 0) return std::nullopt;
  return a;
}

std::optional<in6_addr> parse_v6(const std::string& s) {
  in6_addr a{};
  if (inet_pton(AF_INET6, s.c_str(), &a) != 1) return std::nullopt;
  return a;
}

// A decimal/hex/octal integer filling the whole string (QEMU's qemu_strtoi with base 0).
std::optional<long> parse_int(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 0);
  if (errno || *end != '\0' || v < INT32_MIN || v > INT32_MAX) return std::nullopt;
  return v;
}

// The default netmask of a network given without a prefix length (classful, as QEMU).
uint32_t classful_mask(uint32_t addr) {
  if (!(addr & 0x80000000u)) return 0xff000000u;
  if ((addr & 0xfff00000u) == 0xac100000u) return 0xfff00000u;
  if ((addr & 0xc0000000u) == 0x80000000u) return 0xffff0000u;
  if ((addr & 0xffff0000u) == 0xc0a80000u) return 0xffff0000u;
  if ((addr & 0xffff0000u) == 0xc6120000u) return 0xfffe0000u;
  if ((addr & 0xe0000000u) == 0xe0000000u) return 0xffffff00u;
  return 0xfffffff0u;
}

bool same_net6(const in6_addr& a, const in6_addr& b, int len) {
  for (int i = 0; i < len; ++i) {
    int byte = i / 8, bit = 7 - i % 8;
    if (((a.s6_addr[byte] >> bit) & 1) != ((b.s6_addr[byte] >> bit) & 1)) return false;
  }
  return true;
}

in6_addr with_suffix(const in6_addr& prefix, int len, uint8_t last) {
  in6_addr a = prefix;
  for (int i = len; i < 128; ++i) a.s6_addr[i / 8] &= uint8_t(~(1u << (7 - i % 8)));
  a.s6_addr[15] |= last;
  return a;
}

Status parse_network(const std::string& spec, SlirpSettings& s) {
  size_t slash = spec.find('/');
  uint32_t net = 0, mask = 0;
  if (slash == std::string::npos) {
    auto a = parse_v4(spec);
    if (!a) return generic_error("Failed to parse netmask");
    net = ntohl(a->s_addr);
    mask = classful_mask(net);
  } else {
    auto a = parse_v4(spec.substr(0, slash));
    if (!a) return generic_error("Failed to parse netmask");
    net = ntohl(a->s_addr);
    std::string rest = spec.substr(slash + 1);
    char* end = nullptr;
    long shift = std::strtol(rest.c_str(), &end, 10);
    if (*end != '\0') {
      auto m = parse_v4(rest);
      if (!m) return generic_error("Failed to parse netmask (trailing chars)");
      mask = ntohl(m->s_addr);
    } else if (shift < 4 || shift > 32) {
      return generic_error("Invalid netmask provided (must be in range 4-32)");
    } else {
      mask = shift == 32 ? 0xffffffffu : ~(0xffffffffu >> shift);
    }
  }
  net &= mask;
  s.net.s_addr = htonl(net);
  s.mask.s_addr = htonl(mask);
  s.host.s_addr = htonl(net | (0x0202u & ~mask));
  s.dhcp.s_addr = htonl(net | (0x020fu & ~mask));
  s.dns.s_addr = htonl(net | (0x0203u & ~mask));
  return Status::Ok();
}

Status check_ipv4(const NetdevOptions& o, SlirpSettings& s) {
  auto in_net = [&s](in_addr a) { return (a.s_addr & s.mask.s_addr) == s.net.s_addr; };
  if (const std::string* h = o.str("host")) {
    auto a = parse_v4(*h);
    if (!a) return generic_error("Failed to parse host");
    s.host = *a;
  }
  if (!in_net(s.host)) return generic_error("Host doesn't belong to network");
  if (const std::string* d = o.str("dns")) {
    auto a = parse_v4(*d);
    if (!a) return generic_error("Failed to parse DNS");
    s.dns = *a;
  }
  if (s.restricted && !in_net(s.dns)) return generic_error("DNS doesn't belong to network");
  if (s.dns.s_addr == s.host.s_addr) return generic_error("DNS must be different from host");
  if (const std::string* d = o.str("dhcpstart")) {
    auto a = parse_v4(*d);
    if (!a) return generic_error("Failed to parse DHCP start address");
    s.dhcp = *a;
  }
  if (!in_net(s.dhcp)) return generic_error("DHCP doesn't belong to network");
  if (s.dhcp.s_addr == s.host.s_addr || s.dhcp.s_addr == s.dns.s_addr) {
    return generic_error("DHCP must be different from host and DNS");
  }
  return Status::Ok();
}

Status check_ipv6(const NetdevOptions& o, SlirpSettings& s) {
  const std::string* prefix = o.str("ipv6-prefix");
  const std::string* len = o.str("ipv6-prefixlen");
  std::string net6;
  if (const std::string* n = o.str("ipv6-net")) net6 = *n;
  if (!net6.empty()) {
    size_t slash = net6.find('/');
    std::string p = net6.substr(0, slash);
    if (!parse_v6(p)) return generic_error("Failed to parse IPv6 prefix");
    s.prefix6 = *parse_v6(p);
    if (slash != std::string::npos) {
      auto l = parse_int(net6.substr(slash + 1));
      if (!l) return generic_error("Parameter 'ipv6-prefixlen' expects a number");
      s.prefix6_len = int(*l);
    }
  } else {
    auto p = parse_v6(prefix ? *prefix : "fec0::");
    if (!p) return generic_error("Failed to parse IPv6 prefix");
    s.prefix6 = *p;
    if (len) {
      auto l = parse_int(*len);
      s.prefix6_len = l && *l != 0 ? int(*l) : 64;
      if (!l || *l < 0 || *l > 126) s.prefix6_len = -1;
    }
  }
  if (s.prefix6_len < 0 || s.prefix6_len > 126) {
    return generic_error(
        "Invalid IPv6 prefix provided (IPv6 prefix length must be between 0 and 126)");
  }
  s.host6 = with_suffix(s.prefix6, s.prefix6_len, 2);
  s.dns6 = with_suffix(s.prefix6, s.prefix6_len, 3);
  if (const std::string* h = o.str("ipv6-host")) {
    auto a = parse_v6(*h);
    if (!a) return generic_error("Failed to parse IPv6 host");
    if (!same_net6(s.prefix6, *a, s.prefix6_len)) {
      return generic_error("IPv6 Host doesn't belong to network");
    }
    s.host6 = *a;
  }
  if (const std::string* d = o.str("ipv6-dns")) {
    auto a = parse_v6(*d);
    if (!a) return generic_error("Failed to parse IPv6 DNS");
    if (s.restricted && !same_net6(s.prefix6, *a, s.prefix6_len)) {
      return generic_error("IPv6 DNS doesn't belong to network");
    }
    s.dns6 = *a;
  }
  return Status::Ok();
}

}  // namespace

Result<SlirpSettings> slirp_settings(const NetdevOptions& o) {
  SlirpSettings s;
  for (const char* k : {"smb", "smbserver"}) {
    if (o.str(k)) return generic_error(std::string("Parameter '") + k + "' is not supported");
  }
  if (!o.list("guestfwd").empty()) return generic_error("Parameter 'guestfwd' is not supported");
  s.restricted = o.flag("restrict").value_or(false);
  // As QEMU: enabling one family alone turns the other off.
  auto ipv4 = o.flag("ipv4"), ipv6 = o.flag("ipv6");
  s.ipv4 = !((ipv6.value_or(false) && !ipv4) || !ipv4.value_or(true));
  s.ipv6 = !((ipv4.value_or(false) && !ipv6) || !ipv6.value_or(true));
  std::string net_spec = "10.0.2.0/24";
  const std::string* net = o.str("net");
  if (net) {
    net_spec = *net;
  } else if (const std::string* ip = o.str("ip")) {
    net_spec = *ip + "/24";
    net = ip;
  }
  if (!s.ipv4 && (net || o.str("host") || o.str("dns"))) {
    return generic_error("IPv4 disabled but netmask/host/dns provided");
  }
  if (!s.ipv6 && (o.str("ipv6-prefix") || o.str("ipv6-prefixlen") || o.str("ipv6-net") ||
                  o.str("ipv6-host") || o.str("ipv6-dns"))) {
    return generic_error("IPv6 disabled but prefix/host6/dns6 provided");
  }
  if (!s.ipv4 && !s.ipv6) return generic_error("IPv4 and IPv6 disabled");
  if (Status st = parse_network(net_spec, s); !st.ok()) return st.error();
  if (Status st = check_ipv4(o, s); !st.ok()) return st.error();
  if (Status st = check_ipv6(o, s); !st.ok()) return st.error();
  if (const std::string* v = o.str("hostname")) s.hostname = *v;
  if (const std::string* v = o.str("domainname")) s.domainname = *v;
  if (const std::string* v = o.str("tftp")) s.tftp = *v;
  if (const std::string* v = o.str("bootfile")) s.bootfile = *v;
  if (const std::string* v = o.str("tftp-server-name")) s.tftp_server_name = *v;
  s.dnssearch = o.list("dnssearch");
  return s;
}

Result<HostFwd> parse_hostfwd(const std::string& rule) {
  auto bad = [&rule](const char* why) {
    return generic_error("Invalid host forwarding rule '" + rule + "' (" + why + ")");
  };
  HostFwd f;
  f.host.sin_family = AF_INET;
  f.guest.sin_family = AF_INET;
  // Each part ends at its separator; a missing separator is the reason given.
  std::string rest = rule;
  auto take = [&rest](char sep, std::string* out) {
    size_t p = rest.find(sep);
    if (p == std::string::npos) return false;
    *out = rest.substr(0, p);
    rest = rest.substr(p + 1);
    return true;
  };
  std::string part;
  if (!take(':', &part)) return bad("No : separators");
  if (part == "tcp" || part.empty()) {
    f.udp = false;
  } else if (part == "udp") {
    f.udp = true;
  } else {
    return bad("Bad protocol name");
  }
  if (!take(':', &part)) return bad("Missing : separator");
  if (!part.empty()) {
    auto a = parse_v4(part);
    if (!a) return bad("Bad host address");
    f.host.sin_addr = *a;
  }
  if (!take('-', &part)) return bad("Bad host port separator");
  auto hp = parse_int(part);
  if (!hp || *hp < 0 || *hp > 65535) return bad("Bad host port");
  f.host.sin_port = htons(uint16_t(*hp));
  if (!take(':', &part)) return bad("Missing guest address");
  if (!part.empty()) {
    auto a = parse_v4(part);
    if (!a) return bad("Bad guest address");
    f.guest.sin_addr = *a;
  }
  auto gp = parse_int(rest);
  if (!gp || *gp < 1 || *gp > 65535) return bad("Bad guest port");
  f.guest.sin_port = htons(uint16_t(*gp));
  return f;
}

}  // namespace machina
