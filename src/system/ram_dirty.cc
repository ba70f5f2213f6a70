#include "system/ram_dirty.h"

#include <sys/mman.h>

#include <atomic>
#include <map>
#include <mutex>

#include "system/dirty_log.h"

namespace machina {

namespace {

struct Registry {
  std::mutex mu;
  std::map<uintptr_t, RamDirty*> by_host;  // by the first byte of the region's memory
};

Registry& registry() {
  static Registry* r = new Registry;  // regions may die during exit
  return *r;
}

std::atomic_ref<uint64_t> word(const RamDirty& d, uint64_t i) {
  return std::atomic_ref<uint64_t>(d.bits[i]);
}

// Calls fn(word index, mask) for the words covering the pages [offset, offset + len) touches.
template <typename Fn>
void for_words(const RamDirty& d, uint64_t offset, uint64_t len, Fn fn) {
  if (len == 0 || offset >= d.size) return;
  uint64_t last_byte = len - 1 > d.size - 1 - offset ? d.size - 1 : offset + len - 1;
  uint64_t first = offset / kDirtyPageSize, last = last_byte / kDirtyPageSize;
  for (uint64_t w = first / 64; w <= last / 64; ++w) {
    uint64_t lo = w == first / 64 ? first % 64 : 0;
    uint64_t hi = w == last / 64 ? last % 64 : 63;
    uint64_t mask =
        (hi == 63 ? ~uint64_t{0} : (uint64_t{1} << (hi + 1)) - 1) & ~((uint64_t{1} << lo) - 1);
    fn(w, mask);
  }
}

}  // namespace

RamDirty* ram_dirty_create(const uint8_t* host, uint64_t size) {
  if (size == 0) return nullptr;
  auto* d = new RamDirty;
  d->host = host;
  d->size = size;
  d->pages = (size + kDirtyPageSize - 1) / kDirtyPageSize;
  d->map_len = static_cast<size_t>((d->pages + 63) / 64 * 8);
  void* p = mmap(nullptr, d->map_len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    delete d;
    return nullptr;
  }
  d->bits = static_cast<uint64_t*>(p);
  if (host) {
    Registry& r = registry();
    std::lock_guard l(r.mu);
    d->registered = r.by_host.emplace(reinterpret_cast<uintptr_t>(host), d).second;
  }
  return d;
}

void ram_dirty_destroy(RamDirty* d) {
  if (!d) return;
  if (d->registered) {
    Registry& r = registry();
    std::lock_guard l(r.mu);
    r.by_host.erase(reinterpret_cast<uintptr_t>(d->host));
  }
  munmap(d->bits, d->map_len);
  delete d;
}

void ram_dirty_set(RamDirty& d, uint64_t offset, uint64_t len) {
  for_words(d, offset, len, [&](uint64_t w, uint64_t mask) {
    auto a = word(d, w);
    if ((a.load(std::memory_order_relaxed) & mask) != mask) a.fetch_or(mask);
  });
}

bool ram_dirty_test(const RamDirty& d, uint64_t offset, uint64_t len) {
  bool any = false;
  for_words(d, offset, len, [&](uint64_t w, uint64_t mask) {
    any = any || (word(d, w).load(std::memory_order_seq_cst) & mask);
  });
  return any;
}

void ram_dirty_take(RamDirty& d, uint64_t offset, uint64_t len, DirtyBitmapSnapshot* snap) {
  snap->start = offset / kDirtyPageSize * kDirtyPageSize;
  snap->pages = 0;
  snap->bits.clear();
  if (len == 0 || offset >= d.size) return;
  uint64_t end = len > d.size - offset ? d.size : offset + len;
  uint64_t first = offset / kDirtyPageSize;
  snap->pages = (end - 1) / kDirtyPageSize - first + 1;
  snap->bits.assign((snap->pages + 63) / 64, 0);
  for_words(d, offset, len, [&](uint64_t w, uint64_t mask) {
    auto a = word(d, w);
    if (!(a.load(std::memory_order_relaxed) & mask)) return;
    uint64_t old = a.fetch_and(~mask) & mask;
    for (; old; old &= old - 1) {
      uint64_t i = w * 64 + uint64_t(__builtin_ctzll(old)) - first;
      snap->bits[i / 64] |= uint64_t{1} << (i % 64);
    }
  });
}

void ram_dirty_set_host(const void* host, uint64_t len) {
  auto h = reinterpret_cast<uintptr_t>(host);
  Registry& r = registry();
  std::lock_guard l(r.mu);
  auto it = r.by_host.upper_bound(h);
  if (it == r.by_host.begin()) return;
  --it;
  RamDirty& d = *it->second;
  if (h - it->first >= d.size) return;
  ram_dirty_set(d, h - it->first, len);
}

}  // namespace machina
