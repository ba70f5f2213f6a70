// The virtio device model: see virtio.h.
#include "hw/virtio/virtio.h"

#include <cstring>

#include "qom/object.h"
#include "system/iothread.h"
#include "util/log.h"

namespace machina {

struct VirtioDevice::QueueSlot {
  QueueSlot(VirtioDevice* dev, VirtQueue* vq, std::function<void(VirtQueue&)> h)
      : handler(std::move(h)), bh(dev->handler_loop(), [dev, vq, this] {
          if (dev->broken_ || !dev->driver_ok() || !vq->ready()) return;
          handler(*vq);
        }) {}
  ~QueueSlot() {
    if (host_notifier) dev_loop->remove_fd_handler(host_notifier->fd());
  }
  std::function<void(VirtQueue&)> handler;
  BottomHalf bh;
  std::shared_ptr<EventNotifier> host_notifier;
  MainLoop* dev_loop = nullptr;  // the loop watching host_notifier
};

namespace {

TypeRegistration virtio_bus_type{TypeInfo{
    .name = kTypeVirtioBus,
    .parent = kTypeBus,
    .instance_new = [] { return new VirtioBus(); },
    .class_init = [](ObjectClass& c) { static_cast<BusClass&>(c).max_devices = 1; },
}};

TypeRegistration virtio_device_type{TypeInfo{
    .name = kTypeVirtioDevice,
    .parent = kTypeDevice,
    .abstract = true,
    .class_new = class_from_parent<VirtioDeviceClass, DeviceClass>(),
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.bus_type = kTypeVirtioBus;
          dc.user_creatable = false;
        },
}};

}  // namespace

VirtioDevice::VirtioDevice() = default;
VirtioDevice::~VirtioDevice() = default;

VirtioTransport* VirtioDevice::transport() const {
  auto* bus = dynamic_cast<VirtioBus*>(parent_bus());
  return bus ? bus->transport() : nullptr;
}

uint64_t VirtioDevice::host_features() const {
  return device_features() | virtio::bit(virtio::kFVersion1) |
         virtio::bit(virtio::kFRingIndirectDesc) | virtio::bit(virtio::kFRingEventIdx);
}

bool VirtioDevice::set_guest_features(uint64_t features) {
  uint64_t offered = host_features();
  bool ok = !(features & ~offered) && (features & virtio::bit(virtio::kFVersion1));
  guest_features_ = features & offered;
  for (auto& vq : vqs_) {
    vq->set_features(has_feature(virtio::kFRingIndirectDesc), has_feature(virtio::kFRingEventIdx));
  }
  features_set(guest_features_);
  return ok;
}

void VirtioDevice::set_legacy_features(uint32_t features) {
  if (status_ & virtio::kStatusFeaturesOk) return;
  driver_features_ = features;
  // Never acceptable to the modern check (no VERSION_1), but taken as written: legacy drivers
  // have nothing to be refused with.
  (void)set_guest_features(features);
}

void VirtioDevice::set_status(uint8_t status, bool legacy) {
  if (status == 0) {
    reset();
    return;
  }
  uint8_t old = status_;
  if (!legacy && (status & virtio::kStatusFeaturesOk) && !(old & virtio::kStatusFeaturesOk)) {
    // The features the driver wrote are checked when it claims FEATURES_OK.
    if (!set_guest_features(driver_features_)) status &= uint8_t(~virtio::kStatusFeaturesOk);
  }
  status_ = uint8_t(status | (old & virtio::kStatusNeedsReset));
  status_changed(old);
  if (driver_ok() && !(old & virtio::kStatusDriverOk)) {
    // Buffers the driver queued before DRIVER_OK are looked at now.
    for (unsigned n = 0; n < slots_.size(); ++n) {
      if (vqs_[n]->ready()) slots_[n]->bh.schedule();
    }
  }
}

void VirtioDevice::reset() {
  for (auto& s : slots_) s->bh.cancel();
  device_reset();
  status_ = 0;
  guest_features_ = driver_features_ = 0;
  broken_ = false;
  isr_.store(0, std::memory_order_release);
  config_vector_ = virtio::kNoVector;
  for (auto& vq : vqs_) vq->reset();
  if (VirtioTransport* t = transport()) t->update_isr();
}

uint64_t VirtioDevice::config_read(uint32_t addr, unsigned size) {
  get_config(config_);
  uint64_t v = 0;
  if (size > 8 || addr >= config_.size() || config_.size() - addr < size) return 0;
  std::memcpy(&v, &config_[addr], size);
  return v;
}

void VirtioDevice::config_write(uint32_t addr, uint64_t value, unsigned size) {
  if (size > 8 || addr >= config_.size() || config_.size() - addr < size) return;
  get_config(config_);
  std::memcpy(&config_[addr], &value, size);
  set_config(config_, addr, size);
}

void VirtioDevice::queue_notify(unsigned n) {
  if (n >= slots_.size()) {
    log_mask(LOG_GUEST_ERROR, virtio_name() + ": notification for queue " + std::to_string(n) +
                                  " that does not exist");
    return;
  }
  slots_[n]->bh.schedule();
}

Result<std::shared_ptr<EventNotifier>> VirtioDevice::set_host_notifier(unsigned n, bool on) {
  if (n >= slots_.size()) return generic_error("virtio: no queue " + std::to_string(n));
  QueueSlot& slot = *slots_[n];
  if (!on) {
    std::shared_ptr<EventNotifier> e = std::move(slot.host_notifier);
    if (!e) return e;
    slot.dev_loop->remove_fd_handler(e->fd());
    slot.dev_loop = nullptr;
    if (e->test_and_clear()) slot.bh.schedule();  // a kick that came before the switch
    return std::shared_ptr<EventNotifier>();
  }
  if (slot.host_notifier) return slot.host_notifier;
  auto e = EventNotifier::create();
  if (!e.ok()) return e;
  MainLoop& loop = handler_loop();
  EventNotifier* raw = e.value().get();
  Status st = loop.set_fd_handler(
      raw->fd(),
      [this, n, raw] {
        // Runs on the loop, under the big lock, while the notifier is still this queue's.
        if (!raw->test_and_clear()) return;
        host_notifier_kicks_++;
        slots_[n]->bh.schedule();
      },
      nullptr);
  if (!st.ok()) return st.error();
  slot.host_notifier = e.value();
  slot.dev_loop = &loop;
  return e;
}

const EventNotifier* VirtioDevice::host_notifier(unsigned n) const {
  return n < slots_.size() ? slots_[n]->host_notifier.get() : nullptr;
}

uint8_t VirtioDevice::isr_read_and_clear() {
  uint8_t v = isr_.exchange(0, std::memory_order_acq_rel);
  if (VirtioTransport* t = transport()) t->update_isr();
  return v;
}

void VirtioDevice::notify(VirtQueue& vq) {
  if (!vq.should_notify()) return;
  isr_.fetch_or(virtio::kIsrQueue, std::memory_order_acq_rel);
  if (VirtioTransport* t = transport()) t->notify_vector(vq.vector());
}

void VirtioDevice::notify_config() {
  if (!driver_ok()) return;
  ++generation_;
  isr_.fetch_or(virtio::kIsrConfig, std::memory_order_acq_rel);
  if (VirtioTransport* t = transport()) t->notify_vector(config_vector_);
}

void VirtioDevice::error(const std::string& message) {
  log_mask(LOG_GUEST_ERROR, virtio_name() + ": " + message);
  if (broken_) return;
  broken_ = true;
  for (auto& vq : vqs_) vq->set_broken();
  status_ |= virtio::kStatusNeedsReset;
  notify_config();
}

VirtQueue& VirtioDevice::add_queue(uint16_t max_size, std::function<void(VirtQueue&)> handler) {
  unsigned n = unsigned(vqs_.size());
  vqs_.push_back(
      std::make_unique<VirtQueue>(n, max_size, [this](const std::string& m) { error(m); }));
  VirtQueue* vq = vqs_.back().get();
  slots_.push_back(std::make_unique<QueueSlot>(this, vq, std::move(handler)));
  return *vq;
}

void VirtioDevice::delete_queues() {
  slots_.clear();
  vqs_.clear();
}

Status VirtioDevice::do_realize() {
  if (!dynamic_cast<VirtioBus*>(parent_bus())) {
    return generic_error("virtio device '" + type_name() + "' is not on a virtio bus");
  }
  auto* iothread = dynamic_cast<IOThread*>(iothread_.get());
  handler_loop_ = iothread ? &iothread->loop() : nullptr;
  Status s = virtio_realize();
  if (!s.ok()) {
    delete_queues();
    handler_loop_ = nullptr;
    return s;
  }
  if (iothread) iothread->add_user();
  return s;
}

void VirtioDevice::do_unrealize() {
  virtio_unrealize();
  delete_queues();
  if (auto* iothread = dynamic_cast<IOThread*>(iothread_.get())) iothread->remove_user();
  handler_loop_ = nullptr;
}

}  // namespace machina
