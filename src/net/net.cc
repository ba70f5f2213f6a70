// Netdev: the frame path between a NIC and a backend, its queue and its link state.
#include "net/net.h"

#include <cstring>
#include <map>

#include "util/main-loop.h"

namespace machina {

namespace {

size_t iov_total(const iovec* iov, int iovcnt) {
  size_t n = 0;
  for (int i = 0; i < iovcnt; ++i) n += iov[i].iov_len;
  return n;
}

std::map<std::string, std::function<void(bool)>>& nic_links() {
  static std::map<std::string, std::function<void(bool)>> m;
  return m;
}

}  // namespace

Netdev::Netdev(std::string id, std::string type) : id_(std::move(id)), type_(std::move(type)) {}

Netdev::~Netdev() = default;

void Netdev::destroy_backend() {
  if (deleted_) return;
  deleted_ = true;
  queue_.clear();
  cleanup();
}

ssize_t Netdev::send(const iovec* iov, int iovcnt) {
  if (iovcnt < 0 || (iovcnt > 0 && !iov)) return 0;
  if (link_down()) return 0;
  return transmit(iov, iovcnt);
}

void Netdev::set_offload(bool, bool, bool, bool, bool) {}

void Netdev::set_peer(std::function<bool()> can_receive,
                      std::function<ssize_t(const iovec*, int)> receive) {
  can_receive_ = std::move(can_receive);
  receive_ = std::move(receive);
}

void Netdev::clear_peer() {
  can_receive_ = nullptr;
  receive_ = nullptr;
  queue_.clear();
  if (read_stopped_ && !deleted_) {
    read_stopped_ = false;
    set_read_enabled(true);
  }
}

bool Netdev::deliver(const iovec* iov, int iovcnt) {
  // Without a NIC, or with the link down, frames go nowhere (QEMU counts them as delivered).
  if (!receive_ || link_down()) return false;
  // The NIC's callbacks run on the main loop only: a frame produced on another thread (slirp
  // answering a send() from a vCPU) is queued and delivered from a bottom half.
  bool nested = in_receive_ || flushing_ || !main_loop().in_loop_thread();
  if (queue_.empty() && !nested && (!can_receive_ || can_receive_())) {
    auto rx = receive_;  // the NIC may detach from inside its callback
    in_receive_ = true;
    ssize_t n = rx(iov, iovcnt);
    in_receive_ = false;
    if (n > 0) return true;
  }
  if (queue_.size() >= kQueueLimit) return false;
  std::vector<uint8_t> frame(iov_total(iov, iovcnt));
  size_t off = 0;
  for (int i = 0; i < iovcnt; ++i) {
    if (iov[i].iov_len) std::memcpy(frame.data() + off, iov[i].iov_base, iov[i].iov_len);
    off += iov[i].iov_len;
  }
  queue_.push_back(std::move(frame));
  if (nested) {
    // A frame produced while the NIC is inside receive() (it sent something that the backend
    // answered at once), or off the loop thread, goes out from the loop.
    schedule_flush();
  } else if (!read_stopped_) {
    read_stopped_ = true;
    set_read_enabled(false);
  }
  return true;
}

bool Netdev::deliver(const uint8_t* buf, size_t len) {
  iovec v{const_cast<uint8_t*>(buf), len};
  return deliver(&v, 1);
}

void Netdev::receive_ready() {
  if (main_loop().in_loop_thread() && !flushing_ && !in_receive_) {
    flush_queue();
    return;
  }
  schedule_flush();
}

void Netdev::schedule_flush() {
  if (!flush_bh_) flush_bh_ = std::make_unique<BottomHalf>(main_loop(), [this] { flush_queue(); });
  flush_bh_->schedule();
}

void Netdev::flush_queue() {
  if (flushing_ || in_receive_) return;
  flushing_ = true;
  while (!queue_.empty() && receive_ && !link_down()) {
    if (can_receive_ && !can_receive_()) break;
    iovec v{queue_.front().data(), queue_.front().size()};
    auto rx = receive_;
    in_receive_ = true;
    ssize_t n = rx(&v, 1);
    in_receive_ = false;
    if (n <= 0) break;
    queue_.pop_front();
  }
  if (!receive_ || link_down()) queue_.clear();
  flushing_ = false;
  if (queue_.empty() && read_stopped_ && !deleted_) {
    read_stopped_ = false;
    set_read_enabled(true);
  }
}

Error Netdev::busy_error(const std::string& holder) const {
  return generic_error("Netdev '" + id_ + "' is in use by '" + holder + "'");
}

NetdevRef& NetdevRef::operator=(NetdevRef&& o) noexcept {
  if (this != &o) {
    reset();
    nd_ = std::move(o.nd_);
    claim_ = std::move(o.claim_);
  }
  return *this;
}

void NetdevRef::reset() {
  if (!nd_) return;
  nd_->clear_peer();
  nd_->set_nic_link(true);
  nd_->set_nic_name("");
  claim_.release();
  nd_.reset();
}

std::array<uint8_t, 6> net_default_mac() {
  static unsigned index = 0;
  std::array<uint8_t, 6> mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  mac[5] = uint8_t(0x56 + index++);
  return mac;
}

void net_register_nic_link(const std::string& qdev_id, std::function<void(bool up)> fn) {
  nic_links()[qdev_id] = std::move(fn);
}

void net_unregister_nic_link(const std::string& qdev_id) {
  nic_links().erase(qdev_id);
}

// Calls the NIC's link hook; false if none is registered under `name`.
bool net_call_nic_link(const std::string& name, bool up) {
  auto it = nic_links().find(name);
  if (name.empty() || it == nic_links().end()) return false;
  auto fn = it->second;  // the hook may unregister itself
  if (fn) fn(up);
  return true;
}

namespace {
std::vector<std::pair<std::string, std::function<nlohmann::json()>>>& nic_rx_filters() {
  static auto* v = new std::vector<std::pair<std::string, std::function<nlohmann::json()>>>();
  return *v;
}
}  // namespace

void net_register_nic_rx_filter(const std::string& name, std::function<nlohmann::json()> fn) {
  net_unregister_nic_rx_filter(name);
  nic_rx_filters().emplace_back(name, std::move(fn));
}

void net_unregister_nic_rx_filter(const std::string& name) {
  auto& v = nic_rx_filters();
  std::erase_if(v, [&](const auto& e) { return e.first == name; });
}

Result<nlohmann::json> net_query_rx_filter(const std::string* name) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [nic, fn] : std::vector(nic_rx_filters())) {
    if (name && nic != *name) continue;
    out.push_back(fn());
  }
  if (name && out.empty()) {
    if (netdev_find(*name)) return generic_error("net client(" + *name + ") isn't a NIC");
    return generic_error("invalid net client name: " + *name);
  }
  return out;
}

std::string net_nic_anonymous_name(const std::string& type) {
  static std::map<std::string, int> counts;
  return type + "." + std::to_string(counts[type]++);
}

}  // namespace machina
