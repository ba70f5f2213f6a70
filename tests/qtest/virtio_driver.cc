// A virtio-pci driver for qtests: see virtio_driver.h.
#include "qtest/virtio_driver.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace machina::qtest {

namespace {

constexpr uint8_t kCapVendor = 0x09;
constexpr uint8_t kCapMsix = 0x11;

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

}  // namespace

void mem_write(QTestMachine& m, uint64_t addr, const std::vector<uint8_t>& bytes) {
  if (bytes.empty()) return;
  std::string data = "0x";
  char b[4];
  for (uint8_t c : bytes) {
    std::snprintf(b, sizeof b, "%02x", c);
    data += b;
  }
  EXPECT_EQ(m.qtest("write " + hex(addr) + " " + std::to_string(bytes.size()) + " " + data), "OK");
}

std::vector<uint8_t> mem_read(QTestMachine& m, uint64_t addr, size_t len) {
  std::string r = m.qtest("read " + hex(addr) + " " + std::to_string(len));
  std::vector<uint8_t> out;
  if (r.rfind("OK 0x", 0) != 0) {
    ADD_FAILURE() << "read: " << r;
    return out;
  }
  for (size_t i = 5; i + 1 < r.size(); i += 2) {
    out.push_back(uint8_t(std::stoul(r.substr(i, 2), nullptr, 16)));
  }
  return out;
}

uint32_t PciFunction::read(unsigned off, unsigned size) {
  m_.outl(0xcf8, address(off));
  uint16_t port = uint16_t(0xcfc + (off & 3));
  return size == 1 ? m_.inb(port) : size == 2 ? m_.inw(port) : m_.inl(port);
}

void PciFunction::write(unsigned off, uint32_t v, unsigned size) {
  m_.outl(0xcf8, address(off));
  uint16_t port = uint16_t(0xcfc + (off & 3));
  if (size == 1) {
    m_.outb(port, uint8_t(v));
  } else if (size == 2) {
    m_.outw(port, uint16_t(v));
  } else {
    m_.outl(port, v);
  }
}

std::vector<uint8_t> PciFunction::capabilities(uint8_t cap_id) {
  std::vector<uint8_t> out;
  if (!(read(0x06, 2) & 0x10)) return out;
  uint8_t next = uint8_t(read(0x34, 1));
  for (int guard = 0; next && guard < 48; ++guard) {
    if (read(next, 1) == cap_id) out.push_back(next);
    next = uint8_t(read(next + 1u, 1));
  }
  return out;
}

uint64_t PciFunction::bar_size(int n) {
  unsigned off = 0x10 + 4 * unsigned(n);
  uint32_t old = read(off, 4);
  write(off, 0xffffffff, 4);
  uint32_t lo = read(off, 4);
  write(off, old, 4);
  if (!lo) return 0;
  bool is64 = !(lo & 1) && (lo & 6) == 4;
  uint64_t mask = lo & (lo & 1 ? ~3u : ~15u);
  if (is64) {
    uint32_t old_hi = read(off + 4, 4);
    write(off + 4, 0xffffffff, 4);
    mask |= uint64_t(read(off + 4, 4)) << 32;
    write(off + 4, old_hi, 4);
  } else {
    mask |= 0xffffffff00000000ull;
  }
  return ~mask + 1;
}

VirtioPciDriver::VirtioPciDriver(QTestMachine& m, GuestAlloc& alloc, int devfn, uint64_t mmio_base,
                                 int bus)
    : m_(m), alloc_(alloc), pci_(m, devfn, bus) {
  if (pci_.read(0, 2) != 0x1af4) return;
  pci_.write(0x10 + 4 * 4, uint32_t(mmio_base), 4);
  pci_.write(0x10 + 4 * 5, uint32_t(mmio_base >> 32), 4);
  uint64_t msix_base = mmio_base + 0x100000;
  pci_.write(0x10 + 4 * 1, uint32_t(msix_base), 4);
  pci_.write(0x04, 0x6, 2);  // MEMORY | MASTER
  for (uint8_t c : pci_.capabilities(kCapVendor)) {
    uint8_t type = uint8_t(pci_.read(c + 3u, 1));
    uint8_t bar = uint8_t(pci_.read(c + 4u, 1));
    uint32_t offset = pci_.read(c + 8u, 4);
    uint64_t base = bar == 4 ? mmio_base : bar == 1 ? msix_base : 0;
    if (!base) continue;
    switch (type) {
      case 1:
        common_ = base + offset;
        break;
      case 2:
        notify_ = base + offset;
        notify_mult_ = pci_.read(c + 16u, 4);
        break;
      case 3:
        isr_ = base + offset;
        break;
      case 4:
        device_ = base + offset;
        break;
      default:
        break;
    }
  }
  for (uint8_t c : pci_.capabilities(kCapMsix)) {
    uint32_t table = pci_.read(c + 4u, 4);
    if ((table & 7) == 1) msix_table_ = msix_base + (table & ~7u);
  }
}

uint64_t VirtioPciDriver::device_features() {
  m_.writel(common_ + 0x00, 0);
  uint64_t lo = m_.readl(common_ + 0x04);
  m_.writel(common_ + 0x00, 1);
  return lo | uint64_t(m_.readl(common_ + 0x04)) << 32;
}

uint8_t VirtioPciDriver::status() {
  return m_.readb(common_ + 0x14);
}

void VirtioPciDriver::set_status(uint8_t s) {
  m_.writeb(common_ + 0x14, s);
}

bool VirtioPciDriver::negotiate(uint64_t features) {
  set_status(0);
  set_status(1);
  set_status(1 | 2);
  m_.writel(common_ + 0x08, 0);
  m_.writel(common_ + 0x0c, uint32_t(features));
  m_.writel(common_ + 0x08, 1);
  m_.writel(common_ + 0x0c, uint32_t(features >> 32));
  set_status(1 | 2 | 8);
  return status() & 8;
}

uint16_t VirtioPciDriver::num_queues() {
  return m_.readw(common_ + 0x12);
}

VirtioQueue VirtioPciDriver::setup_queue(uint16_t index, uint16_t size, uint16_t vector) {
  VirtioQueue q;
  q.index = index;
  m_.writew(common_ + 0x16, index);
  if (size) m_.writew(common_ + 0x18, size);
  q.size = m_.readw(common_ + 0x18);
  q.desc = alloc_.alloc(16u * q.size, 16);
  q.avail = alloc_.alloc(6u + 2u * q.size, 2);
  q.used = alloc_.alloc(6u + 8u * q.size, 4);
  m_.qtest("memset " + hex(q.desc) + " " + std::to_string(16u * q.size) + " 0");
  m_.qtest("memset " + hex(q.avail) + " " + std::to_string(6u + 2u * q.size) + " 0");
  m_.qtest("memset " + hex(q.used) + " " + std::to_string(6u + 8u * q.size) + " 0");
  m_.writeq(common_ + 0x20, q.desc);
  m_.writel(common_ + 0x28, uint32_t(q.avail));
  m_.writel(common_ + 0x2c, uint32_t(q.avail >> 32));
  m_.writel(common_ + 0x30, uint32_t(q.used));
  m_.writel(common_ + 0x34, uint32_t(q.used >> 32));
  m_.writew(common_ + 0x1a, vector);
  m_.writew(common_ + 0x1c, 1);
  return q;
}

void VirtioPciDriver::setup_queue_at(uint16_t index, uint16_t size, uint64_t desc, uint64_t avail,
                                     uint64_t used, uint16_t vector) {
  m_.writew(common_ + 0x16, index);
  m_.writew(common_ + 0x18, size);
  m_.writeq(common_ + 0x20, desc);
  m_.writeq(common_ + 0x28, avail);
  m_.writeq(common_ + 0x30, used);
  m_.writew(common_ + 0x1a, vector);
  m_.writew(common_ + 0x1c, 1);
}

void VirtioPciDriver::driver_ok() {
  set_status(status() | 4);
}

void VirtioPciDriver::set_config_vector(uint16_t v) {
  m_.writew(common_ + 0x10, v);
}

uint16_t VirtioPciDriver::config_vector() {
  return m_.readw(common_ + 0x10);
}

void VirtioPciDriver::write_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
                                 uint16_t flags, uint16_t next) {
  uint64_t d = table + 16u * i;
  m_.writeq(d, addr);
  m_.writel(d + 8, len);
  m_.writew(d + 12, flags);
  m_.writew(d + 14, next);
}

uint16_t VirtioPciDriver::add_chain(VirtioQueue& q, const std::vector<VirtioBuf>& bufs,
                                    bool indirect) {
  uint16_t head = q.next_desc;
  if (indirect) {
    uint64_t table = alloc_.alloc(16u * bufs.size(), 16);
    for (size_t i = 0; i < bufs.size(); ++i) {
      bool last = i + 1 == bufs.size();
      write_desc(table, uint16_t(i), bufs[i].addr, bufs[i].len,
                 uint16_t((bufs[i].device_writes ? 2 : 0) | (last ? 0 : 1)), uint16_t(i + 1));
    }
    write_desc(q.desc, head, table, uint32_t(16u * bufs.size()), 4, 0);
    q.next_desc = uint16_t((head + 1) % q.size);
  } else {
    for (size_t i = 0; i < bufs.size(); ++i) {
      uint16_t d = q.next_desc;
      uint16_t next = uint16_t((d + 1) % q.size);
      bool last = i + 1 == bufs.size();
      write_desc(q.desc, d, bufs[i].addr, bufs[i].len,
                 uint16_t((bufs[i].device_writes ? 2 : 0) | (last ? 0 : 1)), next);
      q.next_desc = next;
    }
  }
  publish(q, head);
  return head;
}

void VirtioPciDriver::publish(VirtioQueue& q, uint16_t head) {
  m_.writew(q.avail + 4 + 2u * (q.avail_idx % q.size), head);
  set_avail_idx(q, uint16_t(q.avail_idx + 1));
}

void VirtioPciDriver::set_avail_idx(VirtioQueue& q, uint16_t idx) {
  q.avail_idx = idx;
  m_.writew(q.avail + 2, idx);
}

void VirtioPciDriver::kick(VirtioQueue& q) {
  m_.writew(notify_ + uint64_t(q.index) * notify_mult_, q.index);
}

uint16_t VirtioPciDriver::used_idx(const VirtioQueue& q) {
  return m_.readw(q.used + 2);
}

std::optional<std::pair<uint32_t, uint32_t>> VirtioPciDriver::wait_used(VirtioQueue& q,
                                                                        int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (used_idx(q) == q.used_seen) {
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  uint64_t e = q.used + 4 + 8u * (q.used_seen % q.size);
  ++q.used_seen;
  return std::pair{m_.readl(e), m_.readl(e + 4)};
}

bool VirtioPciDriver::wait_needs_reset(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!(status() & 0x40)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

void VirtioPciDriver::set_msix_entry(uint16_t vector, uint64_t addr, uint32_t data, bool masked) {
  uint64_t e = msix_table_ + 16u * vector;
  m_.writel(e, uint32_t(addr));
  m_.writel(e + 4, uint32_t(addr >> 32));
  m_.writel(e + 8, data);
  m_.writel(e + 12, masked ? 1 : 0);
}

void VirtioPciDriver::enable_msix(bool on) {
  auto caps = pci_.capabilities(kCapMsix);
  if (caps.empty()) return;
  uint16_t ctl = uint16_t(pci_.read(caps[0] + 2u, 2));
  pci_.write(caps[0] + 2u, on ? (ctl | 0x8000) : (ctl & ~0x8000), 2);
}

uint8_t VirtioPciDriver::read_isr() {
  return m_.readb(isr_);
}

}  // namespace machina::qtest
