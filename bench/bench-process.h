// Process helpers shared by the benchmarks that run machina and QEMU side by side: spawning,
// reading a child's output or a socket until a marker, QMP start-up, resident memory, medians.
#pragma once

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
#include <fstream>
#include <string>
#include <vector>

namespace machina::bench {

using Clock = std::chrono::steady_clock;

struct Child {
  pid_t pid = -1;
  int in = -1, out = -1;
};

inline Child spawn(const std::vector<std::string>& argv, bool pipes) {
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

inline void stop(Child& c) {
  if (c.pid > 0) {
    kill(c.pid, SIGTERM);
    int st;
    waitpid(c.pid, &st, 0);
  }
  if (c.in >= 0) close(c.in);
  if (c.out >= 0) close(c.out);
  c = {};
}

// Reads until `needle` appears (or `timeout` passes).
inline bool read_until(int fd, const std::string& needle, std::string* buf,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = Clock::now() + timeout;
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

inline int connect_retry(const std::string& path) {
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

// ms until qmp_capabilities is answered by `bin ARGS -qmp unix:SOCK`; the child is left running
// in *c.
inline double qmp_ready(const std::string& bin, std::vector<std::string> args,
                        const std::string& sock, Child* c) {
  unlink(sock.c_str());
  auto t0 = Clock::now();
  args.insert(args.begin(), bin);
  args.push_back("-qmp");
  args.push_back("unix:" + sock + ",server=on,wait=off");
  *c = spawn(args, false);
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

inline long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace machina::bench
