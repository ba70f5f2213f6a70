// virtio-rng (virtio 1.x, 5.4): one request queue the driver fills with device-writable buffers;
// the device fills them from an entropy backend (`rng=` an rng-random / rng-builtin object; a
// built-in one when none is given), at most `max-bytes` per `period` milliseconds.
// "virtio-rng-device" is the backend device, "virtio-rng-pci" its PCI proxy.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "backends/rng.h"
#include "hw/virtio/virtio.h"
#include "util/qemu-timer.h"

namespace machina {

inline constexpr const char* kTypeVirtioRng = "virtio-rng-device";
inline constexpr const char* kTypeVirtioRngPci = "virtio-rng-pci";

class VirtioRng : public VirtioDevice {
 public:
  VirtioRng();
  ~VirtioRng() override;

  Ref<Object> rng_;
  uint64_t max_bytes_ = INT64_MAX;
  uint32_t period_ms_ = 1 << 16;

 protected:
  Status virtio_realize() override;
  void virtio_unrealize() override;
  void device_reset() override;
  void status_changed(uint8_t old) override;

 private:
  void handle_request(VirtQueue& vq);
  void request_more();
  void receive(const uint8_t* data, size_t len);
  void refill_quota();

  RngBackend* backend_ = nullptr;
  VirtQueue* vq_ = nullptr;
  std::optional<VirtQueueElement> waiting_;  // popped, waiting for entropy
  uint64_t quota_remaining_ = 0;
  Timer rate_timer_;
  std::shared_ptr<bool> alive_;  // callbacks check it: the backend may answer after unrealize
};

}  // namespace machina
