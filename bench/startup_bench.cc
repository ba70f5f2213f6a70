// Start-up time and idle memory of machina against Debian's qemu-system-x86_64, run side by side
// (interleaved) on the same machine:
//   - start until the QMP greeting is read and qmp_capabilities answered (-M none)
//   - start until the first qtest command is answered (-M none -qtest stdio)
//   - resident memory (VmRSS) of an idle -M none with a QMP socket
// Usage: startup_bench [--runs N] [--machina PATH] [--qemu PATH]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Child {
  pid_t pid = -1;
  int in = -1, out = -1;
};

Child spawn(const std::vector<std::string>& argv, bool pipes) {
  int inp[2] = {-1, -1}, outp[2] = {-1, -1};
  if (pipes && (pipe2(inp, O_CLOEXEC) || pipe2(outp, O_CLOEXEC))) return {};
  pid_t pid = fork();
  if (pid == 0) {
    if (pipes) {
      dup2(inp[0], 0);
      dup2(outp[1], 1);
    }
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    if (!pipes) dup2(devnull, 1);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  Child c;
  c.pid = pid;
  if (pipes) {
    close(inp[0]);
    close(outp[1]);
    c.in = inp[1];
    c.out = outp[0];
  }
  return c;
}

void stop(Child& c) {
  if (c.pid > 0) {
    kill(c.pid, SIGTERM);
    int st;
    waitpid(c.pid, &st, 0);
  }
  if (c.in >= 0) close(c.in);
  if (c.out >= 0) close(c.out);
  c = {};
}

// Reads until `needle` appears (or 5 s pass).
bool read_until(int fd, const std::string& needle, std::string* buf) {
  auto deadline = Clock::now() + std::chrono::seconds(5);
  char tmp[4096];
  while (buf->find(needle) == std::string::npos) {
    int ms =
        int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (ms <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return false;
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf->append(tmp, size_t(n));
  }
  return true;
}

int connect_retry(const std::string& path) {
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return s;
    close(s);
    usleep(100);
  }
  return -1;
}

// ms until qmp_capabilities is answered; the child is left running in *c.
double qmp_ready(const std::string& bin, const std::string& sock, Child* c) {
  unlink(sock.c_str());
  auto t0 = Clock::now();
  *c = spawn({bin, "-M", "none", "-display", "none", "-nodefaults", "-qmp",
              "unix:" + sock + ",server=on,wait=off"},
             false);
  int s = connect_retry(sock);
  if (s < 0) return -1;
  std::string buf;
  if (!read_until(s, "\r\n", &buf)) return -1;
  std::string caps = "{\"execute\": \"qmp_capabilities\"}\n";
  if (write(s, caps.data(), caps.size()) < 0) return -1;
  buf.clear();
  if (!read_until(s, "return", &buf)) return -1;
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  close(s);
  return ms;
}

double qtest_ready(const std::string& bin) {
  auto t0 = Clock::now();
  Child c = spawn({bin, "-M", "none", "-display", "none", "-nodefaults", "-qtest", "stdio"}, true);
  std::string cmd = "endianness\n", buf;
  if (write(c.in, cmd.data(), cmd.size()) < 0) return -1;
  bool ok = read_until(c.out, "\n", &buf);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  stop(c);
  return ok ? ms : -1;
}

long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 15;
  std::string machina = MACHINA_BINARY_PATH, qemu = "/usr/bin/qemu-system-x86_64";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--runs") runs = std::atoi(argv[i + 1]);
    if (k == "--machina") machina = argv[i + 1];
    if (k == "--qemu") qemu = argv[i + 1];
  }
  bool have_qemu = access(qemu.c_str(), X_OK) == 0;
  std::vector<std::string> bins = {machina};
  if (have_qemu) bins.push_back(qemu);
  std::vector<std::vector<double>> qmp(2), qt(2), rss(2);
  std::string sock = "/tmp/machina-startup-bench-" + std::to_string(getpid()) + ".sock";
  for (int r = 0; r < runs; ++r) {
    for (size_t b = 0; b < bins.size(); ++b) {
      Child c;
      double ms = qmp_ready(bins[b], sock, &c);
      if (ms >= 0) qmp[b].push_back(ms);
      usleep(200 * 1000);  // idle
      long k = rss_kib(c.pid);
      if (k > 0) rss[b].push_back(double(k));
      stop(c);
      double q = qtest_ready(bins[b]);
      if (q >= 0) qt[b].push_back(q);
    }
  }
  unlink(sock.c_str());
  auto row = [&](const char* what, std::vector<std::vector<double>>& v, const char* unit) {
    double m = median(v[0]), q = have_qemu ? median(v[1]) : -1;
    std::printf("%-44s %10.2f %10.2f %8.3f  (%s, n=%zu)\n", what, m, q, q > 0 ? m / q : 0.0, unit,
                v[0].size());
  };
  std::printf("%-44s %10s %10s %8s\n", "median", "machina", "qemu", "ratio");
  row("QMP ready (greeting + qmp_capabilities)", qmp, "ms");
  row("first qtest reply (-qtest stdio)", qt, "ms");
  row("idle RSS, -M none + QMP socket", rss, "KiB");
  return 0;
}
