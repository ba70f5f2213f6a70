#include "system/address_space.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "qom/object.h"
#include "system/dirty_log.h"
#include "system/memory_access.h"
#include "system/memory_internal.h"
#include "system/ram-writes.h"
#include "system/ram_dirty.h"

namespace machina {

namespace {

std::vector<MemoryRegionSection> sections_of(const FlatView* v) {
  std::vector<MemoryRegionSection> out;
  if (!v) return out;
  for (const FlatRange& r : v->ranges()) {
    if (!r.host) continue;
    out.push_back(
        MemoryRegionSection{r.mr, r.offset_in_region, r.start, r.size(), r.host, r.readonly});
  }
  return out;
}

bool contains_section(const std::vector<MemoryRegionSection>& v, const MemoryRegionSection& s) {
  auto it = std::lower_bound(v.begin(), v.end(), s, [](const auto& a, const auto& b) {
    return a.offset_within_address_space < b.offset_within_address_space;
  });
  return it != v.end() && *it == s;
}

void store_le(uint8_t* p, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t load_le(const uint8_t* p, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

// Marks `len` bytes at `off` in the RAM range `r` dirty while logging is on.
void mark_dirty(const FlatRange& r, uint64_t off, uint64_t len) {
  if (memory_global_dirty_log_active() && r.mr->ram_dirty())
    ram_dirty_set(*r.mr->ram_dirty(), r.offset_in_region + off, len);
}

// Bytes from `addr` to the end of `r` if fewer than `len`, else `len`.
uint64_t clamp_to_range(const FlatRange& r, uint64_t addr, uint64_t len) {
  uint64_t avail_minus_1 = r.last - addr;
  return len - 1 > avail_minus_1 ? avail_minus_1 + 1 : len;
}

// Unassigned bytes from `addr`: up to the next range, or all of `len`.
uint64_t unassigned_len(const FlatView* v, uint64_t addr, uint64_t len) {
  const FlatRange* n = v ? v->next_after(addr) : nullptr;
  return n ? std::min(len, n->start - addr) : len;
}

// QEMU's flatview_read_continue / flatview_write_continue: walks the ranges, copying RAM and
// splitting I/O into valid access sizes.
template <bool kWrite>
MemTxResult access_buf(const FlatView* v, uint64_t addr, uint8_t* buf, uint64_t len) {
  MemTxResult res = MemTxResult::Ok;
  while (len) {
    const FlatRange* r = v ? v->lookup(addr) : nullptr;
    uint64_t l;
    if (!r) {
      l = unassigned_len(v, addr, len);
      if (!kWrite) std::memset(buf, 0xff, l);
      res |= MemTxResult::DecodeError;
    } else {
      l = clamp_to_range(*r, addr, len);
      uint64_t off = addr - r->start;
      if (r->host) {
        if (!kWrite) {
          std::memcpy(buf, r->host + off, l);
        } else if (!r->readonly) {
          note_ram_write();
          std::memcpy(r->host + off, buf, l);
          mark_dirty(*r, off, l);
        }  // writes to ROM are ignored
      } else {
        uint64_t region_off = r->offset_in_region + off;
        unsigned a = io_access_size(r->mr->ops(), l, region_off);
        if (kWrite) {
          uint64_t val = load_le(buf, a);
          if (!v->signal_ioeventfd(addr, a, val))
            res |= io_region_write(*r->mr, region_off, a, val);
        } else {
          uint64_t val = 0;
          res |= io_region_read(*r->mr, region_off, a, &val);
          store_le(buf, val, a);
        }
        l = a;
      }
    }
    buf += l;
    len -= l;
    if (len && addr + l == 0) {  // ran off the end of the 2^64 space
      if (!kWrite) std::memset(buf, 0xff, len);
      return res | MemTxResult::DecodeError;
    }
    addr += l;
  }
  return res;
}

// The ioeventfds of `a` missing from `b` (both sorted as FlatView keeps them).
std::vector<FlatIoeventfd> eventfds_minus(const FlatView* a, const FlatView* b) {
  std::vector<FlatIoeventfd> out;
  if (!a) return out;
  for (const FlatIoeventfd& e : a->ioeventfds()) {
    bool found = false;
    if (b) {
      for (const FlatIoeventfd& f : b->ioeventfds()) {
        if (f == e) {
          found = true;
          break;
        }
      }
    }
    if (!found) out.push_back(e);
  }
  return out;
}

bool valid_size(unsigned size) {
  return size == 1 || size == 2 || size == 4 || size == 8;
}

}  // namespace

AddressSpace::AddressSpace(MemoryRegion* root, std::string name)
    : root_(root), name_(std::move(name)) {
  if (root_ && root_->owner()) root_->owner()->ref();
  MemoryTransaction t;
  memory_register_address_space(this);
  publish(FlatView::render(root_));
}

AddressSpace::~AddressSpace() {
  {
    MemoryTransaction t;
    memory_unregister_address_space(this);
    auto old = sections_of(view());
    auto old_eventfds = eventfds_minus(view(), nullptr);
    for (auto it = listeners_.rbegin(); it != listeners_.rend(); ++it) {
      for (const auto& s : old) {
        if ((*it)->region_del) (*it)->region_del(s);
      }
      for (const auto& e : old_eventfds) {
        if ((*it)->eventfd_del) (*it)->eventfd_del(e);
      }
    }
    listeners_.clear();
    if (const FlatView* v = view_.exchange(nullptr, std::memory_order_seq_cst)) {
      epoch_retire([v] { delete v; });
    }
  }
  if (root_ && root_->owner()) root_->owner()->unref();
}

void AddressSpace::update_topology() {
  auto next = FlatView::render(root_);
  const FlatView* cur = view();
  if (cur && cur->same_ranges(*next)) return;
  publish(std::move(next));
}

void AddressSpace::publish(std::unique_ptr<FlatView> next) {
  note_ram_write();  // RAM may now be somewhere else
  const FlatView* old = view_.exchange(next.release(), std::memory_order_seq_cst);
  if (!listeners_.empty()) {
    auto before = sections_of(old);
    auto after = sections_of(view());
    for (MemoryListener* l : listeners_) {
      if (l->begin) l->begin();
    }
    auto gone = eventfds_minus(old, view());
    auto came = eventfds_minus(view(), old);
    for (auto it = listeners_.rbegin(); it != listeners_.rend(); ++it) {
      for (const auto& s : before) {
        if (!contains_section(after, s) && (*it)->region_del) (*it)->region_del(s);
      }
      for (const auto& e : gone) {
        if ((*it)->eventfd_del) (*it)->eventfd_del(e);
      }
    }
    for (MemoryListener* l : listeners_) {
      for (const auto& s : after) {
        if (!contains_section(before, s) && l->region_add) l->region_add(s);
      }
      for (const auto& e : came) {
        if (l->eventfd_add) l->eventfd_add(e);
      }
    }
    for (MemoryListener* l : listeners_) {
      if (l->commit) l->commit();
    }
  }
  if (old) epoch_retire([old] { delete old; });
}

void AddressSpace::add_listener(MemoryListener* listener) {
  MemoryTransaction t;
  auto it = std::upper_bound(
      listeners_.begin(), listeners_.end(), listener,
      [](const MemoryListener* a, const MemoryListener* b) { return a->priority < b->priority; });
  listeners_.insert(it, listener);
  if (listener->begin) listener->begin();
  if (listener->region_add) {
    for (const auto& s : sections_of(view())) listener->region_add(s);
  }
  if (listener->eventfd_add) {
    for (const auto& e : eventfds_minus(view(), nullptr)) listener->eventfd_add(e);
  }
  if (listener->commit) listener->commit();
  if (memory_global_dirty_log_active() && listener->log_global_start) listener->log_global_start();
}

void AddressSpace::log_global_change(bool start) {
  for (MemoryListener* l : listeners_) {
    auto& fn = start ? l->log_global_start : l->log_global_stop;
    if (fn) fn();
  }
}

void AddressSpace::log_sync() {
  auto sections = sections_of(view());
  for (MemoryListener* l : listeners_) {
    if (!l->log_sync) continue;
    for (const auto& s : sections) l->log_sync(s);
  }
}

void AddressSpace::remove_listener(MemoryListener* listener) {
  MemoryTransaction t;
  auto it = std::find(listeners_.begin(), listeners_.end(), listener);
  if (it == listeners_.end()) return;
  listeners_.erase(it);
  if (listener->begin) listener->begin();
  if (listener->region_del) {
    for (const auto& s : sections_of(view())) listener->region_del(s);
  }
  if (listener->eventfd_del) {
    for (const auto& e : eventfds_minus(view(), nullptr)) listener->eventfd_del(e);
  }
  if (listener->commit) listener->commit();
}

std::vector<MemoryRegionSection> AddressSpace::ram_sections() const {
  EpochGuard g;
  return sections_of(view());
}

MemTxResult AddressSpace::read(uint64_t addr, unsigned size, uint64_t* value) const {
  if (!valid_size(size)) {
    *value = ~uint64_t{0};
    return MemTxResult::DecodeError;
  }
  EpochGuard g;
  const FlatView* v = view();
  const FlatRange* r = v ? v->lookup(addr) : nullptr;
  if (!r) {
    *value = size_mask(size);
    return MemTxResult::DecodeError;
  }
  uint64_t off = addr - r->start;
  if (size - 1 > r->last - addr) {  // crosses into another range: split
    uint8_t buf[8];
    MemTxResult res = access_buf<false>(v, addr, buf, size);
    *value = load_le(buf, size);
    return res;
  }
  if (r->host) {
    uint64_t x = 0;
    std::memcpy(&x, r->host + off, size);  // little-endian host
    *value = x;
    return MemTxResult::Ok;
  }
  return io_region_read(*r->mr, r->offset_in_region + off, size, value);
}

MemTxResult AddressSpace::write(uint64_t addr, unsigned size, uint64_t value) const {
  if (!valid_size(size)) return MemTxResult::DecodeError;
  EpochGuard g;
  const FlatView* v = view();
  const FlatRange* r = v ? v->lookup(addr) : nullptr;
  if (!r) return MemTxResult::DecodeError;
  uint64_t off = addr - r->start;
  if (size - 1 > r->last - addr) {
    uint8_t buf[8];
    store_le(buf, value, size);
    return access_buf<true>(v, addr, buf, size);
  }
  if (r->host) {
    if (!r->readonly) {
      note_ram_write();
      std::memcpy(r->host + off, &value, size);
      mark_dirty(*r, off, size);
    }
    return MemTxResult::Ok;
  }
  if (!v->ioeventfds().empty() && v->signal_ioeventfd(addr, size, value)) return MemTxResult::Ok;
  return io_region_write(*r->mr, r->offset_in_region + off, size, value);
}

MemTxResult AddressSpace::read_buf(uint64_t addr, void* buf, size_t len) const {
  EpochGuard g;
  return access_buf<false>(view(), addr, static_cast<uint8_t*>(buf), len);
}

MemTxResult AddressSpace::write_buf(uint64_t addr, const void* buf, size_t len) const {
  EpochGuard g;
  // access_buf<true> only reads from the buffer.
  return access_buf<true>(view(), addr, const_cast<uint8_t*>(static_cast<const uint8_t*>(buf)),
                          len);
}

MemoryTranslation AddressSpace::translate(uint64_t addr, bool is_write) const {
  MemoryTranslation t;
  const FlatRange* r = lookup(addr);
  if (!r) return t;
  uint64_t off = addr - r->start;
  t.mr = r->mr;
  t.offset_in_region = r->offset_in_region + off;
  t.readonly = r->readonly;
  if (r->host && !(is_write && r->readonly)) {
    if (is_write) note_ram_write();
    t.host = r->host + off;
    t.len = r->last - addr + 1;
    if (t.len == 0) t.len = UINT64_MAX;  // a range covering the whole space
  }
  return t;
}

namespace {

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

// Checks that [addr, addr + len) is all (writable) RAM, then copies range by range.
template <bool kWrite>
Status dma_access(const AddressSpace& as, uint64_t addr, uint8_t* buf, size_t len) {
  if (len == 0) return Status::Ok();
  auto fail = [&](const std::string& why) {
    return generic_error(std::string("DMA ") + (kWrite ? "write" : "read") + " of " +
                         std::to_string(len) + " bytes at " + hex(addr) + " failed: " + why);
  };
  if (len - 1 > UINT64_MAX - addr) return fail("the range wraps around the address space");
  EpochGuard g;
  const FlatView* v = as.view();
  uint64_t a = addr, remaining = len;
  for (;;) {
    const FlatRange* r = v ? v->lookup(a) : nullptr;
    if (!r || !r->host) return fail(hex(a) + " is not guest RAM");
    if (kWrite && r->readonly) return fail(hex(a) + " is read-only memory");
    uint64_t l = clamp_to_range(*r, a, remaining);
    remaining -= l;
    if (!remaining) break;
    a += l;
  }
  a = addr;
  remaining = len;
  while (remaining) {
    const FlatRange* r = v->lookup(a);
    uint64_t l = clamp_to_range(*r, a, remaining);
    uint8_t* host = r->host + (a - r->start);
    if (kWrite) {
      note_ram_write();
      std::memcpy(host, buf, l);
      mark_dirty(*r, a - r->start, l);
    } else {
      std::memcpy(buf, host, l);
    }
    buf += l;
    remaining -= l;
    a += l;
  }
  return Status::Ok();
}

}  // namespace

Status dma_read(const AddressSpace& as, uint64_t addr, void* buf, size_t len) {
  return dma_access<false>(as, addr, static_cast<uint8_t*>(buf), len);
}

Status dma_write(const AddressSpace& as, uint64_t addr, const void* buf, size_t len) {
  return dma_access<true>(as, addr, const_cast<uint8_t*>(static_cast<const uint8_t*>(buf)), len);
}

MemoryRegion* get_system_memory() {
  static MemoryRegion* mr = [] {
    auto* m = new MemoryRegion;
    m->init_container(nullptr, "system", UINT64_MAX);
    return m;
  }();
  return mr;
}

MemoryRegion* get_system_io() {
  static MemoryRegion* mr = [] {
    auto* m = new MemoryRegion;
    m->init_container(nullptr, "io", 65536);
    return m;
  }();
  return mr;
}

AddressSpace& address_space_memory() {
  static AddressSpace* as = new AddressSpace(get_system_memory(), "memory");
  return *as;
}

AddressSpace& address_space_io() {
  static AddressSpace* as = new AddressSpace(get_system_io(), "I/O");
  return *as;
}

}  // namespace machina
