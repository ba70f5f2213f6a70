// -netdev / netdev_add options: QEMU's error texts for bad input, and what good input yields.
#include <nlohmann/json.hpp>

#include "net/slirp-config.h"
#include "net_test_util.h"

namespace machina::test {
namespace {

using nlohmann::json;

class OptionsTest : public NetTest {};

std::string add_error(const std::string& arg) {
  auto r = add_netdev(arg);
  return r.ok() ? "(created)" : r.message();
}

TEST_F(OptionsTest, CommandLineErrorsUseQemusTexts) {
  const std::pair<const char*, const char*> cases[] = {
      {"user", "Parameter 'id' is missing"},
      {"foo,id=x", "Parameter 'type' does not accept value 'foo'"},
      {"socket,id=x", "Parameter 'type' expects a netdev backend type"},
      {"nic,id=x", "Parameter 'type' expects a netdev backend type"},
      {"user,id=x,bogus=1", "Invalid parameter 'bogus'"},
      {"user,id=x,restrict=maybe", "Parameter 'restrict' expects 'on' or 'off'"},
      {"user,id=x,ipv6-prefixlen=abc", "Parameter 'ipv6-prefixlen' expects a number"},
      {"tap,id=x,ifname=a,script=/etc/qemu-ifup", ""},
  };
  for (auto [arg, want] : cases) {
    if (!*want) continue;
    EXPECT_EQ(add_error(arg), want) << arg;
  }
}

TEST_F(OptionsTest, UserNetworkErrorsUseQemusTexts) {
  const std::pair<const char*, const char*> cases[] = {
      {"ipv4=off,ipv6=off", "IPv4 and IPv6 disabled"},
      {"ipv4=off,net=10.0.2.0/24", "IPv4 disabled but netmask/host/dns provided"},
      {"ipv6=off,ipv6-host=fec0::5", "IPv6 disabled but prefix/host6/dns6 provided"},
      {"ipv6=on,dns=10.0.2.3", "IPv4 disabled but netmask/host/dns provided"},
      {"net=nonsense", "Failed to parse netmask"},
      {"net=nonsense/24", "Failed to parse netmask"},
      {"net=10.0.2.0/33", "Invalid netmask provided (must be in range 4-32)"},
      {"net=10.0.2.0/3", "Invalid netmask provided (must be in range 4-32)"},
      {"net=10.0.2.0/255.x", "Failed to parse netmask (trailing chars)"},
      {"host=x", "Failed to parse host"},
      {"host=10.0.3.2", "Host doesn't belong to network"},
      {"dns=x", "Failed to parse DNS"},
      {"restrict=on,dns=10.0.3.3", "DNS doesn't belong to network"},
      {"dns=10.0.2.2", "DNS must be different from host"},
      {"dhcpstart=x", "Failed to parse DHCP start address"},
      {"dhcpstart=10.0.3.15", "DHCP doesn't belong to network"},
      {"dhcpstart=10.0.2.3", "DHCP must be different from host and DNS"},
      {"ipv6-prefix=x", "Failed to parse IPv6 prefix"},
      {"ipv6-prefixlen=127",
       "Invalid IPv6 prefix provided (IPv6 prefix length must be between 0 and 126)"},
      {"ipv6-host=x", "Failed to parse IPv6 host"},
      {"ipv6-host=fec1::2", "IPv6 Host doesn't belong to network"},
      {"ipv6-dns=x", "Failed to parse IPv6 DNS"},
  };
  for (auto [arg, want] : cases) {
    EXPECT_EQ(add_error(std::string("user,id=u,") + arg), want) << arg;
  }
  EXPECT_EQ(netdev_list().size(), 0u);
}

TEST_F(OptionsTest, HostfwdErrorsUseQemusTexts) {
  const std::pair<const char*, const char*> cases[] = {
      {"bad", "No : separators"},
      {"sctp::1-:2", "Bad protocol name"},
      {"tcp:2222", "Missing : separator"},
      {"tcp:1.2.3.x:1-:2", "Bad host address"},
      {"tcp::2222", "Bad host port separator"},
      {"tcp::99999-:22", "Bad host port"},
      {"tcp::x-:22", "Bad host port"},
      {"tcp::2222-22", "Missing guest address"},
      {"tcp::2222-10.0.2.x:22", "Bad guest address"},
      {"tcp::2222-:0", "Bad guest port"},
      {"tcp::2222-:70000", "Bad guest port"},
  };
  for (auto [rule, why] : cases) {
    EXPECT_EQ(add_error(std::string("user,id=u,hostfwd=") + rule),
              std::string("Invalid host forwarding rule '") + rule + "' (" + why + ")")
        << rule;
  }
}

TEST_F(OptionsTest, HostfwdParsesEveryPart) {
  auto f = parse_hostfwd("udp:127.0.0.1:0x10-10.0.2.20:53");
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_TRUE(f->udp);
  EXPECT_EQ(ntohl(f->host.sin_addr.s_addr), ip("127.0.0.1"));
  EXPECT_EQ(ntohs(f->host.sin_port), 16);
  EXPECT_EQ(ntohl(f->guest.sin_addr.s_addr), ip("10.0.2.20"));
  EXPECT_EQ(ntohs(f->guest.sin_port), 53);
  auto g = parse_hostfwd(
      ":"
      ":2222-:22");
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->udp);
  EXPECT_EQ(g->host.sin_addr.s_addr, 0u);
}

TEST_F(OptionsTest, UserDefaultsAndClassfulNetworks) {
  NetdevOptions o{.type = "user", .id = "u"};
  auto s = slirp_settings(o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(ntohl(s->net.s_addr), ip("10.0.2.0"));
  EXPECT_EQ(ntohl(s->mask.s_addr), 0xffffff00u);
  EXPECT_EQ(ntohl(s->host.s_addr), ip("10.0.2.2"));
  EXPECT_EQ(ntohl(s->dns.s_addr), ip("10.0.2.3"));
  EXPECT_EQ(ntohl(s->dhcp.s_addr), ip("10.0.2.15"));
  EXPECT_TRUE(s->ipv4 && s->ipv6);
  o.strings["net"] = "172.20.0.0";  // no length: 172.16/12 is a private /12
  s = slirp_settings(o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(ntohl(s->mask.s_addr), 0xfff00000u);
  EXPECT_EQ(ntohl(s->host.s_addr), ip("172.16.2.2"));
  o.strings.clear();
  o.bools["ipv4"] = true;  // one family alone turns the other off
  s = slirp_settings(o);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->ipv4);
  EXPECT_FALSE(s->ipv6);
}

TEST_F(OptionsTest, QmpArgumentsAreTypeChecked) {
  auto err = [](const json& j) {
    auto r = netdev_options_from_json(j);
    return r.ok() ? std::string("(ok)") : r.message();
  };
  EXPECT_EQ(err({{"id", "n0"}}), "Parameter 'type' is missing");
  EXPECT_EQ(err({{"type", "user"}}), "Parameter 'id' is missing");
  EXPECT_EQ(err({{"type", "user"}, {"id", "1x"}}), "Parameter 'id' expects an identifier");
  EXPECT_EQ(err({{"type", "user"}, {"id", "n0"}, {"restrict", "yes"}}),
            "Invalid parameter type for 'restrict', expected: boolean");
  EXPECT_EQ(err({{"type", "user"}, {"id", "n0"}, {"net", 5}}),
            "Invalid parameter type for 'net', expected: string");
  EXPECT_EQ(err({{"type", "user"}, {"id", "n0"}, {"bogus", 1}}), "Parameter 'bogus' is unexpected");
  EXPECT_EQ(err({{"type", "user"}, {"id", "n0"}, {"hostfwd", "tcp::1-:2"}}),
            "Invalid parameter type for 'hostfwd', expected: array");
  EXPECT_EQ(err({{"type", "user"}, {"id", "n0"}, {"hostfwd", json::array({json::object()})}}),
            "Parameter 'hostfwd[0].str' is missing");
  EXPECT_EQ(err({{"type", "tap"}, {"id", "n0"}, {"vnet_hdr", 1}}),
            "Invalid parameter type for 'vnet_hdr', expected: boolean");
  auto ok = netdev_options_from_json(
      {{"type", "user"},
       {"id", "n0"},
       {"restrict", true},
       {"hostfwd", json::array({{{"str", "tcp::1-:2"}}, {{"str", "udp::3-:4"}}})}});
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ(ok->flag("restrict"), true);
  EXPECT_EQ(ok->list("hostfwd"), (std::vector<std::string>{"tcp::1-:2", "udp::3-:4"}));
}

TEST_F(OptionsTest, TapRefusesScriptsAndMixedFdOptions) {
  std::string e = add_error("tap,id=t0,ifname=x,script=/etc/qemu-ifup");
  EXPECT_NE(e.find("network scripts are not supported"), std::string::npos) << e;
  e = add_error("tap,id=t0,downscript=/etc/qemu-ifdown,script=no");
  EXPECT_NE(e.find("network scripts are not supported"), std::string::npos) << e;
  EXPECT_EQ(add_error("tap,id=t0,fd=3,ifname=x"),
            "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= "
            "are invalid with fd=");
  EXPECT_EQ(add_error("tap,id=t0,fd=notanfd"), "Invalid file descriptor number 'notanfd'");
  EXPECT_EQ(add_error("tap,id=t0,vhost=on"), "vhost-net support is not available");
  EXPECT_EQ(add_error("tap,id=t0,fd=3,queues=2"),
            "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= "
            "are invalid with fd=");
}

// queues= is tap's (QAPI uint32), checked before /dev/net/tun is opened; user has one queue and
// no such parameter. (Opening a multiqueue tap needs a network namespace: qtest
// virtio_net_mq_test.)
TEST_F(OptionsTest, TapQueuesIsAUint32AndUserHasNone) {
  EXPECT_EQ(add_error("tap,id=t0,queues=4294967296"), "Parameter 'queues' expects uint32_t");
  EXPECT_EQ(add_error("user,id=u0,queues=2"), "Invalid parameter 'queues'");
  auto err = [](const json& args) {
    auto o = netdev_options_from_json(args);
    if (!o.ok()) return o.message();
    auto r = netdev_add(o.value());
    return r.ok() ? std::string("(created)") : r.message();
  };
  EXPECT_EQ(err({{"type", "tap"}, {"id", "t0"}, {"queues", -1}}),
            "Parameter 'queues' expects uint32_t");
  EXPECT_EQ(err({{"type", "tap"}, {"id", "t0"}, {"queues", "2"}}),
            "Invalid parameter type for 'queues', expected: integer");
  EXPECT_EQ(err({{"type", "user"}, {"id", "u0"}, {"queues", 2}}),
            "Parameter 'queues' is unexpected");
}

}  // namespace
}  // namespace machina::test
