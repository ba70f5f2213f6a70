// -qtest-log: the transcript format.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "hw/misc/testdev.h"
#include "qtest_fixture.h"

namespace machina::test {
namespace {

std::string temp_log(const char* tag) {
  static int n = 0;
  return "/tmp/machina-qtest-log-" + std::to_string(getpid()) + "-" + std::to_string(n++) + "-" +
         tag;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(l);
  return lines;
}

// True if `line` is "[TAG SECS] REST" with SECS printed as "%.06f".
bool is_log_line(const std::string& line, const std::string& tag, const std::string& rest) {
  std::string head = "[" + tag;
  if (line.compare(0, head.size(), head) != 0) return false;
  size_t i = head.size();
  size_t digits = 0;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i, ++digits;
  if (digits == 0 || i >= line.size() || line[i] != '.') return false;
  ++i;
  for (int k = 0; k < 6; ++k, ++i) {
    if (i >= line.size() || !std::isdigit(static_cast<unsigned char>(line[i]))) return false;
  }
  return line.substr(i) == "] " + rest;
}

#define EXPECT_LOG(line, tag, rest)         \
  EXPECT_TRUE(is_log_line(line, tag, rest)) \
      << "line: " << (line) << "\nwant: [" << (tag) << "SECS] " << (rest)

TEST_F(QtestSessionTest, LogHasQemuFormat) {
  ASSERT_NE(add_device(kTypeTestdevGpio, "gpio0"), nullptr);
  std::string path = temp_log("format");
  auto log = QtestLog::open(path);
  ASSERT_TRUE(log.ok()) << log.message();
  session = make_session(std::move(log.value()));
  cmd("endianness");  // before OPENED: the command is logged, the reply is not
  session->opened();
  cmd("endianness");
  cmd("irq_intercept_out gpio0");
  cmd("outb 0xf204 0x2");
  cmd("bogus  two");
  cmd("b64write 0x100000 4 AAAA");
  session->closed();
  session.reset();

  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 15u);
  EXPECT_LOG(lines[0], "R +", "endianness");
  EXPECT_LOG(lines[1], "I ", "OPENED");
  EXPECT_LOG(lines[2], "R +", "endianness");
  EXPECT_LOG(lines[3], "S +", "OK little");
  EXPECT_LOG(lines[4], "R +", "irq_intercept_out gpio0");
  EXPECT_LOG(lines[5], "S +", "OK");
  EXPECT_LOG(lines[6], "R +", "outb 0xf204 0x2");
  EXPECT_LOG(lines[7], "S +", "IRQ raise 1");
  EXPECT_LOG(lines[8], "S +", "OK");
  EXPECT_LOG(lines[9], "R +", "bogus  two");
  EXPECT_LOG(lines[10], "S +", "FAIL Unknown command 'bogus'");
  EXPECT_LOG(lines[11], "R +", "b64write 0x100000 4 AAAA");
  EXPECT_LOG(lines[12], "D +", "b64write: data length mismatch (told 4, found 3)");
  EXPECT_LOG(lines[13], "S +", "OK");
  EXPECT_LOG(lines[14], "I +", "CLOSED");
  // OPENED starts the clock: it reads (about) zero.
  EXPECT_EQ(lines[1].substr(0, 7), "[I 0.00");
  std::remove(path.c_str());
}

TEST_F(QtestSessionTest, LogRecordsClose) {
  std::string path = temp_log("close");
  auto log = QtestLog::open(path);
  ASSERT_TRUE(log.ok());
  session = make_session(std::move(log.value()));
  session->opened();
  session->closed();
  session.reset();
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_LOG(lines[1], "I +", "CLOSED");
  std::remove(path.c_str());
}

TEST(QtestLogOpen, NoneAndErrors) {
  auto none = QtestLog::open("none");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none.value(), nullptr);
  auto bad = QtestLog::open("/nonexistent-dir/x/log");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("/nonexistent-dir/x/log"), std::string::npos);
  auto devnull = QtestLog::open("/dev/null");
  ASSERT_TRUE(devnull.ok());
  EXPECT_NE(devnull.value(), nullptr);
}

TEST(QtestLogOpen, DevFdReusesTheDescriptorWithoutTruncating) {
  std::string path = temp_log("fd");
  {
    std::ofstream f(path);
    f << "earlier\n";
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  {
    auto log = QtestLog::open("/dev/fd/" + std::to_string(fd));
    ASSERT_TRUE(log.ok()) << log.message();
    log.value()->opened();
  }
  ::close(fd);
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "earlier");
  EXPECT_LOG(lines[1], "I ", "OPENED");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace machina::test
