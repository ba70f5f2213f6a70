#include "qtest/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

extern char** environ;

namespace machina::qtest {

std::string ExitStatus::describe() const {
  if (timed_out) return "did not exit in time (killed)";
  if (exited) return "exit status " + std::to_string(code);
  if (signaled) {
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  }
  return "unknown status";
}

std::string machina_binary() {
  if (const char* env = std::getenv("MACHINA_BINARY"); env && *env) return env;
  return MACHINA_BINARY;
}

namespace {

std::string temp_dir() {
  const char* t = std::getenv("TMPDIR");
  return (t && *t) ? t : "/tmp";
}

int make_capture_file() {
  std::string tmpl = temp_dir() + "/machina-qtest-out-XXXXXX";
  int fd = mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd >= 0) unlink(tmpl.c_str());  // nothing to leak: the fd keeps it alive
  return fd;
}

std::string read_whole(int fd) {
  std::string s;
  if (fd < 0) return s;
  char buf[8192];
  off_t off = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return s;
}

ExitStatus decode(int wstatus) {
  ExitStatus st;
  if (WIFEXITED(wstatus)) {
    st.exited = true;
    st.code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    st.signaled = true;
    st.signal = WTERMSIG(wstatus);
  }
  return st;
}

}  // namespace

TempPath::TempPath(const std::string& suffix) {
  static std::atomic<int> counter{0};
  path_ = temp_dir() + "/qtest-" + std::to_string(getpid()) + "-" + std::to_string(counter++) +
          "." + suffix;
  unlink(path_.c_str());
}

TempPath::~TempPath() {
  unlink(path_.c_str());
}

Child::Child(std::vector<std::string> argv, std::vector<std::string> env_add)
    : argv_(std::move(argv)), env_add_(std::move(env_add)) {}

Child::~Child() {
  if (running()) {
    kill(pid_, SIGKILL);
    int ws;
    while (waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
    }
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
  if (in_fd_ >= 0) close(in_fd_);
}

bool Child::start(std::string* error) {
  if (argv_.empty()) {
    *error = "empty argv";
    return false;
  }
  out_fd_ = make_capture_file();
  err_fd_ = make_capture_file();
  if (out_fd_ < 0 || err_fd_ < 0) {
    *error = std::string("cannot create capture files: ") + strerror(errno);
    return false;
  }
  // Everything the child needs is prepared before fork().
  std::vector<char*> argv;
  for (auto& a : argv_) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (auto& e : env_add_) env_strings.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t parent = getpid();
  int in_pipe[2] = {-1, -1};
  if (stdin_pipe_ && pipe2(in_pipe, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + strerror(errno);
    return false;
  }

  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + strerror(errno);
    return false;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int in = in_pipe[0] >= 0 ? in_pipe[0] : open("/dev/null", O_RDONLY);
    if (in >= 0) dup2(in, 0);
    dup2(out_fd_, 1);
    dup2(err_fd_, 2);
    signal(SIGPIPE, SIG_DFL);
    execve(argv[0], argv.data(), envp.data());
    const char msg[] = "qtest harness: execve failed\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(127);
  }
  pid_ = pid;
  if (in_pipe[0] >= 0) {
    close(in_pipe[0]);
    in_fd_ = in_pipe[1];
  }
  return true;
}

bool Child::write_stdin(std::string_view bytes) {
  if (in_fd_ < 0) return false;
  while (!bytes.empty()) {
    ssize_t n = write(in_fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(size_t(n));
  }
  return true;
}

bool Child::running() {
  if (pid_ <= 0 || status_) return false;
  int ws;
  pid_t r = waitpid(pid_, &ws, WNOHANG);
  if (r == pid_) {
    status_ = decode(ws);
    return false;
  }
  return r == 0;
}

bool Child::send_signal(int sig) {
  return running() && kill(pid_, sig) == 0;
}

std::optional<ExitStatus> Child::wait(Ms timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!running()) return status_;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(Ms(2));
  }
}

ExitStatus Child::wait_or_kill(Ms timeout) {
  if (auto st = wait(timeout)) return *st;
  kill(pid_, SIGKILL);
  int ws;
  while (waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
  }
  ExitStatus st = decode(ws);
  st.timed_out = true;
  status_ = st;
  return st;
}

std::string Child::stdout_text() const {
  return read_whole(out_fd_);
}
std::string Child::stderr_text() const {
  return read_whole(err_fd_);
}

RunResult run_machina(const std::vector<std::string>& args, Ms timeout) {
  std::vector<std::string> argv{machina_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  Child child(argv);
  RunResult r;
  std::string error;
  if (!child.start(&error)) {
    r.err = error;
    return r;
  }
  r.status = child.wait_or_kill(timeout);
  r.out = child.stdout_text();
  r.err = child.stderr_text();
  return r;
}

int count_fds(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

int open_fds_on(pid_t pid, const std::string& path) {
  int n = 0;
  std::error_code ec;
  std::filesystem::path target = std::filesystem::weakly_canonical(path, ec);
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::filesystem::path link = std::filesystem::read_symlink(e.path(), ec);
    if (!ec && link == target) ++n;
  }
  return n;
}

int open_fd_count(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

}  // namespace machina::qtest
