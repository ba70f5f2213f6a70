// The null-co / null-aio drivers: options and their errors, reads with and without read-zeroes,
// discarded writes, latency-ns (requests stay in flight until it has elapsed, completed by the
// main loop or a drain), and destruction with requests in flight.
#include <chrono>

#include "block/blockdev.h"
#include "block/null-block.h"
#include "block/qapi-block.h"
#include "block_test_util.h"
#include "util/main-loop.h"

namespace machina::testing {
namespace {

using NullBlockTest = BlockTest;
using Clock = std::chrono::steady_clock;

constexpr int64_t kMs = 1000000;

QemuOpts drive_opts(const std::string& text) {
  static const OptsListSpec spec{"drive", "", false, {}};
  auto o = qemu_opts_parse(spec, text, false);
  EXPECT_TRUE(o.ok()) << o.message();
  return o.ok() ? o.value() : QemuOpts{};
}

BlockNodePtr add_null(json opts, OptSyntax syntax = OptSyntax::Qmp) {
  if (!opts.contains("driver")) opts["driver"] = "null-co";
  if (!opts.contains("node-name")) opts["node-name"] = "n0";
  Status s = blockdev_add(opts, syntax);
  EXPECT_TRUE(s.ok()) << s.message();
  return bdrv_find_node(opts["node-name"].get<std::string>());
}

std::string add_error(json opts, OptSyntax syntax = OptSyntax::Qmp) {
  if (!opts.contains("driver")) opts["driver"] = "null-co";
  opts["node-name"] = "bad";
  Status s = blockdev_add(opts, syntax);
  EXPECT_FALSE(s.ok());
  return s.ok() ? "" : s.message();
}

double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

TEST_F(NullBlockTest, DefaultsAndQuery) {
  BlockNodePtr n = add_null({});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->length(), uint64_t(1) << 30);
  EXPECT_EQ(n->filename(), "null-co://");
  auto* node = static_cast<NullNode*>(n.get());
  EXPECT_EQ(node->options().latency_ns, 0);
  EXPECT_FALSE(node->options().read_zeroes);
  json nodes = qmp_query_named_block_nodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0]["drv"], "null-co");
  EXPECT_EQ(nodes[0]["node-name"], "n0");
  EXPECT_EQ(nodes[0]["image"]["virtual-size"], uint64_t(1) << 30);
  EXPECT_EQ(nodes[0]["image"]["format"], "null-co");
}

TEST_F(NullBlockTest, SizeTakesSuffixesAndIsWholeSectors) {
  EXPECT_EQ(add_null({{"node-name", "a"}, {"size", "1M"}}, OptSyntax::Keyval)->length(), 1u << 20);
  EXPECT_EQ(add_null({{"node-name", "b"}, {"size", 4096}})->length(), 4096u);
  EXPECT_EQ(add_null({{"node-name", "c"}, {"size", 1000}})->length(), 1024u);
  BlockNodePtr d = add_null({{"node-name", "d"}, {"driver", "null-aio"}, {"size", 512}});
  EXPECT_EQ(d->driver(), "null-aio");
  EXPECT_EQ(d->filename(), "json:{\"driver\": \"null-aio\", \"size\": 512}");
  json nodes = qmp_query_named_block_nodes();
  ASSERT_EQ(nodes.size(), 4u);
  EXPECT_EQ(nodes[3]["drv"], "null-aio");
  EXPECT_EQ(nodes[3]["image"]["virtual-size"], 512);
  // latency-ns alone keeps the plain filename, as QEMU.
  EXPECT_EQ(add_null({{"node-name", "e"}, {"latency-ns", 5}})->filename(), "null-co://");
}

TEST_F(NullBlockTest, BadOptionsAreRefused) {
  EXPECT_EQ(add_error({{"latency-ns", "-1"}}, OptSyntax::Keyval), "latency-ns is invalid");
  EXPECT_EQ(add_error({{"latency-ns", uint64_t(1) << 63}}), "latency-ns is invalid");
  EXPECT_EQ(add_error({{"latency-ns", "soon"}}, OptSyntax::Keyval),
            "Parameter 'latency-ns' expects integer");
  EXPECT_EQ(add_error({{"latency-ns", "5"}}),
            "Invalid parameter type for 'latency-ns', expected: integer");
  EXPECT_NE(add_error({{"size", "huge"}}, OptSyntax::Keyval).find("Parameter 'size' expects"),
            std::string::npos);
  EXPECT_EQ(add_error({{"size", -1}}), "Invalid parameter type for 'size', expected: integer");
  EXPECT_EQ(add_error({{"read-zeroes", "maybe"}}, OptSyntax::Keyval),
            "Parameter 'read-zeroes' expects 'on' or 'off'");
  EXPECT_EQ(add_error({{"filename", "null-co://"}}), "Parameter 'filename' is unexpected");
  EXPECT_EQ(add_error({{"colour", "blue"}}), "Parameter 'colour' is unexpected");
  EXPECT_EQ(add_error({{"driver", "null"}}), "Parameter 'driver' does not accept value 'null'");
  EXPECT_TRUE(bdrv_named_nodes().empty());
}

TEST_F(NullBlockTest, ReadsLeaveTheBufferUnlessReadZeroes) {
  BlockNodePtr plain = add_null({{"node-name", "plain"}, {"size", 4096}});
  BlockNodePtr zeroes = add_null({{"node-name", "zero"}, {"size", 4096}, {"read-zeroes", true}});
  std::vector<uint8_t> buf(1024, 0xaa);
  EXPECT_EQ(sync_io([&](auto cb) { plain->preadv(0, {iovec{buf.data(), buf.size()}}, cb); }), 0);
  EXPECT_EQ(buf, std::vector<uint8_t>(1024, 0xaa));
  EXPECT_EQ(sync_io([&](auto cb) { zeroes->preadv(512, {iovec{buf.data(), buf.size()}}, cb); }), 0);
  EXPECT_EQ(buf, std::vector<uint8_t>(1024, 0));
  EXPECT_EQ(zeroes->filename(),
            "json:{\"driver\": \"null-co\", \"read-zeroes\": true, \"size\": 4096}");
}

TEST_F(NullBlockTest, WritesAreDiscardedAndEverythingSucceeds) {
  BlockNodePtr n = add_null({{"size", 1 << 20}, {"read-zeroes", true}});
  auto blk = std::make_shared<BlockBackend>("", n);
  std::vector<uint8_t> data(4096, 0x55);
  EXPECT_EQ(sync_io([&](auto cb) { blk->pwritev(0, {iovec{data.data(), data.size()}}, cb); }), 0);
  EXPECT_EQ(sync_io([&](auto cb) { blk->flush(cb); }), 0);
  EXPECT_EQ(sync_io([&](auto cb) { blk->discard(0, 8192, cb); }), 0);
  EXPECT_EQ(sync_io([&](auto cb) { blk->write_zeroes(4096, 4096, true, cb); }), 0);
  std::vector<uint8_t> back(4096, 0x11);
  EXPECT_EQ(sync_io([&](auto cb) { blk->preadv(0, {iovec{back.data(), back.size()}}, cb); }), 0);
  EXPECT_EQ(back, std::vector<uint8_t>(4096, 0)) << "nothing was stored";
  // Past the end is still the backend's range error.
  EXPECT_EQ(sync_io([&](auto cb) { blk->preadv(1 << 20, {iovec{back.data(), 512}}, cb); }), -EIO);
}

TEST_F(NullBlockTest, ReadOnlyNodeRefusesWrites) {
  BlockNodePtr n = add_null({{"read-only", true}});
  std::vector<uint8_t> data(512);
  EXPECT_EQ(sync_io([&](auto cb) {
              n->pwritev(0, {iovec{data.data(), data.size()}}, cb);
            }),
            -EACCES);
  EXPECT_EQ(sync_io([&](auto cb) { n->preadv(0, {iovec{data.data(), data.size()}}, cb); }), 0);
}

TEST_F(NullBlockTest, LatencyHoldsTheRequestInFlightUntilItElapses) {
  constexpr int64_t kLatency = 200 * kMs;
  BlockNodePtr n = add_null({{"latency-ns", kLatency}});
  auto blk = std::make_shared<BlockBackend>("", n);
  std::vector<uint8_t> buf(512);
  bool done = false;
  auto start = Clock::now();
  blk->preadv(0, {iovec{buf.data(), buf.size()}}, [&](int ret) {
    EXPECT_EQ(ret, 0);
    done = true;
  });
  EXPECT_EQ(blk->in_flight(), 1u);
  EXPECT_EQ(n->in_flight(), 1u);
  EXPECT_EQ(static_cast<NullNode*>(n.get())->waiting(), 1u);
  // Polling does not complete it early, whatever the load: it may only complete once the
  // latency has elapsed since it was submitted.
  while (!done && elapsed_ms(start) < 5000) block_aio_poll(true, 20);
  ASSERT_TRUE(done);
  EXPECT_GE(elapsed_ms(start), kLatency / double(kMs));
  EXPECT_EQ(blk->in_flight(), 0u);
  EXPECT_EQ(n->in_flight(), 0u);
}

TEST_F(NullBlockTest, TheMainLoopCompletesLatencyRequests) {
  constexpr int64_t kLatency = 50 * kMs;
  BlockNodePtr n = add_null({{"latency-ns", kLatency}});
  auto blk = std::make_shared<BlockBackend>("", n);
  std::vector<uint8_t> buf(512);
  int completed = 0;
  auto start = Clock::now();
  for (int i = 0; i < 3; ++i) {
    blk->pwritev(uint64_t(i) * 512, {iovec{buf.data(), buf.size()}}, [&](int ret) {
      EXPECT_EQ(ret, 0);
      ++completed;
    });
  }
  // One non-blocking pass right away: nothing is due yet.
  main_loop().run_once(0);
  if (elapsed_ms(start) < kLatency / double(kMs)) {
    EXPECT_EQ(completed, 0);
  }
  while (completed < 3 && elapsed_ms(start) < 5000) main_loop().run_once(20 * kMs);
  EXPECT_EQ(completed, 3);
  EXPECT_GE(elapsed_ms(start), kLatency / double(kMs));
}

TEST_F(NullBlockTest, DrainWaitsForTheLatency) {
  constexpr int64_t kLatency = 100 * kMs;
  BlockNodePtr n = add_null({{"latency-ns", kLatency}});
  auto blk = std::make_shared<BlockBackend>("", n);
  std::vector<uint8_t> buf(512);
  int completed = 0;
  auto start = Clock::now();
  for (int i = 0; i < 4; ++i) {
    blk->preadv(0, {iovec{buf.data(), buf.size()}}, [&](int) { ++completed; });
  }
  blk->flush([&](int) { ++completed; });
  EXPECT_EQ(blk->in_flight(), 5u);
  blk->drain();
  EXPECT_EQ(completed, 5);
  EXPECT_EQ(blk->in_flight(), 0u);
  EXPECT_GE(elapsed_ms(start), kLatency / double(kMs));
}

TEST_F(NullBlockTest, DestroyingTheBackendWithRequestsInFlightCompletesThemFirst) {
  BlockNodePtr n = add_null({{"latency-ns", 30 * kMs}});
  std::weak_ptr<BlockDriverState> weak = n;
  auto blk = std::make_shared<BlockBackend>("", n);
  n.reset();
  bdrv_close_all();  // the monitor lets the node go: the backend holds it alone now
  auto buf = std::make_unique<std::vector<uint8_t>>(512, 0xaa);
  int completed = 0;
  blk->preadv(0, {iovec{buf->data(), buf->size()}}, [&](int ret) {
    EXPECT_EQ(ret, 0);
    ++completed;
  });
  blk->pwritev(0, {iovec{buf->data(), buf->size()}}, [&](int) { ++completed; });
  blk.reset();  // drains
  EXPECT_EQ(completed, 2);
  EXPECT_TRUE(weak.expired()) << "the node went with its last backend";
  buf.reset();
  // Nothing is left to run.
  for (int i = 0; i < 3; ++i) block_aio_poll(false);
}

TEST_F(NullBlockTest, DroppingTheNodeWithRequestsInFlightCompletesThemFirst) {
  BlockNodePtr n = add_null({{"latency-ns", 30 * kMs}});
  bdrv_close_all();
  int completed = 0;
  std::vector<uint8_t> buf(512);
  n->preadv(0, {iovec{buf.data(), buf.size()}}, [&](int) { ++completed; });
  n->flush([&](int) { ++completed; });
  n.reset();  // the node's destructor drains
  EXPECT_EQ(completed, 2);
}

TEST_F(NullBlockTest, ACompletionMayDropTheLastReference) {
  BlockNodePtr n = add_null({{"latency-ns", 10 * kMs}});
  bdrv_close_all();
  auto blk = std::make_shared<BlockBackend>("", n);
  n.reset();
  std::vector<uint8_t> buf(512);
  int completed = 0;
  // The first completion drops the backend (and so the node) while a second request waits on
  // the same timer: the drain in the destructors completes it, and nothing touches freed memory.
  blk->preadv(0, {iovec{buf.data(), buf.size()}}, [&](int) {
    ++completed;
    blk.reset();
  });
  blk->preadv(0, {iovec{buf.data(), buf.size()}}, [&](int) { ++completed; });
  EXPECT_TRUE(poll_until([&] { return completed == 2; }));
  EXPECT_FALSE(blk);
}

TEST_F(NullBlockTest, DriveOptionsOpenNullNodes) {
  auto blk = drive_new(drive_opts("if=none,id=d0,driver=null-co,size=1M,latency-ns=1000"), "none");
  ASSERT_TRUE(blk.ok()) << blk.message();
  EXPECT_EQ(blk.value()->root()->driver(), "null-co");
  EXPECT_EQ(blk.value()->length(), 1u << 20);
  EXPECT_EQ(static_cast<NullNode*>(blk.value()->root().get())->options().latency_ns, 1000);

  // file=null-co:// is the protocol under the (default) raw format; its options are file.*.
  blk = drive_new(drive_opts("if=none,id=d1,file=null-aio://,file.size=64k,file.read-zeroes=on"),
                  "none");
  ASSERT_TRUE(blk.ok()) << blk.message();
  EXPECT_EQ(blk.value()->root()->driver(), "raw");
  ASSERT_TRUE(blk.value()->root()->file_child());
  EXPECT_EQ(blk.value()->root()->file_child()->driver(), "null-aio");
  EXPECT_EQ(blk.value()->length(), 65536u);

  blk = drive_new(drive_opts("if=none,id=d2,file=null-co://,driver=null-co"), "none");
  ASSERT_TRUE(blk.ok()) << blk.message();
  EXPECT_EQ(blk.value()->root()->driver(), "null-co");
  EXPECT_EQ(blk.value()->root()->filename(), "null-co://");

  auto bad = drive_new(drive_opts("if=none,id=d3,file=null-co://x"), "none");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "The only allowed filename for this driver is 'null-co://'");
  bad = drive_new(drive_opts("if=none,id=d4,driver=null-co,latency-ns=-5"), "none");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "latency-ns is invalid");
  bad = drive_new(drive_opts("if=none,id=d5,driver=null-co,format=raw"), "none");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "Cannot specify both 'driver' and 'format'");
  bad = drive_new(drive_opts("if=none,id=d6,driver=null-co,speed=9"), "none");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "Block protocol 'null-co' does not support the option 'speed'");
}

}  // namespace
}  // namespace machina::testing
