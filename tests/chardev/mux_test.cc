#include <unistd.h>

#include "chardev/char-mux.h"
#include "chardev_test_util.h"

namespace machina::test {
namespace {

// A mux over a UNIX socket server; the test's raw client plays the terminal.
class MuxTest : public ChardevTest {
 protected:
  void SetUp() override {
    std::string p = path("mux");
    auto r = chardev_new({{"backend", "socket"},
                          {"id", "m"},
                          {"path", p},
                          {"server", "on"},
                          {"wait", "off"},
                          {"mux", "on"}});
    ASSERT_TRUE(r.ok()) << r.message();
    mux = static_cast<MuxChardev*>(r.value());
    ASSERT_TRUE(serial.attach(mux).ok());
    ASSERT_TRUE(monitor.attach(mux).ok());
    term = unix_connect(p);
    ASSERT_GE(term, 0);
    ASSERT_TRUE(pump_until([&] { return mux->backend_open(); }));
    chardev_set_quit_hook([this] { quits++; });
  }
  void TearDown() override {
    chardev_set_quit_hook(nullptr);
    if (term >= 0) close(term);
    serial.fe.deinit();
    monitor.fe.deinit();
    ChardevTest::TearDown();
  }
  void type(const std::string& s) { ASSERT_EQ(write(term, s.data(), s.size()), ssize_t(s.size())); }

  MuxChardev* mux = nullptr;
  RecordingFrontend serial, monitor;  // monitor attached last: it has the focus
  int term = -1;
  int quits = 0;
};

TEST_F(MuxTest, CreatesBaseAndMuxChardevs) {
  Chardev* base = chardev_find("m-base");
  ASSERT_NE(base, nullptr);
  EXPECT_TRUE(base->is_a("chardev-socket"));
  EXPECT_TRUE(mux->is_a("chardev-mux"));
  Status s = chardev_remove("m-base");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "Chardev 'm-base' is busy");
  EXPECT_TRUE(serial.saw(ChardevEvent::Opened));
  EXPECT_TRUE(monitor.saw(ChardevEvent::Opened));
}

TEST_F(MuxTest, InputGoesToTheFocusedFrontendAndCaSwitches) {
  EXPECT_EQ(mux->focus(), 1);
  type("abc");
  ASSERT_TRUE(pump_until([&] { return monitor.got == "abc"; }));
  EXPECT_EQ(serial.got, "");
  type(
      "\x01"
      "c");
  type("xyz");
  ASSERT_TRUE(pump_until([&] { return serial.got == "xyz"; }));
  EXPECT_EQ(monitor.got, "abc");
  EXPECT_TRUE(monitor.saw(ChardevEvent::MuxOut));
  EXPECT_TRUE(serial.saw(ChardevEvent::MuxIn));
  EXPECT_EQ(mux->focus(), 0);
  type(
      "\x01"
      "c"
      "m");  // and back
  ASSERT_TRUE(pump_until([&] { return monitor.got == "abcm"; }));
}

TEST_F(MuxTest, CaCaSendsCaAndCaBSendsBreak) {
  type(
      "\x01\x01"
      "\x01"
      "b");
  ASSERT_TRUE(pump_until([&] { return monitor.got == "\x01"; }));
  ASSERT_TRUE(pump_until([&] { return monitor.saw(ChardevEvent::Break); }));
  EXPECT_FALSE(serial.saw(ChardevEvent::Break));
  type(
      "\x01"
      "s"
      "\x01"
      "t"
      "ok");  // consumed commands
  ASSERT_TRUE(pump_until([&] { return monitor.got == "\x01ok"; }));
  EXPECT_TRUE(mux->timestamps());
}

TEST_F(MuxTest, CaXCallsTheQuitHook) {
  type("\x01x");
  ASSERT_TRUE(pump_until([&] { return quits == 1; }));
  EXPECT_EQ(read_some(term, 18), "QEMU: Terminated\n\r");
  EXPECT_EQ(monitor.got, "");
}

TEST_F(MuxTest, CaHPrintsHelp) {
  type("\x01h");
  std::string help = read_some(term, 200, 1000);
  EXPECT_NE(help.find("C-a x    exit emulator\n\r"), std::string::npos) << help;
  EXPECT_NE(help.find("C-a c    switch between console and monitor\n\r"), std::string::npos);
  EXPECT_EQ(monitor.got, "");
}

TEST_F(MuxTest, OutputFromEveryFrontendReachesTheBackend) {
  EXPECT_EQ(serial.fe.write("guest "), 6u);
  EXPECT_EQ(monitor.fe.write("(qemu) "), 7u);
  EXPECT_EQ(read_some(term, 13), "guest (qemu) ");
}

TEST_F(MuxTest, FrontendThatCannotReadKeepsInputBuffered) {
  monitor.room = 0;
  type("later");
  pump_for(30);
  EXPECT_EQ(monitor.got, "");
  monitor.room = 100;
  monitor.fe.accept_input();
  ASSERT_TRUE(pump_until([&] { return monitor.got == "later"; }));
}

TEST_F(MuxTest, AtMostFourFrontends) {
  RecordingFrontend c, d, e;
  ASSERT_TRUE(c.attach(mux).ok());
  ASSERT_TRUE(d.attach(mux).ok());
  Status s = e.fe.init(mux);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "too many uses of multiplexed chardev 'm' (maximum is 4)");
}

TEST_F(MuxTest, QueryShowsMuxAndBase) {
  json q = chardev_query();
  ASSERT_EQ(q.size(), 2u);
  bool saw_mux = false, saw_base = false;
  for (auto& e : q) {
    if (e["label"] == "m") {
      saw_mux = true;
      EXPECT_EQ(e["frontend-open"], true);
    }
    if (e["label"] == "m-base") saw_base = true;
  }
  EXPECT_TRUE(saw_mux);
  EXPECT_TRUE(saw_base);
}

}  // namespace
}  // namespace machina::test
