#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "chardev/char-options.h"
#include "chardev_test_util.h"

namespace machina::test {
namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class BackendTest : public ChardevTest {};

TEST_F(BackendTest, NullAcceptsEverything) {
  auto r = chardev_new({{"backend", "null"}, {"id", "n0"}});
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.value()->filename(), "null");
  RecordingFrontend f;
  ASSERT_TRUE(f.attach(r.value()).ok());
  EXPECT_TRUE(f.saw(ChardevEvent::Opened));
  EXPECT_EQ(f.fe.write("discard me"), 10u);
  bool writable = false;
  f.fe.notify_writable([&] { writable = true; });
  EXPECT_FALSE(writable);  // reported from the loop, not re-entrantly
  ASSERT_TRUE(pump_until([&] { return writable; }));
}

TEST_F(BackendTest, FileTruncatesByDefaultAndAppendsOnRequest) {
  std::string p = path("file");
  { std::ofstream(p) << "old contents"; }
  auto r = chardev_new({{"backend", "file"}, {"id", "f0"}, {"path", p}});
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.value()->filename(), "file");
  {
    RecordingFrontend f;
    ASSERT_TRUE(f.attach(r.value()).ok());
    EXPECT_EQ(f.fe.write("abc"), 3u);
  }
  EXPECT_EQ(slurp(p), "abc");
  ASSERT_TRUE(chardev_remove("f0").ok());

  auto a = chardev_new({{"backend", "file"}, {"id", "f0"}, {"path", p}, {"append", "on"}});
  ASSERT_TRUE(a.ok()) << a.message();
  RecordingFrontend f;
  ASSERT_TRUE(f.attach(a.value()).ok());
  EXPECT_EQ(f.fe.write("def"), 3u);
  EXPECT_EQ(slurp(p), "abcdef");
}

TEST_F(BackendTest, FileErrors) {
  auto r = chardev_new({{"backend", "file"}, {"id", "f0"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "chardev: file: no filename given");
  auto r2 = chardev_new({{"backend", "file"}, {"id", "f0"}, {"path", "/nonexistent-dir/x"}});
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.message(), "Could not create '/nonexistent-dir/x': No such file or directory");
}

TEST_F(BackendTest, PipeUsesInAndOutFifos) {
  std::string p = path("pipe");
  cleanup_.push_back(p + ".in");
  cleanup_.push_back(p + ".out");
  ASSERT_EQ(mkfifo((p + ".in").c_str(), 0600), 0);
  ASSERT_EQ(mkfifo((p + ".out").c_str(), 0600), 0);
  auto r = chardev_new({{"backend", "pipe"}, {"id", "p0"}, {"path", p}});
  ASSERT_TRUE(r.ok()) << r.message();
  RecordingFrontend f;
  ASSERT_TRUE(f.attach(r.value()).ok());
  int to_chr = open((p + ".in").c_str(), O_WRONLY | O_NONBLOCK);
  int from_chr = open((p + ".out").c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(to_chr, 0);
  ASSERT_GE(from_chr, 0);
  ASSERT_EQ(write(to_chr, "in!", 3), 3);
  ASSERT_TRUE(pump_until([&] { return f.got == "in!"; }));
  EXPECT_EQ(f.fe.write("out"), 3u);
  char buf[8] = {};
  ASSERT_EQ(read(from_chr, buf, sizeof(buf)), 3);
  EXPECT_EQ(std::string(buf), "out");
  close(to_chr);
  close(from_chr);
}

TEST_F(BackendTest, PipeErrors) {
  auto r = chardev_new({{"backend", "pipe"}, {"id", "p0"}, {"path", "/nonexistent-dir/p"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Could not open '/nonexistent-dir/p': No such file or directory");
}

TEST_F(BackendTest, PtyOpensAndCarriesData) {
  testing::internal::CaptureStdout();
  auto r = chardev_new({{"backend", "pty"}, {"id", "pt0"}});
  std::string out = testing::internal::GetCapturedStdout();
  ASSERT_TRUE(r.ok()) << r.message();
  Chardev* chr = r.value();
  ASSERT_TRUE(chr->filename().starts_with("pty:/dev/pts/")) << chr->filename();
  std::string pts = chr->filename().substr(4);
  EXPECT_EQ(out, "char device redirected to " + pts + " (label pt0)\n");
  RecordingFrontend f;
  ASSERT_TRUE(f.attach(chr).ok());
  EXPECT_EQ(f.fe.write("nobody listens"), 14u);  // dropped while the slave is closed

  int slave = open(pts.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK);
  ASSERT_GE(slave, 0);
  EXPECT_EQ(f.fe.write("hi"), 2u);  // notices the connection
  EXPECT_TRUE(chr->backend_open());
  std::string got;
  for (int i = 0; i < 300 && got.size() < 2; i++) {
    char buf[64];
    ssize_t n = read(slave, buf, sizeof(buf));
    if (n > 0) got.append(buf, size_t(n));
    pump_for(1);
  }
  EXPECT_EQ(got, "hi");
  ASSERT_EQ(write(slave, "typed", 5), 5);
  ASSERT_TRUE(pump_until([&] { return f.got == "typed"; }));
  close(slave);
  ASSERT_TRUE(pump_until([&] { return !chr->backend_open(); }));
  EXPECT_TRUE(f.saw(ChardevEvent::Closed));
}

TEST_F(BackendTest, LogfileGetsACopyOfTheOutput) {
  std::string log = path("log");
  auto r = chardev_new({{"backend", "null"}, {"id", "n0"}, {"logfile", log}});
  ASSERT_TRUE(r.ok()) << r.message();
  RecordingFrontend f;
  ASSERT_TRUE(f.attach(r.value()).ok());
  EXPECT_EQ(f.fe.write("logged"), 6u);
  EXPECT_EQ(slurp(log), "logged");
}

TEST_F(BackendTest, StdioOnlyOnce) {
  auto r = chardev_new({{"backend", "stdio"}, {"id", "io0"}, {"signal", "off"}});
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.value()->filename(), "stdio");
  auto r2 = chardev_new({{"backend", "stdio"}, {"id", "io1"}});
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.message(), "cannot use stdio by multiple character devices");
  ASSERT_TRUE(chardev_remove("io0").ok());
  auto r3 = chardev_new({{"backend", "stdio"}, {"id", "io1"}});
  EXPECT_TRUE(r3.ok());
}

// ---------------------------------------------------------------- registry

class RegistryTest : public ChardevTest {};

TEST_F(RegistryTest, ChardevsLiveUnderChardevsInTheTree) {
  auto r = chardev_new({{"backend", "null"}, {"id", "n0"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()->canonical_path(), "/chardevs/n0");
  EXPECT_EQ(object_resolve_path("/chardevs/n0"), r.value());
  EXPECT_TRUE(r.value()->is_a("chardev"));
  EXPECT_TRUE(r.value()->is_a("chardev-null"));
  EXPECT_EQ(chardev_find("n0"), r.value());
}

TEST_F(RegistryTest, FrontendBusyAndRemove) {
  auto r = chardev_new({{"backend", "null"}, {"id", "n0"}});
  ASSERT_TRUE(r.ok());
  RecordingFrontend a, b;
  ASSERT_TRUE(a.attach(r.value()).ok());
  Status s = b.fe.init(r.value());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "Device 'n0' is in use");
  Status rm = chardev_remove("n0");
  ASSERT_FALSE(rm.ok());
  EXPECT_EQ(rm.message(), "Chardev 'n0' is busy");
  a.fe.deinit();
  ASSERT_TRUE(b.attach(r.value()).ok());
  b.fe.deinit();
  EXPECT_TRUE(chardev_remove("n0").ok());
  EXPECT_EQ(chardev_find("n0"), nullptr);
  Status again = chardev_remove("n0");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.message(), "Chardev 'n0' not found");
}

TEST_F(RegistryTest, FrontendOutlivingItsChardevIsSafe) {
  RecordingFrontend f;
  {
    auto r = chardev_new({{"backend", "null"}, {"id", "n0"}});
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(f.attach(r.value()).ok());
  }
  chardev_remove_all();
  EXPECT_FALSE(f.fe.attached());
  EXPECT_EQ(f.fe.write("x"), 0u);
}

TEST_F(RegistryTest, QueryChardev) {
  ASSERT_TRUE(chardev_new({{"backend", "null"}, {"id", "n0"}}).ok());
  ASSERT_TRUE(chardev_new({{"backend", "null"}, {"id", "n1"}}).ok());
  RecordingFrontend f;
  ASSERT_TRUE(f.attach(chardev_find("n1")).ok());
  json q = chardev_query();
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0], (json{{"label", "n0"}, {"filename", "null"}, {"frontend-open", false}}));
  EXPECT_EQ(q[1], (json{{"label", "n1"}, {"filename", "null"}, {"frontend-open", true}}));
}

TEST_F(RegistryTest, OptionErrors) {
  auto err = [](ChardevOptions o) {
    auto r = chardev_new(o);
    return r.ok() ? std::string("ok") : r.message();
  };
  EXPECT_EQ(err({{"backend", "null"}}), "Parameter 'id' is missing");
  EXPECT_EQ(err({{"backend", "null"}, {"id", "1bad"}}), "Parameter 'id' expects an identifier");
  EXPECT_EQ(err({{"id", "x"}}), "chardev: \"x\" missing backend");
  EXPECT_EQ(err({{"backend", "bogus"}, {"id", "x"}}), "'bogus' is not a valid char driver name");
  EXPECT_EQ(err({{"backend", "fd"}, {"id", "x"}}), "'fd' is not a valid char driver name");
  EXPECT_EQ(err({{"backend", "null"}, {"id", "x"}, {"colour", "red"}}),
            "Invalid parameter 'colour'");
  EXPECT_EQ(err({{"backend", "null"}, {"id", "x"}}), "ok");
  EXPECT_EQ(err({{"backend", "null"}, {"id", "x"}}), "Duplicate ID 'x' for chardev");
}

TEST(ChardevLegacy, ParsesQemuShortForms) {
  bool mon = false;
  auto r = chardev_parse_legacy("unix:/tmp/q.sock,server,nowait");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(
      *r, (ChardevOptions{
              {"backend", "socket"}, {"path", "/tmp/q.sock"}, {"server", "on"}, {"wait", "off"}}));
  auto t = chardev_parse_legacy("tcp:[::1]:4444,server=on,wait=off");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->at("host"), "::1");
  EXPECT_EQ(t->at("port"), "4444");
  auto m = chardev_parse_legacy("mon:stdio", &mon);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(mon);
  EXPECT_EQ(*m, (ChardevOptions{{"backend", "stdio"}, {"mux", "on"}}));
  auto f = chardev_parse_legacy("file:/tmp/out.txt");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->at("backend"), "file");
  auto q = chardev_parse_legacy("unix:/tmp/x");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, (ChardevOptions{{"backend", "socket"}, {"path", "/tmp/x"}}));
  EXPECT_FALSE(chardev_parse_legacy("bogus:thing").ok());
  EXPECT_FALSE(chardev_parse_legacy("unix:/x,frobnicate").ok());
}

}  // namespace
}  // namespace machina::test
