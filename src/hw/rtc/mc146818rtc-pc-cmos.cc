// The PC's CMOS board fields: see mc146818rtc-pc-cmos.h.
#include "hw/rtc/mc146818rtc-pc-cmos.h"

#include <algorithm>

namespace machina {

namespace {
constexpr uint64_t kKiB = 1024, kMiB = 1024 * kKiB;
}  // namespace

void pc_cmos_set_memory(Mc146818Rtc& rtc, uint64_t below_4g, uint64_t above_4g) {
  uint64_t base = std::min<uint64_t>(below_4g / kKiB, 640);
  rtc.set_memory(0x15, uint8_t(base));
  rtc.set_memory(0x16, uint8_t(base >> 8));

  uint64_t ext = below_4g > kMiB ? (below_4g - kMiB) / kKiB : 0;
  ext = std::min<uint64_t>(ext, 65535);
  rtc.set_memory(0x17, uint8_t(ext));
  rtc.set_memory(0x18, uint8_t(ext >> 8));
  rtc.set_memory(0x30, uint8_t(ext));
  rtc.set_memory(0x31, uint8_t(ext >> 8));

  uint64_t above16 = below_4g > 16 * kMiB ? (below_4g - 16 * kMiB) / (64 * kKiB) : 0;
  above16 = std::min<uint64_t>(above16, 65535);
  rtc.set_memory(0x34, uint8_t(above16));
  rtc.set_memory(0x35, uint8_t(above16 >> 8));

  uint64_t high = above_4g / (64 * kKiB);
  rtc.set_memory(0x5b, uint8_t(high));
  rtc.set_memory(0x5c, uint8_t(high >> 8));
  rtc.set_memory(0x5d, uint8_t(high >> 16));
}

void pc_cmos_set_cpus(Mc146818Rtc& rtc, unsigned cpus) {
  rtc.set_memory(0x5f, uint8_t(cpus ? cpus - 1 : 0));
}

}  // namespace machina
