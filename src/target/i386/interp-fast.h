// The interpreter's fast path: handlers specialised for the most frequent instruction forms
// (integer moves and arithmetic, flag tests, shifts, multiplies, near jumps, calls, returns,
// pushes and pops), chosen once per decoded instruction so that running one is a single indirect
// call without re-dispatching on opcode, operand size or addressing form.
//
// A handler covers only the common case — operands in registers or in RAM the TLB already maps
// for this access — and otherwise changes nothing and answers Fallback, after which the general
// interpreter (execute()) runs the instruction with every fault and corner case. So the fast path
// never decides an exception, and the two paths give identical results (the differential tests
// run every form through both).
#pragma once

#include "target/i386/cpu.h"
#include "target/i386/decode.h"
#include "target/i386/interp.h"

namespace machina::x86 {

enum class FastResult : uint8_t {
  Fallback,  // not handled, nothing changed: run the instruction with execute()
  Next,      // done; RIP is at the next instruction
  Jump,      // done; RIP was set by a control transfer
};

using FastOp = FastResult (*)(CpuState& s, CpuMemory& m, const DecodedInsn& d);

// The handler for `d`, or nullptr when only the general interpreter runs it.
FastOp select_fast_op(const DecodedInsn& d);

// Runs `d` through `op` when there is one and it applies, else through execute().
inline StepResult execute_fast(FastOp op, CpuState& s, CpuMemory& m, const DecodedInsn& d) {
  if (op && op(s, m, d) != FastResult::Fallback) return StepResult::Ok;
  return execute(s, m, d);
}

}  // namespace machina::x86
