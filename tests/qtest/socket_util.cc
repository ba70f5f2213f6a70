#include "qtest/socket_util.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace machina::qtest {

namespace {

bool make_addr(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof addr->sun_path) return false;
  std::memcpy(addr->sun_path, path.c_str(), path.size() + 1);
  return true;
}

int ms_until(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

void Fd::reset() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

UnixListener::UnixListener(std::string path) : path_(std::move(path)) {
  sockaddr_un addr;
  if (!make_addr(path_, &addr)) return;
  unlink(path_.c_str());
  Fd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid()) return;
  if (bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return;
  if (listen(s.get(), 1) < 0) return;
  fd_ = std::move(s);
}

UnixListener::~UnixListener() {
  fd_.reset();
  unlink(path_.c_str());
}

Fd UnixListener::accept(Ms timeout, Child* alive) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int c = accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c >= 0) return Fd(c);
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return Fd();
    if (alive && !alive->running()) return Fd();
    int left = ms_until(deadline);
    if (left == 0) return Fd();
    pollfd p{fd_.get(), POLLIN, 0};
    poll(&p, 1, left < 50 ? left : 50);
  }
}

Fd connect_unix(const std::string& path, Ms timeout) {
  sockaddr_un addr;
  if (!make_addr(path, &addr)) return Fd();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    Fd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) return Fd();
    // A blocking connect to a full backlog waits at most SO_SNDTIMEO.
    int left = ms_until(deadline);
    timeval tv{left / 1000, (left % 1000) * 1000};
    setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      timeval zero{0, 0};
      setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero);
      return s;
    }
    if (std::chrono::steady_clock::now() >= deadline) return Fd();
    std::this_thread::sleep_for(Ms(5));
  }
}

bool send_all(int fd, std::string_view data, int pass_fd) {
  size_t off = 0;
  bool fd_pending = pass_fd >= 0;
  while (off < data.size() || fd_pending) {
    iovec iov{const_cast<char*>(data.data() + off), data.size() - off};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (fd_pending) {
      std::memset(control, 0, sizeof control);
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 5000) <= 0) return false;
        continue;
      }
      return false;
    }
    fd_pending = false;
    off += static_cast<size_t>(n);
  }
  return true;
}

ReadResult read_some(int fd, std::string& out, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, ms_until(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ReadResult::Error;
    if (r == 0) return ReadResult::Timeout;
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return errno == ECONNRESET ? ReadResult::Eof : ReadResult::Error;
    if (n == 0) return ReadResult::Eof;
    out.append(buf, static_cast<size_t>(n));
    return ReadResult::Data;
  }
}

}  // namespace machina::qtest
