// Helpers for the network tests: Ethernet/ARP/IPv4/UDP/BOOTP frames built by hand, a recording
// NIC, and loop pumping.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "net/net.h"
#include "net/netdev-registry.h"
#include "system/cmdline.h"
#include "util/main-loop.h"
#include "util/qemu-timer.h"

namespace machina::test {

using Mac = std::array<uint8_t, 6>;
using Frame = std::vector<uint8_t>;

inline constexpr Mac kGuestMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
inline constexpr Mac kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
// Slirp's MAC for its own addresses: 52:55 then the IPv4 address.
inline constexpr Mac kSlirpMac = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};

inline bool pump_until(const std::function<bool()>& pred, int timeout_ms = 3000) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return pred();
    main_loop().run_once(10 * kNsPerMs);
  }
  return true;
}

inline void pump_for(int ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) main_loop().run_once(2 * kNsPerMs);
}

inline uint32_t ip(const char* s) {
  in_addr a{};
  inet_aton(s, &a);
  return ntohl(a.s_addr);
}

inline void put16(Frame& f, size_t off, uint16_t v) {
  f[off] = uint8_t(v >> 8);
  f[off + 1] = uint8_t(v);
}
inline void put32(Frame& f, size_t off, uint32_t v) {
  put16(f, off, uint16_t(v >> 16));
  put16(f, off + 2, uint16_t(v));
}
inline uint16_t get16(const Frame& f, size_t off) {
  return uint16_t(f[off] << 8 | f[off + 1]);
}
inline uint32_t get32(const Frame& f, size_t off) {
  return uint32_t(get16(f, off)) << 16 | get16(f, off + 2);
}
inline Mac mac_at(const Frame& f, size_t off) {
  Mac m{};
  std::memcpy(m.data(), f.data() + off, 6);
  return m;
}

inline Frame ethernet(const Mac& dst, const Mac& src, uint16_t type, size_t payload) {
  Frame f(14 + payload, 0);
  std::memcpy(f.data(), dst.data(), 6);
  std::memcpy(f.data() + 6, src.data(), 6);
  put16(f, 12, type);
  return f;
}

// ARP (op 1 request, 2 reply) from (sha, spa) about (tha, tpa), padded to 60 bytes.
inline Frame arp(uint16_t op, const Mac& sha, uint32_t spa, const Mac& tha, uint32_t tpa,
                 const Mac& dst) {
  Frame f = ethernet(dst, sha, 0x0806, 46);
  put16(f, 14, 1);
  put16(f, 16, 0x0800);
  f[18] = 6;
  f[19] = 4;
  put16(f, 20, op);
  std::memcpy(f.data() + 22, sha.data(), 6);
  put32(f, 28, spa);
  std::memcpy(f.data() + 32, tha.data(), 6);
  put32(f, 38, tpa);
  return f;
}

inline Frame arp_request(uint32_t spa, uint32_t tpa, const Mac& sha = kGuestMac) {
  return arp(1, sha, spa, Mac{}, tpa, kBroadcast);
}

inline bool is_arp(const Frame& f, uint16_t op) {
  return f.size() >= 42 && get16(f, 12) == 0x0806 && get16(f, 20) == op;
}

inline uint16_t ip_checksum(const uint8_t* p, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += uint32_t(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// A DHCP DISCOVER from `mac` (UDP 68 -> 67, broadcast), UDP checksum left 0.
inline Frame dhcp_discover(uint32_t xid, const Mac& mac = kGuestMac) {
  const size_t bootp = 240 + 4;  // fixed part, magic cookie, options 53=1 and end
  Frame f = ethernet(kBroadcast, mac, 0x0800, 20 + 8 + bootp);
  f[14] = 0x45;
  put16(f, 16, uint16_t(20 + 8 + bootp));
  f[22] = 64;
  f[23] = 17;
  put32(f, 26, 0);
  put32(f, 30, 0xffffffff);
  put16(f, 24, ip_checksum(f.data() + 14, 20));
  put16(f, 34, 68);
  put16(f, 36, 67);
  put16(f, 38, uint16_t(8 + bootp));
  size_t b = 42;
  f[b] = 1;
  f[b + 1] = 1;
  f[b + 2] = 6;
  put32(f, b + 4, xid);
  std::memcpy(f.data() + b + 28, mac.data(), 6);
  put32(f, b + 236, 0x63825363);
  f[b + 240] = 53;
  f[b + 241] = 1;
  f[b + 242] = 1;
  f[b + 243] = 255;
  return f;
}

// The DHCP message type (option 53) of a BOOTP reply to xid, if `f` is one.
inline std::optional<int> dhcp_type(const Frame& f, uint32_t xid) {
  if (f.size() < 42 + 240 || get16(f, 12) != 0x0800 || f[23] != 17) return std::nullopt;
  size_t ihl = size_t(f[14] & 0xf) * 4;
  size_t udp = 14 + ihl, b = udp + 8;
  if (get16(f, udp) != 67 || get16(f, udp + 2) != 68 || f.size() < b + 240) return std::nullopt;
  if (f[b] != 2 || get32(f, b + 4) != xid) return std::nullopt;
  for (size_t o = b + 240; o + 1 < f.size() && f[o] != 255;) {
    if (f[o] == 0) {
      ++o;
      continue;
    }
    if (f[o] == 53 && o + 2 < f.size()) return f[o + 2];
    o += 2 + f[o + 1];
  }
  return std::nullopt;
}

inline uint32_t dhcp_yiaddr(const Frame& f) {
  return get32(f, 14 + size_t(f[14] & 0xf) * 4 + 8 + 16);
}

// A NIC stand-in: records frames, can refuse them.
struct RecordingNic {
  std::vector<Frame> frames;
  bool accept = true;  // can_receive()
  bool take = true;    // receive() consumes (else returns 0)
  int receive_calls = 0;
  // Answers ARP requests for this address with kGuestMac (a guest that owns 10.0.2.15).
  uint32_t arp_owner = 0;
  Netdev* nd = nullptr;

  void attach(Netdev* n) {
    nd = n;
    n->set_peer([this] { return accept; },
                [this](const iovec* iov, int cnt) -> ssize_t {
                  ++receive_calls;
                  if (!take) return 0;
                  Frame f;
                  for (int i = 0; i < cnt; ++i) {
                    auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
                    f.insert(f.end(), p, p + iov[i].iov_len);
                  }
                  if (arp_owner && is_arp(f, 1) && get32(f, 38) == arp_owner) {
                    Frame r =
                        arp(2, kGuestMac, arp_owner, mac_at(f, 22), get32(f, 28), mac_at(f, 22));
                    main_loop().post([this, r] { send(r); });
                  }
                  frames.push_back(std::move(f));
                  return ssize_t(frames.back().size());
                });
  }
  ssize_t send(const Frame& f) {
    iovec v{const_cast<uint8_t*>(f.data()), f.size()};
    return nd->send(&v, 1);
  }
  const Frame* find(const std::function<bool(const Frame&)>& pred) const {
    for (const Frame& f : frames) {
      if (pred(f)) return &f;
    }
    return nullptr;
  }
};

// -netdev ARG as the command line parses it, then created.
inline Result<Netdev*> add_netdev(const std::string& arg) {
  auto cfg = parse_cmdline({"-netdev", arg});
  if (!cfg.ok()) return cfg.error();
  if (cfg->netdevs.empty()) return generic_error("no -netdev parsed");
  auto o = netdev_options_from_qemu_opts(cfg->netdevs[0].opts);
  if (!o.ok()) return o.error();
  return netdev_add(o.value());
}

inline int free_tcp_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

class NetTest : public ::testing::Test {
 protected:
  void TearDown() override { netdev_del_all(); }
};

}  // namespace machina::test
