#include "accel/qtest/qtest-session.h"

#include <cinttypes>

#include "accel/qtest/qtest-relay.h"
#include "accel/qtest/qtest.h"
#include "util/cutils.h"

namespace machina {

QtestSession::QtestSession(Output out, std::unique_ptr<QtestLog> log)
    : out_(std::move(out)), log_(std::move(log)), relay_(std::make_shared<Relay>()) {
  relay_->session = this;
}

QtestSession::~QtestSession() {
  // Intercepted lines may outlive us: they find the relay empty and drop their changes.
  relay_->session = nullptr;
}

// --- framing

void QtestSession::feed(std::string_view data) {
  size_t pos = 0;
  if (discarding_) {
    size_t nl = data.find('\n');
    if (nl == std::string_view::npos) return;
    discarding_ = false;
    fail("command line too long");
    pos = nl + 1;
  }
  inbuf_.append(data.substr(pos));
  size_t start = 0;
  while (true) {
    size_t nl = inbuf_.find('\n', scanned_);
    if (nl == std::string::npos) break;
    std::string line = inbuf_.substr(start, nl - start);
    start = nl + 1;
    scanned_ = start;
    execute(line);
  }
  inbuf_.erase(0, start);
  scanned_ = inbuf_.size();
  if (inbuf_.size() > max_line_) {
    inbuf_.clear();
    scanned_ = 0;
    discarding_ = true;
  }
}

void QtestSession::execute(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (log_) log_->received(line);
  Words words;
  if (!line.empty()) {
    size_t start = 0;
    while (true) {
      size_t sp = line.find(' ', start);
      if (sp == std::string_view::npos) {
        words.push_back(line.substr(start));
        break;
      }
      words.push_back(line.substr(start, sp - start));
      start = sp + 1;
    }
  }
  dispatch(words);
}

void QtestSession::reply(std::string_view text) {
  std::string line(text);
  line += '\n';
  if (log_ && open_) {
    log_->send_prefix();
    log_->sent_text(line);
  }
  if (out_) out_(line);
}

void QtestSession::opened() {
  irq_levels_.clear();
  open_ = true;
  if (log_) log_->opened();
}

void QtestSession::closed() {
  open_ = false;
  if (log_) log_->closed();
}

void QtestSession::irq_level(int n, int level) {
  int& last = irq_levels_[n];
  if (last == level) return;
  last = level;
  reply(std::string("IRQ ") + (level ? "raise " : "lower ") + std::to_string(n));
}

// --- dispatch

void QtestSession::dispatch(const Words& w) {
  if (w.empty()) {
    fail("Unknown command ''");
    return;
  }
  std::string_view c = w[0];
  if (c == "outb") return cmd_pio_out(w, 1);
  if (c == "outw") return cmd_pio_out(w, 2);
  if (c == "outl") return cmd_pio_out(w, 4);
  if (c == "inb") return cmd_pio_in(w, 1);
  if (c == "inw") return cmd_pio_in(w, 2);
  if (c == "inl") return cmd_pio_in(w, 4);
  if (c == "writeb") return cmd_mem_write(w, 1);
  if (c == "writew") return cmd_mem_write(w, 2);
  if (c == "writel") return cmd_mem_write(w, 4);
  if (c == "writeq") return cmd_mem_write(w, 8);
  if (c == "readb") return cmd_mem_read(w, 1);
  if (c == "readw") return cmd_mem_read(w, 2);
  if (c == "readl") return cmd_mem_read(w, 4);
  if (c == "readq") return cmd_mem_read(w, 8);
  if (c == "read") return cmd_read(w, false);
  if (c == "b64read") return cmd_read(w, true);
  if (c == "write") return cmd_write(w);
  if (c == "b64write") return cmd_b64write(w);
  if (c == "memset") return cmd_memset(w);
  if (c == "endianness") return reply("OK little");
  if (c == "irq_intercept_in") return cmd_irq_intercept(w, false);
  if (c == "irq_intercept_out") return cmd_irq_intercept(w, true);
  if (c == "set_irq_in") return cmd_set_irq_in(w);
  if (c == "module_load") return cmd_module_load(w);
  // As QEMU: the clock commands only exist while the qtest accelerator is the active one.
  if (c == "clock_step" && qtest_enabled()) return cmd_clock_step(w);
  if (c == "clock_set" && qtest_enabled()) return cmd_clock_set(w);
  fail("Unknown command '" + std::string(c) + "'");
}

// --- arguments

bool QtestSession::need_args(const Words& w, size_t n) {
  if (w.size() > n) return true;
  fail("missing argument: '" + std::string(w[0]) + "' takes " + std::to_string(n) +
       (n == 1 ? " argument" : " arguments"));
  return false;
}

bool QtestSession::arg_u64(const Words& w, size_t i, uint64_t* v) {
  // QEMU's qemu_strtoul: base auto-detection; a leading '-' wraps around.
  if (auto u = parse_uint64(w[i])) {
    *v = *u;
    return true;
  }
  if (auto s = parse_int64(w[i])) {
    *v = uint64_t(*s);
    return true;
  }
  fail("invalid number '" + std::string(w[i]) + "'");
  return false;
}

bool QtestSession::arg_i64(const Words& w, size_t i, int64_t* v) {
  if (auto s = parse_int64(w[i])) {
    *v = *s;
    return true;
  }
  fail("invalid number '" + std::string(w[i]) + "'");
  return false;
}

bool QtestSession::arg_size(const Words& w, size_t i, uint64_t max, uint64_t* v) {
  if (!arg_u64(w, i, v)) return false;
  if (*v > max) {
    fail("size " + std::to_string(*v) + " too large (at most " + std::to_string(max) + ")");
    return false;
  }
  return true;
}

}  // namespace machina
