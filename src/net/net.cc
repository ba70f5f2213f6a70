// Netdev: the frame path between a NIC and a backend, its queue and its link state.
#include "net/net.h"

#include <algorithm>
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

Netdev::Netdev(std::string id, std::string type, unsigned queues)
    : id_(std::move(id)), type_(std::move(type)) {
  for (unsigned i = 0; i < std::max(queues, 1u); ++i) queues_.push_back(std::make_unique<Queue>());
}

Netdev::~Netdev() = default;

void Netdev::destroy_backend() {
  if (deleted_) return;
  deleted_ = true;
  for (auto& q : queues_) q->frames.clear();
  cleanup();
}

ssize_t Netdev::send(const iovec* iov, int iovcnt, unsigned queue) {
  if (iovcnt < 0 || (iovcnt > 0 && !iov) || queue >= queues_.size()) return 0;
  if (link_down()) return 0;
  return transmit(iov, iovcnt, queue);
}

void Netdev::set_offload(bool, bool, bool, bool, bool) {}

void Netdev::set_peer(std::function<bool()> can_receive,
                      std::function<ssize_t(const iovec*, int)> receive, unsigned queue) {
  if (queue >= queues_.size()) return;
  queues_[queue]->can_receive = std::move(can_receive);
  queues_[queue]->receive = std::move(receive);
}

void Netdev::clear_peer() {
  for (unsigned i = 0; i < queues_.size(); ++i) {
    Queue& q = *queues_[i];
    q.can_receive = nullptr;
    q.receive = nullptr;
    q.frames.clear();
    if (q.read_stopped && !deleted_) {
      q.read_stopped = false;
      set_read_enabled(i, true);
    }
  }
}

bool Netdev::deliver(const iovec* iov, int iovcnt, unsigned queue) {
  if (queue >= queues_.size()) return false;
  Queue& q = *queues_[queue];
  // Without a NIC, or with the link down, frames go nowhere (QEMU counts them as delivered).
  if (!q.receive || link_down()) return false;
  // The NIC's callbacks run on the main loop only: a frame produced on another thread (slirp
  // answering a send() from a vCPU) is queued and delivered from a bottom half.
  bool nested = q.in_receive || q.flushing || !main_loop().in_loop_thread();
  if (q.frames.empty() && !nested && (!q.can_receive || q.can_receive())) {
    auto rx = q.receive;  // the NIC may detach from inside its callback
    q.in_receive = true;
    ssize_t n = rx(iov, iovcnt);
    q.in_receive = false;
    if (n > 0) return true;
  }
  if (q.frames.size() >= kQueueLimit) return false;
  std::vector<uint8_t> frame(iov_total(iov, iovcnt));
  size_t off = 0;
  for (int i = 0; i < iovcnt; ++i) {
    if (iov[i].iov_len) std::memcpy(frame.data() + off, iov[i].iov_base, iov[i].iov_len);
    off += iov[i].iov_len;
  }
  q.frames.push_back(std::move(frame));
  if (nested) {
    // A frame produced while the NIC is inside receive() (it sent something that the backend
    // answered at once), or off the loop thread, goes out from the loop.
    schedule_flush(queue);
  } else if (!q.read_stopped) {
    q.read_stopped = true;
    set_read_enabled(queue, false);
  }
  return true;
}

bool Netdev::deliver(const uint8_t* buf, size_t len, unsigned queue) {
  iovec v{const_cast<uint8_t*>(buf), len};
  return deliver(&v, 1, queue);
}

void Netdev::receive_ready(unsigned queue) {
  if (queue >= queues_.size()) return;
  const Queue& q = *queues_[queue];
  if (main_loop().in_loop_thread() && !q.flushing && !q.in_receive) {
    flush_queue(queue);
    return;
  }
  schedule_flush(queue);
}

void Netdev::schedule_flush(unsigned queue) {
  Queue& q = *queues_[queue];
  if (!q.flush_bh) {
    q.flush_bh = std::make_unique<BottomHalf>(main_loop(), [this, queue] { flush_queue(queue); });
  }
  q.flush_bh->schedule();
}

void Netdev::flush_queue(unsigned queue) {
  Queue& q = *queues_[queue];
  if (q.flushing || q.in_receive) return;
  q.flushing = true;
  while (!q.frames.empty() && q.receive && !link_down()) {
    if (q.can_receive && !q.can_receive()) break;
    iovec v{q.frames.front().data(), q.frames.front().size()};
    auto rx = q.receive;
    q.in_receive = true;
    ssize_t n = rx(&v, 1);
    q.in_receive = false;
    if (n <= 0) break;
    q.frames.pop_front();
  }
  if (!q.receive || link_down()) q.frames.clear();
  q.flushing = false;
  if (q.frames.empty() && q.read_stopped && !deleted_) {
    q.read_stopped = false;
    set_read_enabled(queue, true);
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
  // A multiqueue NIC may have left queues detached: the netdev goes back to all queues on.
  if (!nd_->deleted()) {
    for (unsigned q = 0; q < nd_->num_queues(); ++q) nd_->set_queue_enabled(q, true);
  }
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
