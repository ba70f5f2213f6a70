// The harness itself: deadlines, exit-status decoding and process clean-up (no machina needed).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "qtest/harness.h"

namespace machina::qtest {
namespace {

TEST(HarnessTest, HungChildIsKilledAtTheDeadline) {
  Child c({"/bin/sleep", "30"});
  std::string err;
  ASSERT_TRUE(c.start(&err)) << err;
  auto t0 = std::chrono::steady_clock::now();
  ExitStatus st = c.wait_or_kill(Ms(100));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, Ms(3000));
  EXPECT_TRUE(st.timed_out);
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(c.running());
}

TEST(HarnessTest, DestructorKillsARunningChild) {
  pid_t pid;
  {
    Child c({"/bin/sleep", "30"});
    std::string err;
    ASSERT_TRUE(c.start(&err)) << err;
    pid = c.pid();
    EXPECT_TRUE(c.running());
  }
  // Reaped: the pid no longer exists as our child.
  EXPECT_EQ(kill(pid, 0), -1);
}

TEST(HarnessTest, DecodesExitCodesAndSignalsAndCapturesOutput) {
  Child c({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  std::string err;
  ASSERT_TRUE(c.start(&err)) << err;
  auto st = c.wait(Ms(5000));
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited);
  EXPECT_EQ(st->code, 3);
  EXPECT_EQ(st->describe(), "exit status 3");
  EXPECT_EQ(c.stdout_text(), "out\n");
  EXPECT_EQ(c.stderr_text(), "err\n");

  Child k({"/bin/sh", "-c", "kill -SEGV $$"});
  ASSERT_TRUE(k.start(&err)) << err;
  auto ks = k.wait(Ms(5000));
  ASSERT_TRUE(ks.has_value());
  EXPECT_TRUE(ks->signaled);
  EXPECT_EQ(ks->signal, SIGSEGV);
  EXPECT_NE(ks->describe().find("signal 11"), std::string::npos);
}

TEST(HarnessTest, TempPathsAreUniqueAndRemoved) {
  std::string p;
  {
    TempPath a("sock"), b("sock");
    EXPECT_NE(a.str(), b.str());
    UnixListener l(a.str());
    ASSERT_TRUE(l.ok());
    struct stat sb;
    EXPECT_EQ(stat(a.str().c_str(), &sb), 0);
    p = a.str();
    // Nobody connects: accept gives up at its deadline.
    EXPECT_FALSE(l.accept(Ms(50)).valid());
  }
  struct stat sb;
  EXPECT_NE(stat(p.c_str(), &sb), 0);
}

TEST(HarnessTest, ConnectGivesUpAtTheDeadline) {
  TempPath nowhere("qmp");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(connect_unix(nowhere.str(), Ms(100)).valid());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, Ms(3000));
}

}  // namespace
}  // namespace machina::qtest

namespace machina::qtest {
namespace {

// Points machina_binary() at another program for the duration of a test.
class BinaryOverride {
 public:
  explicit BinaryOverride(const std::string& path) {
    if (const char* old = std::getenv("MACHINA_BINARY")) old_ = old;
    setenv("MACHINA_BINARY", path.c_str(), 1);
  }
  ~BinaryOverride() {
    if (old_) {
      setenv("MACHINA_BINARY", old_->c_str(), 1);
    } else {
      unsetenv("MACHINA_BINARY");
    }
  }

 private:
  std::optional<std::string> old_;
};

TEST(HarnessTest, BinaryThatExitsAtOnceFailsStartupQuickly) {
  BinaryOverride o("/bin/false");
  auto t0 = std::chrono::steady_clock::now();
  QTestMachine m("-M none");
  EXPECT_FALSE(m.ok());
  EXPECT_NE(m.error().find("exit status 1"), std::string::npos) << m.error();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, Ms(3000));
}

TEST(HarnessTest, BinaryThatNeverConnectsFailsAtTheDeadlineAndIsKilled) {
  TempPath script("sh");
  {
    std::ofstream f(script.str());
    f << "#!/bin/sh\nexec sleep 30\n";
  }
  chmod(script.str().c_str(), 0755);
  BinaryOverride o(script.str());
  QTestOptions opts;
  opts.start_timeout = Ms(200);
  auto t0 = std::chrono::steady_clock::now();
  QTestMachine m("-M none", opts);
  EXPECT_FALSE(m.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, Ms(5000));
  EXPECT_FALSE(m.child().running());
  EXPECT_NE(m.error().find("did not connect"), std::string::npos) << m.error();
}

}  // namespace
}  // namespace machina::qtest
