// Dispatch of one access into an I/O region: the `valid` check and QEMU's
// access_with_adjusted_size (split into, or widen to, the sizes the callbacks implement).
#pragma once

#include <cstdint>

#include "system/memory_region.h"

namespace machina {

// Whether the guest may make this access (QEMU's memory_region_access_valid).
bool io_access_valid(const MemoryRegionOps& ops, uint64_t addr, unsigned size, bool is_write);

// `addr` is the offset in `mr`; `size` 1, 2, 4 or 8. Invalid accesses read all-ones and report
// DecodeError; invalid writes are dropped.
MemTxResult io_region_read(const MemoryRegion& mr, uint64_t addr, unsigned size, uint64_t* value);
MemTxResult io_region_write(const MemoryRegion& mr, uint64_t addr, unsigned size, uint64_t value);

// The largest access (a power of two <= len) a buffer access at region offset `addr` may use
// (QEMU's memory_access_size).
unsigned io_access_size(const MemoryRegionOps& ops, uint64_t len, uint64_t addr);

// All-ones of `size` bytes.
inline uint64_t size_mask(unsigned size) {
  return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (size * 8)) - 1;
}

}  // namespace machina
