// A virtio-pci driver for qtests, as a guest driver (Linux's virtio_pci_modern) would drive the
// device, but written out register by register through qtest: PCI configuration through
// 0xCF8/0xCFC, BARs mapped by hand, the capability list walked, rings laid out in guest RAM by a
// bump allocator. Tests also write malformed rings with the raw helpers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qtest/harness.h"

namespace machina::qtest {

// Guest RAM handed out from 1 MiB up.
class GuestAlloc {
 public:
  explicit GuestAlloc(uint64_t start = 0x100000) : next_(start) {}
  uint64_t alloc(uint64_t size, uint64_t align = 4096) {
    next_ = (next_ + align - 1) & ~(align - 1);
    uint64_t a = next_;
    next_ += size;
    return a;
  }

 private:
  uint64_t next_;
};

// Guest memory through qtest.
void mem_write(QTestMachine& m, uint64_t addr, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> mem_read(QTestMachine& m, uint64_t addr, size_t len);

// One PCI function (bus 0 unless given), through configuration mechanism #1.
class PciFunction {
 public:
  PciFunction(QTestMachine& m, int devfn, int bus = 0) : m_(m), devfn_(devfn), bus_(bus) {}
  uint32_t read(unsigned off, unsigned size);
  void write(unsigned off, uint32_t v, unsigned size);
  // Offsets of the capabilities with id `cap_id`, in list order.
  std::vector<uint8_t> capabilities(uint8_t cap_id);
  // The size BAR n decodes (all-ones written, mask read back, restored).
  uint64_t bar_size(int n);
  int devfn() const { return devfn_; }
  int bus() const { return bus_; }

 private:
  uint32_t address(unsigned off) const {
    return 0x80000000u | unsigned(bus_) << 16 | unsigned(devfn_) << 8 | (off & 0xfc);
  }
  QTestMachine& m_;
  int devfn_;
  int bus_;
};

struct VirtioQueue {
  uint16_t index = 0, size = 0;
  uint64_t desc = 0, avail = 0, used = 0;
  uint16_t avail_idx = 0;  // next avail->idx the driver publishes
  uint16_t used_seen = 0;  // used->idx consumed so far
  uint16_t next_desc = 0;  // next free descriptor (round robin)
};

struct VirtioBuf {
  uint64_t addr;
  uint32_t len;
  bool device_writes;
};

class VirtioPciDriver {
 public:
  // The function at `devfn` on pcie.0; BARs mapped at `mmio_base` (BAR 4) and mmio_base + 1 MiB
  // (BAR 1, MSI-X), memory decoding and bus mastering on.
  VirtioPciDriver(QTestMachine& m, GuestAlloc& alloc, int devfn, uint64_t mmio_base = 0xe0000000,
                  int bus = 0);

  PciFunction& pci() { return pci_; }
  bool found() const { return common_ != 0; }
  uint64_t common() const { return common_; }
  uint64_t isr() const { return isr_; }
  uint64_t device_cfg() const { return device_; }
  uint64_t notify_base() const { return notify_; }
  uint32_t notify_multiplier() const { return notify_mult_; }
  uint64_t msix_table() const { return msix_table_; }

  // Common configuration.
  uint64_t device_features();
  uint8_t status();
  void set_status(uint8_t s);
  void reset() { set_status(0); }
  // ACKNOWLEDGE | DRIVER, the features, FEATURES_OK; true if the device kept FEATURES_OK.
  bool negotiate(uint64_t features);
  uint16_t num_queues();
  // Selects queue `index`, sets its size (0: the device's maximum), lays out and programs the
  // rings, the MSI-X vector, and enables it.
  VirtioQueue setup_queue(uint16_t index, uint16_t size = 0, uint16_t vector = 0xffff);
  // As setup_queue, with ring addresses of the caller's choosing.
  void setup_queue_at(uint16_t index, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
                      uint16_t vector = 0xffff);
  void driver_ok();
  void set_config_vector(uint16_t v);
  uint16_t config_vector();

  // Rings: a chain of buffers (direct, or through an indirect table), published.
  uint16_t add_chain(VirtioQueue& q, const std::vector<VirtioBuf>& bufs, bool indirect = false);
  void write_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                  uint16_t next);
  // Puts `head` in the avail ring and advances avail->idx by one.
  void publish(VirtioQueue& q, uint16_t head);
  void set_avail_idx(VirtioQueue& q, uint16_t idx);
  void kick(VirtioQueue& q);
  uint16_t used_idx(const VirtioQueue& q);
  // Waits (host time) for the next used element; {id, len}.
  std::optional<std::pair<uint32_t, uint32_t>> wait_used(VirtioQueue& q, int timeout_ms = 5000);
  // Waits for the status to show NEEDS_RESET.
  bool wait_needs_reset(int timeout_ms = 5000);

  // MSI-X: entry `vector` sends `data` to `addr` (guest RAM, so the test can read it); enables.
  void set_msix_entry(uint16_t vector, uint64_t addr, uint32_t data, bool masked = false);
  void enable_msix(bool on = true);
  uint8_t read_isr();

 private:
  QTestMachine& m_;
  GuestAlloc& alloc_;
  PciFunction pci_;
  uint64_t common_ = 0, isr_ = 0, device_ = 0, notify_ = 0, msix_table_ = 0;
  uint32_t notify_mult_ = 0;
};

}  // namespace machina::qtest
