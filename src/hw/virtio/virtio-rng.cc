// virtio-rng: see virtio-rng.h.
#include "hw/virtio/virtio-rng.h"

#include "hw/virtio/virtio-pci.h"
#include "qom/property-types.h"

namespace machina {

namespace {

constexpr uint16_t kQueueSize = 8;

TypeRegistration virtio_rng_type{TypeInfo{
    .name = kTypeVirtioRng,
    .parent = kTypeVirtioDevice,
    .instance_new = [] { return new VirtioRng(); },
    .class_init =
        [](ObjectClass& c) {
          auto& vc = static_cast<VirtioDeviceClass&>(c);
          vc.device_id = virtio::kIdRng;
          vc.virtio_name = "virtio-rng";
          vc.description = "VirtIO RNG";
          vc.add_property(prop::link<VirtioRng>("rng", kTypeRngBackend, &VirtioRng::rng_));
          vc.add_property(
              prop::integer<VirtioRng, uint64_t>("max-bytes", &VirtioRng::max_bytes_, INT64_MAX));
          vc.add_property(
              prop::integer<VirtioRng, uint32_t>("period", &VirtioRng::period_ms_, 1 << 16));
        },
}};

TypeRegistration virtio_rng_pci_type{TypeInfo{
    .name = kTypeVirtioRngPci,
    .parent = kTypeVirtioPci,
    .instance_new = [] { return new VirtioPciProxy(); },
    .class_init =
        [](ObjectClass& c) {
          auto& vc = static_cast<VirtioPciClass&>(c);
          vc.backend_type = kTypeVirtioRng;
          vc.class_id = 0x00ff;  // PCI_CLASS_OTHERS
          vc.default_vectors = 2;
          vc.category = "Miscellaneous devices";
          vc.description = "VirtIO RNG (PCI)";
        },
}};

}  // namespace

VirtioRng::VirtioRng()
    : rate_timer_(ClockType::Virtual, [this] { refill_quota(); }),
      alive_(std::make_shared<bool>(true)) {}

VirtioRng::~VirtioRng() {
  *alive_ = false;
}

Status VirtioRng::virtio_realize() {
  if (period_ms_ == 0) return generic_error("'period' parameter expects a positive integer");
  if (max_bytes_ > uint64_t(INT64_MAX)) {
    return generic_error("'max-bytes' parameter must be non-negative, and less than 2^63");
  }
  if (!rng_) {
    // QEMU's default: a built-in backend owned by the device.
    auto r = object_new(kTypeRngBuiltin);
    if (!r.ok()) return r.error();
    Ref<Object> obj = std::move(r.value());
    if (Status s = static_cast<RngBackend*>(obj.get())->complete(); !s.ok()) return s;
    if (Status s = add_child("default-backend", obj.get()); !s.ok()) return s;
    rng_ = obj;
  }
  backend_ = dynamic_cast<RngBackend*>(rng_.get());
  if (!backend_) return generic_error("'rng' parameter expects a valid object");
  backend_->add_user();
  vq_ = &add_queue(kQueueSize, [this](VirtQueue& vq) { handle_request(vq); });
  set_config_size(0);
  quota_remaining_ = max_bytes_;
  return Status::Ok();
}

void VirtioRng::virtio_unrealize() {
  rate_timer_.del();
  if (backend_) {
    backend_->cancel_requests();
    backend_->remove_user();
    backend_ = nullptr;
  }
  waiting_.reset();
  vq_ = nullptr;
}

void VirtioRng::device_reset() {
  if (backend_) backend_->cancel_requests();
  waiting_.reset();
  rate_timer_.del();
  quota_remaining_ = max_bytes_;
}

void VirtioRng::status_changed(uint8_t) {
  if (driver_ok()) request_more();
}

void VirtioRng::handle_request(VirtQueue&) {
  request_more();
}

void VirtioRng::request_more() {
  if (!backend_ || !vq_ || waiting_ || !driver_ok() || broken()) return;
  if (quota_remaining_ == 0) return;  // the rate timer refills it
  waiting_ = vq_->pop();
  if (!waiting_) return;
  if (!rate_timer_.pending()) {
    rate_timer_.mod(clock_get_ns(ClockType::Virtual) + int64_t(period_ms_) * kNsPerMs);
  }
  size_t want = std::min<uint64_t>(waiting_->in_bytes(), quota_remaining_);
  if (want == 0) {
    vq_->push(*waiting_, 0);
    waiting_.reset();
    notify(*vq_);
    request_more();
    return;
  }
  std::weak_ptr<bool> alive = alive_;
  backend_->request_entropy(want, [this, alive](const uint8_t* data, size_t len) {
    if (auto a = alive.lock(); a && *a) receive(data, len);
  });
}

void VirtioRng::receive(const uint8_t* data, size_t len) {
  if (!waiting_ || !vq_) return;
  size_t n = iov_from_buf(waiting_->in_sg, 0, data, len);
  vq_->push(*waiting_, uint32_t(n));
  waiting_.reset();
  quota_remaining_ -= std::min<uint64_t>(quota_remaining_, n);
  notify(*vq_);
  request_more();
}

void VirtioRng::refill_quota() {
  quota_remaining_ = max_bytes_;
  request_more();
}

}  // namespace machina
