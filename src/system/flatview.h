// FlatView: the memory map of an address space rendered from its region tree into sorted,
// non-overlapping ranges, each naming the leaf region and the offset in it. A view is immutable
// once built; address spaces publish views atomically and retire old ones through the epoch
// scheme (memory_epoch.h). A view holds a reference on the owner of every region it maps.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "system/memory_region.h"

namespace machina {

struct FlatRange {
  uint64_t start = 0;
  uint64_t last = 0;  // inclusive
  MemoryRegion* mr = nullptr;
  uint64_t offset_in_region = 0;  // of `start`
  uint8_t* host = nullptr;        // RAM/ROM: host address of `start`; nullptr for I/O
  bool readonly = false;

  uint64_t size() const { return last - start + 1; }  // 0 means 2^64
  bool contains(uint64_t addr) const { return addr - start <= last - start; }
  bool same_mapping(const FlatRange& o) const {
    return start == o.start && last == o.last && mr == o.mr &&
           offset_in_region == o.offset_in_region && readonly == o.readonly;
  }
};

// An ioeventfd of a mapped I/O region (MemoryRegionIoeventfd) at its address in the view.
struct FlatIoeventfd {
  uint64_t addr = 0;  // in the address space
  unsigned size = 0;  // 0: any size
  bool match_data = false;
  uint64_t data = 0;
  std::shared_ptr<EventNotifier> notifier;

  bool operator==(const FlatIoeventfd&) const = default;
  // Whether a write of `size` bytes of `value` at `a` is this one's.
  bool matches(uint64_t a, unsigned sz, uint64_t value) const {
    if (a != addr || (size && sz != size)) return false;
    uint64_t mask = sz >= 8 ? ~uint64_t{0} : (uint64_t{1} << (sz * 8)) - 1;
    return !match_data || (value & mask) == data;
  }
};

class FlatView {
 public:
  // Renders `root` (which may be null: an empty view). Call under the memory topology lock.
  static std::unique_ptr<FlatView> render(MemoryRegion* root);
  ~FlatView();
  FlatView(const FlatView&) = delete;
  FlatView& operator=(const FlatView&) = delete;

  // The range containing `addr`, or nullptr. Binary search with a per-thread last-hit cache.
  const FlatRange* lookup(uint64_t addr) const {
    if (cache_view_ == this && cache_index_ < ranges_.size() &&
        ranges_[cache_index_].contains(addr)) {
      return &ranges_[cache_index_];
    }
    return lookup_slow(addr);
  }
  // The first range starting above `addr`, or nullptr.
  const FlatRange* next_after(uint64_t addr) const;

  std::span<const FlatRange> ranges() const { return ranges_; }
  // The ioeventfds of the mapped regions, sorted by address.
  std::span<const FlatIoeventfd> ioeventfds() const { return ioeventfds_; }
  // Signals the ioeventfd a write matches (true), else false: the write goes to the region.
  bool signal_ioeventfd(uint64_t addr, unsigned size, uint64_t value) const;
  MemoryRegion* root() const { return root_; }
  // Same ranges and same ioeventfds.
  bool same_ranges(const FlatView& o) const;

 private:
  FlatView() = default;
  const FlatRange* lookup_slow(uint64_t addr) const;

  MemoryRegion* root_ = nullptr;
  std::vector<uint64_t> starts_;  // ranges_[i].start, for a cache-friendly search
  std::vector<FlatRange> ranges_;
  std::vector<MemoryRegion*> mapped_;  // distinct leaf regions; each holds a view ref
  std::vector<FlatIoeventfd> ioeventfds_;

  static inline thread_local const FlatView* cache_view_ = nullptr;
  static inline thread_local size_t cache_index_ = 0;
};

}  // namespace machina
