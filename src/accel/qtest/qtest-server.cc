// Binds a QtestSession to a chardev frontend: input bytes go to the session, its output is
// written without blocking (queued while the peer is slow; input pauses while much is queued).
#include <atomic>
#include <memory>

#include "accel/qtest/qtest-session.h"
#include "accel/qtest/qtest.h"
#include "chardev/char-fe.h"
#include "util/qemu-timer.h"

namespace machina {

namespace {

std::atomic<bool> g_enabled{false};

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxQueued = 1 << 20;  // stop reading commands while this much output waits

class QtestServer {
 public:
  QtestServer() = default;
  ~QtestServer() {
    fe_.deinit();
    if (session_ && session_->is_open()) session_->closed();
    *alive_ = false;
  }

  Status start(Chardev* chr, std::unique_ptr<QtestLog> log) {
    session_ =
        std::make_unique<QtestSession>([this](std::string_view s) { send(s); }, std::move(log));
    if (Status s = fe_.init(chr); !s.ok()) return s;
    fe_.set_handlers([this]() -> size_t { return queued() >= kMaxQueued ? 0 : kReadChunk; },
                     [this](const uint8_t* buf, size_t len) {
                       session_->feed(std::string_view(reinterpret_cast<const char*>(buf), len));
                     },
                     [this](ChardevEvent ev) {
                       if (ev == ChardevEvent::Opened) {
                         session_->opened();
                       } else if (ev == ChardevEvent::Closed) {
                         pending_.clear();
                         pending_off_ = 0;
                         session_->closed();
                       }
                     });
    return Status::Ok();
  }

 private:
  size_t queued() const { return pending_.size() - pending_off_; }

  void send(std::string_view text) {
    if (queued() == 0) {
      size_t n = fe_.write(reinterpret_cast<const uint8_t*>(text.data()), text.size());
      if (n >= text.size()) return;
      text.remove_prefix(n);
    }
    pending_.append(text);
    wait_writable();
  }

  void wait_writable() {
    if (waiting_) return;
    waiting_ = true;
    std::weak_ptr<bool> alive = alive_;
    fe_.notify_writable([this, alive] {
      auto a = alive.lock();
      if (a && *a) flush();
    });
  }

  void flush() {
    waiting_ = false;
    if (queued() > 0) {
      pending_off_ +=
          fe_.write(reinterpret_cast<const uint8_t*>(pending_.data()) + pending_off_, queued());
    }
    if (queued() > 0) {
      if (pending_off_ > pending_.size() / 2) {
        pending_.erase(0, pending_off_);
        pending_off_ = 0;
      }
      wait_writable();
      return;
    }
    pending_.clear();
    pending_off_ = 0;
    fe_.accept_input();
  }

  CharFrontend fe_;
  std::unique_ptr<QtestSession> session_;
  std::string pending_;
  size_t pending_off_ = 0;
  bool waiting_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

std::unique_ptr<QtestServer>& server() {
  static auto* s = new std::unique_ptr<QtestServer>;
  return *s;
}

}  // namespace

Status qtest_server_init(Chardev* chr, const std::optional<std::string>& log_path) {
  if (!chr) return generic_error("qtest: no chardev");
  if (server()) return generic_error("qtest: the qtest server is already running");
  std::unique_ptr<QtestLog> log;
  if (log_path) {
    auto r = QtestLog::open(*log_path);
    if (!r.ok()) return r.error();
    log = std::move(r.value());
  }
  auto s = std::make_unique<QtestServer>();
  if (Status st = s->start(chr, std::move(log)); !st.ok()) return st;
  server() = std::move(s);
  return Status::Ok();
}

void qtest_server_shutdown() {
  server().reset();
}

bool qtest_enabled() {
  return g_enabled.load(std::memory_order_acquire);
}

void qtest_set_enabled(bool on) {
  bool was = g_enabled.exchange(on, std::memory_order_acq_rel);
  if (on) {
    virtual_clock_set_mode(VirtualClockMode::Manual);
  } else if (was) {
    virtual_clock_set_mode(VirtualClockMode::Running);
  }
}

}  // namespace machina
