// x86-64 interpreter (64-bit mode): executes one instruction at a time.
#pragma once

#include "target/i386/cpu.h"
#include "target/i386/decode.h"

namespace machina::x86 {

enum class StepResult : uint8_t {
  Ok,
  Halt,         // HLT executed
  InvalidOp,    // #UD: unknown or invalid opcode (RIP not advanced)
  DivideError,  // #DE: DIV/IDIV by zero or quotient overflow (RIP not advanced)
  MemoryFault,  // memory access failed (RIP not advanced)
  Exception,    // an exception is recorded in state.exc (RIP not advanced for faults)
};

// Executes one instruction at state.rip. On InvalidOp/DivideError nothing is changed and RIP still
// points at the instruction. On MemoryFault RIP is not advanced; registers are not written, but a
// read-modify-write instruction may already have updated RFLAGS (precise faults come with paging).
StepResult step(CpuState& state, CpuMemory& mem);

// Executes an already decoded instruction (rip must point to it).
StepResult execute(CpuState& state, CpuMemory& mem, const DecodedInsn& insn);

}  // namespace machina::x86
