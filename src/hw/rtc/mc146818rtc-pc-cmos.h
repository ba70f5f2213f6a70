// The PC's CMOS fields that describe the board (QEMU's pc_cmos_init), written into the RTC's
// CMOS memory by the machine:
//   0x15/0x16  base memory in KiB (at most 640)
//   0x17/0x18  and 0x30/0x31: memory above 1 MiB in KiB (at most 65535)
//   0x34/0x35  memory between 16 MiB and 4 GiB in 64 KiB units (at most 65535)
//   0x5b-0x5d  memory above 4 GiB in 64 KiB units
//   0x5f       number of CPUs - 1
// Sizes are those of the RAM mapped below and above 4 GiB.
#pragma once

#include <cstdint>

#include "hw/rtc/mc146818rtc.h"

namespace machina {

void pc_cmos_set_memory(Mc146818Rtc& rtc, uint64_t below_4g, uint64_t above_4g);
void pc_cmos_set_cpus(Mc146818Rtc& rtc, unsigned cpus);

}  // namespace machina
