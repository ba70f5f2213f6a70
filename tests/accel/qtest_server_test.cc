// The qtest server bound to a real chardev: a socket chardev over a socketpair.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "chardev/char.h"
#include "hw/misc/testdev.h"
#include "qtest_fixture.h"
#include "util/main-loop.h"

namespace machina::test {
namespace {

class QtestServerTest : public QtestSessionTest {
 protected:
  void SetUp() override {
    QtestSessionTest::SetUp();
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    peer_ = sv[0];
    auto chr =
        chardev_new({{"backend", "socket"}, {"id", "qtest0"}, {"fd", std::to_string(sv[1])}});
    ASSERT_TRUE(chr.ok()) << chr.message();
    chr_ = chr.value();
  }
  void TearDown() override {
    qtest_server_shutdown();
    chardev_remove_all();
    if (peer_ >= 0) close(peer_);
    QtestSessionTest::TearDown();
  }

  void send(const std::string& s) {
    ASSERT_EQ(::send(peer_, s.data(), s.size(), MSG_NOSIGNAL), ssize_t(s.size()));
  }
  // Pumps the loop and reads until `lines` complete lines arrived (or 5 s passed).
  std::string receive_lines(size_t lines) {
    std::string got;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    auto count = [&] { return size_t(std::count(got.begin(), got.end(), '\n')); };
    while (count() < lines && std::chrono::steady_clock::now() < end) {
      main_loop().run_once(1 * kNsPerMs);
      char buf[65536];
      ssize_t n;
      while ((n = recv(peer_, buf, sizeof(buf), MSG_DONTWAIT)) > 0) got.append(buf, size_t(n));
    }
    return got;
  }

  int peer_ = -1;
  Chardev* chr_ = nullptr;
};

TEST_F(QtestServerTest, AnswersOverTheChardev) {
  ASSERT_TRUE(qtest_server_init(chr_, std::nullopt).ok());
  EXPECT_TRUE(chr_->frontend_open());
  send("endianness\n");
  EXPECT_EQ(receive_lines(1), "OK little\n");
  send("writel 0x100000 0x");
  send("12345678\nreadl 0x100000\nnope\n");
  EXPECT_EQ(receive_lines(3), "OK\nOK 0x0000000012345678\nFAIL Unknown command 'nope'\n");
}

TEST_F(QtestServerTest, IrqLinesPrecedeTheReply) {
  ASSERT_NE(add_device(kTypeTestdevTimer, "tmr"), nullptr);
  ASSERT_TRUE(qtest_server_init(chr_, std::nullopt).ok());
  send("irq_intercept_out tmr\noutl 0xf100 500\nclock_step\ninl 0xf104\n");
  EXPECT_EQ(receive_lines(6), "OK\nOK\nIRQ raise 0\nOK 500\nIRQ lower 0\nOK 0x0001\n");
}

TEST_F(QtestServerTest, LargeRepliesAreDeliveredWhole) {
  ASSERT_TRUE(qtest_server_init(chr_, std::nullopt).ok());
  // 1 MiB of unassigned memory: a 2 MiB reply, far more than the socket buffer holds.
  send("read 0x80000000 0x100000\nendianness\n");
  std::string got = receive_lines(2);
  ASSERT_EQ(got.size(), 5 + 2 * 0x100000 + 1 + 10u);
  EXPECT_EQ(got.substr(0, 8), "OK 0xfff");
  EXPECT_EQ(got.find_first_not_of('f', 5), 5 + 2 * 0x100000u);
  EXPECT_EQ(got.substr(got.size() - 11), "\nOK little\n");
}

TEST_F(QtestServerTest, InitErrors) {
  EXPECT_FALSE(qtest_server_init(nullptr, std::nullopt).ok());
  auto bad = qtest_server_init(chr_, std::string("/nonexistent-dir/qtest.log"));
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(chr_->busy());  // nothing left attached after a failure
  ASSERT_TRUE(qtest_server_init(chr_, std::string("/dev/null")).ok());
  auto again = qtest_server_init(chr_, std::nullopt);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.message(), "qtest: the qtest server is already running");
  qtest_server_shutdown();
  EXPECT_FALSE(chr_->busy());
  ASSERT_TRUE(qtest_server_init(chr_, std::nullopt).ok());
  send("endianness\n");
  EXPECT_EQ(receive_lines(1), "OK little\n");
}

}  // namespace
}  // namespace machina::test
