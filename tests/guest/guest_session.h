// An interactive session with the default guest (build/guest: Debian's kernel + the project's
// busybox initramfs) on the serial console, plus a QMP connection: for guest tests and benchmarks
// that act on the running guest from the host (hot-plug, pause, ...). Works with machina and with
// QEMU (same command line).
//
// The guest's /init prints MACHINA-GUEST-READY and then runs a shell on the console; run() types
// a command line and returns what it printed, framed by unique markers.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qtest/process.h"
#include "qtest/qmp_client.h"

namespace machina::guest {

// build/guest (or $MACHINA_GUEST_DIR).
std::string default_guest_dir(const std::string& source_dir);

struct GuestOptions {
  std::string binary;     // machina or qemu-system-x86_64
  std::string guest_dir;  // holds vmlinuz and initramfs.gz
  std::string memory = "512M";
  std::string append = "console=ttyS0 quiet";
  std::vector<std::string> extra;  // more options (devices, -global, ...)
};

class GuestSession {
 public:
  explicit GuestSession(GuestOptions o);
  ~GuestSession();
  GuestSession(const GuestSession&) = delete;
  GuestSession& operator=(const GuestSession&) = delete;

  // Starts the machine, connects QMP, runs `early` (if given) at once — while the guest is still
  // booting — and waits for the ready marker. False and *error on failure (with the console).
  bool boot(std::chrono::seconds timeout, std::string* error,
            const std::function<void(qtest::QmpClient&)>& early = {});
  // Waits for `re` in the console output after the last match; the capture groups (index 0 the
  // whole match), or nullopt on timeout or exit.
  std::optional<std::vector<std::string>> wait_for(const std::string& re,
                                                   std::chrono::milliseconds timeout);
  // Types a line (a newline is added).
  bool type(const std::string& line);
  // Runs `cmd` in the guest shell and returns its output (stdout and stderr), nullopt on timeout.
  std::optional<std::string> run(const std::string& cmd, std::chrono::milliseconds timeout);
  qtest::QmpClient& qmp() { return *qmp_; }
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  std::string console() const { return child_ ? child_->stdout_text() : std::string(); }
  std::string stderr_text() const { return child_ ? child_->stderr_text() : std::string(); }
  const std::vector<std::string>& argv() const { return argv_; }
  // Ends the machine (SIGKILL if it does not quit within a few seconds).
  void stop();

 private:
  GuestOptions o_;
  std::string qmp_path_;
  std::vector<std::string> argv_;
  std::unique_ptr<qtest::Child> child_;
  std::unique_ptr<qtest::QmpClient> qmp_;
  size_t pos_ = 0;
  int markers_ = 0;
};

using qtest::open_fd_count;
using qtest::open_fds_on;
using qtest::rss_kib;

// A file of zeroes in the temporary directory, removed with the object.
struct TempImage {
  TempImage(const std::string& tag, uint64_t size);
  ~TempImage();
  TempImage(const TempImage&) = delete;
  TempImage& operator=(const TempImage&) = delete;
  // `len` bytes from byte `offset`.
  std::string read(uint64_t offset, size_t len) const;
  std::string path;
};

}  // namespace machina::guest
