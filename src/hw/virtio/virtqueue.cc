// A split virtqueue: see virtqueue.h.
#include "hw/virtio/virtqueue.h"

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "hw/virtio/virtio-regs.h"
#include "system/address_space.h"
#include "system/dirty_log.h"
#include "system/memory_epoch.h"

namespace machina {

namespace {

std::string fmt(const char* f, unsigned a, unsigned b = 0) {
  char buf[128];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

uint16_t load16(const uint8_t* p) {
  return __atomic_load_n(reinterpret_cast<const uint16_t*>(p), __ATOMIC_RELAXED);
}
void store16(uint8_t* p, uint16_t v) {
  __atomic_store_n(reinterpret_cast<uint16_t*>(p), v, __ATOMIC_RELAXED);
  ram_mark_dirty_host(p, 2);
}

// The first `len` bytes of the element's device-writable buffers were written (QEMU marks them
// when it unmaps them).
void mark_written(const VirtQueueElement& elem, uint32_t len) {
  for (const iovec& v : elem.in_sg) {
    if (len == 0) break;
    size_t n = std::min<size_t>(len, v.iov_len);
    ram_mark_dirty_host(v.iov_base, n);
    len -= static_cast<uint32_t>(n);
  }
}

// need_event of the specification (2.7.10): whether `event` lies in (old, new].
bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx) {
  return uint16_t(new_idx - event - 1) < uint16_t(new_idx - old_idx);
}

}  // namespace

uint8_t* virtio_guest_ram(uint64_t gpa, uint64_t len, bool is_write) {
  if (len == 0 || gpa + len < gpa) return nullptr;
  EpochGuard guard;
  MemoryTranslation t = address_space_memory().translate(gpa, is_write);
  if (!t.host || t.len < len) return nullptr;
  return t.host;
}

size_t VirtQueueElement::out_bytes() const {
  size_t n = 0;
  for (const iovec& v : out_sg) n += v.iov_len;
  return n;
}

size_t VirtQueueElement::in_bytes() const {
  size_t n = 0;
  for (const iovec& v : in_sg) n += v.iov_len;
  return n;
}

size_t iov_to_buf(const std::vector<iovec>& iov, size_t offset, void* buf, size_t len) {
  size_t done = 0;
  for (const iovec& v : iov) {
    if (done == len) break;
    if (offset >= v.iov_len) {
      offset -= v.iov_len;
      continue;
    }
    size_t n = std::min(v.iov_len - offset, len - done);
    std::memcpy(static_cast<uint8_t*>(buf) + done, static_cast<uint8_t*>(v.iov_base) + offset, n);
    done += n;
    offset = 0;
  }
  return done;
}

size_t iov_from_buf(const std::vector<iovec>& iov, size_t offset, const void* buf, size_t len) {
  size_t done = 0;
  for (const iovec& v : iov) {
    if (done == len) break;
    if (offset >= v.iov_len) {
      offset -= v.iov_len;
      continue;
    }
    size_t n = std::min(v.iov_len - offset, len - done);
    std::memcpy(static_cast<uint8_t*>(v.iov_base) + offset, static_cast<const uint8_t*>(buf) + done,
                n);
    done += n;
    offset = 0;
  }
  return done;
}

std::vector<iovec> iov_slice(const std::vector<iovec>& iov, size_t offset, size_t len) {
  std::vector<iovec> out;
  for (const iovec& v : iov) {
    if (len == 0) break;
    if (offset >= v.iov_len) {
      offset -= v.iov_len;
      continue;
    }
    size_t n = std::min(v.iov_len - offset, len);
    out.push_back({static_cast<uint8_t*>(v.iov_base) + offset, n});
    len -= n;
    offset = 0;
  }
  return out;
}

VirtQueue::VirtQueue(unsigned index, uint16_t max_size, ErrorFn on_error)
    : index_(index),
      max_size_(max_size),
      on_error_(std::move(on_error)),
      num_(max_size),
      vector_(virtio::kNoVector) {}

void VirtQueue::set_addresses(uint64_t desc, uint64_t avail, uint64_t used) {
  desc_ = desc;
  avail_ = avail;
  used_ = used;
}

void VirtQueue::set_legacy_addresses(uint64_t desc, uint64_t align) {
  uint64_t avail = desc + uint64_t(num_) * virtio::kDescSize;
  uint64_t avail_end = avail + 6 + 2 * uint64_t(num_);  // flags, idx, ring[num], used_event
  set_addresses(desc, avail, (avail_end + align - 1) & ~(align - 1));
}

void VirtQueue::reset() {
  num_ = max_size_;
  desc_ = avail_ = used_ = 0;
  vector_ = virtio::kNoVector;
  enabled_ = broken_ = false;
  notification_ = true;
  desc_host_ = avail_host_ = used_host_ = nullptr;
  last_avail_idx_ = shadow_avail_idx_ = used_idx_ = signalled_used_ = 0;
  signalled_used_valid_ = false;
  inuse_ = 0;
}

bool VirtQueue::fail(const std::string& message) {
  broken_ = true;
  if (on_error_) on_error_(message);
  return false;
}

bool VirtQueue::enable() {
  if (num_ == 0 || num_ > max_size_ || (num_ & (num_ - 1))) {
    return fail(fmt("queue %u: invalid size %u", index_, num_));
  }
  if ((desc_ & 15) || (avail_ & 1) || (used_ & 3)) {
    return fail(fmt("queue %u: misaligned ring address", index_));
  }
  uint64_t desc_len = uint64_t(num_) * virtio::kDescSize;
  uint64_t avail_len = 6 + 2 * uint64_t(num_);
  uint64_t used_len = 6 + uint64_t(num_) * virtio::kUsedElemSize;
  desc_host_ = virtio_guest_ram(desc_, desc_len, false);
  avail_host_ = virtio_guest_ram(avail_, avail_len, false);
  used_host_ = virtio_guest_ram(used_, used_len, true);
  if (!desc_host_ || !avail_host_ || !used_host_) {
    desc_host_ = avail_host_ = used_host_ = nullptr;
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "queue %u: rings not in guest RAM (desc 0x%" PRIx64 ", avail 0x%" PRIx64
                  ", used 0x%" PRIx64 ")",
                  index_, desc_, avail_, used_);
    return fail(buf);
  }
  enabled_ = true;
  return true;
}

uint16_t VirtQueue::avail_idx() {
  shadow_avail_idx_ =
      __atomic_load_n(reinterpret_cast<const uint16_t*>(avail_host_ + 2), __ATOMIC_ACQUIRE);
  return shadow_avail_idx_;
}

uint16_t VirtQueue::avail_flags() const {
  return load16(avail_host_);
}

uint16_t VirtQueue::used_event() const {
  return load16(avail_host_ + 4 + 2 * size_t(num_));
}

VirtQueue::Desc VirtQueue::read_desc(const uint8_t* table, unsigned i) const {
  Desc d;
  const uint8_t* p = table + size_t(i) * virtio::kDescSize;
  std::memcpy(&d.addr, p, 8);
  std::memcpy(&d.len, p + 8, 4);
  std::memcpy(&d.flags, p + 12, 2);
  std::memcpy(&d.next, p + 14, 2);
  return d;
}

bool VirtQueue::empty() {
  if (!ready()) return true;
  if (shadow_avail_idx_ != last_avail_idx_) return false;
  return avail_idx() == last_avail_idx_;
}

bool VirtQueue::map_buffer(const Desc& d, VirtQueueElement& elem) {
  if (d.len == 0) return fail("virtio: zero sized buffers are not allowed");
  bool is_write = d.flags & virtio::kDescFWrite;
  if (!is_write && !elem.in_sg.empty()) return fail("Incorrect order for descriptors");
  if (elem.in_sg.size() + elem.out_sg.size() >= virtio::kQueueMaxSize) {
    return fail("virtio: too many descriptors in one chain");
  }
  // A buffer may span RAM mappings that are contiguous in guest physical space.
  uint64_t addr = d.addr, left = d.len;
  while (left) {
    if (addr + left < addr) return fail("virtio: bogus descriptor or out of resources");
    MemoryTranslation t;
    {
      EpochGuard guard;
      t = address_space_memory().translate(addr, is_write);
    }
    if (!t.host) {
      char buf[120];
      std::snprintf(buf, sizeof buf,
                    "virtio: descriptor buffer 0x%" PRIx64 "+0x%x is not in guest RAM", d.addr,
                    unsigned(d.len));
      return fail(buf);
    }
    uint64_t n = std::min<uint64_t>(left, t.len);
    (is_write ? elem.in_sg : elem.out_sg).push_back({t.host, size_t(n)});
    addr += n;
    left -= n;
  }
  return true;
}

std::optional<VirtQueueElement> VirtQueue::pop() {
  if (!ready()) return std::nullopt;
  if (last_avail_idx_ == shadow_avail_idx_) {
    uint16_t idx = avail_idx();
    if (uint16_t(idx - last_avail_idx_) > num_) {
      fail(fmt("Guest moved avail index from %u to %u", last_avail_idx_, idx));
      return std::nullopt;
    }
    if (idx == last_avail_idx_) return std::nullopt;
  }
  uint16_t head = load16(avail_host_ + 4 + 2 * size_t(last_avail_idx_ % num_));
  if (head >= num_) {
    fail(fmt("Guest says index %u is available", head));
    return std::nullopt;
  }
  VirtQueueElement elem;
  elem.index = head;
  const uint8_t* table = desc_host_;
  unsigned max = num_;
  unsigned i = head;
  Desc d = read_desc(table, i);
  if (d.flags & virtio::kDescFIndirect) {
    if (!indirect_) {
      fail("Indirect descriptor but VIRTIO_RING_F_INDIRECT_DESC was not negotiated");
      return std::nullopt;
    }
    if (d.flags & virtio::kDescFNext) {
      fail("Indirect descriptor with VIRTQ_DESC_F_NEXT");
      return std::nullopt;
    }
    if (d.len == 0 || d.len % virtio::kDescSize ||
        d.len / virtio::kDescSize > virtio::kQueueMaxSize) {
      fail("Invalid size for indirect buffer table");
      return std::nullopt;
    }
    table = virtio_guest_ram(d.addr, d.len, false);
    if (!table) {
      fail("Cannot map indirect buffer");
      return std::nullopt;
    }
    max = d.len / virtio::kDescSize;
    i = 0;
    d = read_desc(table, i);
  }
  unsigned visited = 0;
  for (;;) {
    if (d.flags & virtio::kDescFIndirect) {
      fail(table == desc_host_ ? "Indirect descriptor inside a chain"
                               : "Nested indirect descriptor");
      return std::nullopt;
    }
    if (++visited > max) {
      fail("Looped descriptor");
      return std::nullopt;
    }
    if (!map_buffer(d, elem)) return std::nullopt;
    if (!(d.flags & virtio::kDescFNext)) break;
    i = d.next;
    if (i >= max) {
      fail(fmt("Desc next is %u", i));
      return std::nullopt;
    }
    d = read_desc(table, i);
  }
  ++last_avail_idx_;
  ++inuse_;
  if (event_idx_ && notification_) {
    store16(used_host_ + 4 + size_t(num_) * virtio::kUsedElemSize, last_avail_idx_);
  }
  return elem;
}

void VirtQueue::unpop() {
  --last_avail_idx_;
  --inuse_;
}

void VirtQueue::fill(const VirtQueueElement& elem, uint32_t len, unsigned idx) {
  if (!used_host_) return;
  uint8_t* e = used_host_ + 4 + size_t((used_idx_ + idx) % num_) * virtio::kUsedElemSize;
  mark_written(elem, len);
  uint32_t id = elem.index;
  std::memcpy(e, &id, 4);
  std::memcpy(e + 4, &len, 4);
  ram_mark_dirty_host(e, 8);
}

void VirtQueue::flush(unsigned count) {
  if (!used_host_) return;
  uint16_t old = used_idx_;
  uint16_t next = uint16_t(old + count);
  __atomic_store_n(reinterpret_cast<uint16_t*>(used_host_ + 2), next, __ATOMIC_RELEASE);
  ram_mark_dirty_host(used_host_ + 2, 2);
  used_idx_ = next;
  inuse_ -= std::min(inuse_, count);
  if (uint16_t(next - signalled_used_) < uint16_t(next - old)) signalled_used_valid_ = false;
}

void VirtQueue::push(const VirtQueueElement& elem, uint32_t len) {
  fill(elem, len, 0);
  flush(1);
}

bool VirtQueue::should_notify() {
  if (!used_host_) return false;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!event_idx_) return !(avail_flags() & virtio::kAvailFNoInterrupt);
  bool valid = signalled_used_valid_;
  uint16_t old = signalled_used_;
  signalled_used_valid_ = true;
  signalled_used_ = used_idx_;
  return !valid || need_event(used_event(), used_idx_, old);
}

void VirtQueue::set_notification(bool enable) {
  notification_ = enable;
  if (!used_host_) return;
  if (event_idx_) {
    if (enable) {
      store16(used_host_ + 4 + size_t(num_) * virtio::kUsedElemSize, avail_idx());
    }
  } else {
    uint16_t flags = load16(used_host_);
    store16(used_host_, enable ? uint16_t(flags & ~virtio::kUsedFNoNotify)
                               : uint16_t(flags | virtio::kUsedFNoNotify));
  }
  if (enable) std::atomic_thread_fence(std::memory_order_seq_cst);
}

}  // namespace machina
