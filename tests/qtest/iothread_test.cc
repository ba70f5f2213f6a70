// I/O threads: `-object iothread` and object-add start a thread named "IO <id>" (query-iothreads
// reports its kernel id), object-del stops it and refuses while a device uses it, and a
// virtio-blk with `iothread=` has its queue notifications handled on that thread: the thread
// wakes once per kick (its voluntary context switches count them) while an I/O thread no device
// uses never wakes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "qtest/blk_test_images.h"
#include "qtest/harness.h"
#include "qtest/virtio_driver.h"

namespace machina::qtest {
namespace {

constexpr int kBlkDevfn = 7 << 3;
constexpr uint64_t kVersion1 = 1ull << 32;
constexpr uint32_t kTIn = 0;
const json kOk = {{"return", json::object()}};

std::string task_file(pid_t pid, int tid, const std::string& name) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/" + name);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

bool task_exists(pid_t pid, int tid) {
  return access(("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid)).c_str(), F_OK) ==
         0;
}

// How many times the thread has blocked and been woken (/proc/.../status).
long voluntary_switches(pid_t pid, int tid) {
  std::istringstream in(task_file(pid, tid, "status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("voluntary_ctxt_switches:", 0) == 0) return std::stol(line.substr(24));
  }
  return -1;
}

int thread_id_of(QTestMachine& m, const std::string& id) {
  json list = m.qmp("query-iothreads");
  for (const json& t : list["return"]) {
    if (t["id"] == id) return t["thread-id"].get<int>();
  }
  return -1;
}

// One 512-byte read of sector `sector` through the device; true when it completed with status 0.
bool read_sector(QTestMachine& m, GuestAlloc& alloc, VirtioPciDriver& d, VirtioQueue& q,
                 uint64_t sector) {
  uint64_t hdr = alloc.alloc(16), data = alloc.alloc(512), status = alloc.alloc(1);
  m.writel(hdr, kTIn);
  m.writeq(hdr + 8, sector);
  m.writeb(status, 0xff);
  d.add_chain(q, {{hdr, 16, false}, {data, 512, true}, {status, 1, true}});
  d.kick(q);
  if (!d.wait_used(q)) return false;
  return m.readb(status) == 0 && m.readb(data) == image_pattern_byte(sector * 512);
}

TEST(IOThread, QueryIothreadsAndTheThreadsLifecycle) {
  QTestMachine m("-M q35 -object iothread,id=io0,poll-max-ns=0");
  ASSERT_TRUE(m.ok()) << m.error();
  json list = m.qmp("query-iothreads")["return"];
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["id"], "io0");
  EXPECT_EQ(list[0]["poll-max-ns"], 0);
  EXPECT_EQ(list[0]["poll-grow"], 0);
  EXPECT_EQ(list[0]["poll-shrink"], 0);
  EXPECT_EQ(list[0]["aio-max-batch"], 0);
  int tid = list[0]["thread-id"].get<int>();
  ASSERT_TRUE(task_exists(m.pid(), tid));
  EXPECT_EQ(task_file(m.pid(), tid, "comm"), "IO io0\n");

  EXPECT_EQ(m.qmp("object-add", {{"qom-type", "iothread"}, {"id", "io1"}}), kOk);
  int tid1 = thread_id_of(m, "io1");
  ASSERT_GT(tid1, 0);
  EXPECT_NE(tid1, tid);
  EXPECT_EQ(task_file(m.pid(), tid1, "comm"), "IO io1\n");
  EXPECT_EQ(m.qmp("query-iothreads")["return"][1]["poll-max-ns"], 32768);  // QEMU's default
  EXPECT_EQ(m.qmp("object-del", {{"id", "io1"}}), kOk);
  EXPECT_FALSE(task_exists(m.pid(), tid1)) << "the thread is joined when the object goes";
  EXPECT_EQ(thread_id_of(m, "io1"), -1);

  json bad = m.qmp("object-add", {{"qom-type", "iothread"}, {"id", "io2"}, {"poll-grow", -1}});
  EXPECT_EQ(bad["error"]["class"], "GenericError") << bad.dump();
  EXPECT_EQ(thread_id_of(m, "io2"), -1) << "a failed object-add leaves nothing behind";
  m.quit();
}

TEST(IOThread, VirtioBlkQueueWorkRunsOnItsIothread) {
  TempPath img(".img");
  write_pattern_image(img.str(), 1 << 20);
  QTestMachine m(
      "-M q35 -object iothread,id=io0 -object iothread,id=idle -drive "
      "if=none,id=d0,format=raw,file=" +
      img.str() + " -device virtio-blk-pci,addr=7,id=vblk0,drive=d0,iothread=io0");
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m.qmp("qom-get", {{"path", "vblk0"}, {"property", "iothread"}})["return"],
            "/objects/io0");
  json busy = m.qmp("object-del", {{"id", "io0"}});
  EXPECT_EQ(busy["error"]["desc"], "object 'io0' is in use, can not be deleted") << busy.dump();

  int io = thread_id_of(m, "io0"), idle = thread_id_of(m, "idle");
  ASSERT_GT(io, 0);
  ASSERT_GT(idle, 0);
  GuestAlloc alloc;
  VirtioPciDriver d(m, alloc, kBlkDevfn);
  ASSERT_TRUE(d.found());
  ASSERT_TRUE(d.negotiate(kVersion1));
  VirtioQueue q = d.setup_queue(0);
  d.driver_ok();
  long io0 = voluntary_switches(m.pid(), io);
  // The idle thread settles first: on a loaded host it may still be on its way into its first
  // wait (a switch that is not a wake-up).
  long idle0 = voluntary_switches(m.pid(), idle);
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    long now = voluntary_switches(m.pid(), idle);
    if (now == idle0) break;
    idle0 = now;
  }
  constexpr int kKicks = 8;
  for (int i = 0; i < kKicks; ++i) ASSERT_TRUE(read_sector(m, alloc, d, q, uint64_t(i * 3)));
  EXPECT_GE(voluntary_switches(m.pid(), io) - io0, kKicks) << "io0 woke for every kick";
  EXPECT_EQ(voluntary_switches(m.pid(), idle), idle0) << "an unused iothread never wakes";
  m.quit();
}

TEST(IOThread, UnknownIothreadIsRefused) {
  TempPath img(".img");
  write_pattern_image(img.str(), 1 << 20);
  auto r = run_machina({"-M", "q35", "-display", "none", "-drive",
                        "if=none,id=d0,format=raw,file=" + img.str(), "-device",
                        "virtio-blk-pci,id=vblk0,drive=d0,iothread=nope"});
  EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.err;
  EXPECT_NE(r.err.find("Device 'nope' not found"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace machina::qtest
