// UNIX-socket helpers for the process-level tests. Every blocking step takes a deadline.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "qtest/process.h"

namespace machina::qtest {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset();

 private:
  int fd_ = -1;
};

// A listening UNIX socket at PATH (unlinked again on destruction).
class UnixListener {
 public:
  explicit UnixListener(std::string path);
  ~UnixListener();
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;
  bool ok() const { return fd_.valid(); }
  const std::string& path() const { return path_; }
  // Waits for a connection up to TIMEOUT; gives up early when `alive` (if given) says the peer
  // process is gone. Returns an invalid Fd on failure.
  Fd accept(Ms timeout, Child* alive = nullptr);

 private:
  std::string path_;
  Fd fd_;
};

// Connects to the UNIX socket at PATH, retrying until it exists and accepts (up to TIMEOUT).
Fd connect_unix(const std::string& path, Ms timeout);

// Sends all of DATA (MSG_NOSIGNAL); false on error. With PASS_FD >= 0, the first chunk
// carries it as SCM_RIGHTS.
bool send_all(int fd, std::string_view data, int pass_fd = -1);

enum class ReadResult { Data, Timeout, Eof, Error };
// Appends what is available on FD to OUT, waiting at most until DEADLINE.
ReadResult read_some(int fd, std::string& out, std::chrono::steady_clock::time_point deadline);

}  // namespace machina::qtest
