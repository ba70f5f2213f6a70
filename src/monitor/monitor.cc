// QMP and HMP monitors bound to chardev frontends.
#include "monitor/monitor.h"

#include <unistd.h>

#include "hw/core/qdev-events.h"
#include "monitor/qmp-commands.h"
#include "util/main-loop.h"

namespace machina {

namespace {

thread_local Monitor* t_current = nullptr;

class QmpMonitor;
std::vector<QmpMonitor*>& qmp_monitors() {
  static std::vector<QmpMonitor*> v;
  return v;
}
std::vector<std::unique_ptr<Monitor>>& all_monitors() {
  static std::vector<std::unique_ptr<Monitor>> v;
  return v;
}

// A QMP monitor: one session per connection of its chardev.
class QmpMonitor : public Monitor {
 public:
  explicit QmpMonitor(bool pretty) : pretty_(pretty) {}
  ~QmpMonitor() override {
    std::erase(qmp_monitors(), this);
    fe_.deinit();
  }
  bool is_qmp() const override { return true; }

  Status init(Chardev* chr) {
    if (Status s = fe_.init(chr); !s.ok()) return s;
    qmp_monitors().push_back(this);
    fe_.set_handlers([this] { return session_ ? size_t(4096) : size_t(0); },
                     [this](const uint8_t* buf, size_t len) { on_read(buf, len); },
                     [this](ChardevEvent ev) { on_event(ev); });
    return Status::Ok();
  }

  void event(std::string_view name, const std::optional<json>& data) {
    if (session_ && session_->in_command_mode()) {
      session_->send_event(name, data);
      flush();
    }
  }

  void flush() {
    if (session_) session_->flush_output();
  }

 private:
  void on_event(ChardevEvent ev) {
    if (ev == ChardevEvent::Opened) {
      start_session();
    } else if (ev == ChardevEvent::Closed) {
      // The close may be reported from inside session_->feed() (a reply hit EPIPE): the session
      // is retired, and destroyed from the main loop once that call has returned.
      if (session_) retired_.push_back(std::move(session_));
      main_loop().post([this] { retired_.clear(); });
      for (int fd : received_fds) ::close(fd);
      received_fds.clear();
    }
  }

  void start_session() {
    QmpSessionOptions opts;
    opts.on_drop = [this] { main_loop().post([this] { fe_.disconnect(); }); };
    if (session_) retired_.push_back(std::move(session_));
    (void)pretty_;
    session_ = std::make_unique<QmpSession>(
        QmpCommandRegistry::global(), monitor_package(),
        [this](std::string_view out) -> size_t {
          size_t n = fe_.write(reinterpret_cast<const uint8_t*>(out.data()), out.size());
          if (n < out.size()) fe_.notify_writable([this] { flush(); });
          return n;
        },
        opts);
    session_->start();
  }

  void on_read(const uint8_t* buf, size_t len) {
    if (!session_) return;
    for (int fd : fe_.take_received_fds()) received_fds.push_back(fd);
    Monitor* prev = t_current;
    t_current = this;
    session_->feed(std::string_view(reinterpret_cast<const char*>(buf), len));
    t_current = prev;
  }

  CharFrontend fe_;
  std::unique_ptr<QmpSession> session_;
  std::vector<std::unique_ptr<QmpSession>> retired_;
  bool pretty_;
};

// The human monitor: a "(qemu) " prompt, one command per line.
class HmpMonitor : public Monitor {
 public:
  ~HmpMonitor() override { fe_.deinit(); }
  bool is_qmp() const override { return false; }
  Status init(Chardev* chr) {
    if (Status s = fe_.init(chr); !s.ok()) return s;
    fe_.set_handlers([] { return size_t(4096); },
                     [this](const uint8_t* buf, size_t len) { on_read(buf, len); },
                     [this](ChardevEvent ev) {
                       if (ev == ChardevEvent::Opened || ev == ChardevEvent::MuxIn) greet();
                     });
    return Status::Ok();
  }

 private:
  void greet() { fe_.write("QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) "); }
  void on_read(const uint8_t* buf, size_t len) {
    for (size_t i = 0; i < len; ++i) {
      char c = char(buf[i]);
      if (c == '\r' || c == '\n') {
        fe_.write("\r\n");
        std::string line = std::exchange(line_, "");
        if (!line.empty()) {
          Monitor* prev = t_current;
          t_current = this;
          auto r = hmp_execute(line, hmp_cpu_index);
          t_current = prev;
          fe_.write(r.ok() ? r.value() : r.message() + "\r\n");
        }
        fe_.write("(qemu) ");
      } else if (c == 0x7f || c == 0x08) {
        if (!line_.empty()) {
          line_.pop_back();
          fe_.write("\b \b");
        }
      } else if (c >= 0x20 && line_.size() < 4096) {
        line_ += c;
        fe_.write(std::string_view(&c, 1));  // echo
      }
    }
  }
  CharFrontend fe_;
  std::string line_;
};

// DEVICE_DELETED and DEVICE_UNPLUG_GUEST_ERROR from qdev.
class MonitorDeviceEvents : public DeviceEventSink {
 public:
  void device_deleted(const std::optional<std::string>& id, const std::string& path) override {
    json data = json::object();
    if (id) data["device"] = *id;
    data["path"] = path;
    monitor_event("DEVICE_DELETED", data);
  }
  void device_unplug_guest_error(const std::optional<std::string>& id,
                                 const std::string& path) override {
    json data = json::object();
    if (id) data["device"] = *id;
    data["path"] = path;
    monitor_event("DEVICE_UNPLUG_GUEST_ERROR", data);
  }
};

}  // namespace

std::string monitor_package() {
  return std::string("machina ") + MACHINA_VERSION;
}

Monitor* current_monitor() {
  return t_current;
}

Status monitor_init(Chardev* chr, bool control, bool pretty) {
  static MonitorDeviceEvents sink;
  qdev_set_event_sink(&sink);
  if (control) {
    auto m = std::make_unique<QmpMonitor>(pretty);
    if (Status s = m->init(chr); !s.ok()) return s;
    all_monitors().push_back(std::move(m));
  } else {
    auto m = std::make_unique<HmpMonitor>();
    if (Status s = m->init(chr); !s.ok()) return s;
    all_monitors().push_back(std::move(m));
  }
  return Status::Ok();
}

void monitor_event(std::string_view name, std::optional<json> data) {
  // Always delivered from the main loop, after the reply of the command that caused it.
  main_loop().post([n = std::string(name), d = std::move(data)] {
    for (QmpMonitor* m : std::vector<QmpMonitor*>(qmp_monitors())) m->event(n, d);
  });
}

void monitor_flush_all() {
  for (QmpMonitor* m : qmp_monitors()) m->flush();
}

void monitor_cleanup() {
  all_monitors().clear();
}

}  // namespace machina
