// Dirty-page logging (QEMU's global dirty tracking, prepared for migration and `calc-dirty-rate`):
// every RAM region keeps a bitmap with one bit per 4 KiB page of the region. While logging is on,
// whoever writes guest RAM marks the pages it wrote:
//  - machina's own writes through the memory API (AddressSpace::write/write_buf, dma_write);
//  - code holding host pointers into guest RAM (virtqueue buffers and rings) marks what it wrote
//    with ram_mark_dirty_host() once written;
//  - the software CPU: a TLB entry lets stores into a RAM page bypass it only once the page is
//    marked; clearing bits drops those entries on every CPU (DirtyTlbClient), so the next store
//    takes the slow path and marks the page again;
//  - an accelerator that tracks the guest's writes itself (KVM's dirty log) copies its log into
//    the bitmap when asked to (memory_global_dirty_log_sync() → MemoryListener::log_sync).
// The bitmap is read and cleared with memory_region_snapshot_and_clear_dirty() or, by guest
// physical address, address_space_dirty_pages_and_clear().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

namespace machina {

class AddressSpace;
class MemoryRegion;

inline constexpr uint64_t kDirtyPageSize = 4096;

// Who asked for logging (QEMU's GLOBAL_DIRTY_* flags): logging is on while any of them is set.
enum GlobalDirtyFlag : unsigned {
  kGlobalDirtyMigration = 1u << 0,
  kGlobalDirtyDirtyRate = 1u << 1,
};

namespace dirty_detail {
inline std::atomic<unsigned> global_dirty_tracking{0};
void mark_host(const void* host, uint64_t len);
}  // namespace dirty_detail

inline bool memory_global_dirty_log_active() {
  return dirty_detail::global_dirty_tracking.load(std::memory_order_relaxed) != 0;
}
inline unsigned memory_global_dirty_tracking() {
  return dirty_detail::global_dirty_tracking.load(std::memory_order_relaxed);
}

// Sets / clears `flags`. When logging goes on, every memory listener's log_global_start runs and
// every CPU drops the TLB entries that let it store without marking; when it goes off,
// log_global_stop. The bitmaps keep their bits (QEMU: the next start does not clear them).
void memory_global_dirty_log_start(unsigned flags = kGlobalDirtyMigration);
void memory_global_dirty_log_stop(unsigned flags = kGlobalDirtyMigration);
// Asks the listeners for the writes they track (log_sync on every RAM section of every address
// space) so that the bitmaps are up to date. Call without the memory topology lock.
void memory_global_dirty_log_sync();

// --- marking (nothing while logging is off)
// `len` bytes at `host`, a pointer into guest RAM (pointers elsewhere are ignored).
inline void ram_mark_dirty_host(const void* host, uint64_t len) {
  if (memory_global_dirty_log_active()) dirty_detail::mark_host(host, len);
}
// `len` bytes at `offset` in a RAM region.
void memory_region_set_dirty(const MemoryRegion& mr, uint64_t offset, uint64_t len);

// --- reading
// Whether any page of [offset, offset + len) of `mr` is marked (without clearing).
bool memory_region_get_dirty(const MemoryRegion& mr, uint64_t offset, uint64_t len);

// The bits of a range of a region, taken and cleared at once (QEMU's DirtyBitmapSnapshot).
struct DirtyBitmapSnapshot {
  uint64_t start = 0;  // region offset of the first page (page-aligned)
  uint64_t pages = 0;
  std::vector<uint64_t> bits;

  bool page_dirty(uint64_t index) const {
    return index < pages && (bits[index / 64] >> (index % 64)) & 1;
  }
  // Whether any page of [offset, offset + len) (region offsets) was dirty.
  bool get_dirty(uint64_t offset, uint64_t len) const;
  // Region offsets of the dirty pages, in order.
  std::vector<uint64_t> dirty_offsets() const;
};
// Takes and clears the bits of the pages [offset, offset + len) of `mr` touches.
DirtyBitmapSnapshot memory_region_snapshot_and_clear_dirty(const MemoryRegion& mr, uint64_t offset,
                                                           uint64_t len);

// By guest physical address: the RAM mapped in [start, start + len) of `as`. The addresses of the
// 4 KiB pages found dirty, in order; their bits are cleared.
std::vector<uint64_t> address_space_dirty_pages_and_clear(const AddressSpace& as, uint64_t start,
                                                          uint64_t len);
// Whether any of them was dirty, clearing them (QEMU's cpu_physical_memory_test_and_clear_dirty).
bool address_space_test_and_clear_dirty(const AddressSpace& as, uint64_t start, uint64_t len);

// --- for the software CPU
// A CPU's TLB: reset() drops every entry that lets stores into host memory [host, host + len)
// bypass the slow path (all of them if `host` is null). It runs inside the exclusive section.
struct DirtyTlbClient {
  std::function<void(const uint8_t* host, uint64_t len)> reset;
};
void dirty_log_add_tlb_client(DirtyTlbClient* client);
void dirty_log_remove_tlb_client(DirtyTlbClient* client);
// How to run a function while no CPU runs guest code (the software CPU's turn). Without one the
// function just runs. The caller of a clearing function must not hold what the CPUs wait for
// while they run (the memory topology lock); the runner drops the big lock while it waits.
void dirty_log_set_exclusive(std::function<void(const std::function<void()>&)> run);

}  // namespace machina
