// The interpreter's fast path: handlers specialised for the most frequent instruction forms
// (integer moves and arithmetic, flag tests, shifts, multiplies, near jumps, calls, returns,
// pushes and pops), chosen once per decoded instruction so that running one is a single indirect
// call without re-dispatching on opcode, operand size or addressing form, and handlers chain
// into each other along a block.
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

struct FastInsn;
// A handler runs the instruction at `p` and, when it goes on sequentially, tail-calls the handler
// of the next one (p + 1), so a block runs as a chain of calls with no return to a loop between
// instructions. It returns the first entry it did not run, with the reason in s.fast_exit.
using FastOp = const FastInsn* (*)(CpuState& s, CpuMemory& m, const FastInsn* p);

// One decoded instruction with its handler. A run ends with an entry whose handler is
// fast_end_of_block.
struct FastInsn {
  FastOp fn;
  uint32_t index = 0;  // position in its block
  DecodedInsn d;
};

enum FastExit : uint8_t {
  kFastFallback,     // the returned entry was not run: run it with execute()
  kFastJump,         // the entry before the returned one transferred control
  kFastCodeWritten,  // the entry before the returned one stored into the code page
  kFastEnd,          // the returned entry is the end of the block
};

// The handler for `d`: a specialised one, or fast_fallback (the general interpreter runs it).
FastOp select_fast_op(const DecodedInsn& d);
const FastInsn* fast_fallback(CpuState& s, CpuMemory& m, const FastInsn* p);
const FastInsn* fast_end_of_block(CpuState& s, CpuMemory& m, const FastInsn* p);

// A near jump (Jcc, JMP) back to the first instruction of its own block goes round the block
// again without leaving the handlers, at most this many times in a row; the instructions of the
// rounds before the last are added up in s.fast_loop_insns. (Pending interrupts, and writes to
// RAM by others, are looked at between blocks, so at latest after these rounds.)
inline constexpr uint32_t kFastLoopRounds = 64;
// The handler for `d` as such a jump, nullptr if it has no fast handler (the caller knows where
// it goes).
FastOp select_fast_loop_op(const DecodedInsn& d);

enum class FastResult : uint8_t { Fallback, Next, Jump };
// Runs the one instruction `d` through its fast-path handler alone (for tests): Fallback when
// there is none or it did not apply (nothing changed), else how it ended.
FastResult run_fast_one(CpuState& s, CpuMemory& m, const DecodedInsn& d);

}  // namespace machina::x86
