// The qtest protocol engine (QEMU's qtest.c), independent of any transport: bytes go in through
// feed(), complete lines are executed, and replies (plus asynchronous "IRQ raise N" / "IRQ lower
// N" lines) come out through the output callback, each ending with '\n'.
//
// Runs on the main loop thread. Malformed input never crashes: it gets a FAIL reply.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "accel/qtest/qtest-log.h"

namespace machina {

class Device;
class IrqLine;

class QtestSession {
 public:
  using Output = std::function<void(std::string_view text)>;

  // Largest SIZE accepted by read / write / b64read / b64write, and by memset.
  static constexpr uint64_t kMaxTransfer = 64ull << 20;
  static constexpr uint64_t kMaxMemset = 4ull << 30;
  // A command line longer than this is discarded (up to its '\n') and answered with FAIL.
  static constexpr size_t kMaxLine = 256ull << 20;

  explicit QtestSession(Output out, std::unique_ptr<QtestLog> log = nullptr);
  ~QtestSession();
  QtestSession(const QtestSession&) = delete;
  QtestSession& operator=(const QtestSession&) = delete;

  // Input bytes, in any chunking: every complete line is executed in order.
  void feed(std::string_view data);
  // Executes one command line (without its '\n').
  void execute(std::string_view line);

  // Connection events: reset the reported IRQ levels and write the log's OPENED / CLOSED lines.
  void opened();
  void closed();
  bool is_open() const { return open_; }

  // The device whose lines are intercepted (nullptr if none). Only compared, never dereferenced
  // after the device may have gone.
  const Device* intercepted_device() const { return intercept_dev_; }
  size_t buffered() const { return inbuf_.size(); }
  // Lowers the over-long line limit (tests).
  void set_max_line(size_t n) { max_line_ = n; }

 private:
  struct Relay;  // shared with interceptors; outlives the session if lines still reference it
  using Words = std::vector<std::string_view>;

  void dispatch(const Words& w);
  void reply(std::string_view text);  // logs "[S +...]" and sends text + '\n'
  void fail(std::string_view why) { reply("FAIL " + std::string(why)); }
  void irq_level(int n, int level);

  // Command groups (qtest-commands.cc, qtest-irq.cc).
  void cmd_pio_out(const Words& w, unsigned size);
  void cmd_pio_in(const Words& w, unsigned size);
  void cmd_mem_write(const Words& w, unsigned size);
  void cmd_mem_read(const Words& w, unsigned size);
  void cmd_read(const Words& w, bool b64);
  void cmd_write(const Words& w);
  void cmd_b64write(const Words& w);
  void cmd_memset(const Words& w);
  void cmd_clock_step(const Words& w);
  void cmd_clock_set(const Words& w);
  void cmd_irq_intercept(const Words& w, bool out);
  void cmd_set_irq_in(const Words& w);
  void cmd_module_load(const Words& w);

  // Argument helpers: on error they send the FAIL reply and return false.
  bool need_args(const Words& w, size_t n);
  bool arg_u64(const Words& w, size_t i, uint64_t* v);
  bool arg_i64(const Words& w, size_t i, int64_t* v);
  bool arg_size(const Words& w, size_t i, uint64_t max, uint64_t* v);

  Output out_;
  std::unique_ptr<QtestLog> log_;
  std::string inbuf_;
  size_t scanned_ = 0;       // bytes of inbuf_ already searched for '\n'
  bool discarding_ = false;  // skipping the rest of an over-long line
  size_t max_line_ = kMaxLine;
  bool open_ = false;
  std::shared_ptr<Relay> relay_;
  const Device* intercept_dev_ = nullptr;
  std::map<int, int> irq_levels_;  // last level reported per line index
};

}  // namespace machina
