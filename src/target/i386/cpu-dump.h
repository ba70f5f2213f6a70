// The CPU state as QEMU's `info registers` prints it (x86_cpu_dump_state), for the human
// monitor. Both accelerators keep CpuState current while the vCPU is stopped.
#pragma once

#include <string>

#include "target/i386/cpu.h"

namespace machina::x86 {

std::string x86_cpu_dump_state(const CpuState& s);

}  // namespace machina::x86
