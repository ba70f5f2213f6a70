// Netdevs by id: attaching NICs (claims), netdev_del with and without a NIC, set_link.
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_test_util.h"

namespace machina::test {
namespace {

class RegistryTest : public NetTest {
 protected:
  void TearDown() override {
    net_unregister_nic_link("nic0");
    NetTest::TearDown();
  }
};

int open_fd_count() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

bool port_accepts(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

TEST_F(RegistryTest, AttachUnknownNetdevUsesQemusPropertyText) {
  auto r = netdev_attach("nope", "nic0", "virtio-net-device");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Property 'virtio-net-device.netdev' can't find value 'nope'");
}

TEST_F(RegistryTest, SecondNicIsRefusedUntilTheFirstReleases) {
  ASSERT_TRUE(add_netdev("user,id=n0").ok());
  auto a = netdev_attach("n0", "nic0", "virtio-net-device");
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_TRUE(netdev_find("n0")->claimed());
  EXPECT_EQ(netdev_find("n0")->holder(), "nic0");
  auto b = netdev_attach("n0", "nic1", "e1000");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.message(), "Property 'e1000.netdev' can't take value 'n0', it's in use");
  a.value().reset();
  EXPECT_FALSE(netdev_find("n0")->claimed());
  auto c = netdev_attach("n0", "nic1", "e1000");
  EXPECT_TRUE(c.ok()) << c.message();
}

TEST_F(RegistryTest, ReleasingTheRefDetachesThePeer) {
  ASSERT_TRUE(add_netdev("user,id=n0").ok());
  auto a = netdev_attach("n0", "nic0", "virtio-net-device");
  ASSERT_TRUE(a.ok());
  RecordingNic nic;
  nic.attach(a.value().get());
  EXPECT_TRUE(a.value()->has_peer());
  NetdevRef moved = std::move(a.value());
  moved.reset();
  EXPECT_FALSE(netdev_find("n0")->has_peer());
}

TEST_F(RegistryTest, DuplicateIdIsRefused) {
  ASSERT_TRUE(add_netdev("user,id=n0").ok());
  auto r = add_netdev("user,id=n0");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Duplicate ID 'n0'");
}

TEST_F(RegistryTest, DelUnknownIsDeviceNotFound) {
  Status s = netdev_del("n9");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "Device 'n9' not found");
  EXPECT_EQ(s.error().cls, ErrorClass::DeviceNotFound);
}

TEST_F(RegistryTest, DelReleasesHostResources) {
  main_loop().run_once(0);  // the loop's own fds exist before the count
  int before = open_fd_count();
  int port = free_tcp_port();
  ASSERT_TRUE(add_netdev("user,id=n0,hostfwd=tcp:127.0.0.1:" + std::to_string(port) + "-:22").ok());
  EXPECT_GT(open_fd_count(), before);
  EXPECT_TRUE(port_accepts(port));
  pump_for(20);
  ASSERT_TRUE(netdev_del("n0").ok());
  EXPECT_EQ(netdev_find("n0"), nullptr);
  EXPECT_FALSE(port_accepts(port));
  EXPECT_EQ(open_fd_count(), before);
}

// QEMU 7.2 deletes a netdev a NIC still uses: the host side goes now, the NIC's link goes down,
// the id is free, and the object stays valid for the NIC until it lets go.
TEST_F(RegistryTest, DelWhileAttachedReleasesHostSideAndTakesTheLinkDown) {
  int port = free_tcp_port();
  ASSERT_TRUE(add_netdev("user,id=n0,hostfwd=tcp:127.0.0.1:" + std::to_string(port) + "-:22").ok());
  std::vector<bool> link_events;
  net_register_nic_link("nic0", [&](bool up) { link_events.push_back(up); });
  auto ref = netdev_attach("n0", "nic0", "virtio-net-device");
  ASSERT_TRUE(ref.ok());
  RecordingNic nic;
  nic.attach(ref.value().get());
  EXPECT_FALSE(ref.value()->link_down());

  ASSERT_TRUE(netdev_del("n0").ok());
  EXPECT_EQ(netdev_find("n0"), nullptr);
  EXPECT_FALSE(port_accepts(port));
  EXPECT_EQ(link_events, std::vector<bool>{false});
  EXPECT_TRUE(ref.value()->deleted());
  EXPECT_TRUE(ref.value()->link_down());
  EXPECT_EQ(nic.send(arp_request(ip("10.0.2.15"), ip("10.0.2.2"))), 0);
  EXPECT_EQ(netdev_del("n0").message(), "Device 'n0' not found");

  // The id can be used again while the old object is still held.
  ASSERT_TRUE(add_netdev("user,id=n0").ok());
  EXPECT_FALSE(netdev_find("n0")->claimed());
  ref.value().reset();
  EXPECT_FALSE(ref.value());
}

TEST_F(RegistryTest, SetLinkOnTheNetdevReachesTheNicAndStopsFrames) {
  ASSERT_TRUE(add_netdev("user,id=n0").ok());
  std::vector<bool> link_events;
  net_register_nic_link("nic0", [&](bool up) { link_events.push_back(up); });
  auto ref = netdev_attach("n0", "nic0", "virtio-net-device");
  ASSERT_TRUE(ref.ok());
  RecordingNic nic;
  nic.attach(ref.value().get());

  ASSERT_TRUE(net_set_link("n0", false).ok());
  EXPECT_TRUE(ref.value()->link_down());
  EXPECT_EQ(link_events, std::vector<bool>{false});
  EXPECT_EQ(nic.send(arp_request(ip("10.0.2.15"), ip("10.0.2.2"))), 0);
  pump_for(50);
  EXPECT_TRUE(nic.frames.empty());

  ASSERT_TRUE(net_set_link("n0", true).ok());
  EXPECT_EQ(link_events, (std::vector<bool>{false, true}));
  EXPECT_FALSE(ref.value()->link_down());
  EXPECT_GT(nic.send(arp_request(ip("10.0.2.15"), ip("10.0.2.2"))), 0);
  EXPECT_TRUE(pump_until([&] { return !nic.frames.empty(); }));
}

TEST_F(RegistryTest, SetLinkOnTheNicNameReachesItsHookAndItsNetdev) {
  ASSERT_TRUE(add_netdev("user,id=n0").ok());
  std::vector<bool> link_events;
  net_register_nic_link("nic0", [&](bool up) { link_events.push_back(up); });
  auto ref = netdev_attach("n0", "nic0", "virtio-net-device");
  ASSERT_TRUE(ref.ok());
  ASSERT_TRUE(net_set_link("nic0", false).ok());
  EXPECT_EQ(link_events, std::vector<bool>{false});
  EXPECT_TRUE(ref.value()->link_down());
  ASSERT_TRUE(net_set_link("nic0", true).ok());
  EXPECT_FALSE(ref.value()->link_down());
}

TEST_F(RegistryTest, SetLinkUnknownNameIsDeviceNotFound) {
  Status s = net_set_link("ghost", false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "Device 'ghost' not found");
  EXPECT_EQ(s.error().cls, ErrorClass::DeviceNotFound);
  net_register_nic_link("nic0", [](bool) {});
  EXPECT_TRUE(net_set_link("nic0", false).ok());
  net_unregister_nic_link("nic0");
  EXPECT_FALSE(net_set_link("nic0", false).ok());
}

TEST_F(RegistryTest, DefaultMacsCountUpFromQemus) {
  auto a = net_default_mac();
  auto b = net_default_mac();
  EXPECT_EQ(a[0], 0x52);
  EXPECT_EQ(a[1], 0x54);
  EXPECT_EQ(a[2], 0x00);
  EXPECT_EQ(a[3], 0x12);
  EXPECT_EQ(a[4], 0x34);
  EXPECT_EQ(b[5], uint8_t(a[5] + 1));
}

TEST_F(RegistryTest, InfoNetworkListsNetdevsAndTheirNic) {
  ASSERT_TRUE(add_netdev("user,id=n0,restrict=on").ok());
  auto ref = netdev_attach("n0", "nic0", "virtio-net-device");
  ASSERT_TRUE(ref.ok());
  std::string text = net_info_text();
  EXPECT_NE(text.find("n0: index=0,type=user,net=10.0.2.0,restrict=on"), std::string::npos) << text;
  EXPECT_NE(text.find("nic0"), std::string::npos) << text;
}

}  // namespace
}  // namespace machina::test
