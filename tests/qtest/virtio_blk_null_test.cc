// virtio-blk-pci on the null-co driver and with I/O limits, through qtest: a request on a
// latency-ns node completes only once the latency has elapsed (real time, as QEMU's null driver
// measures it), read-zeroes, and -drive throttling.* on the virtual clock that qtest steps (as
// QEMU's throttling under qtest): requests complete as the clock moves, a device reset (a drain)
// releases what the limits hold, block_set_io_throttle and query-block.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "qtest/hw_pc_qtest.h"
#include "qtest/virtio_driver.h"

namespace machina::qtest {
namespace {

constexpr int kBlkDevfn = 7 << 3;
constexpr uint64_t kVersion1 = 1ull << 32;
constexpr uint32_t kTIn = 0, kTOut = 1;
constexpr int64_t kMs = 1000000;

using Clock = std::chrono::steady_clock;

class VirtioBlkNullTest : public PcQtest {
 protected:
  void start_blk(const std::string& backend, const std::string& drive = "d0") {
    start(backend + " -device virtio-blk-pci,addr=7,id=vblk0,drive=" + drive);
    d_ = std::make_unique<VirtioPciDriver>(m(), alloc_, kBlkDevfn);
    ASSERT_TRUE(d_->found());
    ASSERT_TRUE(d_->negotiate(kVersion1));
    q_ = d_->setup_queue(0);
    d_->driver_ok();
  }
  struct Req {
    uint64_t data = 0, status = 0;
  };
  // Queues a request of `len` bytes at `sector` (its buffer filled with `fill`) without kicking.
  Req add(uint32_t type, uint64_t sector, uint32_t len, uint8_t fill = 0xaa) {
    Req r;
    uint64_t hdr = alloc_.alloc(16);
    uint8_t h[16] = {};
    std::memcpy(h, &type, 4);
    std::memcpy(h + 8, &sector, 8);
    mem_write(m(), hdr, std::vector<uint8_t>(h, h + 16));
    r.data = alloc_.alloc(len);
    mem_write(m(), r.data, std::vector<uint8_t>(len, fill));
    r.status = alloc_.alloc(1);
    m().writeb(r.status, 0xff);
    d_->add_chain(q_, {{hdr, 16, false}, {r.data, len, type == kTIn}, {r.status, 1, true}});
    return r;
  }
  json throttle_args(const json& extra) {
    json a = {{"bps", 0},  {"bps_rd", 0},  {"bps_wr", 0},
              {"iops", 0}, {"iops_rd", 0}, {"iops_wr", 0}};
    for (auto& [k, v] : extra.items()) a[k] = v;
    return a;
  }

  GuestAlloc alloc_;
  std::unique_ptr<VirtioPciDriver> d_;
  VirtioQueue q_;
};

TEST_F(VirtioBlkNullTest, LatencyHoldsTheRequestInFlightUntilItElapses) {
  constexpr int kLatencyMs = 400;
  start_blk("-blockdev driver=null-co,node-name=n0,size=1M,latency-ns=" +
                std::to_string(kLatencyMs * kMs),
            "n0");
  auto nodes = m().qmp("query-named-block-nodes")["return"];
  ASSERT_EQ(nodes.size(), 1u) << nodes.dump();
  EXPECT_EQ(nodes[0]["drv"], "null-co");
  EXPECT_EQ(nodes[0]["image"]["virtual-size"], 1 << 20);
  EXPECT_EQ(m().readq(d_->device_cfg()), (1u << 20) / 512);  // capacity

  Req r = add(kTIn, 8, 4096);
  auto start = Clock::now();
  d_->kick(q_);
  // It was submitted when the kick returned: it cannot be done before the latency, however
  // slow this machine is.
  EXPECT_FALSE(d_->wait_used(q_, 100)) << "completed before latency-ns";
  EXPECT_EQ(m().readb(r.status), 0xff);
  ASSERT_TRUE(d_->wait_used(q_, 10000));
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(kLatencyMs));
  EXPECT_EQ(m().readb(r.status), 0);
  // read-zeroes is off (QEMU 7.2's default): the buffer is as the driver left it.
  EXPECT_EQ(mem_read(m(), r.data, 4096), std::vector<uint8_t>(4096, 0xaa));

  // A write is held the same way, and succeeds.
  Req w = add(kTOut, 0, 512);
  d_->kick(q_);
  EXPECT_FALSE(d_->wait_used(q_, 100));
  ASSERT_TRUE(d_->wait_used(q_, 10000));
  EXPECT_EQ(m().readb(w.status), 0);
}

TEST_F(VirtioBlkNullTest, ReadZeroesFromDrive) {
  start_blk("-drive if=none,id=d0,driver=null-aio,size=64k,read-zeroes=on");
  Req r = add(kTIn, 0, 1024);
  d_->kick(q_);
  ASSERT_TRUE(d_->wait_used(q_));
  EXPECT_EQ(m().readb(r.status), 0);
  EXPECT_EQ(mem_read(m(), r.data, 1024), std::vector<uint8_t>(1024, 0));
  auto blocks = m().qmp("query-block")["return"];
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0]["inserted"]["drv"], "null-aio");
  EXPECT_EQ(blocks[0]["inserted"]["image"]["virtual-size"], 65536);
}

TEST_F(VirtioBlkNullTest, ThrottledRequestsCompleteAsTheVirtualClockMoves) {
  start_blk("-drive if=none,id=d0,driver=null-co,size=1M,throttling.iops-total=10");
  auto ins = m().qmp("query-block")["return"][0]["inserted"];
  EXPECT_EQ(ins["iops"], 10) << ins.dump();
  EXPECT_EQ(ins["group"], "d0");
  std::vector<Req> reqs;
  for (int i = 0; i < 4; ++i) reqs.push_back(add(kTIn, uint64_t(i), 512));
  d_->kick(q_);
  // The limit lets two go at once, then one per 100 ms of virtual time.
  ASSERT_TRUE(d_->wait_used(q_));
  ASSERT_TRUE(d_->wait_used(q_));
  EXPECT_FALSE(d_->wait_used(q_, 200)) << "the virtual clock has not moved";
  step(60 * kMs);
  EXPECT_FALSE(d_->wait_used(q_, 100));
  step(40 * kMs);
  ASSERT_TRUE(d_->wait_used(q_));
  step(100 * kMs);
  ASSERT_TRUE(d_->wait_used(q_));
  for (const Req& r : reqs) EXPECT_EQ(m().readb(r.status), 0);

  // Off: whatever is queued goes at once.
  for (int i = 0; i < 3; ++i) add(kTIn, 0, 512);
  d_->kick(q_);
  EXPECT_FALSE(d_->wait_used(q_, 100));
  auto rep = m().qmp("block_set_io_throttle", throttle_args({{"device", "d0"}}));
  ASSERT_TRUE(rep.contains("return")) << rep.dump();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(d_->wait_used(q_)) << i;
  EXPECT_FALSE(m().qmp("query-block")["return"][0]["inserted"].contains("group"));
}

TEST_F(VirtioBlkNullTest, DeviceResetReleasesThrottledRequests) {
  start_blk("-drive if=none,id=d0,driver=null-co,size=1M,iops=1");
  for (int i = 0; i < 5; ++i) add(kTIn, 0, 512);
  d_->kick(q_);
  ASSERT_TRUE(d_->wait_used(q_));
  EXPECT_FALSE(d_->wait_used(q_, 100));
  // The reset drains the backend: the limits let go of the four waiting requests instead of
  // waiting seconds of a virtual clock that does not move.
  d_->reset();
  EXPECT_EQ(d_->status(), 0);
  EXPECT_EQ(m().qmp("query-status")["return"]["status"], "running");
  // The limits stay: after bringing the device up again a request waits for them.
  ASSERT_TRUE(d_->negotiate(kVersion1));
  q_ = d_->setup_queue(0);
  d_->driver_ok();
  Req r = add(kTIn, 0, 512);
  d_->kick(q_);
  EXPECT_FALSE(d_->wait_used(q_, 100));
  step(10000 * kMs);
  ASSERT_TRUE(d_->wait_used(q_));
  EXPECT_EQ(m().readb(r.status), 0);
}

TEST_F(VirtioBlkNullTest, SetIoThrottleByQdevId) {
  start_blk("-drive if=none,id=d0,driver=null-co,size=1M");
  // The backend is the proxy's virtio-backend child's, as in QEMU.
  auto rep = m().qmp("block_set_io_throttle", throttle_args({{"id", "vblk0"}, {"iops", 10}}));
  ASSERT_TRUE(rep.contains("error")) << rep.dump();
  EXPECT_EQ(rep["error"]["desc"], "Device does not have a block device backend");
  rep = m().qmp("block_set_io_throttle",
                throttle_args({{"id", "vblk0/virtio-backend"}, {"iops", 10}, {"iops_max", 20}}));
  ASSERT_TRUE(rep.contains("return")) << rep.dump();
  auto ins = m().qmp("query-block")["return"][0]["inserted"];
  EXPECT_EQ(ins["iops"], 10);
  EXPECT_EQ(ins["iops_max"], 20);
  EXPECT_EQ(ins["iops_max_length"], 1);
  EXPECT_EQ(ins["group"], "vblk0/virtio-backend");
  rep = m().qmp("block_set_io_throttle", throttle_args({{"device", "d0"}, {"bps", -5}}));
  ASSERT_TRUE(rep.contains("error")) << rep.dump();
  EXPECT_EQ(rep["error"]["desc"], "bps/iops/max values must be within [0, 1000000000000000]");
  rep = m().qmp("block_set_io_throttle", json{{"device", "d0"}, {"bps", 0}});
  ASSERT_TRUE(rep.contains("error")) << rep.dump();
  EXPECT_EQ(rep["error"]["desc"], "Parameter 'bps_rd' is missing");
  rep = m().qmp("block_set_io_throttle", throttle_args({{"device", "nope"}}));
  EXPECT_EQ(rep["error"]["class"], "DeviceNotFound") << rep.dump();
}

TEST(VirtioBlkNullCmdline, BadOptionsAreRefused) {
  auto refuse = [](const std::string& drive, const std::string& text) {
    RawMachine raw({"-M", "none", "-display", "none", "-drive", drive});
    auto st = raw.wait_exit();
    EXPECT_EQ(st.code, 1);
    EXPECT_NE(raw.child().stderr_text().find(text), std::string::npos) << raw.child().stderr_text();
  };
  refuse("if=none,id=d0,driver=null-co,throttling.iops-total=-1",
         "bps/iops/max values must be within [0, 1000000000000000]");
  refuse("if=none,id=d0,driver=null-co,latency-ns=-1", "latency-ns is invalid");
  refuse("if=none,id=d0,file=null-co://disk", "The only allowed filename for this driver is");
}

}  // namespace
}  // namespace machina::qtest
