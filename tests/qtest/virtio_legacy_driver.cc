// A legacy virtio-pci driver for qtests: see virtio_legacy_driver.h.
#include "qtest/virtio_legacy_driver.h"

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace machina::qtest {

namespace {

// Legacy registers (virtio 1.x, 4.1.4.8).
constexpr uint16_t kHostFeatures = 0x00, kGuestFeatures = 0x04, kQueuePfn = 0x08, kQueueNum = 0x0c,
                   kQueueSel = 0x0e, kQueueNotify = 0x10, kStatus = 0x12, kIsr = 0x13;

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

}  // namespace

VirtioLegacyDriver::VirtioLegacyDriver(QTestMachine& m, GuestAlloc& alloc, int devfn,
                                       uint16_t io_base, int bus)
    : m_(m), alloc_(alloc), pci_(m, devfn, bus), io_(io_base) {
  if (pci_.read(0, 2) != 0x1af4) return;
  if (!(pci_.read(0x10, 4) & 1)) return;  // BAR 0 is not an I/O BAR
  pci_.write(0x10, io_base, 4);
  pci_.write(0x04, pci_.read(0x04, 2) | 0x5, 2);  // IO | MASTER
  found_ = true;
}

uint32_t VirtioLegacyDriver::host_features() {
  return m_.inl(uint16_t(io_ + kHostFeatures));
}

uint32_t VirtioLegacyDriver::guest_features() {
  return m_.inl(uint16_t(io_ + kGuestFeatures));
}

void VirtioLegacyDriver::set_guest_features(uint32_t f) {
  m_.outl(uint16_t(io_ + kGuestFeatures), f);
}

uint8_t VirtioLegacyDriver::status() {
  return m_.inb(uint16_t(io_ + kStatus));
}

void VirtioLegacyDriver::set_status(uint8_t s) {
  m_.outb(uint16_t(io_ + kStatus), s);
}

void VirtioLegacyDriver::init(uint32_t features) {
  set_status(0);
  set_status(1);
  set_status(1 | 2);
  set_guest_features(features);
}

uint16_t VirtioLegacyDriver::queue_num(uint16_t index) {
  m_.outw(uint16_t(io_ + kQueueSel), index);
  return m_.inw(uint16_t(io_ + kQueueNum));
}

uint32_t VirtioLegacyDriver::queue_pfn(uint16_t index) {
  m_.outw(uint16_t(io_ + kQueueSel), index);
  return m_.inl(uint16_t(io_ + kQueuePfn));
}

void VirtioLegacyDriver::set_queue_pfn(uint16_t index, uint32_t pfn) {
  m_.outw(uint16_t(io_ + kQueueSel), index);
  m_.outl(uint16_t(io_ + kQueuePfn), pfn);
}

VirtioQueue VirtioLegacyDriver::setup_queue(uint16_t index) {
  VirtioQueue q;
  q.index = index;
  q.size = queue_num(index);
  // 2.7.2 legacy layout: descriptors, available ring, then the used ring 4096-aligned.
  uint64_t avail_end = 16u * q.size + 6u + 2u * q.size;
  uint64_t used_off = (avail_end + 4095) & ~uint64_t{4095};
  uint64_t total = used_off + 6u + 8u * q.size;
  q.desc = alloc_.alloc(total, 4096);
  q.avail = q.desc + 16u * q.size;
  q.used = q.desc + used_off;
  m_.qtest("memset " + hex(q.desc) + " " + std::to_string(total) + " 0");
  set_queue_pfn(index, uint32_t(q.desc >> 12));
  return q;
}

uint8_t VirtioLegacyDriver::read_isr() {
  return m_.inb(uint16_t(io_ + kIsr));
}

uint16_t VirtioLegacyDriver::add_chain(VirtioQueue& q, const std::vector<VirtioBuf>& bufs) {
  uint16_t head = q.next_desc;
  for (size_t i = 0; i < bufs.size(); ++i) {
    uint16_t d = q.next_desc;
    uint16_t next = uint16_t((d + 1) % q.size);
    bool last = i + 1 == bufs.size();
    uint64_t a = q.desc + 16u * d;
    m_.writeq(a, bufs[i].addr);
    m_.writel(a + 8, bufs[i].len);
    m_.writew(a + 12, uint16_t((bufs[i].device_writes ? 2 : 0) | (last ? 0 : 1)));
    m_.writew(a + 14, next);
    q.next_desc = next;
  }
  m_.writew(q.avail + 4 + 2u * (q.avail_idx % q.size), head);
  q.avail_idx = uint16_t(q.avail_idx + 1);
  m_.writew(q.avail + 2, q.avail_idx);
  return head;
}

void VirtioLegacyDriver::kick(const VirtioQueue& q) {
  m_.outw(uint16_t(io_ + kQueueNotify), q.index);
}

std::optional<std::pair<uint32_t, uint32_t>> VirtioLegacyDriver::wait_used(VirtioQueue& q,
                                                                           int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (m_.readw(q.used + 2) == q.used_seen) {
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  uint64_t e = q.used + 4 + 8u * (q.used_seen % q.size);
  ++q.used_seen;
  return std::pair{m_.readl(e), m_.readl(e + 4)};
}

bool VirtioLegacyDriver::wait_needs_reset(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!(status() & 0x40)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace machina::qtest
