#include "chardev/char-stdio.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>

#include "chardev/char-fd.h"
#include "chardev/char-options.h"

namespace machina {

namespace {

struct termios g_saved_tty;
volatile sig_atomic_t g_tty_saved = 0;
bool g_stdio_in_use = false;

void restore_and_reraise(int sig) {
  stdio_restore_terminal();
  signal(sig, SIG_DFL);
  raise(sig);
}

// Restores the terminal on signals that would otherwise kill us, unless someone handles them.
void install_signal_restore() {
  static bool done = false;
  if (done) return;
  done = true;
  std::atexit(stdio_restore_terminal);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) != 0) continue;
    if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler != SIG_DFL) continue;  // handled already
    struct sigaction sa {};
    sa.sa_handler = restore_and_reraise;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(sig, &sa, nullptr);
  }
}

void set_raw(bool keep_signals) {
  struct termios tty;
  if (tcgetattr(STDIN_FILENO, &tty) != 0) return;
  if (!g_tty_saved) {
    g_saved_tty = tty;
    g_tty_saved = 1;
  }
  tty.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
  tty.c_oflag |= OPOST;
  tty.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
  if (!keep_signals) tty.c_lflag &= ~ISIG;
  tty.c_cflag &= ~(CSIZE | PARENB);
  tty.c_cflag |= CS8;
  tty.c_cc[VMIN] = 1;
  tty.c_cc[VTIME] = 0;
  tcsetattr(STDIN_FILENO, TCSANOW, &tty);
}

class StdioChardev : public FdChardev {
 public:
  ~StdioChardev() override {
    if (opened_) {
      stdio_restore_terminal();
      g_stdio_in_use = false;
    }
  }

  Status open(const ChardevOptions& opts) override {
    if (g_stdio_in_use) {
      return generic_error("cannot use stdio by multiple character devices");
    }
    auto sig = opt_bool(opts, "signal", true);
    if (!sig.ok()) return sig.status();
    g_stdio_in_use = opened_ = true;
    if (isatty(STDIN_FILENO)) {
      install_signal_restore();
      set_raw(*sig);
    }
    attach_fds(STDIN_FILENO, STDOUT_FILENO, /*own=*/false);
    set_filename("stdio");
    be_event(ChardevEvent::Opened);
    return Status::Ok();
  }

 private:
  bool opened_ = false;
};

TypeRegistration stdio_type{{
    .name = "chardev-stdio",
    .parent = kTypeChardevFd,
    .instance_new = [] { return static_cast<Object*>(new StdioChardev); },
}};

}  // namespace

void stdio_restore_terminal() {
  if (g_tty_saved) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_tty);
}

}  // namespace machina
