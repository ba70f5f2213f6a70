#include "qtest/harness.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

namespace machina::qtest {

namespace {

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

// When the current test failed, shows what the binary printed on stderr (it often says why).
void report_stderr_on_failure(Child* child) {
  if (!child || !child->started() || !::testing::Test::HasFailure()) return;
  std::string err = child->stderr_text();
  if (err.size() > 4000) err = "..." + err.substr(err.size() - 4000);
  std::fprintf(stderr, "---- machina (pid %d) stderr ----\n%s---- end ----\n",
               static_cast<int>(child->pid()), err.c_str());
}

}  // namespace

QTestMachine::QTestMachine(const std::string& extra_args, QTestOptions options) {
  // Sockets of a previous failed test could leave SIGPIPE pending: never die of it.
  signal(SIGPIPE, SIG_IGN);
  UnixListener qtest_listener(sock_path_.str());
  UnixListener qmp_listener(qmp_path_.str());
  std::string prefix = options.prefix_args.empty() ? "" : " " + options.prefix_args;
  command_line_ = "exec " + machina_binary() + prefix + " -qtest unix:" + sock_path_.str() +
                  " -qtest-log " + options.qtest_log + " -chardev socket,path=" + qmp_path_.str() +
                  ",id=char0 -mon chardev=char0,mode=control -display none " + extra_args +
                  " -accel qtest";
  child_ = std::make_unique<Child>(std::vector<std::string>{"/bin/sh", "-c", command_line_},
                                   std::vector<std::string>{"QEMU_AUDIO_DRV=none"});
  if (!qtest_listener.ok() || !qmp_listener.ok()) {
    fail("cannot create the listening sockets");
    return;
  }
  std::string err;
  if (!child_->start(&err)) {
    fail("cannot start: " + err);
    return;
  }
  qtest_fd_ = qtest_listener.accept(options.start_timeout, child_.get());
  if (!qtest_fd_.valid()) {
    fail("the binary did not connect to the qtest socket");
    return;
  }
  Fd qmp_fd = qmp_listener.accept(options.start_timeout, child_.get());
  if (!qmp_fd.valid()) {
    fail("the binary did not connect to the QMP socket");
    return;
  }
  qmp_ = std::make_unique<QmpClient>(std::move(qmp_fd));
  std::string endian = qtest("endianness");
  if (endian != "OK little") {
    fail("endianness answered '" + endian + "'");
    return;
  }
  if (!qmp_->negotiate()) {
    fail("QMP negotiation failed");
    return;
  }
  ok_ = true;
}

QTestMachine::~QTestMachine() {
  // Child's destructor kills the process if it still runs; sockets are unlinked by TempPath.
  qmp_.reset();
  qtest_fd_.reset();
  report_stderr_on_failure(child_.get());
}

bool QTestMachine::fail(const std::string& why) {
  ok_ = false;
  error_ = why + "\ncommand: " + command_line_;
  if (child_ && child_->started()) {
    if (child_->running()) {
      child_->send_signal(SIGKILL);
    }
    auto st = child_->wait_or_kill(Ms(2000));
    error_ += "\nprocess: " + st.describe() + "\nstderr:\n" + child_->stderr_text();
  }
  return false;
}

bool QTestMachine::qtest_send_raw(std::string_view bytes) {
  if (!qtest_fd_.valid() || !send_all(qtest_fd_.get(), bytes)) {
    ADD_FAILURE() << "qtest send failed";
    return false;
  }
  return true;
}

std::string QTestMachine::qtest(const std::string& cmd, Ms timeout) {
  last_irqs_.clear();
  if (!qtest_send_raw(cmd + "\n")) return "";
  return qtest_read_reply(timeout, cmd);
}

std::string QTestMachine::qtest_read_reply(Ms timeout, const std::string& what) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t nl = qtest_buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = qtest_buf_.substr(0, nl);
      qtest_buf_.erase(0, nl + 1);
      if (line.rfind("IRQ", 0) == 0) {
        last_irqs_.push_back(line);
        all_irqs_.push_back(line);
        continue;
      }
      return line;
    }
    if (!qtest_fd_.valid()) {
      ADD_FAILURE() << "qtest connection is closed";
      return "";
    }
    size_t before = qtest_buf_.size();
    ReadResult r = read_some(qtest_fd_.get(), qtest_buf_, deadline);
    if (r == ReadResult::Data) {
      qtest_received_.append(qtest_buf_, before, std::string::npos);
      continue;
    }
    ADD_FAILURE() << "no qtest reply to '" << what
                  << "': " << (r == ReadResult::Timeout ? "timeout" : "connection closed");
    return "";
  }
}

uint64_t QTestMachine::parse_ok_value(const std::string& cmd, const std::string& reply) {
  if (reply.rfind("OK ", 0) != 0) {
    ADD_FAILURE() << "'" << cmd << "' answered '" << reply << "'";
    return 0;
  }
  return std::strtoull(reply.c_str() + 3, nullptr, 0);
}

void QTestMachine::expect_ok(const std::string& cmd) {
  std::string r = qtest(cmd);
  EXPECT_EQ(r, "OK") << "command: " << cmd;
}

uint8_t QTestMachine::inb(uint16_t port) {
  std::string c = "inb " + hex(port);
  return static_cast<uint8_t>(parse_ok_value(c, qtest(c)));
}
uint16_t QTestMachine::inw(uint16_t port) {
  std::string c = "inw " + hex(port);
  return static_cast<uint16_t>(parse_ok_value(c, qtest(c)));
}
uint32_t QTestMachine::inl(uint16_t port) {
  std::string c = "inl " + hex(port);
  return static_cast<uint32_t>(parse_ok_value(c, qtest(c)));
}
void QTestMachine::outb(uint16_t port, uint8_t v) {
  expect_ok("outb " + hex(port) + " " + hex(v));
}
void QTestMachine::outw(uint16_t port, uint16_t v) {
  expect_ok("outw " + hex(port) + " " + hex(v));
}
void QTestMachine::outl(uint16_t port, uint32_t v) {
  expect_ok("outl " + hex(port) + " " + hex(v));
}
uint8_t QTestMachine::readb(uint64_t addr) {
  std::string c = "readb " + hex(addr);
  return static_cast<uint8_t>(parse_ok_value(c, qtest(c)));
}
uint16_t QTestMachine::readw(uint64_t addr) {
  std::string c = "readw " + hex(addr);
  return static_cast<uint16_t>(parse_ok_value(c, qtest(c)));
}
uint32_t QTestMachine::readl(uint64_t addr) {
  std::string c = "readl " + hex(addr);
  return static_cast<uint32_t>(parse_ok_value(c, qtest(c)));
}
uint64_t QTestMachine::readq(uint64_t addr) {
  std::string c = "readq " + hex(addr);
  return parse_ok_value(c, qtest(c));
}
void QTestMachine::writeb(uint64_t addr, uint8_t v) {
  expect_ok("writeb " + hex(addr) + " " + hex(v));
}
void QTestMachine::writew(uint64_t addr, uint16_t v) {
  expect_ok("writew " + hex(addr) + " " + hex(v));
}
void QTestMachine::writel(uint64_t addr, uint32_t v) {
  expect_ok("writel " + hex(addr) + " " + hex(v));
}
void QTestMachine::writeq(uint64_t addr, uint64_t v) {
  expect_ok("writeq " + hex(addr) + " " + hex(v));
}

int64_t QTestMachine::clock_step(std::optional<int64_t> ns) {
  std::string c = ns ? "clock_step " + std::to_string(*ns) : "clock_step";
  return static_cast<int64_t>(parse_ok_value(c, qtest(c)));
}

int64_t QTestMachine::clock_set(int64_t ns) {
  std::string c = "clock_set " + std::to_string(ns);
  return static_cast<int64_t>(parse_ok_value(c, qtest(c)));
}

ExitStatus QTestMachine::kill_and_wait(int sig, Ms timeout) {
  child_->send_signal(sig);
  return child_->wait_or_kill(timeout);
}

ExitStatus QTestMachine::quit(Ms timeout) {
  ExitStatus st = kill_and_wait(SIGTERM, timeout);
  EXPECT_TRUE(st.ok()) << "after SIGTERM: " << st.describe() << "\nstderr:\n" << stderr_text();
  return st;
}

RawMachine::RawMachine(std::vector<std::string> args, int qmp_monitors) {
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> argv{machina_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  for (int i = 0; i < qmp_monitors; ++i) {
    qmp_paths_.push_back(std::make_unique<TempPath>("qmp"));
    argv.push_back("-qmp");
    argv.push_back("unix:" + qmp_paths_.back()->str() + ",server=on,wait=off");
  }
  child_ = std::make_unique<Child>(argv);
  ok_ = child_->start(&error_);
}

RawMachine::~RawMachine() {
  report_stderr_on_failure(child_.get());
}

bool RawMachine::wait_listening(Ms timeout) {
  for (const auto& p : qmp_paths_) {
    if (!connect_unix(p->str(), timeout).valid()) return false;
  }
  return true;
}

std::unique_ptr<QmpClient> RawMachine::connect(int i, bool negotiate) {
  auto c = QmpClient::connect(qmp_paths_.at(static_cast<size_t>(i))->str(), negotiate);
  if (!c) {
    ADD_FAILURE() << "monitor " << i << " of pid " << pid()
                  << " unreachable; running=" << child_->running() << "\nstderr:\n"
                  << child_->stderr_text();
  }
  return c;
}

}  // namespace machina::qtest
