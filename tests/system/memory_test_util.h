// Helpers shared by the memory API tests.
#pragma once

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "qom/object.h"
#include "system/memory.h"

namespace machina::test {

// A device-like owner with a region inside it; records its finalization.
class MemOwner : public Object {
 public:
  ~MemOwner() override {
    if (finalized) finalized->store(true);
  }
  std::atomic<bool>* finalized = nullptr;
  MemoryRegion mr;
  uint64_t reg = 0x11223344;
};

inline constexpr const char* kMemOwnerType = "test-mem-owner";

inline Ref<MemOwner> new_owner(std::atomic<bool>* finalized = nullptr) {
  auto o = make_object<MemOwner>(kMemOwnerType);
  o->finalized = finalized;
  return o;
}

// "start-last name@offset[ ro]" for each range of the current view, joined by "; ".
inline std::string ranges_of(const AddressSpace& as) {
  EpochGuard g;
  std::string out;
  const FlatView* v = as.view();
  if (!v) return out;
  for (const FlatRange& r : v->ranges()) {
    char b[160];
    std::snprintf(b, sizeof b, "%s%" PRIx64 "-%" PRIx64 " %s@%" PRIx64 "%s",
                  out.empty() ? "" : "; ", r.start, r.last, r.mr->name().c_str(),
                  r.offset_in_region, r.readonly ? " ro" : "");
    out += b;
  }
  return out;
}

// An I/O region's callbacks that log every access as "r4@0" / "w1@2=ab" and read back a
// pattern: byte at offset i reads as (0x10 + i).
struct IoLog {
  std::vector<std::string> log;
  uint64_t pattern_read(uint64_t addr, unsigned size) {
    uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= uint64_t((0x10 + addr + i) & 0xff) << (8 * i);
    return v;
  }
  MemoryRegionOps ops(unsigned impl_min = 0, unsigned impl_max = 0) {
    MemoryRegionOps o;
    o.read = [this](uint64_t addr, unsigned size) {
      log.push_back("r" + std::to_string(size) + "@" + std::to_string(addr));
      return pattern_read(addr, size);
    };
    o.write = [this](uint64_t addr, uint64_t data, unsigned size) {
      char b[64];
      std::snprintf(b, sizeof b, "w%u@%" PRIu64 "=%" PRIx64, size, addr, data);
      log.push_back(b);
    };
    o.impl.min_access_size = impl_min;
    o.impl.max_access_size = impl_max;
    return o;
  }
  std::string joined() const {
    std::string s;
    for (const auto& e : log) s += (s.empty() ? "" : " ") + e;
    return s;
  }
};

}  // namespace machina::test
