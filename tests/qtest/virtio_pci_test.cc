// virtio-pci transport and virtio-rng, driven through qtest as a guest driver would: PCI
// discovery, the capability layout, MSI-X, feature negotiation, a request end to end, and every
// kind of malformed ring → NEEDS_RESET for that device only, recovered by a reset.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "qtest/hw_pc_qtest.h"
#include "qtest/virtio_driver.h"

namespace machina::qtest {
namespace {

constexpr int kRngDevfn = 4 << 3;
constexpr int kRng2Devfn = 5 << 3;
constexpr uint64_t kVersion1 = 1ull << 32;
constexpr uint64_t kIndirect = 1ull << 28;
constexpr uint64_t kEventIdx = 1ull << 29;

class VirtioPciTest : public PcQtest {
 protected:
  void start_rng(const std::string& dev_opts = "", const std::string& extra = "") {
    start("-device virtio-rng-pci,addr=4,id=rng0" + dev_opts + " " + extra);
    drv_ = std::make_unique<VirtioPciDriver>(m(), alloc_, kRngDevfn);
    ASSERT_TRUE(drv_->found());
  }
  // Driver set-up up to DRIVER_OK with queue 0 on MSI-X vector `vector` (0xffff: none).
  VirtioQueue bring_up(VirtioPciDriver& d, uint16_t vector = 0xffff, uint64_t extra = 0) {
    EXPECT_TRUE(d.negotiate(kVersion1 | extra));
    VirtioQueue q = d.setup_queue(0, 0, vector);
    d.driver_ok();
    return q;
  }
  // One 64-byte entropy request; the bytes the device wrote.
  std::vector<uint8_t> entropy(VirtioPciDriver& d, VirtioQueue& q, uint32_t len = 64) {
    uint64_t buf = alloc_.alloc(len);
    m().qtest("memset 0x" + to_hex(buf) + " " + std::to_string(len) + " 0");
    d.add_chain(q, {{buf, len, true}});
    d.kick(q);
    auto used = d.wait_used(q);
    if (!used) {
      ADD_FAILURE() << "no used element";
      return {};
    }
    return mem_read(m(), buf, used->second);
  }
  static std::string to_hex(uint64_t v) {
    char b[20];
    std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(v));
    return b;
  }
  // Malformed-ring cases: the device ends in NEEDS_RESET, machina keeps serving, a second
  // virtio-rng is unaffected, and a reset brings the first one back.
  template <class Corrupt>
  void expect_needs_reset_then_recovery(Corrupt corrupt, bool after_driver_ok = true) {
    start("-device virtio-rng-pci,addr=4,id=rng0 -device virtio-rng-pci,addr=5,id=rng1");
    VirtioPciDriver d(m(), alloc_, kRngDevfn);
    VirtioPciDriver d2(m(), alloc_, kRng2Devfn, 0xe8000000);
    ASSERT_TRUE(d.found() && d2.found());
    VirtioQueue q = bring_up(d, 0xffff, kIndirect);
    VirtioQueue q2 = bring_up(d2);
    corrupt(d, q);
    ASSERT_TRUE(d.wait_needs_reset()) << "status " << int(d.status());
    EXPECT_TRUE(d.status() & 0x04);
    // The process is alive and serves QMP; the other device still works.
    EXPECT_EQ(m().qmp("query-status")["return"]["status"], "running");
    EXPECT_EQ(entropy(d2, q2).size(), 64u);
    // Config change interrupt once the driver is up: ISR bit 1 (INTx mode, no MSI-X).
    if (after_driver_ok) {
      EXPECT_EQ(d.read_isr() & 2, 2);
    }
    // Reset and bring-up again: the device works.
    d.reset();
    EXPECT_EQ(d.status(), 0);
    VirtioQueue again = bring_up(d);
    EXPECT_EQ(entropy(d, again).size(), 64u);
  }

  GuestAlloc alloc_;
  std::unique_ptr<VirtioPciDriver> drv_;
};

TEST_F(VirtioPciTest, DiscoveryIdsAndCapabilityLayout) {
  start_rng(",disable-legacy=on");  // modern only (transitional: virtio_pci_legacy_test.cc)
  PciFunction& f = drv_->pci();
  EXPECT_EQ(f.read(0x00, 2), 0x1af4u);
  EXPECT_EQ(f.read(0x02, 2), 0x1044u);  // non-transitional virtio-rng
  EXPECT_EQ(f.read(0x08, 1), 1u);       // revision 1: modern
  EXPECT_EQ(f.read(0x0a, 2), 0x00ffu);  // class "other"
  EXPECT_EQ(f.read(0x2c, 2), 0x1af4u);
  EXPECT_EQ(f.read(0x2e, 2), 0x1100u);  // QEMU's default subsystem
  EXPECT_EQ(f.read(0x3d, 1), 1u);       // INTA
  EXPECT_EQ(f.bar_size(0), 0u);         // no legacy I/O BAR
  EXPECT_EQ(f.bar_size(4), 0x4000u);
  EXPECT_EQ(f.read(0x20, 4) & 0xf, 0xcu);  // 64-bit prefetchable
  EXPECT_EQ(f.bar_size(1), 0x1000u);
  // Vendor capabilities: common, ISR, device, notify (multiplier 4), PCI cfg window.
  std::vector<uint8_t> types;
  for (uint8_t c : f.capabilities(0x09)) {
    types.push_back(uint8_t(f.read(c + 3u, 1)));
    if (f.read(c + 3u, 1) != 5) {
      EXPECT_EQ(f.read(c + 4u, 1), 4u);
    }
  }
  std::sort(types.begin(), types.end());
  EXPECT_EQ(types, (std::vector<uint8_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(drv_->notify_multiplier(), 4u);
  // MSI-X: 2 vectors, table in BAR 1 at 0, PBA at 0x800.
  auto msix = f.capabilities(0x11);
  ASSERT_EQ(msix.size(), 1u);
  EXPECT_EQ(f.read(msix[0] + 2u, 2) & 0x7ff, 1u);
  EXPECT_EQ(f.read(msix[0] + 4u, 4), 0x1u);
  EXPECT_EQ(f.read(msix[0] + 8u, 4), 0x801u);
  EXPECT_EQ(drv_->num_queues(), 1);
  // query-pci shows it.
  auto devs = m().qmp("query-pci")["return"][0]["devices"];
  bool seen = false;
  for (const auto& dev : devs) seen |= dev["id"]["device"] == 0x1044 && dev["qdev_id"] == "rng0";
  EXPECT_TRUE(seen) << devs.dump();
}

TEST_F(VirtioPciTest, BackendIsTheVirtioBackendChild) {
  start_rng();
  auto r = m().qmp("qom-get",
                   {{"path", "/machine/peripheral/rng0/virtio-backend"}, {"property", "period"}});
  EXPECT_EQ(r["return"], 65536) << r.dump();
  // The backend's properties are the proxy's.
  r = m().qmp("qom-get", {{"path", "/machine/peripheral/rng0"}, {"property", "max-bytes"}});
  EXPECT_EQ(r["return"], INT64_MAX) << r.dump();
}

TEST_F(VirtioPciTest, FeatureNegotiation) {
  start_rng();
  uint64_t f = drv_->device_features();
  EXPECT_TRUE(f & kVersion1);
  EXPECT_TRUE(f & kIndirect);
  EXPECT_TRUE(f & kEventIdx);
  EXPECT_FALSE(drv_->negotiate(0)) << "VERSION_1 is required";
  EXPECT_FALSE(drv_->negotiate(kVersion1 | (1ull << 40))) << "a bit the device did not offer";
  EXPECT_TRUE(drv_->negotiate(kVersion1 | kEventIdx));
  // Driver features read back.
  m().writel(drv_->common() + 0x08, 1);
  EXPECT_EQ(m().readl(drv_->common() + 0x0c), 1u);
  // The status register reads back what the driver set; 0 resets.
  EXPECT_EQ(drv_->status(), 1 | 2 | 8);
  drv_->reset();
  EXPECT_EQ(drv_->status(), 0);
}

TEST_F(VirtioPciTest, EntropyRequestWithMsix) {
  start_rng();
  uint64_t msi_addr = alloc_.alloc(64);
  drv_->set_msix_entry(0, msi_addr, 0x1234);
  drv_->set_msix_entry(1, msi_addr + 4, 0x5678);
  drv_->enable_msix();
  drv_->set_config_vector(1);
  EXPECT_EQ(drv_->config_vector(), 1);
  drv_->set_config_vector(7);  // beyond the table: NO_VECTOR
  EXPECT_EQ(drv_->config_vector(), 0xffff);
  VirtioQueue q = bring_up(*drv_, 0);
  auto bytes = entropy(*drv_, q);
  ASSERT_EQ(bytes.size(), 64u);
  EXPECT_NE(std::accumulate(bytes.begin(), bytes.end(), 0), 0);
  // The interrupt is the MSI-X write into guest RAM.
  EXPECT_EQ(m().readl(msi_addr), 0x1234u);
  EXPECT_EQ(m().readl(msi_addr + 4), 0u) << "no configuration interrupt";
}

TEST_F(VirtioPciTest, MaskedVectorIsPendingUntilUnmasked) {
  start_rng();
  uint64_t msi_addr = alloc_.alloc(64);
  drv_->set_msix_entry(0, msi_addr, 0xabcd, /*masked=*/true);
  drv_->enable_msix();
  VirtioQueue q = bring_up(*drv_, 0);
  ASSERT_EQ(entropy(*drv_, q).size(), 64u);
  EXPECT_EQ(m().readl(msi_addr), 0u);
  EXPECT_EQ(m().readl(drv_->msix_table() + 0x800), 1u) << "pending bit";
  m().writel(drv_->msix_table() + 12, 0);  // unmask
  EXPECT_EQ(m().readl(msi_addr), 0xabcdu);
  EXPECT_EQ(m().readl(drv_->msix_table() + 0x800), 0u);
}

TEST_F(VirtioPciTest, IntxAndIsrWithoutMsix) {
  start_rng();
  VirtioQueue q = bring_up(*drv_);
  ASSERT_EQ(entropy(*drv_, q).size(), 64u);
  EXPECT_EQ(drv_->read_isr(), 1);
  EXPECT_EQ(drv_->read_isr(), 0) << "reading the ISR clears it";
}

TEST_F(VirtioPciTest, IndirectDescriptorsAndChains) {
  start_rng();
  VirtioQueue q = bring_up(*drv_, 0xffff, kIndirect);
  uint64_t a = alloc_.alloc(16), b = alloc_.alloc(48);
  drv_->add_chain(q, {{a, 16, true}, {b, 48, true}}, /*indirect=*/true);
  drv_->kick(q);
  auto used = drv_->wait_used(q);
  ASSERT_TRUE(used);
  EXPECT_EQ(used->second, 64u);
  EXPECT_EQ(drv_->status() & 0x40, 0);
}

TEST_F(VirtioPciTest, RateLimitWaitsForThePeriod) {
  start_rng(",max-bytes=16,period=1000");
  VirtioQueue q = bring_up(*drv_);
  ASSERT_EQ(entropy(*drv_, q, 64).size(), 16u);
  uint64_t buf = alloc_.alloc(64);
  drv_->add_chain(q, {{buf, 64, true}});
  drv_->kick(q);
  EXPECT_FALSE(drv_->wait_used(q, 200)) << "quota used up";
  m().clock_step(1000 * 1000 * 1000LL);
  auto used = drv_->wait_used(q);
  ASSERT_TRUE(used);
  EXPECT_EQ(used->second, 16u);
}

TEST_F(VirtioPciTest, PciCfgWindowReachesTheBar) {
  start_rng();
  PciFunction& f = drv_->pci();
  uint8_t cap = 0;
  for (uint8_t c : f.capabilities(0x09)) {
    if (f.read(c + 3u, 1) == 5) cap = c;
  }
  ASSERT_NE(cap, 0);
  f.write(cap + 4u, 4, 1);     // bar
  f.write(cap + 8u, 0x12, 4);  // offset: num_queues
  f.write(cap + 12u, 2, 4);    // length
  EXPECT_EQ(f.read(cap + 16u, 4) & 0xffff, 1u);
}

TEST_F(VirtioPciTest, NoVectorsMeansNoMsix) {
  start_rng(",vectors=0");
  EXPECT_TRUE(drv_->pci().capabilities(0x11).empty());
  EXPECT_EQ(drv_->pci().bar_size(1), 0u);
}

// --- malformed rings: each case ends in NEEDS_RESET, nothing else is affected, reset recovers.

constexpr uint64_t kBeyondRam = 0x4000000000ull;  // 256 GiB: no RAM there
constexpr uint16_t kNext = 1, kWrite = 2, kIndirectFlag = 4;

TEST_F(VirtioPciTest, MalformedRingOutsideRam) {
  expect_needs_reset_then_recovery(
      [](VirtioPciDriver& d, VirtioQueue&) {
        d.reset();
        ASSERT_TRUE(d.negotiate(kVersion1));
        d.setup_queue_at(0, 8, kBeyondRam, kBeyondRam + 0x1000, kBeyondRam + 0x2000);
        d.driver_ok();
      },
      /*after_driver_ok=*/false);
}

TEST_F(VirtioPciTest, MalformedBufferOutsideRam) {
  expect_needs_reset_then_recovery([](VirtioPciDriver& d, VirtioQueue& q) {
    d.add_chain(q, {{kBeyondRam, 64, true}});
    d.kick(q);
  });
}

TEST_F(VirtioPciTest, MalformedDescriptorLoop) {
  expect_needs_reset_then_recovery([this](VirtioPciDriver& d, VirtioQueue& q) {
    uint64_t buf = alloc_.alloc(64);
    d.write_desc(q.desc, 0, buf, 16, kNext | kWrite, 1);
    d.write_desc(q.desc, 1, buf + 16, 16, kNext | kWrite, 0);
    d.publish(q, 0);
    d.kick(q);
  });
}

TEST_F(VirtioPciTest, MalformedChainRunsOffTheIndirectTable) {
  expect_needs_reset_then_recovery([this](VirtioPciDriver& d, VirtioQueue& q) {
    uint64_t buf = alloc_.alloc(64), table = alloc_.alloc(32, 16);
    d.write_desc(table, 0, buf, 16, kNext | kWrite, 1);
    d.write_desc(table, 1, buf + 16, 16, kNext | kWrite, 9);  // beyond the 2-entry table
    d.write_desc(q.desc, 0, table, 32, kIndirectFlag, 0);
    d.publish(q, 0);
    d.kick(q);
  });
}

TEST_F(VirtioPciTest, MalformedNestedIndirectTable) {
  expect_needs_reset_then_recovery([this](VirtioPciDriver& d, VirtioQueue& q) {
    uint64_t inner = alloc_.alloc(16, 16), table = alloc_.alloc(16, 16);
    d.write_desc(inner, 0, alloc_.alloc(16), 16, kWrite, 0);
    d.write_desc(table, 0, inner, 16, kIndirectFlag, 0);
    d.write_desc(q.desc, 0, table, 16, kIndirectFlag, 0);
    d.publish(q, 0);
    d.kick(q);
  });
}

TEST_F(VirtioPciTest, MalformedZeroLengthBuffer) {
  expect_needs_reset_then_recovery([this](VirtioPciDriver& d, VirtioQueue& q) {
    d.add_chain(q, {{alloc_.alloc(16), 0, true}});
    d.kick(q);
  });
}

TEST_F(VirtioPciTest, MalformedReadableAfterWritable) {
  expect_needs_reset_then_recovery([this](VirtioPciDriver& d, VirtioQueue& q) {
    d.add_chain(q, {{alloc_.alloc(16), 16, true}, {alloc_.alloc(16), 16, false}});
    d.kick(q);
  });
}

TEST_F(VirtioPciTest, MalformedAvailIndexJump) {
  expect_needs_reset_then_recovery([](VirtioPciDriver& d, VirtioQueue& q) {
    d.set_avail_idx(q, uint16_t(q.size + 5));
    d.kick(q);
  });
}

TEST_F(VirtioPciTest, MalformedHeadIndex) {
  expect_needs_reset_then_recovery([](VirtioPciDriver& d, VirtioQueue& q) {
    d.publish(q, uint16_t(q.size + 3));
    d.kick(q);
  });
}

TEST_F(VirtioPciTest, MalformedRingIsAGuestErrorInTheLog) {
  start("-device virtio-rng-pci,addr=4 -d guest_errors");
  VirtioPciDriver d(m(), alloc_, kRngDevfn);
  VirtioQueue q = bring_up(d);
  d.publish(q, 200);
  d.kick(q);
  ASSERT_TRUE(d.wait_needs_reset());
  m().qmp("query-status");  // let stderr catch up
  EXPECT_NE(m().stderr_text().find("virtio-rng: Guest says index 200 is available"),
            std::string::npos)
      << m().stderr_text();
}

TEST_F(VirtioPciTest, UnsupportedTransportOptionsAreRefused) {
  auto refuse = [](const std::string& dev, const std::string& text) {
    RawMachine raw({"-M", "q35", "-accel", "qtest", "-display", "none", "-device", dev});
    auto st = raw.wait_exit();
    EXPECT_EQ(st.code, 1) << dev;
    EXPECT_NE(raw.child().stderr_text().find(text), std::string::npos) << raw.child().stderr_text();
  };
  refuse("virtio-rng-pci,disable-modern=on,disable-legacy=on",
         "device cannot work as neither modern nor legacy mode is enabled");
  refuse("virtio-rng-pci,period=0", "'period' parameter expects a positive integer");
}

TEST_F(VirtioPciTest, RngRandomBackendAndObjectDelWhileInUse) {
  start("-object rng-random,id=ent0,filename=/dev/urandom -device virtio-rng-pci,addr=4,rng=ent0");
  VirtioPciDriver d(m(), alloc_, kRngDevfn);
  VirtioQueue q = bring_up(d);
  EXPECT_EQ(entropy(d, q).size(), 64u);
  auto r = m().qmp("object-del", {{"id", "ent0"}});
  EXPECT_EQ(r["error"]["desc"], "object 'ent0' is in use, can not be deleted") << r.dump();
  r = m().qmp("object-add",
              {{"qom-type", "rng-random"}, {"id", "ent1"}, {"filename", "/nonexistent/entropy"}});
  EXPECT_EQ(r["error"]["desc"], "Could not open '/nonexistent/entropy': No such file or directory")
      << r.dump();
}

}  // namespace
}  // namespace machina::qtest
