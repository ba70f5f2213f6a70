// Global dirty-page logging: start/stop/sync through the memory listeners, the CPUs' TLBs, and
// reading the bitmaps by region or by guest physical address (see dirty_log.h).
#include "system/dirty_log.h"

#include <algorithm>
#include <mutex>

#include "system/address_space.h"
#include "system/memory_epoch.h"
#include "system/memory_region.h"
#include "system/ram_dirty.h"

namespace machina {

namespace {

struct TlbClients {
  std::mutex mu;
  std::vector<DirtyTlbClient*> clients;
  std::function<void(const std::function<void()>&)> exclusive;
};

TlbClients& tlbs() {
  static TlbClients* t = new TlbClients;  // CPUs may die during exit
  return *t;
}

// Runs `fn` while no CPU runs guest code.
void run_exclusive(const std::function<void()>& fn) {
  std::function<void(const std::function<void()>&)> ex;
  {
    std::lock_guard l(tlbs().mu);
    ex = tlbs().exclusive;
  }
  if (ex)
    ex(fn);
  else
    fn();
}

// Every CPU drops its fast stores into [host, host + len) (everything if host is null). Call
// inside run_exclusive.
void reset_tlbs(const uint8_t* host, uint64_t len) {
  std::lock_guard l(tlbs().mu);
  for (DirtyTlbClient* c : tlbs().clients) {
    if (c->reset) c->reset(host, len);
  }
}

// Takes and clears a region's bits; the CPUs then store into those pages through the slow path.
// Call inside run_exclusive.
void take_locked(const MemoryRegion& mr, uint64_t offset, uint64_t len, DirtyBitmapSnapshot* s) {
  *s = DirtyBitmapSnapshot{};
  s->start = offset / kDirtyPageSize * kDirtyPageSize;
  RamDirty* d = mr.ram_dirty();
  if (!d) return;
  ram_dirty_take(*d, offset, len, s);
  if (s->pages && mr.host_ptr()) reset_tlbs(mr.host_ptr() + s->start, s->pages * kDirtyPageSize);
}

void change_tracking(unsigned set, unsigned clear) {
  bool was, now;
  {
    MemoryTransaction t;
    unsigned old = dirty_detail::global_dirty_tracking.load(std::memory_order_relaxed);
    unsigned next = (old | set) & ~clear;
    was = old != 0;
    now = next != 0;
    if (was && !now) {
      for (AddressSpace* as : address_spaces()) as->log_global_change(false);
    }
    dirty_detail::global_dirty_tracking.store(next, std::memory_order_seq_cst);
    if (!was && now) {
      for (AddressSpace* as : address_spaces()) as->log_global_change(true);
    }
  }
  // Stores the CPUs' TLBs allowed while logging was off must be seen from now on.
  if (!was && now) run_exclusive([] { reset_tlbs(nullptr, 0); });
}

}  // namespace

void dirty_detail::mark_host(const void* host, uint64_t len) {
  ram_dirty_set_host(host, len);
}

void memory_global_dirty_log_start(unsigned flags) {
  change_tracking(flags, 0);
}

void memory_global_dirty_log_stop(unsigned flags) {
  change_tracking(0, flags);
}

void memory_global_dirty_log_sync() {
  MemoryTransaction t;
  if (!memory_global_dirty_log_active()) return;
  for (AddressSpace* as : address_spaces()) as->log_sync();
}

void memory_region_set_dirty(const MemoryRegion& mr, uint64_t offset, uint64_t len) {
  if (memory_global_dirty_log_active() && mr.ram_dirty())
    ram_dirty_set(*mr.ram_dirty(), offset, len);
}

bool memory_region_get_dirty(const MemoryRegion& mr, uint64_t offset, uint64_t len) {
  return mr.ram_dirty() && ram_dirty_test(*mr.ram_dirty(), offset, len);
}

bool DirtyBitmapSnapshot::get_dirty(uint64_t offset, uint64_t len) const {
  if (len == 0 || offset + len <= start) return false;
  uint64_t first = offset < start ? 0 : (offset - start) / kDirtyPageSize;
  uint64_t last = (offset + len - 1 - start) / kDirtyPageSize;
  for (uint64_t i = first; i <= last && i < pages; ++i) {
    if (page_dirty(i)) return true;
  }
  return false;
}

std::vector<uint64_t> DirtyBitmapSnapshot::dirty_offsets() const {
  std::vector<uint64_t> out;
  for (uint64_t w = 0; w < bits.size(); ++w) {
    for (uint64_t b = bits[w]; b; b &= b - 1) {
      out.push_back(start + (w * 64 + uint64_t(__builtin_ctzll(b))) * kDirtyPageSize);
    }
  }
  return out;
}

DirtyBitmapSnapshot memory_region_snapshot_and_clear_dirty(const MemoryRegion& mr, uint64_t offset,
                                                           uint64_t len) {
  DirtyBitmapSnapshot s;
  run_exclusive([&] { take_locked(mr, offset, len, &s); });
  return s;
}

std::vector<uint64_t> address_space_dirty_pages_and_clear(const AddressSpace& as, uint64_t start,
                                                          uint64_t len) {
  std::vector<uint64_t> pages;
  if (len == 0) return pages;
  uint64_t last = len - 1 > UINT64_MAX - start ? UINT64_MAX : start + len - 1;
  run_exclusive([&] {
    EpochGuard g;
    const FlatView* v = as.view();
    if (!v) return;
    for (const FlatRange& r : v->ranges()) {
      if (!r.host || r.last < start || r.start > last) continue;
      uint64_t a = std::max(r.start, start), b = std::min(r.last, last);
      DirtyBitmapSnapshot s;
      take_locked(*r.mr, r.offset_in_region + (a - r.start), b - a + 1, &s);
      for (uint64_t off : s.dirty_offsets()) {
        // The guest page holding the first byte of that region page which lies in [a, b].
        uint64_t gpa =
            r.start + (std::max(off, r.offset_in_region + (a - r.start)) - r.offset_in_region);
        gpa &= ~(kDirtyPageSize - 1);
        if (pages.empty() || pages.back() != gpa) pages.push_back(gpa);
      }
    }
  });
  return pages;
}

bool address_space_test_and_clear_dirty(const AddressSpace& as, uint64_t start, uint64_t len) {
  return !address_space_dirty_pages_and_clear(as, start, len).empty();
}

void dirty_log_add_tlb_client(DirtyTlbClient* client) {
  std::lock_guard l(tlbs().mu);
  tlbs().clients.push_back(client);
}

void dirty_log_remove_tlb_client(DirtyTlbClient* client) {
  std::lock_guard l(tlbs().mu);
  auto& v = tlbs().clients;
  v.erase(std::remove(v.begin(), v.end(), client), v.end());
}

void dirty_log_set_exclusive(std::function<void(const std::function<void()>&)> run) {
  std::lock_guard l(tlbs().mu);
  tlbs().exclusive = std::move(run);
}

}  // namespace machina
