// virtio-net-pci on -netdev user (libslirp), driven through qtest as Linux's virtio_net does:
// configuration (MAC, link status), an ARP request to the slirp gateway and its reply through
// mergeable receive buffers, the control queue (receive filter → NIC_RX_FILTER_CHANGED),
// set_link, and a malformed control request → NEEDS_RESET.
#include <gtest/gtest.h>

#include <cstring>

#include "qtest/hw_pc_qtest.h"
#include "qtest/virtio_driver.h"

namespace machina::qtest {
namespace {

constexpr int kNetDevfn = 3 << 3;
constexpr uint64_t kVersion1 = 1ull << 32;
constexpr uint64_t kMac = 1ull << 5, kMrgRxbuf = 1ull << 15, kStatus = 1ull << 16,
                   kCtrlVq = 1ull << 17, kCtrlRx = 1ull << 18, kCsum = 1ull << 0;

class VirtioNetTest : public PcQtest {
 protected:
  void SetUp() override {
    start(
        "-netdev user,id=n0 -device virtio-net-pci,addr=3,id=nic0,netdev=n0,"
        "mac=52:54:00:ab:cd:ef");
    d_ = std::make_unique<VirtioPciDriver>(m(), alloc_, kNetDevfn);
    ASSERT_TRUE(d_->found());
  }
  void bring_up() {
    ASSERT_TRUE(d_->negotiate(kVersion1 | kMac | kMrgRxbuf | kStatus | kCtrlVq | kCtrlRx));
    rx_ = d_->setup_queue(0);
    tx_ = d_->setup_queue(1);
    ctrl_ = d_->setup_queue(2);
    d_->driver_ok();
  }
  std::pair<uint32_t, uint8_t> ctrl(uint8_t cls, uint8_t cmd, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> out(2 + data.size());
    out[0] = cls;
    out[1] = cmd;
    std::copy(data.begin(), data.end(), out.begin() + 2);
    uint64_t o = alloc_.alloc(out.size()), ack = alloc_.alloc(1);
    mem_write(m(), o, out);
    m().writeb(ack, 0xff);
    d_->add_chain(ctrl_, {{o, uint32_t(out.size()), false}, {ack, 1, true}});
    d_->kick(ctrl_);
    auto used = d_->wait_used(ctrl_);
    return {used ? used->second : 0, m().readb(ack)};
  }

  GuestAlloc alloc_;
  std::unique_ptr<VirtioPciDriver> d_;
  VirtioQueue rx_, tx_, ctrl_;
};

TEST_F(VirtioNetTest, ConfigHasTheMacAndLinkUp) {
  EXPECT_EQ(d_->pci().read(0x02, 2), 0x1000u);  // transitional on pcie.0 (as QEMU)
  EXPECT_EQ(d_->pci().read(0x0a, 2), 0x0200u);
  auto mac = mem_read(m(), d_->device_cfg(), 6);
  EXPECT_EQ(mac, (std::vector<uint8_t>{0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}));
  EXPECT_EQ(m().readw(d_->device_cfg() + 6), 1);  // VIRTIO_NET_S_LINK_UP
  uint64_t f = d_->device_features();
  EXPECT_TRUE(f & kMrgRxbuf);
  EXPECT_TRUE(f & kCtrlVq);
  EXPECT_FALSE(f & kCsum) << "slirp carries no virtio-net header: no checksum offload";
}

TEST_F(VirtioNetTest, ArpToTheSlirpGatewayIsAnswered) {
  bring_up();
  // Mergeable receive buffers of 1526 bytes, as Linux posts them.
  std::vector<uint64_t> bufs;
  for (int i = 0; i < 4; ++i) {
    bufs.push_back(alloc_.alloc(1526));
    d_->add_chain(rx_, {{bufs.back(), 1526, true}});
  }
  d_->kick(rx_);
  // virtio_net_hdr_v1 (12 bytes of zero) + ARP who-has 10.0.2.2 tell 10.0.2.15.
  std::vector<uint8_t> pkt(12, 0);
  std::vector<uint8_t> arp = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0xab, 0xcd,
                              0xef, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
                              0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 10,   0,    2,    15,   0,
                              0,    0,    0,    0,    0,    10,   0,    2,    2};
  pkt.insert(pkt.end(), arp.begin(), arp.end());
  uint64_t t = alloc_.alloc(pkt.size());
  mem_write(m(), t, pkt);
  d_->add_chain(tx_, {{t, uint32_t(pkt.size()), false}});
  d_->kick(tx_);
  EXPECT_TRUE(d_->wait_used(tx_));
  auto used = d_->wait_used(rx_);
  ASSERT_TRUE(used);
  auto got = mem_read(m(), bufs[used->first], used->second);
  ASSERT_GE(got.size(), 12u + 42u);
  EXPECT_EQ(got[10] | got[11] << 8, 1) << "num_buffers";
  // Ethernet: to us, from slirp's gateway MAC 52:55:0a:00:02:02, ARP reply.
  EXPECT_EQ(std::vector<uint8_t>(got.begin() + 12, got.begin() + 18),
            (std::vector<uint8_t>{0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}));
  EXPECT_EQ(std::vector<uint8_t>(got.begin() + 18, got.begin() + 24),
            (std::vector<uint8_t>{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}));
  EXPECT_EQ(got[12 + 12], 0x08);
  EXPECT_EQ(got[12 + 13], 0x06);
  EXPECT_EQ(got[12 + 21], 2) << "ARP reply";
}

TEST_F(VirtioNetTest, ControlQueueFilterAnnouncesTheChange) {
  bring_up();
  auto [len, ack] = ctrl(0, 0, {0});  // VIRTIO_NET_CTRL_RX_PROMISC off
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(ack, 0);
  auto ev = m().wait_event("NIC_RX_FILTER_CHANGED");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["data"]["name"], "nic0");
  EXPECT_EQ((*ev)["data"]["path"], "/machine/peripheral/nic0/virtio-backend");
  // MAC table: one unicast, no multicast. No second event until the state has been queried.
  std::vector<uint8_t> tables = {1, 0, 0, 0, 0x52, 0x54, 0, 1, 2, 3, 0, 0, 0, 0};
  EXPECT_EQ(ctrl(1, 0, tables).second, 0);
  m().qmp_client().drain(Ms(100));
  for (const json& e : m().qmp_client().events()) {
    EXPECT_NE(e["event"], "NIC_RX_FILTER_CHANGED") << e.dump();
  }
  json r = m().qmp("query-rx-filter", {{"name", "nic0"}});
  ASSERT_TRUE(r.contains("return")) << r.dump();
  ASSERT_EQ(r["return"].size(), 1u);
  const json& f = r["return"][0];
  EXPECT_EQ(f["name"], "nic0");
  EXPECT_EQ(f["promiscuous"], false);
  EXPECT_EQ(f["unicast"], "normal");
  EXPECT_EQ(f["multicast"], "normal");
  EXPECT_EQ(f["main-mac"], "52:54:00:ab:cd:ef");
  EXPECT_EQ(f["unicast-table"], (json{"52:54:00:01:02:03"}));
  EXPECT_EQ(f["multicast-table"], json::array());
  EXPECT_EQ(f["unicast-overflow"], false);
  // After the query, the next change is announced again.
  EXPECT_EQ(ctrl(0, 1, {1}).second, 0);  // all-multicast on
  EXPECT_TRUE(m().wait_event("NIC_RX_FILTER_CHANGED"));
  EXPECT_EQ(m().qmp("query-rx-filter")["return"][0]["multicast"], "all");
  EXPECT_EQ(error_desc(m().qmp("query-rx-filter", {{"name", "nope"}})),
            "invalid net client name: nope");
  // A bad command is refused with VIRTIO_NET_ERR, not fatal.
  EXPECT_EQ(ctrl(0, 42, {1}).second, 1);
  EXPECT_EQ(d_->status() & 0x40, 0);
}

TEST_F(VirtioNetTest, SetLinkChangesTheStatusWithAConfigInterrupt) {
  bring_up();
  auto r = m().qmp("set_link", {{"name", "nic0"}, {"up", false}});
  EXPECT_TRUE(r.contains("return")) << r.dump();
  EXPECT_EQ(m().readw(d_->device_cfg() + 6), 0);
  EXPECT_EQ(d_->read_isr() & 2, 2);
  m().qmp("set_link", {{"name", "nic0"}, {"up", true}});
  EXPECT_EQ(m().readw(d_->device_cfg() + 6), 1);
}

TEST_F(VirtioNetTest, ControlRequestWithoutAckByteNeedsReset) {
  bring_up();
  uint64_t o = alloc_.alloc(3);
  d_->add_chain(ctrl_, {{o, 3, false}});
  d_->kick(ctrl_);
  EXPECT_TRUE(d_->wait_needs_reset());
  EXPECT_EQ(m().qmp("query-status")["return"]["status"], "running");
}

TEST(VirtioNetOptions, BadOptionsUseQemuTexts) {
  auto refuse = [](const std::string& dev, const std::string& text) {
    RawMachine raw({"-M", "q35", "-accel", "qtest", "-display", "none", "-netdev", "user,id=n0",
                    "-device", dev});
    auto st = raw.wait_exit();
    EXPECT_EQ(st.code, 1) << dev;
    EXPECT_NE(raw.child().stderr_text().find(text), std::string::npos) << raw.child().stderr_text();
  };
  refuse("virtio-net-pci,netdev=nope",
         "Property 'virtio-net-device.netdev' can't find value 'nope'");
  refuse("virtio-net-pci,netdev=n0,mac=zz",
         "Property 'virtio-net-device.mac' doesn't take value 'zz'");
}

}  // namespace
}  // namespace machina::qtest
