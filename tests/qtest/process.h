// Child processes for the process-level tests: start the real binary, capture its output, wait
// with a deadline, and never leak it (killed with SIGKILL on destruction, and by the kernel if
// the test process dies, through PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace machina::qtest {

using Ms = std::chrono::milliseconds;

// How a child ended.
struct ExitStatus {
  bool exited = false;  // normal exit: `code` is valid
  int code = -1;
  bool signaled = false;  // killed by `signal`
  int signal = 0;
  bool timed_out = false;  // did not end in time (it was then killed with SIGKILL)

  bool ok() const { return exited && code == 0; }
  std::string describe() const;  // "exit status 0", "killed by signal 11 (Segmentation fault)"
};

// The path of the binary under test (MACHINA_BINARY, overridable with $MACHINA_BINARY).
std::string machina_binary();

// The open file descriptors of process `pid` that point at `path` (by /proc/PID/fd), all of its
// open descriptors, and its resident set (KiB).
int open_fds_on(pid_t pid, const std::string& path);
int open_fd_count(pid_t pid);
long rss_kib(pid_t pid);

// A unique path TMPDIR/qtest-PID-N.SUFFIX ("sock", "qmp", "log", ...), unlinked on destruction.
class TempPath {
 public:
  explicit TempPath(const std::string& suffix);
  ~TempPath();
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

class Child {
 public:
  // ARGV[0] is the program to execute. ENV_ADD entries ("K=V") are added to the environment.
  explicit Child(std::vector<std::string> argv, std::vector<std::string> env_add = {});
  ~Child();  // SIGKILL and reap if still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Forks and executes; stdout and stderr go to private temporary files, stdin is /dev/null
  // (or, after use_stdin_pipe(), a pipe that write_stdin() feeds).
  bool start(std::string* error);
  void use_stdin_pipe() { stdin_pipe_ = true; }
  bool write_stdin(std::string_view bytes);
  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }

  // True while the process has not been reaped (reaps it if it just ended).
  bool running();
  bool send_signal(int sig);
  // Waits for the end up to TIMEOUT; nullopt if still running.
  std::optional<ExitStatus> wait(Ms timeout);
  // Waits up to TIMEOUT, then kills it with SIGKILL (the result has timed_out set).
  ExitStatus wait_or_kill(Ms timeout);
  const std::optional<ExitStatus>& status() const { return status_; }

  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  std::vector<std::string> argv_, env_add_;
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1, in_fd_ = -1;
  bool stdin_pipe_ = false;
  std::optional<ExitStatus> status_;
};

// Runs the binary with ARGS to completion (at most TIMEOUT, then SIGKILL).
struct RunResult {
  ExitStatus status;
  std::string out, err;
};
RunResult run_machina(const std::vector<std::string>& args, Ms timeout = Ms(10000));

// Number of open file descriptors of process PID (entries of /proc/PID/fd); -1 if unreadable.
int count_fds(pid_t pid);

}  // namespace machina::qtest
