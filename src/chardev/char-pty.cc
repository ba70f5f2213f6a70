// "chardev-pty": a pseudo-terminal whose slave (/dev/pts/N) a user opens. Output is dropped while
// nobody has the slave open (as QEMU); the connection is re-checked on writes and every second.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "chardev/char-fd.h"
#include "util/qemu-timer.h"

namespace machina {

namespace {

class PtyChardev : public FdChardev {
 public:
  ~PtyChardev() override {
    timer_.reset();
    detach_fds();
    if (master_ >= 0) ::close(master_);
  }

  Status open(const ChardevOptions&) override {
    master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master_ < 0) return generic_error(std::string("Failed to create PTY: ") + strerror(errno));
    char name[128];
    if (grantpt(master_) != 0 || unlockpt(master_) != 0 ||
        ptsname_r(master_, name, sizeof(name)) != 0) {
      return generic_error(std::string("Failed to create PTY: ") + strerror(errno));
    }
    fcntl(master_, F_SETFL, fcntl(master_, F_GETFL) | O_NONBLOCK);
    // Raw mode on the terminal itself, so that bytes pass unchanged both ways.
    int slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave >= 0) {
      struct termios tty;
      if (tcgetattr(slave, &tty) == 0) {
        cfmakeraw(&tty);
        tcsetattr(slave, TCSAFLUSH, &tty);
      }
      ::close(slave);
    }
    pty_name_ = name;
    set_filename("pty:" + pty_name_);
    std::printf("char device redirected to %s (label %s)\n", name, label().c_str());
    std::fflush(stdout);
    timer_ = std::make_unique<Timer>(ClockType::Realtime, [this] { poll_connection(); });
    poll_connection();
    return Status::Ok();
  }

  const std::string& pty_name() const { return pty_name_; }

 protected:
  size_t write_some(const uint8_t* buf, size_t len) override {
    if (!connected_) poll_connection();
    if (!connected_) return len;  // nobody listens: drop
    return FdChardev::write_some(buf, len);
  }

  void accept_input() override {
    if (!connected_) poll_connection();
    FdChardev::accept_input();
  }

  void on_input_eof() override { set_connected(false); }  // EIO: the slave was closed
  size_t on_output_error(int, size_t len) override {
    set_connected(false);
    return len;
  }

 private:
  void poll_connection() {
    pollfd p{master_, POLLIN, 0};
    if (::poll(&p, 1, 0) < 0) return;
    set_connected(!(p.revents & POLLHUP));
  }

  void set_connected(bool on) {
    if (on == connected_) {
      if (!on) timer_->mod(clock_get_ns(ClockType::Realtime) + kNsPerSec);
      return;
    }
    connected_ = on;
    if (on) {
      timer_->del();
      attach_fds(master_, master_, /*own=*/false);
      be_event(ChardevEvent::Opened);
    } else {
      detach_fds();
      timer_->mod(clock_get_ns(ClockType::Realtime) + kNsPerSec);
      be_event(ChardevEvent::Closed);
    }
  }

  int master_ = -1;
  bool connected_ = false;
  std::string pty_name_;
  std::unique_ptr<Timer> timer_;
};

TypeRegistration pty_type{{
    .name = "chardev-pty",
    .parent = kTypeChardevFd,
    .instance_new = [] { return static_cast<Object*>(new PtyChardev); },
}};

}  // namespace

}  // namespace machina
