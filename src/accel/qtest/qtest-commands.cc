// qtest commands that touch memory, I/O ports, the virtual clock and modules.
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "accel/qtest/base64.h"
#include "accel/qtest/qtest-session.h"
#include "system/memory.h"
#include "system/memory_access.h"
#include "util/qemu-timer.h"

namespace machina {

namespace {

std::string hex_value(const char* fmt, uint64_t v) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

int hex_nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// True if [addr, addr + len) does not wrap around the end of the address space.
bool range_ok(uint64_t addr, uint64_t len) {
  return len == 0 || addr + (len - 1) >= addr;
}

}  // namespace

void QtestSession::cmd_pio_out(const Words& w, unsigned size) {
  uint64_t addr, val;
  if (!need_args(w, 2) || !arg_u64(w, 1, &addr) || !arg_u64(w, 2, &val)) return;
  (void)address_space_io().write(addr, size, val & size_mask(size));
  reply("OK");
}

void QtestSession::cmd_pio_in(const Words& w, unsigned size) {
  uint64_t addr, val = 0;
  if (!need_args(w, 1) || !arg_u64(w, 1, &addr)) return;
  (void)address_space_io().read(addr, size, &val);
  reply(hex_value("OK 0x%04" PRIx64, val & size_mask(size)));
}

void QtestSession::cmd_mem_write(const Words& w, unsigned size) {
  uint64_t addr, val;
  if (!need_args(w, 2) || !arg_u64(w, 1, &addr) || !arg_u64(w, 2, &val)) return;
  (void)address_space_memory().write(addr, size, val & size_mask(size));
  reply("OK");
}

void QtestSession::cmd_mem_read(const Words& w, unsigned size) {
  uint64_t addr, val = 0;
  if (!need_args(w, 1) || !arg_u64(w, 1, &addr)) return;
  (void)address_space_memory().read(addr, size, &val);
  reply(hex_value("OK 0x%016" PRIx64, val & size_mask(size)));
}

void QtestSession::cmd_read(const Words& w, bool b64) {
  uint64_t addr, len;
  if (!need_args(w, 2) || !arg_u64(w, 1, &addr) || !arg_size(w, 2, kMaxTransfer, &len)) return;
  if (!range_ok(addr, len)) return fail("address range wraps around");
  std::vector<uint8_t> data(len);
  (void)address_space_memory().read_buf(addr, data.data(), data.size());
  if (b64) return reply("OK " + base64_encode(data.data(), data.size()));
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text = "OK 0x";
  text.reserve(text.size() + 2 * len);
  for (uint8_t b : data) {
    text += kDigits[b >> 4];
    text += kDigits[b & 15];
  }
  reply(text);
}

void QtestSession::cmd_write(const Words& w) {
  uint64_t addr, len;
  if (!need_args(w, 3) || !arg_u64(w, 1, &addr) || !arg_size(w, 2, kMaxTransfer, &len)) return;
  std::string_view hex = w[3];
  if (hex.size() < 3) return fail("invalid argument size");
  if (hex[0] != '0' || (hex[1] != 'x' && hex[1] != 'X')) return fail("data must start with 0x");
  if (!range_ok(addr, len)) return fail("address range wraps around");
  hex.remove_prefix(2);
  // Missing digits mean zero; extra ones are ignored (as QEMU).
  std::vector<uint8_t> data(len, 0);
  for (size_t i = 0; i < len && 2 * i + 1 < hex.size(); ++i) {
    int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail("invalid hex digit in data");
    data[i] = uint8_t(hi << 4 | lo);
  }
  (void)address_space_memory().write_buf(addr, data.data(), data.size());
  reply("OK");
}

void QtestSession::cmd_b64write(const Words& w) {
  uint64_t addr, len;
  if (!need_args(w, 3) || !arg_u64(w, 1, &addr) || !arg_size(w, 2, kMaxTransfer, &len)) return;
  if (!range_ok(addr, len)) return fail("address range wraps around");
  std::vector<uint8_t> data = base64_decode(w[3]);
  if (data.size() != len) {
    if (log_) {
      log_->diagnostic("b64write: data length mismatch (told " + std::to_string(len) + ", found " +
                       std::to_string(data.size()) + ")");
    }
    if (data.size() > len) data.resize(len);
  }
  (void)address_space_memory().write_buf(addr, data.data(), data.size());
  reply("OK");
}

void QtestSession::cmd_memset(const Words& w) {
  uint64_t addr, len, pattern;
  if (!need_args(w, 3) || !arg_u64(w, 1, &addr) || !arg_size(w, 2, kMaxMemset, &len) ||
      !arg_u64(w, 3, &pattern)) {
    return;
  }
  if (!range_ok(addr, len)) return fail("address range wraps around");
  std::vector<uint8_t> chunk(std::min<uint64_t>(len, 64 * 1024), uint8_t(pattern));
  for (uint64_t done = 0; done < len;) {
    uint64_t n = std::min<uint64_t>(len - done, chunk.size());
    (void)address_space_memory().write_buf(addr + done, chunk.data(), n);
    done += n;
  }
  reply("OK");
}

void QtestSession::cmd_clock_step(const Words& w) {
  int64_t now;
  if (w.size() > 1) {
    int64_t ns;
    if (!arg_i64(w, 1, &ns)) return;
    now = clock_step(ns);
  } else {
    now = clock_step_next();
  }
  reply("OK " + std::to_string(now));
}

void QtestSession::cmd_clock_set(const Words& w) {
  int64_t ns;
  if (!need_args(w, 1) || !arg_i64(w, 1, &ns)) return;
  reply("OK " + std::to_string(clock_set(ns)));
}

void QtestSession::cmd_module_load(const Words& w) {
  if (!need_args(w, 2)) return;
  // machina has no loadable modules: QEMU's answer for a module it cannot load.
  reply("FAIL");
}

}  // namespace machina
