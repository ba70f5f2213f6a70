// A legacy (virtio 0.9.5) virtio-pci driver for qtests, as Linux's virtio_pci_legacy drives a
// transitional device: the I/O BAR 0 mapped by hand, features written at once (no FEATURES_OK),
// each queue placed by its page frame number with the legacy ring layout (used ring at the next
// 4096-byte boundary).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "qtest/virtio_driver.h"

namespace machina::qtest {

class VirtioLegacyDriver {
 public:
  // The function at `devfn` (on `bus`), BAR 0 at I/O port `io_base`, I/O decoding and bus
  // mastering on.
  VirtioLegacyDriver(QTestMachine& m, GuestAlloc& alloc, int devfn, uint16_t io_base = 0xc000,
                     int bus = 0);

  PciFunction& pci() { return pci_; }
  // BAR 0 is an I/O BAR.
  bool found() const { return found_; }
  uint16_t io() const { return io_; }

  uint32_t host_features();
  uint32_t guest_features();
  void set_guest_features(uint32_t f);
  uint8_t status();
  void set_status(uint8_t s);
  // Reset, ACKNOWLEDGE | DRIVER, the features.
  void init(uint32_t features);
  uint16_t queue_num(uint16_t index);
  uint32_t queue_pfn(uint16_t index);
  void set_queue_pfn(uint16_t index, uint32_t pfn);
  // Lays out queue `index` (its size is the device's) in 4096-aligned guest RAM and writes its
  // PFN.
  VirtioQueue setup_queue(uint16_t index);
  void driver_ok() { set_status(status() | 4); }
  uint8_t read_isr();
  // The device configuration starts at 0x14, or 0x18 while MSI-X is enabled.
  uint32_t config_offset(bool msix = false) const { return msix ? 0x18 : 0x14; }

  // Rings: direct chains, published; the notify register; the used ring.
  uint16_t add_chain(VirtioQueue& q, const std::vector<VirtioBuf>& bufs);
  void kick(const VirtioQueue& q);
  std::optional<std::pair<uint32_t, uint32_t>> wait_used(VirtioQueue& q, int timeout_ms = 5000);
  bool wait_needs_reset(int timeout_ms = 5000);

 private:
  QTestMachine& m_;
  GuestAlloc& alloc_;
  PciFunction pci_;
  uint16_t io_;
  bool found_ = false;
};

}  // namespace machina::qtest
