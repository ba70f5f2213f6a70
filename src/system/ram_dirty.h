// Internal to src/system: the dirty bitmap of one RAM region (dirty_log.h), one bit per 4 KiB page
// of the region, and the registry that finds a region's bitmap from a host pointer into it.
// Bits are set and cleared with atomic operations; the bitmap lives as long as the region's
// memory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace machina {

struct DirtyBitmapSnapshot;

struct RamDirty {
  const uint8_t* host = nullptr;  // the region's memory
  uint64_t size = 0;              // bytes
  uint64_t pages = 0;
  uint64_t* bits = nullptr;  // (pages + 63) / 64 words, zero-filled on demand
  size_t map_len = 0;
  bool registered = false;  // findable from its host pointer
};

// A bitmap for `size` bytes of RAM at `host` (nullptr if it cannot be allocated).
RamDirty* ram_dirty_create(const uint8_t* host, uint64_t size);
void ram_dirty_destroy(RamDirty* d);

// Region offsets: sets, tests, or takes and clears (into `snap`) the pages [offset, offset + len)
// touches. Out-of-range parts are ignored.
void ram_dirty_set(RamDirty& d, uint64_t offset, uint64_t len);
bool ram_dirty_test(const RamDirty& d, uint64_t offset, uint64_t len);
void ram_dirty_take(RamDirty& d, uint64_t offset, uint64_t len, DirtyBitmapSnapshot* snap);

// Marks the pages of the region holding `host` (nothing if `host` is not guest RAM).
void ram_dirty_set_host(const void* host, uint64_t len);

}  // namespace machina
