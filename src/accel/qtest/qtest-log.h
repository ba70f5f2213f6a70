// -qtest-log FILE: a transcript of the qtest conversation in QEMU 7.2's format. Times are seconds
// since the connection opened, printed as "%.06f":
//   [I 0.000000] OPENED
//   [R +0.000123] COMMAND WORDS        (every command received)
//   [S +0.000130] REPLY                (every line sent while open, IRQ lines included)
//   [D +0.000140] MESSAGE              (diagnostics)
//   [I +1.234567] CLOSED
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "qapi/error.h"

namespace machina {

class QtestLog {
 public:
  // Takes ownership of `fp` (closed by the destructor); line-buffered.
  explicit QtestLog(std::FILE* fp);
  ~QtestLog();
  QtestLog(const QtestLog&) = delete;
  QtestLog& operator=(const QtestLog&) = delete;

  // Opens FILE for writing (truncating, as QEMU). "/dev/fd/N" and "/dev/stderr" reuse the open
  // descriptor (a duplicate of it) instead of reopening it, so a redirected stderr is not
  // truncated. Returns nullptr for "none".
  static Result<std::unique_ptr<QtestLog>> open(const std::string& path);

  void opened();
  void closed();
  // `line` without its '\n'.
  void received(std::string_view line);
  // The "[S +SECS] " prefix; the text that follows comes through sent_text().
  void send_prefix();
  void sent_text(std::string_view text);
  void diagnostic(std::string_view text);

  double elapsed() const;

 private:
  std::FILE* fp_;
  std::chrono::steady_clock::time_point start_;
  bool started_ = false;
};

}  // namespace machina
