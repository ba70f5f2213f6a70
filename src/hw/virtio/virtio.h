// The virtio device model, independent of the transport (QEMU's VirtIODevice): device status,
// feature negotiation, the device configuration space, virtqueues, interrupts and the
// NEEDS_RESET error state. A device ("virtio-blk-device", "virtio-rng-device", ...) plugs into
// the virtio bus of its transport (the "virtio-backend" child of a virtio-pci proxy).
//
// Work never runs on the vCPU thread: a queue notification from the driver schedules the queue's
// handler as a bottom half on the main loop (BQL held there).
//
// A device the guest drove wrongly (a malformed ring, a bad request header) calls error(): the
// status gains NEEDS_RESET, the driver gets a configuration interrupt, the error is logged as a
// guest error, and every queue of the device stops until the driver resets it. Nothing else in
// the VMM is affected.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hw/core/qdev.h"
#include "hw/virtio/virtio-regs.h"
#include "hw/virtio/virtqueue.h"
#include "util/event_notifier.h"
#include "util/main-loop.h"

namespace machina {

inline constexpr const char* kTypeVirtioDevice = "virtio-device";
inline constexpr const char* kTypeVirtioBus = "virtio-bus";

// What the transport does for the device.
class VirtioTransport {
 public:
  virtual ~VirtioTransport() = default;
  // Raises interrupt `vector` (MSI-X) or the INTx line from the ISR.
  virtual void notify_vector(uint16_t vector) = 0;
  // The ISR changed (INTx level follows it when MSI-X is off).
  virtual void update_isr() = 0;
};

class VirtioBus : public Bus {
 public:
  VirtioTransport* transport() const { return transport_; }
  void set_transport(VirtioTransport* t) { transport_ = t; }

 private:
  VirtioTransport* transport_ = nullptr;
};

class VirtioDeviceClass : public DeviceClass {
 public:
  MACHINA_CLASS_CLONE(VirtioDeviceClass)
  uint16_t device_id = 0;
  std::string virtio_name;  // "virtio-blk", for messages
};

class VirtioDevice : public Device {
 public:
  VirtioDevice();
  ~VirtioDevice() override;

  // The I/O thread for the queue handlers (a device type that offers `iothread=` registers the
  // property on this field). Declared before the queues: released after them.
  Ref<Object> iothread_;

  const VirtioDeviceClass& virtio_class() const {
    return static_cast<const VirtioDeviceClass&>(object_class());
  }
  uint16_t device_id() const { return virtio_class().device_id; }
  const std::string& virtio_name() const { return virtio_class().virtio_name; }
  VirtioTransport* transport() const;

  // --- features
  // What the device offers: its own bits (device_features) plus VERSION_1, INDIRECT_DESC,
  // EVENT_IDX.
  uint64_t host_features() const;
  uint64_t guest_features() const { return guest_features_; }
  bool has_feature(unsigned bit) const { return guest_features_ & virtio::bit(bit); }
  // The driver's feature register (checked and taken at FEATURES_OK; ignored after it).
  uint64_t driver_features() const { return driver_features_; }
  void set_driver_features(uint64_t f) {
    if (!(status_ & virtio::kStatusFeaturesOk)) driver_features_ = f;
  }
  // The driver's FEATURES_OK: keeps only offered bits; false if the driver asked for something
  // not offered or left out VERSION_1 (modern transport).
  bool set_guest_features(uint64_t features);
  // The legacy interface's guest features register (no FEATURES_OK step there): the offered bits
  // of `features` are the negotiated set at once; ignored once FEATURES_OK is set. Without
  // VERSION_1 the device works with legacy semantics (has_feature(kFVersion1) is false).
  void set_legacy_features(uint32_t features);

  // --- status
  uint8_t status() const { return status_; }
  // Writes the status register: 0 resets the device; FEATURES_OK is refused (not kept) when the
  // feature set is not acceptable; DRIVER_OK starts the device. `legacy`: written through the
  // legacy interface, which has no FEATURES_OK step (the features were taken when written).
  void set_status(uint8_t status, bool legacy = false);
  bool driver_ok() const { return status_ & virtio::kStatusDriverOk; }
  bool broken() const { return broken_; }
  // Resets status, features, queues, ISR and the device's own state.
  void reset();

  // --- configuration space
  uint8_t config_generation() const { return generation_; }
  uint32_t config_size() const { return uint32_t(config_.size()); }
  // Little-endian access; out-of-range bytes read 0 and writes are ignored.
  uint64_t config_read(uint32_t addr, unsigned size);
  void config_write(uint32_t addr, uint64_t value, unsigned size);

  // --- queues
  unsigned num_queues() const { return unsigned(vqs_.size()); }
  VirtQueue& queue(unsigned n) { return *vqs_[n]; }
  // The driver kicked queue n (any thread): the handler runs soon on the main loop, or on the
  // device's I/O thread (`iothread=`).
  void queue_notify(unsigned n);
  // Where the queue handlers run.
  MainLoop& handler_loop() const { return handler_loop_ ? *handler_loop_ : main_loop(); }
  // The host notifier of queue n (QEMU's virtio_queue_set_host_notifier_fd_handler): an eventfd
  // the transport hands to the memory API as the queue's notify address (ioeventfd), watched by
  // handler_loop(), whose kicks run the queue's handler. Off: the loop stops watching it, a kick
  // already in it is not lost (the handler is scheduled), and the device drops it (the
  // descriptor closes once no memory view holds it). Big lock held.
  Result<std::shared_ptr<EventNotifier>> set_host_notifier(unsigned n, bool on);
  // Queue n's host notifier while it is on, else nullptr.
  const EventNotifier* host_notifier(unsigned n) const;
  // Kicks that arrived through host notifiers (for tests).
  uint64_t host_notifier_kicks() const { return host_notifier_kicks_; }

  // --- interrupts
  uint16_t config_vector() const { return config_vector_; }
  void set_config_vector(uint16_t v) { config_vector_ = v; }
  uint8_t isr() const { return isr_.load(std::memory_order_acquire); }
  // Reads and clears the ISR (the driver's read of the ISR capability).
  uint8_t isr_read_and_clear();
  // Signals the driver that `vq` has used buffers, if it wants to be told.
  void notify(VirtQueue& vq);
  // Configuration changed: generation + 1, ISR bit 1, config vector.
  void notify_config();

  // The device failed because of the guest: NEEDS_RESET, config interrupt, guest error log.
  void error(const std::string& message);

 protected:
  // Adds a queue of at most `max_size` entries whose notifications run `handler`.
  VirtQueue& add_queue(uint16_t max_size, std::function<void(VirtQueue&)> handler);
  void delete_queues();
  // The device's size of configuration space (set in realize).
  void set_config_size(size_t n) { config_.assign(n, 0); }
  std::vector<uint8_t>& config_bytes() { return config_; }

  // --- what a device implements
  virtual uint64_t device_features() const { return 0; }
  // Refreshes config_bytes() before a driver read / takes a driver write after it.
  virtual void get_config(std::vector<uint8_t>&) {}
  virtual void set_config(const std::vector<uint8_t>&, uint32_t /*addr*/, unsigned /*size*/) {}
  virtual void features_set(uint64_t) {}
  virtual void status_changed(uint8_t /*old*/) {}
  virtual void device_reset() {}
  virtual Status virtio_realize() { return Status::Ok(); }
  virtual void virtio_unrealize() {}

  Status do_realize() final;
  void do_unrealize() final;
  void do_reset() final { reset(); }

 private:
  struct QueueSlot;
  std::vector<std::unique_ptr<VirtQueue>> vqs_;
  std::vector<std::unique_ptr<QueueSlot>> slots_;
  uint64_t guest_features_ = 0;
  uint64_t driver_features_ = 0;
  uint8_t status_ = 0;
  std::atomic<uint8_t> isr_{0};
  uint16_t config_vector_ = virtio::kNoVector;
  uint8_t generation_ = 0;
  bool broken_ = false;
  std::vector<uint8_t> config_;
  MainLoop* handler_loop_ = nullptr;  // null: the main loop
  uint64_t host_notifier_kicks_ = 0;
};

}  // namespace machina
