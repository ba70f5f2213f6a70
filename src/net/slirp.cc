// -netdev user: the guest's network through libslirp. Slirp's sockets are watched by the main
// loop (a prepare hook asks slirp which fds it wants, each iteration), its timers run on the
// realtime clock, and the frames it emits go to the NIC.
#include <arpa/inet.h>
#include <libslirp.h>

#include <climits>
#include <map>
#include <memory>
#include <vector>

#include "net/netdev-registry.h"
#include "net/slirp-config.h"
#include "util/log.h"
#include "util/main-loop.h"
#include "util/qemu-timer.h"

namespace machina {

namespace {

std::string ip4(in_addr a) {
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, &a, buf, sizeof buf) ? buf : "?";
}

class SlirpNetdev final : public Netdev {
 public:
  SlirpNetdev(const std::string& id, const SlirpSettings& s) : Netdev(id, "user"), settings_(s) {}
  ~SlirpNetdev() override { destroy_backend(); }

  Status start(const std::vector<HostFwd>& fwds, const std::vector<std::string>& rules);
  std::string info() const override {
    return "net=" + ip4(settings_.net) + ",restrict=" + (settings_.restricted ? "on" : "off");
  }

 protected:
  ssize_t transmit(const iovec* iov, int iovcnt, unsigned queue) override;
  void cleanup() override;

 private:
  struct SlirpTimer {
    SlirpNetdev* owner;
    SlirpTimerId id;
    void* cb_opaque;
    std::unique_ptr<Timer> timer;
  };

  static ssize_t cb_send(const void* buf, size_t len, void* opaque);
  static void cb_guest_error(const char* msg, void* opaque);
  static int64_t cb_clock(void*) { return clock_get_ns(ClockType::Realtime); }
  static void* cb_timer_new(SlirpTimerId id, void* cb_opaque, void* opaque);
  static void cb_timer_free(void* t, void*) { delete static_cast<SlirpTimer*>(t); }
  static void cb_timer_mod(void* t, int64_t expire_ms, void*) {
    static_cast<SlirpTimer*>(t)->timer->mod(expire_ms * kNsPerMs);
  }
  // A socket made outside the loop thread (slirp_input on a vCPU) is watched from the next
  // iteration on: wake the loop so that it comes now.
  static void cb_register_fd(int, void*) { main_loop().wake(); }
  static void cb_unregister_fd(int fd, void* opaque);
  static void cb_notify(void*) { main_loop().wake(); }
  static int cb_add_poll(int fd, int events, void* opaque);
  static int cb_get_revents(int idx, void* opaque);

  void prepare();
  void poll();
  void watch(int fd, int events);

  SlirpSettings settings_;
  SlirpCb callbacks_{};
  Slirp* slirp_ = nullptr;
  int prepare_id_ = 0;
  std::unique_ptr<BottomHalf> poll_bh_;
  std::unique_ptr<Timer> poll_timer_;
  // What slirp asked for in the last prepare: (fd, SLIRP_POLL_* events), in index order.
  std::vector<std::pair<int, int>> pollfds_;
  std::map<int, int> watched_;  // fd -> events registered with the main loop
  std::map<int, int> revents_;  // fd -> SLIRP_POLL_* seen since the last poll
};

ssize_t SlirpNetdev::cb_send(const void* buf, size_t len, void* opaque) {
  auto* self = static_cast<SlirpNetdev*>(opaque);
  // Slirp's own advice: frames the guest cannot take are dropped; TCP retransmits.
  self->deliver(static_cast<const uint8_t*>(buf), len);
  return ssize_t(len);
}

void SlirpNetdev::cb_guest_error(const char* msg, void* opaque) {
  auto* self = static_cast<SlirpNetdev*>(opaque);
  log_mask(LOG_GUEST_ERROR, "netdev " + self->id() + ": " + msg);
}

void* SlirpNetdev::cb_timer_new(SlirpTimerId id, void* cb_opaque, void* opaque) {
  auto* t = new SlirpTimer{static_cast<SlirpNetdev*>(opaque), id, cb_opaque, nullptr};
  t->timer = std::make_unique<Timer>(ClockType::Realtime, [t] {
    if (t->owner->slirp_) slirp_handle_timer(t->owner->slirp_, t->id, t->cb_opaque);
  });
  return t;
}

void SlirpNetdev::cb_unregister_fd(int fd, void* opaque) {
  auto* self = static_cast<SlirpNetdev*>(opaque);
  if (self->watched_.erase(fd)) main_loop().remove_fd_handler(fd);
  self->revents_.erase(fd);
}

int SlirpNetdev::cb_add_poll(int fd, int events, void* opaque) {
  auto* self = static_cast<SlirpNetdev*>(opaque);
  self->pollfds_.emplace_back(fd, events);
  return int(self->pollfds_.size() - 1);
}

int SlirpNetdev::cb_get_revents(int idx, void* opaque) {
  auto* self = static_cast<SlirpNetdev*>(opaque);
  if (idx < 0 || size_t(idx) >= self->pollfds_.size()) return 0;
  auto it = self->revents_.find(self->pollfds_[size_t(idx)].first);
  return it == self->revents_.end() ? 0 : it->second;
}

Status SlirpNetdev::start(const std::vector<HostFwd>& fwds, const std::vector<std::string>& rules) {
  SlirpConfig cfg{};
  cfg.version = 4;
  cfg.restricted = settings_.restricted;
  cfg.in_enabled = settings_.ipv4;
  cfg.vnetwork = settings_.net;
  cfg.vnetmask = settings_.mask;
  cfg.vhost = settings_.host;
  cfg.in6_enabled = settings_.ipv6;
  cfg.vprefix_addr6 = settings_.prefix6;
  cfg.vprefix_len = uint8_t(settings_.prefix6_len);
  cfg.vhost6 = settings_.host6;
  cfg.vhostname = settings_.hostname.empty() ? nullptr : settings_.hostname.c_str();
  cfg.tftp_server_name =
      settings_.tftp_server_name.empty() ? nullptr : settings_.tftp_server_name.c_str();
  cfg.tftp_path = settings_.tftp.empty() ? nullptr : settings_.tftp.c_str();
  cfg.bootfile = settings_.bootfile.empty() ? nullptr : settings_.bootfile.c_str();
  cfg.vdhcp_start = settings_.dhcp;
  cfg.vnameserver = settings_.dns;
  cfg.vnameserver6 = settings_.dns6;
  std::vector<const char*> search;
  for (const auto& d : settings_.dnssearch) search.push_back(d.c_str());
  search.push_back(nullptr);
  cfg.vdnssearch = settings_.dnssearch.empty() ? nullptr : search.data();
  cfg.vdomainname = settings_.domainname.empty() ? nullptr : settings_.domainname.c_str();

  callbacks_.send_packet = cb_send;
  callbacks_.guest_error = cb_guest_error;
  callbacks_.clock_get_ns = cb_clock;
  callbacks_.timer_free = cb_timer_free;
  callbacks_.timer_mod = cb_timer_mod;
  callbacks_.register_poll_fd = cb_register_fd;
  callbacks_.unregister_poll_fd = cb_unregister_fd;
  callbacks_.notify = cb_notify;
  callbacks_.timer_new_opaque = cb_timer_new;
  slirp_ = slirp_new(&cfg, &callbacks_, this);
  if (!slirp_) return generic_error("could not initialize the user network stack");

  for (size_t i = 0; i < fwds.size(); ++i) {
    HostFwd f = fwds[i];
    if (f.guest.sin_addr.s_addr == 0) f.guest.sin_addr = settings_.dhcp;
    int r = slirp_add_hostxfwd(slirp_, reinterpret_cast<const sockaddr*>(&f.host), sizeof f.host,
                               reinterpret_cast<const sockaddr*>(&f.guest), sizeof f.guest,
                               f.udp ? SLIRP_HOSTFWD_UDP : 0);
    if (r < 0) return generic_error("Could not set up host forwarding rule '" + rules[i] + "'");
  }
  poll_bh_ = std::make_unique<BottomHalf>(main_loop(), [this] { poll(); });
  poll_timer_ = std::make_unique<Timer>(ClockType::Realtime, [this] { poll(); });
  prepare_id_ = main_loop().add_prepare_hook([this] { prepare(); });
  return Status::Ok();
}

void SlirpNetdev::watch(int fd, int events) {
  auto it = watched_.find(fd);
  if (it != watched_.end() && it->second == events) return;
  auto mark = [this](int fd, int ev) {
    revents_[fd] |= ev;
    poll_bh_->schedule();
  };
  MainLoop::Handler rd, wr;
  // Readable is reported as SLIRP_POLL_IN only: the main loop does not tell urgent data apart,
  // and slirp takes POLL_PRI as "read out-of-band data now" (wrong for a listening socket).
  if (events & (SLIRP_POLL_IN | SLIRP_POLL_PRI)) {
    rd = [mark, fd] { mark(fd, SLIRP_POLL_IN); };
  }
  if (events & SLIRP_POLL_OUT) wr = [mark, fd] { mark(fd, SLIRP_POLL_OUT); };
  if (!rd && !wr) {
    // Nothing to wait for (slirp always pairs hang-up with reading).
    if (watched_.erase(fd)) main_loop().remove_fd_handler(fd);
    return;
  }
  if (main_loop().set_fd_handler(fd, std::move(rd), std::move(wr)).ok()) {
    watched_[fd] = events;
  } else {
    watched_.erase(fd);
  }
}

void SlirpNetdev::prepare() {
  if (!slirp_) return;
  pollfds_.clear();
  uint32_t timeout = UINT32_MAX;
  slirp_pollfds_fill(slirp_, &timeout, cb_add_poll, this);
  std::map<int, int> wanted;
  for (auto [fd, ev] : pollfds_) wanted[fd] |= ev;
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (!wanted.count(it->first)) {
      main_loop().remove_fd_handler(it->first);
      it = watched_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto [fd, ev] : wanted) watch(fd, ev);
  // Slirp's TCP timers: it asks to be polled again within `timeout` ms (at most a second).
  if (timeout != UINT32_MAX) {
    poll_timer_->mod_anticipate(clock_get_ns(ClockType::Realtime) + int64_t(timeout) * kNsPerMs);
  }
}

void SlirpNetdev::poll() {
  if (!slirp_) return;
  slirp_pollfds_poll(slirp_, 0, cb_get_revents, this);
  revents_.clear();
}

ssize_t SlirpNetdev::transmit(const iovec* iov, int iovcnt, unsigned) {
  if (!slirp_) return 0;
  size_t len = 0;
  for (int i = 0; i < iovcnt; ++i) len += iov[i].iov_len;
  if (len == 0 || len > 65536 + 64) return 0;
  const uint8_t* data = nullptr;
  std::vector<uint8_t> flat;
  if (iovcnt == 1) {
    data = static_cast<const uint8_t*>(iov[0].iov_base);
  } else {
    flat.reserve(len);
    for (int i = 0; i < iovcnt; ++i) {
      auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
      flat.insert(flat.end(), p, p + iov[i].iov_len);
    }
    data = flat.data();
  }
  slirp_input(slirp_, data, int(len));
  if (!main_loop().in_loop_thread()) main_loop().wake();
  return ssize_t(len);
}

void SlirpNetdev::cleanup() {
  if (prepare_id_) main_loop().remove_prepare_hook(prepare_id_);
  prepare_id_ = 0;
  for (auto& [fd, ev] : watched_) main_loop().remove_fd_handler(fd);
  watched_.clear();
  Slirp* s = slirp_;
  slirp_ = nullptr;
  if (s) slirp_cleanup(s);
  poll_timer_.reset();
  poll_bh_.reset();
}

}  // namespace

Result<std::shared_ptr<Netdev>> net_init_user(const NetdevOptions& opts) {
  auto settings = slirp_settings(opts);
  if (!settings.ok()) return settings.error();
  std::vector<std::string> rules = opts.list("hostfwd");
  std::vector<HostFwd> fwds;
  for (const auto& r : rules) {
    auto f = parse_hostfwd(r);
    if (!f.ok()) return f.error();
    fwds.push_back(f.value());
  }
  auto nd = std::make_shared<SlirpNetdev>(opts.id, settings.value());
  if (Status s = nd->start(fwds, rules); !s.ok()) return s.error();
  return std::shared_ptr<Netdev>(nd);
}

}  // namespace machina
