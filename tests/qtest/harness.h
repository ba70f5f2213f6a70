// Process-level test harness: runs the real machina binary.
//
// QTestMachine starts it exactly the way QEMU's libqtest does (spec/qtest.md section 1): the test
// listens on TMPDIR/qtest-PID-N.sock and .qmp, runs
//   /bin/sh -c "exec BINARY -qtest unix:SOCK -qtest-log LOG -chardev socket,path=QMP,id=char0
//               -mon chardev=char0,mode=control -display none EXTRA -accel qtest"
// accepts the qtest connection then the QMP one, sends `endianness`, reads the QMP greeting and
// negotiates capabilities. quit() stops it with SIGTERM and checks the exit status is 0.
//
// RawMachine runs it with arbitrary arguments plus any number of `-qmp unix:PATH,server=on,
// wait=off` monitors, for command-line and QMP tests without qtest.
//
// Nothing leaks: the process is killed with SIGKILL when the object dies while it still runs,
// sockets are unlinked, and every wait has a deadline (failures are reported with ADD_FAILURE).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qtest/process.h"
#include "qtest/qmp_client.h"
#include "qtest/socket_util.h"

namespace machina::qtest {

struct QTestOptions {
  std::string qtest_log = "/dev/null";  // -qtest-log FILE
  std::string prefix_args;              // right after the binary's name (libqtest's -trace)
  Ms start_timeout{10000};
};

class QTestMachine {
 public:
  explicit QTestMachine(const std::string& extra_args, QTestOptions options = {});
  ~QTestMachine();  // prints the binary's stderr when the test failed
  QTestMachine(const QTestMachine&) = delete;
  QTestMachine& operator=(const QTestMachine&) = delete;

  // False when start-up failed (error() says why, with the binary's stderr).
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  pid_t pid() const { return child_->pid(); }
  Child& child() { return *child_; }
  const std::string& command_line() const { return command_line_; }

  // QMP
  QmpClient& qmp_client() { return *qmp_; }
  json qmp_request(const json& req, Ms timeout = kDefaultTimeout) {
    return qmp_->request(req, timeout);
  }
  json qmp(const std::string& name, const json& args = json()) { return qmp_->execute(name, args); }
  std::optional<json> wait_event(const std::string& name, Ms timeout = kDefaultTimeout) {
    return qmp_->wait_event(name, timeout);
  }

  // qtest: sends CMD + "\n" and returns the reply line without its "\n" ("" and a test failure
  // on timeout/EOF). Asynchronous "IRQ raise/lower N" lines are collected separately.
  std::string qtest(const std::string& cmd, Ms timeout = kDefaultTimeout);
  // IRQ lines received while waiting for the last reply, and all of them so far.
  const std::vector<std::string>& last_irqs() const { return last_irqs_; }
  const std::vector<std::string>& all_irqs() const { return all_irqs_; }
  // Every byte received on the qtest socket.
  const std::string& qtest_received() const { return qtest_received_; }
  // Sends raw bytes on the qtest socket (no newline added), and reads the next reply line
  // (collecting IRQ lines as qtest() does).
  bool qtest_send_raw(std::string_view bytes);
  std::string qtest_read_reply(Ms timeout = kDefaultTimeout, const std::string& what = "");
  // Closes the qtest connection (the process should keep running).
  void close_qtest() { qtest_fd_.reset(); }

  // Wrappers (a reply that is not "OK ..." is a test failure).
  uint8_t inb(uint16_t port);
  uint16_t inw(uint16_t port);
  uint32_t inl(uint16_t port);
  void outb(uint16_t port, uint8_t v);
  void outw(uint16_t port, uint16_t v);
  void outl(uint16_t port, uint32_t v);
  uint8_t readb(uint64_t addr);
  uint16_t readw(uint64_t addr);
  uint32_t readl(uint64_t addr);
  uint64_t readq(uint64_t addr);
  void writeb(uint64_t addr, uint8_t v);
  void writew(uint64_t addr, uint16_t v);
  void writel(uint64_t addr, uint32_t v);
  void writeq(uint64_t addr, uint64_t v);
  int64_t clock_step(std::optional<int64_t> ns = std::nullopt);
  int64_t clock_set(int64_t ns);

  // SIGTERM, wait, and check (EXPECT) the exit status is 0.
  ExitStatus quit(Ms timeout = kDefaultTimeout);
  // Sends SIG and waits for the exit (no check).
  ExitStatus kill_and_wait(int sig, Ms timeout = kDefaultTimeout);
  std::string stderr_text() const { return child_->stderr_text(); }

 private:
  bool fail(const std::string& why);
  uint64_t parse_ok_value(const std::string& cmd, const std::string& reply);
  void expect_ok(const std::string& cmd);

  TempPath sock_path_{"sock"}, qmp_path_{"qmp"};
  std::unique_ptr<Child> child_;
  Fd qtest_fd_;
  std::unique_ptr<QmpClient> qmp_;
  std::string qtest_buf_, qtest_received_;
  std::vector<std::string> last_irqs_, all_irqs_;
  std::string command_line_;
  bool ok_ = false;
  std::string error_;
};

class RawMachine {
 public:
  // Runs BINARY ARGS, adding QMP_MONITORS `-qmp unix:PATH,server=on,wait=off` options.
  RawMachine(std::vector<std::string> args, int qmp_monitors = 0);
  ~RawMachine();  // prints the binary's stderr when the test failed
  RawMachine(const RawMachine&) = delete;
  RawMachine& operator=(const RawMachine&) = delete;
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  Child& child() { return *child_; }
  pid_t pid() const { return child_->pid(); }
  const std::string& qmp_path(int i) const { return qmp_paths_[i]->str(); }
  // Connects to monitor I (nullptr and a test failure on error).
  std::unique_ptr<QmpClient> connect(int i = 0, bool negotiate = true);
  // Waits until every monitor socket listens (false on timeout): the process is past its
  // start-up, where a signal would still take its default action (QEMU's too).
  bool wait_listening(Ms timeout = kDefaultTimeout);
  // Waits for the exit (at most TIMEOUT, then SIGKILL).
  ExitStatus wait_exit(Ms timeout = kDefaultTimeout) { return child_->wait_or_kill(timeout); }

 private:
  std::vector<std::unique_ptr<TempPath>> qmp_paths_;
  std::unique_ptr<Child> child_;
  bool ok_ = false;
  std::string error_;
};

}  // namespace machina::qtest
