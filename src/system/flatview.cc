#include "system/flatview.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <tuple>

#include "qom/object.h"
#include "util/event_notifier.h"

namespace machina {

namespace {

using i128 = __int128;

constexpr int kMaxRenderDepth = 64;  // guards against alias cycles

struct Renderer {
  std::map<uint64_t, FlatRange> ranges;  // by start, non-overlapping

  // Fills the parts of [start, end) not yet covered with `mr`, whose offset 0 is at `base`.
  void fill_gaps(MemoryRegion* mr, i128 base, i128 start, i128 end, bool readonly) {
    // The first range ending at or after `start` (start < 2^64 here).
    auto it = ranges.upper_bound(static_cast<uint64_t>(start));
    if (it != ranges.begin()) {
      auto prev = std::prev(it);
      if (i128(prev->second.last) >= start) it = prev;
    }
    i128 cur = start;
    while (cur < end) {
      if (it != ranges.end() && i128(it->second.start) <= cur) {
        cur = i128(it->second.last) + 1;
        ++it;
        continue;
      }
      i128 gap_end = end;
      if (it != ranges.end() && i128(it->second.start) < gap_end) gap_end = it->second.start;
      FlatRange r;
      r.start = static_cast<uint64_t>(cur);
      r.last = static_cast<uint64_t>(gap_end - 1);
      r.mr = mr;
      r.offset_in_region = static_cast<uint64_t>(cur - base);
      r.host = mr->host_ptr() ? mr->host_ptr() + r.offset_in_region : nullptr;
      r.readonly = readonly;
      ranges.emplace_hint(it, r.start, r);  // `it` stays the next existing range
      cur = gap_end;
    }
  }

  // QEMU's render_memory_region: higher-priority subregions first, then the region's own content
  // fills what is left.
  void render(MemoryRegion* mr, i128 base, i128 clip_start, i128 clip_end, bool readonly,
              int depth) {
    if (!mr || !mr->enabled() || depth > kMaxRenderDepth) return;
    base += mr->addr();
    clip_start = std::max(clip_start, base);
    clip_end = std::min(clip_end, base + i128(mr->size128()));
    if (clip_start >= clip_end) return;
    readonly = readonly || mr->readonly();
    if (mr->is_alias()) {
      MemoryRegion* target = mr->alias_target();
      if (!target) return;
      base -= i128(target->addr());
      base -= i128(mr->alias_offset());
      render(target, base, clip_start, clip_end, readonly, depth + 1);
      return;
    }
    for (MemoryRegion* sub : mr->subregions()) {
      render(sub, base, clip_start, clip_end, readonly, depth + 1);
    }
    if (mr->terminates()) fill_gaps(mr, base, clip_start, clip_end, readonly);
  }
};

bool can_merge(const FlatRange& a, const FlatRange& b) {
  return a.mr == b.mr && a.readonly == b.readonly && a.last != UINT64_MAX &&
         a.last + 1 == b.start && a.offset_in_region + a.size() == b.offset_in_region;
}

}  // namespace

std::unique_ptr<FlatView> FlatView::render(MemoryRegion* root) {
  std::unique_ptr<FlatView> v(new FlatView);
  v->root_ = root;
  Renderer r;
  if (root) r.render(root, 0, 0, i128(1) << 64, false, 0);
  // Simplify: join neighbours that continue the same region (QEMU's flatview_simplify).
  for (const auto& [start, fr] : r.ranges) {
    if (!v->ranges_.empty() && can_merge(v->ranges_.back(), fr)) {
      v->ranges_.back().last = fr.last;
    } else {
      v->ranges_.push_back(fr);
    }
  }
  v->starts_.reserve(v->ranges_.size());
  for (const FlatRange& fr : v->ranges_) {
    v->starts_.push_back(fr.start);
    v->mapped_.push_back(fr.mr);
  }
  for (const FlatRange& fr : v->ranges_) {
    if (!fr.mr->is_io()) continue;
    for (const MemoryRegionIoeventfd& e : fr.mr->ioeventfds()) {
      if (e.addr < fr.offset_in_region || e.addr - fr.offset_in_region > fr.last - fr.start)
        continue;
      v->ioeventfds_.push_back(FlatIoeventfd{fr.start + (e.addr - fr.offset_in_region), e.size,
                                             e.match_data, e.data, e.notifier});
    }
  }
  std::sort(v->ioeventfds_.begin(), v->ioeventfds_.end(), [](const auto& a, const auto& b) {
    return std::tie(a.addr, a.size, a.match_data, a.data) <
           std::tie(b.addr, b.size, b.match_data, b.data);
  });
  std::sort(v->mapped_.begin(), v->mapped_.end());
  v->mapped_.erase(std::unique(v->mapped_.begin(), v->mapped_.end()), v->mapped_.end());
  for (MemoryRegion* mr : v->mapped_) {
    mr->view_refs_.fetch_add(1, std::memory_order_relaxed);
    if (Object* o = mr->owner()) o->ref();
  }
  return v;
}

FlatView::~FlatView() {
  // The ioeventfds' notifiers first: a device's descriptors are closed before its owner
  // reference goes (and with it, possibly, the device).
  ioeventfds_.clear();
  for (MemoryRegion* mr : mapped_) {
    // Read the owner first: dropping the last reference may destroy the region with it.
    Object* owner = mr->owner();
    mr->view_refs_.fetch_sub(1, std::memory_order_acq_rel);
    if (owner) owner->unref();
  }
  if (cache_view_ == this) cache_view_ = nullptr;
}

const FlatRange* FlatView::lookup_slow(uint64_t addr) const {
  size_t n = starts_.size();
  if (n == 0) return nullptr;
  // Branchless search for the last start <= addr (the compiler emits conditional moves).
  const uint64_t* base = starts_.data();
  while (n > 1) {
    size_t half = n / 2;
    base = base[half] <= addr ? base + half : base;
    n -= half;
  }
  if (*base > addr) return nullptr;
  size_t i = static_cast<size_t>(base - starts_.data());
  if (addr > ranges_[i].last) return nullptr;
  cache_view_ = this;
  cache_index_ = i;
  return &ranges_[i];
}

bool FlatView::signal_ioeventfd(uint64_t addr, unsigned size, uint64_t value) const {
  auto it = std::lower_bound(ioeventfds_.begin(), ioeventfds_.end(), addr,
                             [](const FlatIoeventfd& e, uint64_t a) { return e.addr < a; });
  for (; it != ioeventfds_.end() && it->addr == addr; ++it) {
    if (it->matches(addr, size, value)) {
      it->notifier->set();
      return true;
    }
  }
  return false;
}

const FlatRange* FlatView::next_after(uint64_t addr) const {
  auto it = std::upper_bound(starts_.begin(), starts_.end(), addr);
  if (it == starts_.end()) return nullptr;
  return &ranges_[static_cast<size_t>(it - starts_.begin())];
}

bool FlatView::same_ranges(const FlatView& o) const {
  if (ranges_.size() != o.ranges_.size()) return false;
  for (size_t i = 0; i < ranges_.size(); ++i) {
    if (!ranges_[i].same_mapping(o.ranges_[i])) return false;
  }
  return ioeventfds_ == o.ioeventfds_;
}

}  // namespace machina
