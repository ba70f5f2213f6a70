// The block layer in the real binary: -drive / -blockdev on the command line, query-block,
// query-named-block-nodes, blockdev-add / blockdev-del (the file really closed), info block,
// and QEMU's texts for bad options.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <unistd.h>

#include <filesystem>

#include "qtest/harness.h"

namespace machina::qtest {
namespace {

// An image file of SIZE bytes (removed at the end).
class Image {
 public:
  explicit Image(off_t size) {
    int fd = ::open(path_.str().c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::ftruncate(fd, size), 0);
    ::close(fd);
  }
  const std::string& path() const { return path_.str(); }

 private:
  TempPath path_{"img"};
};

bool process_has_open(pid_t pid, const std::string& path) {
  std::error_code ec;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  for (auto& e : std::filesystem::directory_iterator(dir, ec)) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(e.path().c_str(), buf, sizeof buf - 1);
    if (n > 0 && std::string(buf, size_t(n)) == path) return true;
  }
  return false;
}

#define EXPECT_EXIT_1_WITH(r, text)                                                  \
  do {                                                                               \
    EXPECT_TRUE((r).status.exited && (r).status.code == 1) << (r).status.describe(); \
    EXPECT_EQ((r).err, std::string(text) + "\n");                                    \
  } while (0)

TEST(BlockQmpTest, DriveShowsInQueryBlock) {
  Image img(1 << 20);
  RawMachine m({"-M", "none", "-display", "none", "-drive",
                "file=" + img.path() + ",format=raw,if=none,id=drive0,cache=writethrough," +
                    "node-name=top0,werror=stop,rerror=report"},
               1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  json r = q->execute("query-block");
  ASSERT_TRUE(r.contains("return")) << r.dump();
  ASSERT_EQ(r["return"].size(), 1u) << r.dump();
  const json& b = r["return"][0];
  EXPECT_EQ(b["device"], "drive0");
  EXPECT_EQ(b["locked"], false);
  EXPECT_EQ(b["removable"], true);
  EXPECT_FALSE(b.contains("qdev"));
  const json& ins = b["inserted"];
  EXPECT_EQ(ins["file"], img.path());
  EXPECT_EQ(ins["node-name"], "top0");
  EXPECT_EQ(ins["drv"], "raw");
  EXPECT_EQ(ins["ro"], false);
  EXPECT_EQ(ins["encrypted"], false);
  EXPECT_EQ(ins["cache"], json({{"writeback", false}, {"direct", false}, {"no-flush", false}}));
  EXPECT_EQ(ins["image"]["virtual-size"], 1 << 20);
  EXPECT_EQ(ins["image"]["format"], "raw");
  EXPECT_EQ(ins["image"]["filename"], img.path());
  EXPECT_TRUE(process_has_open(m.pid(), img.path()));

  json nodes = q->execute("query-named-block-nodes");
  ASSERT_EQ(nodes["return"].size(), 2u) << nodes.dump();
  EXPECT_EQ(nodes["return"][0]["drv"], "file");
  EXPECT_EQ(nodes["return"][0]["node-name"].get<std::string>().rfind("#block", 0), 0u);
  EXPECT_EQ(nodes["return"][1]["node-name"], "top0");

  json hmp = q->execute("human-monitor-command", {{"command-line", "info block"}});
  std::string text = hmp["return"].get<std::string>();
  EXPECT_NE(text.find("drive0 (top0): " + img.path() + " (raw)"), std::string::npos) << text;
  EXPECT_NE(text.find("Cache mode:       writethrough"), std::string::npos) << text;

  // A -drive node is not the monitor's to delete.
  json del = q->execute("blockdev-del", {{"node-name", "top0"}});
  EXPECT_EQ(del["error"]["desc"], "Node top0 is in use") << del.dump();
  m.child().send_signal(SIGTERM);
  EXPECT_TRUE(m.wait_exit().ok());
}

TEST(BlockQmpTest, BlockdevOnTheCommandLineAndQmpAddDel) {
  Image a(65536), b(4096);
  RawMachine m(
      {"-M", "none", "-display", "none", "-blockdev",
       "driver=file,node-name=fa,filename=" + a.path() + ",aio=io_uring", "-blockdev",
       "driver=raw,node-name=ra,file=fa", "-blockdev",
       R"({"driver":"raw","node-name":"rb","read-only":true,"file":{"driver":"file","filename":")" +
           b.path() + R"("}})"},
      1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  // -blockdev nodes have no BlockBackend: query-block is empty, the nodes are named.
  EXPECT_EQ(q->execute("query-block")["return"], json::array());
  json nodes = q->execute("query-named-block-nodes")["return"];
  std::vector<std::string> names;
  for (auto& n : nodes) names.push_back(n["node-name"]);
  ASSERT_EQ(names.size(), 4u) << nodes.dump();
  EXPECT_EQ(names[0], "fa");
  EXPECT_EQ(names[1], "ra");
  EXPECT_EQ(names[3], "rb");
  EXPECT_EQ(nodes[3]["ro"], true);

  json busy = q->execute("blockdev-del", {{"node-name", "fa"}});
  EXPECT_EQ(busy["error"]["desc"], "Block device fa is in use") << busy.dump();
  EXPECT_EQ(q->execute("blockdev-del", {{"node-name", "ra"}}), json({{"return", json::object()}}));
  EXPECT_TRUE(process_has_open(m.pid(), a.path()));
  EXPECT_EQ(q->execute("blockdev-del", {{"node-name", "fa"}}), json({{"return", json::object()}}));
  EXPECT_FALSE(process_has_open(m.pid(), a.path()));

  json add = q->execute("blockdev-add", {{"driver", "raw"},
                                         {"node-name", "rc"},
                                         {"file", {{"driver", "file"}, {"filename", a.path()}}}});
  EXPECT_EQ(add, json({{"return", json::object()}}));
  EXPECT_TRUE(process_has_open(m.pid(), a.path()));
  EXPECT_EQ(q->execute("blockdev-del", {{"node-name", "rc"}}), json({{"return", json::object()}}));
  EXPECT_FALSE(process_has_open(m.pid(), a.path()));

  struct Bad {
    json args;
    std::string desc;
  } bad[] = {
      {{{"driver", "file"}, {"node-name", "x"}, {"filename", "/nonexistent/img"}},
       "Could not open '/nonexistent/img': No such file or directory"},
      {{{"driver", "file"}, {"filename", a.path()}},
       "'node-name' must be specified for the root node"},
      {{{"driver", "vmdk2"}, {"node-name", "x"}},
       "Parameter 'driver' does not accept value 'vmdk2'"},
      {{{"driver", "raw"}, {"node-name", "x"}, {"file", "nope"}},
       "Cannot find device='nope' nor node-name='nope'"},
      {{{"driver", "file"}, {"node-name", "rb"}, {"filename", a.path()}},
       "Duplicate nodes with node-name='rb'"},
  };
  for (const Bad& c : bad) {
    json r = q->execute("blockdev-add", c.args);
    EXPECT_EQ(r["error"]["class"], "GenericError") << r.dump();
    EXPECT_EQ(r["error"]["desc"], c.desc) << c.args.dump();
  }
  json missing = q->execute("blockdev-add", {{"node-name", "x"}});
  EXPECT_EQ(missing["error"]["desc"], "Parameter 'driver' is missing");
  json del = q->execute("blockdev-del", {{"node-name", "nope"}});
  EXPECT_EQ(del["error"]["desc"], "Failed to find node with node-name='nope'");
  m.child().send_signal(SIGTERM);
  EXPECT_TRUE(m.wait_exit().ok());
}

TEST(BlockQmpTest, BadDriveOptionsExitWithQemusTexts) {
  Image img(4096);
  std::string f = "file=" + img.path();
  auto r = run_machina({"-M", "none", "-display", "none", "-drive", "file=/nonexistent/x,if=none"});
  EXPECT_EXIT_1_WITH(r,
                     "machina: -drive file=/nonexistent/x,if=none: Could not open "
                     "'/nonexistent/x': No such file or directory");
  r = run_machina({"-M", "none", "-display", "none", "-drive", f + ",if=none,cache=fast"});
  EXPECT_EXIT_1_WITH(r, "machina: -drive " + f + ",if=none,cache=fast: invalid cache option");
  // The location is the argument as written (id= stays where it was).
  r = run_machina({"-M", "none", "-display", "none", "-drive", f + ",id=d9,if=none,cache=fast"});
  EXPECT_EXIT_1_WITH(r, "machina: -drive " + f + ",id=d9,if=none,cache=fast: invalid cache option");
  r = run_machina({"-M", "none", "-display", "none", "-drive", f + ",if=none,format=qcow2"});
  EXPECT_EXIT_1_WITH(r, "machina: -drive " + f + ",if=none,format=qcow2: Unknown driver 'qcow2'");
  r = run_machina({"-M", "none", "-display", "none", "-drive", f + ",if=ide"});
  EXPECT_EXIT_1_WITH(
      r, "machina: -drive " + f + ",if=ide: machine type does not support if=ide,bus=0,unit=0");
  r = run_machina({"-M", "none", "-display", "none", "-drive", f + ",if=none,werror=maybe"});
  EXPECT_EXIT_1_WITH(
      r, "machina: -drive " + f + ",if=none,werror=maybe: 'maybe' invalid write error action");
  r = run_machina({"-M", "none", "-display", "none", "-blockdev", "driver=file,node-name=n"});
  EXPECT_EXIT_1_WITH(r,
                     "machina: -blockdev driver=file,node-name=n: Parameter 'filename' is missing");
  r = run_machina(
      {"-M", "none", "-display", "none", "-blockdev", "driver=file,filename=" + img.path()});
  EXPECT_EXIT_1_WITH(r, "machina: -blockdev driver=file,filename=" + img.path() +
                            ": 'node-name' must be specified for the root node");
}

}  // namespace
}  // namespace machina::qtest
