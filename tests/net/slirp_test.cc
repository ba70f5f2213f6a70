// -netdev user: frames built by hand go through send(); slirp's answers reach the NIC.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "net_test_util.h"
#include "util/bql.h"

namespace machina::test {
namespace {

class SlirpTest : public NetTest {};

TEST_F(SlirpTest, ArpRequestForTheGatewayIsAnsweredBySlirp) {
  auto nd = add_netdev("user,id=n0");
  ASSERT_TRUE(nd.ok()) << nd.message();
  EXPECT_EQ(nd.value()->type(), "user");
  RecordingNic nic;
  nic.attach(nd.value());
  Frame req = arp_request(ip("10.0.2.15"), ip("10.0.2.2"));
  EXPECT_EQ(nic.send(req), ssize_t(req.size()));
  ASSERT_TRUE(pump_until([&] { return nic.find([](const Frame& f) { return is_arp(f, 2); }); }));
  const Frame& r = *nic.find([](const Frame& f) { return is_arp(f, 2); });
  EXPECT_EQ(mac_at(r, 0), kGuestMac);   // to the guest
  EXPECT_EQ(mac_at(r, 22), kSlirpMac);  // sender hardware address 52:55:0a:00:02:02
  EXPECT_EQ(get32(r, 28), ip("10.0.2.2"));
  EXPECT_EQ(get32(r, 38), ip("10.0.2.15"));
}

TEST_F(SlirpTest, ArpForAnAddressOutsideTheNetworkIsNotAnswered) {
  auto nd = add_netdev("user,id=n0");
  ASSERT_TRUE(nd.ok()) << nd.message();
  RecordingNic nic;
  nic.attach(nd.value());
  nic.send(arp_request(ip("10.0.2.15"), ip("10.0.3.2")));
  pump_for(100);
  EXPECT_EQ(nic.find([](const Frame& f) { return is_arp(f, 2); }), nullptr);
}

TEST_F(SlirpTest, DhcpDiscoverGetsAnOfferOfTheFirstAddress) {
  auto nd = add_netdev("user,id=n0");
  ASSERT_TRUE(nd.ok()) << nd.message();
  RecordingNic nic;
  nic.attach(nd.value());
  nic.send(dhcp_discover(0x1234abcd));
  auto offer = [](const Frame& f) { return dhcp_type(f, 0x1234abcd) == 2; };
  ASSERT_TRUE(pump_until([&] { return nic.find(offer) != nullptr; }));
  EXPECT_EQ(dhcp_yiaddr(*nic.find(offer)), ip("10.0.2.15"));
}

TEST_F(SlirpTest, NetAndDhcpstartOptionsChangeTheOffer) {
  auto nd = add_netdev("user,id=n0,net=192.168.76.0/24,dhcpstart=192.168.76.9");
  ASSERT_TRUE(nd.ok()) << nd.message();
  RecordingNic nic;
  nic.attach(nd.value());
  nic.send(dhcp_discover(7));
  auto offer = [](const Frame& f) { return dhcp_type(f, 7) == 2; };
  ASSERT_TRUE(pump_until([&] { return nic.find(offer) != nullptr; }));
  EXPECT_EQ(dhcp_yiaddr(*nic.find(offer)), ip("192.168.76.9"));
  EXPECT_EQ(nd.value()->info(), "net=192.168.76.0,restrict=off");
}

TEST_F(SlirpTest, HostfwdConnectionArrivesAsSynForTheGuestPort) {
  int port = free_tcp_port();
  auto nd = add_netdev("user,id=n0,hostfwd=tcp:127.0.0.1:" + std::to_string(port) + "-:22");
  ASSERT_TRUE(nd.ok()) << nd.message();
  RecordingNic nic;
  nic.arp_owner = ip("10.0.2.15");
  nic.attach(nd.value());

  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int r = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ASSERT_TRUE(r == 0 || errno == EINPROGRESS) << strerror(errno);
  auto syn = [](const Frame& f) {
    if (f.size() < 54 || get16(f, 12) != 0x0800 || f[23] != 6) return false;
    size_t tcp = 14 + size_t(f[14] & 0xf) * 4;
    return get32(f, 30) == ip("10.0.2.15") && get16(f, tcp + 2) == 22 && (f[tcp + 13] & 0x02);
  };
  EXPECT_TRUE(pump_until([&] { return nic.find(syn) != nullptr; }));
  EXPECT_EQ(mac_at(*nic.find(syn), 0), kGuestMac);
  close(s);
}

TEST_F(SlirpTest, HostfwdPortInUseIsRefusedWithQemusText) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(l, 1), 0);
  socklen_t len = sizeof a;
  getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  std::string rule = "tcp:127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "-:22";
  auto nd = add_netdev("user,id=n0,hostfwd=" + rule);
  ASSERT_FALSE(nd.ok());
  EXPECT_EQ(nd.message(), "Could not set up host forwarding rule '" + rule + "'");
  EXPECT_EQ(netdev_find("n0"), nullptr);
  close(l);
}

TEST_F(SlirpTest, RefusedFramesAreQueuedUntilReceiveReady) {
  auto nd = add_netdev("user,id=n0");
  ASSERT_TRUE(nd.ok()) << nd.message();
  RecordingNic nic;
  nic.accept = false;
  nic.attach(nd.value());
  nic.send(arp_request(ip("10.0.2.15"), ip("10.0.2.2")));
  pump_for(50);
  EXPECT_EQ(nic.receive_calls, 0);
  EXPECT_EQ(nd.value()->queued(), 1u);
  nic.accept = true;
  nd.value()->receive_ready();
  pump_until([&] { return !nic.frames.empty(); }, 1000);
  ASSERT_EQ(nic.frames.size(), 1u);
  EXPECT_TRUE(is_arp(nic.frames[0], 2));
  EXPECT_EQ(nd.value()->queued(), 0u);
}

TEST_F(SlirpTest, ReceiveReturningZeroQueuesAndKeepsOrder) {
  auto nd = add_netdev("user,id=n0");
  ASSERT_TRUE(nd.ok()) << nd.message();
  RecordingNic nic;
  nic.take = false;
  nic.attach(nd.value());
  nic.send(arp_request(ip("10.0.2.15"), ip("10.0.2.2")));
  nic.send(arp_request(ip("10.0.2.15"), ip("10.0.2.3")));
  pump_for(50);
  EXPECT_EQ(nic.receive_calls, 1);  // the second frame queued behind the first, untried
  EXPECT_EQ(nd.value()->queued(), 2u);
  nic.take = true;
  nd.value()->receive_ready();
  pump_until([&] { return nic.frames.size() == 2; }, 1000);
  ASSERT_EQ(nic.frames.size(), 2u);
  EXPECT_EQ(get32(nic.frames[0], 28), ip("10.0.2.2"));
  EXPECT_EQ(get32(nic.frames[1], 28), ip("10.0.2.3"));
}

TEST_F(SlirpTest, QueueIsBounded) {
  auto nd = add_netdev("user,id=n0");
  ASSERT_TRUE(nd.ok()) << nd.message();
  RecordingNic nic;
  nic.accept = false;
  nic.attach(nd.value());
  for (int i = 0; i < 300; ++i) nic.send(arp_request(ip("10.0.2.15"), ip("10.0.2.2")));
  pump_for(50);
  EXPECT_EQ(nd.value()->queued(), Netdev::kQueueLimit);
  nic.accept = true;
  nd.value()->receive_ready();
  pump_until([&] { return nic.frames.size() == Netdev::kQueueLimit; }, 1000);
  EXPECT_EQ(nic.frames.size(), Netdev::kQueueLimit);
}

TEST_F(SlirpTest, ReceiveReadyFromAnotherThreadDeliversOnTheLoop) {
  auto nd = add_netdev("user,id=n0");
  ASSERT_TRUE(nd.ok()) << nd.message();
  RecordingNic nic;
  nic.accept = false;
  nic.attach(nd.value());
  nic.send(arp_request(ip("10.0.2.15"), ip("10.0.2.2")));
  main_loop().run_once(0);  // the loop thread is this one from now on
  nic.accept = true;
  std::thread([&] {
    BqlGuard bql;
    nd.value()->receive_ready();
  }).join();
  EXPECT_TRUE(nic.frames.empty());
  EXPECT_TRUE(pump_until([&] { return nic.frames.size() == 1; }, 1000));
}

// A NIC that sends from inside receive() (slirp answers at once) is not re-entered: the answer
// waits for receive() to return and arrives from the loop.
TEST_F(SlirpTest, FramesAnsweredInsideReceiveAreNotDeliveredReentrantly) {
  auto nd = add_netdev("user,id=n0");
  ASSERT_TRUE(nd.ok()) << nd.message();
  int depth = 0, max_depth = 0;
  std::vector<uint32_t> senders;
  Netdev* n = nd.value();
  n->set_peer(nullptr, [&](const iovec* iov, int) -> ssize_t {
    ++depth;
    max_depth = std::max(max_depth, depth);
    Frame f(static_cast<const uint8_t*>(iov[0].iov_base),
            static_cast<const uint8_t*>(iov[0].iov_base) + iov[0].iov_len);
    senders.push_back(get32(f, 28));
    if (senders.size() == 1) {
      Frame again = arp_request(ip("10.0.2.15"), ip("10.0.2.3"));
      iovec v{again.data(), again.size()};
      n->send(&v, 1);
    }
    --depth;
    return ssize_t(iov[0].iov_len);
  });
  Frame req = arp_request(ip("10.0.2.15"), ip("10.0.2.2"));
  iovec v{req.data(), req.size()};
  n->send(&v, 1);
  EXPECT_TRUE(pump_until([&] { return senders.size() == 2; }, 1000));
  EXPECT_EQ(max_depth, 1);
  EXPECT_EQ(senders, (std::vector<uint32_t>{ip("10.0.2.2"), ip("10.0.2.3")}));
}

TEST_F(SlirpTest, SendFromAVcpuThreadIsAnsweredOnTheLoopThread) {
  auto nd = add_netdev("user,id=n0");
  ASSERT_TRUE(nd.ok()) << nd.message();
  main_loop().run_once(0);  // this thread runs the loop
  std::vector<std::thread::id> receivers;
  nd.value()->set_peer([] { return true; },
                       [&](const iovec* iov, int) -> ssize_t {
                         receivers.push_back(std::this_thread::get_id());
                         return ssize_t(iov[0].iov_len);
                       });
  std::thread([&] {
    BqlGuard bql;
    Frame req = arp_request(ip("10.0.2.15"), ip("10.0.2.2"));
    iovec v{req.data(), req.size()};
    EXPECT_EQ(nd.value()->send(&v, 1), ssize_t(req.size()));
  }).join();
  EXPECT_TRUE(receivers.empty());
  ASSERT_TRUE(pump_until([&] { return !receivers.empty(); }, 1000));
  EXPECT_EQ(receivers[0], std::this_thread::get_id());
}

TEST_F(SlirpTest, WithoutAPeerFramesAreDropped) {
  auto nd = add_netdev("user,id=n0");
  ASSERT_TRUE(nd.ok()) << nd.message();
  RecordingNic nic;
  nic.attach(nd.value());
  nd.value()->clear_peer();
  nic.send(arp_request(ip("10.0.2.15"), ip("10.0.2.2")));
  pump_for(50);
  EXPECT_EQ(nd.value()->queued(), 0u);
  EXPECT_EQ(nic.receive_calls, 0);
}

TEST_F(SlirpTest, HasNoVnetHeader) {
  auto nd = add_netdev("user,id=n0");
  ASSERT_TRUE(nd.ok()) << nd.message();
  EXPECT_FALSE(nd.value()->has_vnet_hdr());
  EXPECT_FALSE(nd.value()->using_vnet_hdr(true));
  EXPECT_TRUE(nd.value()->using_vnet_hdr(false));
}

}  // namespace
}  // namespace machina::test
