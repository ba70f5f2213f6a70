// Network backends (QEMU's net/ layer): a -netdev backend ("user", "tap") carries Ethernet
// frames between one NIC and the host. The NIC attaches with netdev_attach() (its `netdev`
// property) and exchanges frames through the Netdev: send() towards the host, and the receive
// callback it registered with set_peer() for frames from the host.
//
// All of it runs with the big lock held (util/bql.h): on the main loop, or on a vCPU thread
// inside a device access (send(), receive_ready()). The NIC's can_receive/receive callbacks are
// called on the main loop thread only, never re-entrantly; backend fds and timers run there too.
//
// A backend may have several queues (tap with queues=N; QEMU's NetClientState per queue, its
// queue_index): each queue has its own peer callbacks, frame queue and flow control, and a
// multiqueue NIC (virtio-net mq=on) attaches to each. Queue 0 is the only one of a single-queue
// backend, and the one every call below uses unless told otherwise.
//
// Deleting a netdev that a NIC still uses (netdev_del) is allowed, as in QEMU 7.2: the backend's
// host resources (tap fd, slirp stack and its forwarded ports) are released at once, its id is
// free again, the NIC sees its link go down and its frames are dropped; the Netdev object itself
// lives on until the NIC releases its NetdevRef.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hw/core/backend-claim.h"
#include "qapi/error.h"

namespace machina {

class BottomHalf;

// A -netdev backend ("user", "tap"): frames to and from one NIC.
class Netdev : public Claimable {
 public:
  // Frames the backend holds for a NIC that cannot take them now; further frames are dropped.
  static constexpr size_t kQueueLimit = 256;

  ~Netdev() override;
  Netdev(const Netdev&) = delete;
  Netdev& operator=(const Netdev&) = delete;

  const std::string& id() const { return id_; }
  const std::string& type() const { return type_; }  // "user", "tap"

  // Queues of the backend (QEMU's NetClientState per queue); at least 1.
  unsigned num_queues() const { return unsigned(queues_.size()); }

  // NIC -> backend: one Ethernet frame on `queue` (scatter list; with a virtio_net_hdr_v1 (12
  // bytes) in front iff using_vnet_hdr(true) was accepted). Returns the bytes taken, 0 if dropped
  // (link down, backend deleted, host queue full, no such queue).
  ssize_t send(const iovec* iov, int iovcnt, unsigned queue = 0);

  // backend -> NIC: registered by the NIC for each queue it uses when it attaches; called on the
  // main loop thread with the big lock held (a frame the backend produces inside send() comes a
  // little later). receive() returns the bytes consumed, 0 if the NIC cannot take the frame now:
  // the backend then queues it (at most kQueueLimit frames per queue) and stops reading that
  // queue's host side until the NIC calls receive_ready() for it. can_receive() false has the
  // same effect without a receive() call.
  void set_peer(std::function<bool()> can_receive,
                std::function<ssize_t(const iovec*, int)> receive, unsigned queue = 0);
  // Detaches the NIC from every queue.
  void clear_peer();
  bool has_peer(unsigned queue = 0) const {
    return queue < queues_.size() && bool(queues_[queue]->receive);
  }
  // The NIC can take frames on `queue` again: queued frames are delivered (at once when called on
  // the main loop, else from a bottom half on it). Thread-safe under the big lock.
  void receive_ready(unsigned queue = 0);
  // Frames waiting for the NIC on `queue`.
  size_t queued(unsigned queue = 0) const {
    return queue < queues_.size() ? queues_[queue]->frames.size() : 0;
  }
  // Multiqueue: whether queue `q` takes part in the host's traffic (QEMU's peer_attach /
  // peer_detach; tap: TUNSETQUEUE attach/detach, so the kernel steers no frames to a queue the
  // guest does not use). All queues start enabled.
  virtual void set_queue_enabled(unsigned /*queue*/, bool /*on*/) {}

  // vnet header support (tap with vnet_hdr): whether the backend can carry a virtio_net_hdr_v1,
  // switching it on (true if the request was accepted; off is always accepted), and the offloads
  // to enable (TUNSETOFFLOAD).
  virtual bool has_vnet_hdr() const { return false; }
  virtual bool using_vnet_hdr(bool on) { return !on; }
  virtual void set_offload(bool csum, bool tso4, bool tso6, bool ecn, bool ufo);

  // True while frames cannot pass: set_link ... up=false on this netdev or on its NIC, or the
  // netdev was deleted under the NIC.
  bool link_down() const { return link_down_ || nic_link_down_ || deleted_; }
  bool deleted() const { return deleted_; }
  // "info network" details, e.g. "net=10.0.2.0,restrict=off".
  virtual std::string info() const = 0;

  // --- for the registry (netdev-registry.cc): set_link, attachment, deletion.
  void set_link(bool up) { link_down_ = !up; }
  void set_nic_link(bool up) { nic_link_down_ = !up; }
  const std::string& nic_name() const { return nic_name_; }
  void set_nic_name(std::string n) { nic_name_ = std::move(n); }
  // Releases the host resources (once); frames are dropped afterwards.
  void destroy_backend();

 protected:
  Netdev(std::string id, std::string type, unsigned queues = 1);

  // NIC -> host on `queue` (< num_queues()). Called only while the backend is alive and the link
  // is up.
  virtual ssize_t transmit(const iovec* iov, int iovcnt, unsigned queue) = 0;
  // Flow control: stop (false) or resume (true) taking frames from `queue`'s host side.
  virtual void set_read_enabled(unsigned /*queue*/, bool) {}
  // Releases host resources (fds, sockets, timers). Called once.
  virtual void cleanup() = 0;

  // host -> NIC on `queue`: delivers a frame now or queues it. False if it was dropped.
  bool deliver(const iovec* iov, int iovcnt, unsigned queue = 0);
  bool deliver(const uint8_t* buf, size_t len, unsigned queue = 0);

  Error busy_error(const std::string& holder) const override;

 private:
  // One queue's peer and the frames held for it.
  struct Queue {
    std::function<bool()> can_receive;
    std::function<ssize_t(const iovec*, int)> receive;
    std::deque<std::vector<uint8_t>> frames;
    std::unique_ptr<BottomHalf> flush_bh;
    bool flushing = false;
    bool in_receive = false;  // inside the NIC's receive()
    bool read_stopped = false;
  };
  void flush_queue(unsigned q);
  void schedule_flush(unsigned q);

  std::string id_, type_;
  std::vector<std::unique_ptr<Queue>> queues_;
  bool link_down_ = false, nic_link_down_ = false, deleted_ = false;
  std::string nic_name_;
};

// A NIC's hold on its netdev: move-only; releasing it detaches the peer and releases the claim
// (and frees a netdev that was deleted meanwhile).
class NetdevRef {
 public:
  NetdevRef() = default;
  NetdevRef(NetdevRef&& o) noexcept = default;
  NetdevRef& operator=(NetdevRef&& o) noexcept;
  NetdevRef(const NetdevRef&) = delete;
  NetdevRef& operator=(const NetdevRef&) = delete;
  ~NetdevRef() { reset(); }

  Netdev* get() const { return nd_.get(); }
  Netdev* operator->() const { return nd_.get(); }
  explicit operator bool() const { return bool(nd_); }
  void reset();

 private:
  friend Result<NetdevRef> netdev_attach(const std::string&, const std::string&,
                                         const std::string&);
  std::shared_ptr<Netdev> nd_;
  BackendClaim claim_;
};

// The NIC's `netdev` property: claims netdev `id` for `holder` (the NIC's qdev id, which is also
// the name its link hook is registered under). Errors as QEMU's set_netdev:
//   "Property 'OWNER_TYPE.netdev' can't find value 'ID'"
//   "Property 'OWNER_TYPE.netdev' can't take value 'ID', it's in use"
Result<NetdevRef> netdev_attach(const std::string& id, const std::string& holder,
                                const std::string& owner_type);
Netdev* netdev_find(const std::string& id);
// Every live netdev, sorted by id.
std::vector<Netdev*> netdev_list();

// MAC addresses: QEMU's default 52:54:00:12:34:56 + n for NICs without mac= (n counts calls).
std::array<uint8_t, 6> net_default_mac();

// QMP set_link for NICs: a NIC registers a named link-state hook (its qdev id) so that
// `set_link name=vnet0 up=false` reaches it; set_link on the netdev it is attached to, and the
// deletion of that netdev, call it too. NIC_RX_FILTER_CHANGED is the NIC's job.
void net_register_nic_link(const std::string& qdev_id, std::function<void(bool up)> fn);
void net_unregister_nic_link(const std::string& qdev_id);

// query-rx-filter: each NIC registers, under its name (its qdev id, or net_nic_anonymous_name()
// for one without), a function describing its receive filter as QEMU's RxFilterInfo. NICs are
// listed in registration order.
void net_register_nic_rx_filter(const std::string& name, std::function<nlohmann::json()> fn);
void net_unregister_nic_rx_filter(const std::string& name);
// All NICs' filters, or the one named (QEMU's error for an unknown name).
Result<nlohmann::json> net_query_rx_filter(const std::string* name);
// "virtio-net-pci.0", "virtio-net-pci.1", ...: QEMU's names for NICs without an id.
std::string net_nic_anonymous_name(const std::string& type);

// set_link: "Device 'NAME' not found" (DeviceNotFound) when neither a netdev nor a NIC has NAME.
Status net_set_link(const std::string& name, bool up);

}  // namespace machina
