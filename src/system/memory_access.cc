#include "system/memory_access.h"

#include <algorithm>

namespace machina {

namespace {

struct Adjusted {
  unsigned access_size;
  uint64_t mask;
};

// Access size used for the callbacks: the request clamped to [impl.min, impl.max].
Adjusted adjust(const MemoryRegionOps& ops, unsigned size) {
  unsigned min = ops.impl.min_access_size ? ops.impl.min_access_size : 1;
  unsigned max = ops.impl.max_access_size ? ops.impl.max_access_size : 4;
  unsigned a = std::max(std::min(size, max), min);
  return Adjusted{a, size_mask(a)};
}

}  // namespace

bool io_access_valid(const MemoryRegionOps& ops, uint64_t addr, unsigned size, bool is_write) {
  if (ops.valid.accepts && !ops.valid.accepts(addr, size, is_write)) return false;
  if (!ops.valid.unaligned && (addr & (size - 1))) return false;
  if (!ops.valid.max_access_size) return true;  // QEMU: zero means all sizes are valid
  unsigned min = ops.valid.min_access_size ? ops.valid.min_access_size : 1;
  return size >= min && size <= ops.valid.max_access_size;
}

MemTxResult io_region_read(const MemoryRegion& mr, uint64_t addr, unsigned size, uint64_t* value) {
  const MemoryRegionOps& ops = mr.ops();
  if (!ops.read || !io_access_valid(ops, addr, size, false)) {
    *value = size_mask(size);
    return MemTxResult::DecodeError;
  }
  // Little-endian assembly: piece i lands at bits [i*8, ...). A narrower request than impl.min
  // is one wider callback access at the same address, truncated (as QEMU does).
  Adjusted adj = adjust(ops, size);
  uint64_t v = 0;
  for (unsigned i = 0; i < size; i += adj.access_size) {
    uint64_t piece = ops.read(addr + i, adj.access_size) & adj.mask;
    if (i < 8) v |= piece << (i * 8);
  }
  *value = v & size_mask(size);
  return MemTxResult::Ok;
}

MemTxResult io_region_write(const MemoryRegion& mr, uint64_t addr, unsigned size, uint64_t value) {
  const MemoryRegionOps& ops = mr.ops();
  if (!ops.write || !io_access_valid(ops, addr, size, true)) return MemTxResult::DecodeError;
  // A narrower request than impl.min is written as one wider access of the zero-extended value
  // (QEMU's access_with_adjusted_size: no read-modify-write).
  Adjusted adj = adjust(ops, size);
  value &= size_mask(size);
  for (unsigned i = 0; i < size; i += adj.access_size) {
    ops.write(addr + i, (value >> (i * 8)) & adj.mask, adj.access_size);
  }
  return MemTxResult::Ok;
}

unsigned io_access_size(const MemoryRegionOps& ops, uint64_t len, uint64_t addr) {
  uint64_t max = ops.valid.max_access_size ? ops.valid.max_access_size : 4;
  if (!ops.valid.unaligned) {
    uint64_t align = addr & (~addr + 1);  // lowest set bit
    if (align && align < max) max = align;
  }
  uint64_t l = std::min(len, max);
  unsigned p = 1;
  while (uint64_t{p} * 2 <= l && p < 8) p *= 2;
  return p;
}

}  // namespace machina
