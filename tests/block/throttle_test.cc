// I/O limits: the configuration checks (QEMU's texts), the leaky buckets, requests queued in a
// BlockBackend and released by the clock, drains that release them at once, -drive
// throttling.* options, block_set_io_throttle and what query-block shows.
//
// The limits run on the virtual clock in manual mode here (as under the qtest accelerator), so
// time only moves when a test steps it: nothing depends on how fast the machine is.
#include "block/throttle.h"
#include "block/blockdev-throttle.h"
#include "block/blockdev.h"
#include "block/qapi-block.h"
#include "block_test_util.h"
#include "util/qemu-timer.h"

namespace machina::testing {
namespace {

constexpr int64_t kMs = 1000000;
using B = ThrottleBucket;

QemuOpts drive_opts(const std::string& text) {
  static const OptsListSpec spec{"drive", "", false, {}};
  auto o = qemu_opts_parse(spec, text, false);
  EXPECT_TRUE(o.ok()) << o.message();
  return o.ok() ? o.value() : QemuOpts{};
}

std::string check_error(const ThrottleConfig& cfg) {
  Status s = throttle_config_check(cfg);
  return s.ok() ? "" : s.message();
}

TEST(ThrottleConfigTest, QemusChecksAndTexts) {
  ThrottleConfig c;
  EXPECT_EQ(check_error(c), "");
  EXPECT_FALSE(c.enabled());
  c[B::IopsTotal].avg = 100;
  EXPECT_TRUE(c.enabled());
  EXPECT_EQ(check_error(c), "");
  c[B::IopsRead].avg = 10;
  EXPECT_EQ(check_error(c),
            "bps/iops/max total values and read/write values cannot be used at the same time");
  c = {};
  c[B::BpsTotal].avg = kThrottleValueMax + 1;
  EXPECT_EQ(check_error(c), "bps/iops/max values must be within [0, 1000000000000000]");
  c = {};
  c[B::BpsWrite].avg = uint64_t(-1);  // a negative value, wrapped
  EXPECT_EQ(check_error(c), "bps/iops/max values must be within [0, 1000000000000000]");
  c = {};
  c.iops_size = 4096;
  c[B::BpsTotal].avg = 10;
  EXPECT_EQ(check_error(c), "iops size requires an iops value to be set");
  c = {};
  c[B::IopsTotal].max = 10;
  EXPECT_EQ(check_error(c), "bps_max/iops_max require corresponding bps/iops values");
  c[B::IopsTotal].avg = 20;
  EXPECT_EQ(check_error(c), "bps_max/iops_max cannot be lower than bps/iops");
  c[B::IopsTotal].max = 40;
  c[B::IopsTotal].max_length = 0;
  EXPECT_EQ(check_error(c), "the burst length cannot be 0");
  c[B::IopsTotal].max_length = 5;
  EXPECT_EQ(check_error(c), "");
  c[B::IopsRead].max_length = 5;
  EXPECT_EQ(check_error(c), "burst length set without burst rate");
}

TEST(ThrottleStateTest, IopsLimitSpacesRequests) {
  ThrottleConfig c;
  c[B::IopsTotal].avg = 10;  // bucket of capacity 1: two go at once, then one per 100 ms
  ThrottleState s(c);
  int64_t t = 1000 * kMs;
  EXPECT_EQ(s.wait_ns(false, t), 0);
  s.account(false, 512, t);
  EXPECT_EQ(s.wait_ns(true, t), 0);
  s.account(true, 512, t);
  int64_t w = s.wait_ns(false, t);
  EXPECT_GT(w, 99 * kMs);
  EXPECT_LE(w, 100 * kMs + 1);
  EXPECT_GT(s.wait_ns(false, t + 50 * kMs), 0);
  EXPECT_EQ(s.wait_ns(false, t + w), 0);
}

TEST(ThrottleStateTest, DirectionsUseTheirOwnBuckets) {
  ThrottleConfig c;
  c[B::BpsRead].avg = 1000;  // 100 bytes may go at once
  ThrottleState s(c);
  s.account(false, 4096, 0);
  EXPECT_GT(s.wait_ns(false, 0), 0);
  EXPECT_EQ(s.wait_ns(true, 0), 0) << "writes are not limited";
  // 4096 - 100 bytes at 1000 bytes/s: 3.996 s.
  EXPECT_NEAR(double(s.wait_ns(false, 0)), 3.996e9, 1e6);
}

TEST(ThrottleStateTest, BurstRateAndLength) {
  ThrottleConfig c;
  c[B::IopsTotal] = {.avg = 1, .max = 10, .max_length = 2};  // bursts of 20 at <= 10/s
  ThrottleState s(c);
  int started = 0;
  int64_t t = 0;
  // Over 3 s with requests as fast as allowed: 20 in the burst (capacity 1 at a time for
  // the 10/s burst bucket: spaced 100 ms), then 1/s.
  while (t <= 3000 * kMs) {
    int64_t w = s.wait_ns(false, t);
    if (w == 0) {
      s.account(false, 512, t);
      ++started;
    } else {
      t += w;
    }
  }
  EXPECT_GE(started, 20);
  EXPECT_LE(started, 24);
}

// BlockBackends on null-co with the limits on the manual virtual clock.
class ThrottledBackendTest : public BlockTest {
 protected:
  void SetUp() override {
    virtual_clock_reset_for_test();
    virtual_clock_set_mode(VirtualClockMode::Manual);
  }
  void TearDown() override {
    BlockTest::TearDown();
    virtual_clock_reset_for_test();
  }
  BlockBackendPtr drive(const std::string& opts) {
    auto blk = drive_new(drive_opts("if=none,driver=null-co,size=1M," + opts), "none");
    EXPECT_TRUE(blk.ok()) << blk.message();
    return blk.ok() ? blk.value() : nullptr;
  }
  std::string drive_error(const std::string& opts) {
    auto blk = drive_new(drive_opts("if=none,id=bad,driver=null-co," + opts), "none");
    EXPECT_FALSE(blk.ok());
    return blk.ok() ? "" : blk.message();
  }
  // Runs completions until nothing more happens (the clock does not move).
  static void settle() {
    for (int i = 0; i < 10; ++i) block_aio_poll(false);
  }
  void reads(BlockBackend& blk, int n, std::vector<int>& order) {
    for (int i = 0; i < n; ++i) {
      blk.preadv(0, {iovec{buf_, 512}}, [&order, i](int ret) {
        EXPECT_EQ(ret, 0);
        order.push_back(i);
      });
    }
  }
  char buf_[512] = {};
};

TEST_F(ThrottledBackendTest, IopsLimitReleasesRequestsInOrderAsTheClockMoves) {
  BlockBackendPtr blk = drive("id=d0,throttling.iops-total=10");
  ASSERT_TRUE(blk);
  ASSERT_TRUE(blk->io_limits());
  std::vector<int> order;
  reads(*blk, 5, order);
  settle();
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
  EXPECT_EQ(blk->throttled_requests(), 3u);
  EXPECT_EQ(blk->in_flight(), 3u) << "queued requests are in flight";
  clock_step(50 * kMs);
  settle();
  EXPECT_EQ(order.size(), 2u);
  clock_step(50 * kMs);
  settle();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  clock_step(100 * kMs);
  settle();
  EXPECT_EQ(order.size(), 4u);
  clock_step(100 * kMs);
  settle();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(blk->in_flight(), 0u);
}

TEST_F(ThrottledBackendTest, BpsLimitCountsBytesAndFlushesAreNotLimited) {
  BlockBackendPtr blk = drive("id=d0,throttling.bps-write=5120");  // 512 bytes at once
  std::vector<int> done;
  std::vector<char> big(4096);
  blk->pwritev(0, {iovec{big.data(), big.size()}}, [&](int) { done.push_back(1); });
  blk->pwritev(0, {iovec{big.data(), 512}}, [&](int) { done.push_back(2); });
  blk->flush([&](int) { done.push_back(3); });
  std::vector<int> reads_done;
  reads(*blk, 1, reads_done);
  settle();
  EXPECT_EQ(done, (std::vector<int>{1, 3})) << "the second write waits for 4096 bytes to leak";
  EXPECT_EQ(reads_done.size(), 0u) << "FIFO: the read waits behind the write";
  // (4096 - 512) / 5120 s = 700 ms.
  clock_step(690 * kMs);
  settle();
  EXPECT_EQ(done.size(), 2u);
  clock_step(20 * kMs);
  settle();
  EXPECT_EQ(done, (std::vector<int>{1, 3, 2}));
  EXPECT_EQ(reads_done.size(), 1u);
}

TEST_F(ThrottledBackendTest, DrainReleasesQueuedRequestsAtOnce) {
  BlockBackendPtr blk = drive("id=d0,throttling.iops-total=1");
  std::vector<int> order;
  reads(*blk, 6, order);
  settle();
  EXPECT_EQ(order.size(), 1u);
  blk->drain();  // the clock never moves: only the release can finish this
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(blk->throttled_requests(), 0u);
  EXPECT_TRUE(blk->io_limits()) << "the limits stay after the drain";
  // And they apply again afterwards (the released requests were charged).
  reads(*blk, 1, order);
  settle();
  EXPECT_EQ(order.size(), 6u);
  clock_step(10000 * kMs);
  settle();
  EXPECT_EQ(order.size(), 7u);
}

TEST_F(ThrottledBackendTest, DestroyingAThrottledBackendCompletesItsQueue) {
  BlockBackendPtr blk = drive("id=d0,throttling.iops-total=1");
  std::vector<int> order;
  reads(*blk, 3, order);
  blk.reset();
  bdrv_close_all();  // drops the named backend: it drains
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST_F(ThrottledBackendTest, NewLimitsApplyAndZeroTurnsThrottlingOff) {
  BlockBackendPtr blk = drive("id=d0,throttling.iops-total=1");
  std::vector<int> order;
  reads(*blk, 4, order);
  settle();
  EXPECT_EQ(order.size(), 1u);
  Status s = qmp_block_set_io_throttle({{"device", "d0"},
                                        {"bps", 0},
                                        {"bps_rd", 0},
                                        {"bps_wr", 0},
                                        {"iops", 0},
                                        {"iops_rd", 100},
                                        {"iops_wr", 0}});
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(blk->io_limits());
  EXPECT_EQ((*blk->io_limits())[B::IopsRead].avg, 100u);
  settle();
  EXPECT_EQ(order.size(), 4u) << "new empty buckets of capacity 10";
  reads(*blk, 20, order);
  settle();
  EXPECT_GT(order.size(), 4u);
  EXPECT_LT(order.size(), 24u);
  s = qmp_block_set_io_throttle({{"device", "d0"},
                                 {"bps", 0},
                                 {"bps_rd", 0},
                                 {"bps_wr", 0},
                                 {"iops", 0},
                                 {"iops_rd", 0},
                                 {"iops_wr", 0}});
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_FALSE(blk->io_limits());
  settle();
  EXPECT_EQ(order.size(), 24u) << "throttling off: everything queued started";
  EXPECT_FALSE(qmp_query_block()[0]["inserted"].contains("group"));
}

TEST_F(ThrottledBackendTest, QueryBlockShowsTheLimits) {
  BlockBackendPtr blk = drive(
      "id=d0,throttling.bps-total=1000000,throttling.iops-read=50,throttling.iops-read-max=100,"
      "throttling.iops-read-max-length=3,throttling.iops-size=8192");
  ASSERT_TRUE(blk);
  json ins = qmp_query_block()[0]["inserted"];
  EXPECT_EQ(ins["bps"], 1000000);
  EXPECT_EQ(ins["bps_rd"], 0);
  EXPECT_EQ(ins["bps_wr"], 0);
  EXPECT_EQ(ins["iops"], 0);
  EXPECT_EQ(ins["iops_rd"], 50);
  EXPECT_EQ(ins["iops_wr"], 0);
  EXPECT_EQ(ins["iops_rd_max"], 100);
  EXPECT_EQ(ins["iops_rd_max_length"], 3);
  EXPECT_FALSE(ins.contains("bps_max"));
  EXPECT_FALSE(ins.contains("bps_max_length"));
  EXPECT_EQ(ins["iops_size"], 8192);
  EXPECT_EQ(ins["group"], "d0");
  std::string text = hmp_info_block_text();
  EXPECT_NE(text.find("I/O throttling:   bps=1000000 bps_rd=0 bps_wr=0 bps_max=0 bps_rd_max=0 "
                      "bps_wr_max=0 iops=0 iops_rd=50 iops_wr=0 iops_max=0 iops_rd_max=100 "
                      "iops_wr_max=0 iops_size=8192 group=d0"),
            std::string::npos)
      << text;
  // The node itself (query-named-block-nodes) is not throttled.
  EXPECT_EQ(qmp_query_named_block_nodes()[0]["bps"], 0);
}

TEST_F(ThrottledBackendTest, LegacySpellingsAndGroups) {
  BlockBackendPtr blk = drive("id=d0,iops=7,bps_wr=100,group=g1");
  ASSERT_TRUE(blk);
  EXPECT_EQ((*blk->io_limits())[B::IopsTotal].avg, 7u);
  EXPECT_EQ((*blk->io_limits())[B::BpsWrite].avg, 100u);
  EXPECT_EQ(blk->throttle_group(), "g1");
  EXPECT_EQ(drive_error("iops=7,throttling.iops-total=8"),
            "'iops' and its alias 'throttling.iops-total' can't be used at the same time");
  EXPECT_EQ(drive_error("throttling.iops-total=1,throttling.group=g1"),
            "Throttle group 'g1' is used by another drive; shared throttle groups are not "
            "supported");
  EXPECT_FALSE(blk_by_name("bad"));
}

TEST_F(ThrottledBackendTest, BadDriveValuesAreRefused) {
  EXPECT_EQ(drive_error("throttling.iops-total=-1"),
            "bps/iops/max values must be within [0, 1000000000000000]");
  EXPECT_EQ(drive_error("throttling.bps-read=1000000000000001"),
            "bps/iops/max values must be within [0, 1000000000000000]");
  EXPECT_EQ(drive_error("throttling.bps-total=1,throttling.bps-read=1"),
            "bps/iops/max total values and read/write values cannot be used at the same time");
  EXPECT_EQ(drive_error("throttling.iops-total=fast"),
            "Parameter 'throttling.iops-total' expects a number");
  EXPECT_EQ(drive_error("throttling.iops-write=5,throttling.iops-write-max=2"),
            "bps_max/iops_max cannot be lower than bps/iops");
  EXPECT_FALSE(blk_by_name("bad"));
}

TEST_F(ThrottledBackendTest, SetIoThrottleFindsTheBackendAsQemu) {
  BlockBackendPtr blk = drive("id=d0");
  ASSERT_TRUE(blk);
  json zero = {{"bps", 0},  {"bps_rd", 0},  {"bps_wr", 0},
               {"iops", 0}, {"iops_rd", 0}, {"iops_wr", 0}};
  auto err = [&](json args) {
    for (auto& [k, v] : zero.items()) {
      if (!args.contains(k)) args[k] = v;
    }
    Status s = qmp_block_set_io_throttle(args);
    EXPECT_FALSE(s.ok());
    return s.ok() ? Error{} : s.error();
  };
  EXPECT_EQ(err(json::object()).desc, "Need exactly one of 'device' and 'id'");
  EXPECT_EQ(err({{"device", "d0"}, {"id", "x"}}).desc, "Need exactly one of 'device' and 'id'");
  Error e = err({{"device", "nope"}});
  EXPECT_EQ(e.desc, "Device 'nope' not found");
  EXPECT_EQ(e.cls, ErrorClass::DeviceNotFound);
  e = err({{"id", "nope"}});
  EXPECT_EQ(e.desc, "Device 'nope' not found");
  EXPECT_EQ(e.cls, ErrorClass::DeviceNotFound);
  EXPECT_EQ(err({{"device", "d0"}, {"iops", -1}}).desc,
            "bps/iops/max values must be within [0, 1000000000000000]");
  EXPECT_EQ(err({{"device", "d0"}, {"iops", 5}, {"iops_rd", 5}}).desc,
            "bps/iops/max total values and read/write values cannot be used at the same time");
  EXPECT_EQ(err({{"device", "d0"}, {"bps", 5}, {"bps_max_length", 3}}).desc,
            "burst length set without burst rate");
  ASSERT_TRUE(drive_new(drive_opts("if=none,id=empty"), "none").ok());
  EXPECT_EQ(err({{"device", "empty"}, {"iops", 5}}).desc, "Device has no medium");
  EXPECT_FALSE(blk->io_limits());

  json ok = zero;
  ok["device"] = "d0";
  ok["bps"] = 4096;
  ok["bps_max"] = 8192;
  ASSERT_TRUE(qmp_block_set_io_throttle(ok).ok());
  json ins = qmp_query_block()[0]["inserted"];
  EXPECT_EQ(ins["bps"], 4096);
  EXPECT_EQ(ins["bps_max"], 8192);
  EXPECT_EQ(ins["bps_max_length"], 1);
  EXPECT_EQ(ins["group"], "d0");
}

}  // namespace
}  // namespace machina::testing
