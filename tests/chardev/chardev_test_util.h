// Helpers for chardev tests: a recording frontend, loop pumping, temp paths, raw sockets.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "chardev/char-fe.h"
#include "chardev/char.h"
#include "util/main-loop.h"
#include "util/qemu-timer.h"

namespace machina::test {

// Runs the main loop until pred() holds or the timeout passes; returns pred().
inline bool pump_until(const std::function<bool()>& pred, int timeout_ms = 3000) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return pred();
    main_loop().run_once(10 * kNsPerMs);
  }
  return true;
}

inline void pump_for(int ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) main_loop().run_once(2 * kNsPerMs);
}

inline std::string temp_path(const std::string& tag) {
  static int n = 0;
  return "/tmp/machina-chr-" + std::to_string(getpid()) + "-" + std::to_string(n++) + "-" + tag;
}

// A frontend that records what it receives.
struct RecordingFrontend {
  CharFrontend fe;
  std::string got;
  std::vector<ChardevEvent> events;
  size_t room = 1 << 20;  // what can_read reports

  Status attach(Chardev* chr) {
    Status s = fe.init(chr);
    if (!s.ok()) return s;
    fe.set_handlers(
        [this] { return room; },
        [this](const uint8_t* b, size_t n) { got.append(reinterpret_cast<const char*>(b), n); },
        [this](ChardevEvent e) { events.push_back(e); });
    return Status::Ok();
  }
  bool saw(ChardevEvent e) const {
    for (auto x : events) {
      if (x == e) return true;
    }
    return false;
  }
};

inline int unix_connect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline int unix_listen(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  unlink(path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 4) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads from a (blocking) fd until `want` bytes arrived or timeout; pumps the loop meanwhile.
inline std::string read_some(int fd, size_t want, int timeout_ms = 3000) {
  std::string out;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (out.size() < want && std::chrono::steady_clock::now() < end) {
    main_loop().run_once(0);
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      out.append(buf, size_t(n));
    } else if (n == 0) {
      break;
    } else {
      usleep(1000);
    }
  }
  return out;
}

class ChardevTest : public ::testing::Test {
 protected:
  void TearDown() override {
    chardev_remove_all();
    for (auto& p : cleanup_) unlink(p.c_str());
  }
  std::string path(const std::string& tag) {
    cleanup_.push_back(temp_path(tag));
    return cleanup_.back();
  }
  std::vector<std::string> cleanup_;
};

}  // namespace machina::test
