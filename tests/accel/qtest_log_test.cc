// -qtest-log: the transcript format.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include <fstream>
#include <regex>
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

void expect_line(const std::string& line, const std::string& re) {
  EXPECT_TRUE(std::regex_match(line, std::regex(re))) << "line: " << line << "\nregex: " << re;
}

const std::string kSecs = R"(\d+\.\d{6})";

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
  expect_line(lines[0], R"(\[R \+)" + kSecs + R"(\] endianness)");
  expect_line(lines[1], R"(\[I )" + kSecs + R"(\] OPENED)");
  expect_line(lines[2], R"(\[R \+)" + kSecs + R"(\] endianness)");
  expect_line(lines[3], R"(\[S \+)" + kSecs + R"(\] OK little)");
  expect_line(lines[4], R"(\[R \+)" + kSecs + R"(\] irq_intercept_out gpio0)");
  expect_line(lines[5], R"(\[S \+)" + kSecs + R"(\] OK)");
  expect_line(lines[6], R"(\[R \+)" + kSecs + R"(\] outb 0xf204 0x2)");
  expect_line(lines[7], R"(\[S \+)" + kSecs + R"(\] IRQ raise 1)");
  expect_line(lines[8], R"(\[S \+)" + kSecs + R"(\] OK)");
  expect_line(lines[9], R"(\[R \+)" + kSecs + R"(\] bogus  two)");
  expect_line(lines[10], R"(\[S \+)" + kSecs + R"(\] FAIL Unknown command 'bogus')");
  expect_line(lines[11], R"(\[R \+)" + kSecs + R"(\] b64write 0x100000 4 AAAA)");
  expect_line(lines[12],
              R"(\[D \+)" + kSecs + R"(\] b64write: data length mismatch \(told 4, found 3\))");
  expect_line(lines[13], R"(\[S \+)" + kSecs + R"(\] OK)");
  expect_line(lines[14], R"(\[I \+)" + kSecs + R"(\] CLOSED)");
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
  expect_line(lines[1], R"(\[I \+)" + kSecs + R"(\] CLOSED)");
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
  expect_line(lines[1], R"(\[I )" + kSecs + R"(\] OPENED)");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace machina::test
