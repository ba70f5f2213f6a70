#include "chardev/char-socket.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <utility>

#include "chardev/char-options.h"
#include "chardev/fd-passing.h"
#include "util/main-loop.h"
#include "util/qemu-timer.h"

namespace machina {

namespace {

TypeRegistration socket_type{{
    .name = kTypeChardevSocket,
    .parent = kTypeChardevFd,
    .instance_new = [] { return static_cast<Object*>(new SocketChardev); },
}};

void set_nonblock(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

std::string errstr(int err) {
  return strerror(err);
}

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof(a.sun_path)) {
    return generic_error("UNIX socket path '" + path + "' is too long");
  }
  memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

// "HOST:PORT" with IPv6 hosts in brackets, numeric.
bool numeric_address(const sockaddr* sa, socklen_t len, std::string* host, std::string* port) {
  char h[NI_MAXHOST], p[NI_MAXSERV];
  if (getnameinfo(sa, len, h, sizeof(h), p, sizeof(p), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return false;
  }
  *host = sa->sa_family == AF_INET6 ? "[" + std::string(h) + "]" : h;
  *port = p;
  return true;
}

}  // namespace

SocketChardev::SocketChardev() = default;

SocketChardev::~SocketChardev() {
  reconnect_timer_.reset();
  if (listen_fd_ >= 0) {
    main_loop().remove_fd_handler(listen_fd_);
    close(listen_fd_);
  }
  close_received_fds();
}

Status SocketChardev::open(const ChardevOptions& opts) {
  auto path = opt_string(opts, "path");
  auto host = opt_string(opts, "host");
  auto port = opt_string(opts, "port");
  auto fd = opt_string(opts, "fd");
  if (int(path.has_value()) + int(host.has_value()) + int(fd.has_value()) > 1) {
    return generic_error("chardev: socket: exactly one of 'path', 'host' or 'fd' is allowed");
  }
  auto server = opt_bool(opts, "server", false);
  if (!server.ok()) return server.status();
  auto wait = opt_bool(opts, "wait", true);
  if (!wait.ok()) return wait.status();
  auto nodelay = opt_bool(opts, "nodelay", false);
  if (!nodelay.ok()) return nodelay.status();
  auto reconnect = opt_number(opts, "reconnect", 0);
  if (!reconnect.ok()) return reconnect.status();
  server_ = *server;
  wait_ = *wait;
  nodelay_ = *nodelay;
  reconnect_s_ = *reconnect;
  if (!server_ && opts.count("wait")) {
    return generic_error("'wait' option is incompatible with socket in client connect mode");
  }
  if (server_ && reconnect_s_ > 0) {
    return generic_error("'reconnect' option is incompatible with socket in server listen mode");
  }
  if (path) {
    is_unix_ = true;
    path_ = *path;
  } else if (fd) {
    auto n = opt_number(opts, "fd", -1);
    if (!n.ok() || *n > INT32_MAX) return generic_error("Parameter 'fd' expects a number");
    given_fd_ = int(*n);
    struct stat st;
    if (fstat(given_fd_, &st) != 0 || !S_ISSOCK(st.st_mode)) {
      return generic_error("File descriptor '" + *fd + "' is not a socket");
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    getsockname(given_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
    is_unix_ = ss.ss_family == AF_UNIX;
  } else {
    if (!host) return generic_error("chardev: socket: no host given");
    if (!port) return generic_error("chardev: socket: no port given");
    is_unix_ = false;
    host_ = *host;
    port_ = *port;
  }
  reconnect_timer_ = std::make_unique<Timer>(ClockType::Realtime, [this] {
    if (connected_) return;
    if (!connect_now().ok()) schedule_reconnect();
  });

  if (server_) {
    if (Status s = listen_now(); !s.ok()) return s;
    update_filename();
    if (wait_) {
      std::fprintf(stderr, "QEMU waiting for connection on: %s\n", filename().c_str());
      while (!connected_) {
        pollfd p{listen_fd_, POLLIN, 0};
        int r = poll(&p, 1, -1);
        if (r < 0 && errno != EINTR) return generic_error("poll: " + errstr(errno));
        if (r > 0) accept_client();
      }
    }
    return Status::Ok();
  }
  Status s = connect_now();
  update_filename();
  if (!s.ok()) {
    if (reconnect_s_ <= 0) return s;
    schedule_reconnect();
  }
  return Status::Ok();
}

Status SocketChardev::listen_now() {
  if (given_fd_ >= 0) {
    listen_fd_ = given_fd_;
  } else if (is_unix_) {
    auto addr = unix_address(path_);
    if (!addr.ok()) return addr.error();
    if (unlink(path_.c_str()) < 0 && errno != ENOENT) {
      return generic_error("Failed to unlink socket " + path_ + ": " + errstr(errno));
    }
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) return generic_error("Failed to create socket: " + errstr(errno));
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr.value()), sizeof(sockaddr_un)) < 0) {
      int err = errno;
      close(listen_fd_);
      listen_fd_ = -1;
      return generic_error("Failed to bind socket to " + path_ + ": " + errstr(err));
    }
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* res = nullptr;
    int gai = getaddrinfo(host_.empty() ? nullptr : host_.c_str(), port_.c_str(), &hints, &res);
    if (gai != 0) {
      return generic_error("address resolution failed for " + host_ + ":" + port_ + ": " +
                           gai_strerror(gai));
    }
    int last_err = 0;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (s < 0) {
        last_err = errno;
        continue;
      }
      int one = 1;
      setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      if (bind(s, ai->ai_addr, ai->ai_addrlen) == 0) {
        listen_fd_ = s;
        break;
      }
      last_err = errno;
      close(s);
    }
    freeaddrinfo(res);
    if (listen_fd_ < 0) return generic_error("Failed to bind socket: " + errstr(last_err));
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
    std::string h, p;
    if (numeric_address(reinterpret_cast<sockaddr*>(&ss), len, &h, &p)) {
      local_port_ = atoi(p.c_str());
    }
  }
  if (listen(listen_fd_, 1) < 0) {
    int err = errno;
    close(listen_fd_);
    listen_fd_ = -1;
    return generic_error("Failed to listen on socket: " + errstr(err));
  }
  set_nonblock(listen_fd_);
  Status s = main_loop().set_fd_handler(
      listen_fd_, [this] { accept_client(); }, nullptr);
  if (!s.ok()) return s;
  return Status::Ok();
}

void SocketChardev::accept_client() {
  if (connected_) {
    main_loop().enable_fd_read(listen_fd_, false);
    return;
  }
  int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  set_connection(fd);
}

Status SocketChardev::connect_now() {
  int fd;
  if (given_fd_ >= 0) {
    fd = given_fd_;
    given_fd_ = -1;  // used once: a lost connection cannot be re-established
  } else if (is_unix_) {
    auto addr = unix_address(path_);
    if (!addr.ok()) return addr.error();
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return generic_error("Failed to create socket: " + errstr(errno));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr.value()), sizeof(sockaddr_un)) < 0) {
      int err = errno;
      close(fd);
      return generic_error("Failed to connect to '" + path_ + "': " + errstr(err));
    }
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int gai = getaddrinfo(host_.c_str(), port_.c_str(), &hints, &res);
    if (gai != 0) {
      return generic_error("address resolution failed for " + host_ + ":" + port_ + ": " +
                           gai_strerror(gai));
    }
    fd = -1;
    int last_err = ECONNREFUSED;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (s < 0) {
        last_err = errno;
        continue;
      }
      if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
        fd = s;
        break;
      }
      last_err = errno;
      close(s);
    }
    freeaddrinfo(res);
    if (fd < 0) {
      return generic_error("Failed to connect to '" + host_ + ":" + port_ +
                           "': " + errstr(last_err));
    }
  }
  set_nonblock(fd);
  set_connection(fd);
  return Status::Ok();
}

void SocketChardev::set_connection(int fd) {
  if (!is_unix_ && nodelay_) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  if (listen_fd_ >= 0) main_loop().enable_fd_read(listen_fd_, false);
  attach_fds(fd, fd, /*own=*/true);
  connected_ = true;
  update_filename();
  be_event(ChardevEvent::Opened);
}

void SocketChardev::disconnect() {
  if (!connected_) return;
  detach_fds();
  connected_ = false;
  close_received_fds();
  update_filename();
  if (listen_fd_ >= 0) main_loop().enable_fd_read(listen_fd_, true);
  if (!server_ && reconnect_s_ > 0) schedule_reconnect();
  be_event(ChardevEvent::Closed);
}

void SocketChardev::schedule_reconnect() {
  if (reconnect_timer_ && reconnect_s_ > 0) {
    reconnect_timer_->mod(clock_get_ns(ClockType::Realtime) + reconnect_s_ * kNsPerSec);
  }
}

ssize_t SocketChardev::do_read(int fd, uint8_t* buf, size_t len) {
  if (!is_unix_) return ::recv(fd, buf, len, 0);
  std::vector<int> fds;
  ssize_t n = recv_with_fds(fd, buf, len, &fds);
  if (!fds.empty()) {
    close_received_fds();  // unclaimed ones from an earlier message
    received_fds_ = std::move(fds);
  }
  return n;
}

ssize_t SocketChardev::do_write(int fd, const uint8_t* buf, size_t len) {
  return ::send(fd, buf, len, MSG_NOSIGNAL);
}

size_t SocketChardev::write_some(const uint8_t* buf, size_t len) {
  if (!connected_) return len;  // no peer: dropped, never blocks
  return FdChardev::write_some(buf, len);
}

void SocketChardev::on_input_eof() {
  disconnect();
}

size_t SocketChardev::on_output_error(int, size_t len) {
  disconnect();
  return len;
}

std::vector<int> SocketChardev::take_received_fds() {
  return std::exchange(received_fds_, {});
}

void SocketChardev::close_received_fds() {
  for (int fd : received_fds_) close(fd);
  received_fds_.clear();
}

std::string SocketChardev::address_string() const {
  if (!path_.empty()) return "unix:" + path_;
  if (is_unix_ || host_.empty()) return "fd:" + std::to_string(given_fd_);
  std::string h = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  std::string p = local_port_ >= 0 ? std::to_string(local_port_) : port_;
  return "tcp:" + h + ":" + p;
}

void SocketChardev::update_filename() {
  std::string suffix = server_ ? ",server=on" : "";
  if (!connected_) {
    set_filename("disconnected:" + address_string() + suffix);
    return;
  }
  if (is_unix_) {
    set_filename((path_.empty() ? address_string() : "unix:" + path_) + suffix);
    return;
  }
  sockaddr_storage local{}, peer{};
  socklen_t llen = sizeof(local), plen = sizeof(peer);
  std::string lh, lp, ph, pp;
  if (getsockname(in_fd_, reinterpret_cast<sockaddr*>(&local), &llen) == 0 &&
      getpeername(in_fd_, reinterpret_cast<sockaddr*>(&peer), &plen) == 0 &&
      numeric_address(reinterpret_cast<sockaddr*>(&local), llen, &lh, &lp) &&
      numeric_address(reinterpret_cast<sockaddr*>(&peer), plen, &ph, &pp)) {
    set_filename("tcp:" + lh + ":" + lp + "," + ph + ":" + pp + suffix);
  } else {
    set_filename(address_string() + suffix);
  }
}

}  // namespace machina
