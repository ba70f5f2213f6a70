// libFuzzer target: the software CPU's fast path against its general interpreter. The input is
// the registers, RFLAGS and the bytes of one instruction (anything: prefixes, opcodes, ModRM
// forms); memory is two RAM pages the TLB maps, around which the registers are placed so that
// memory operands often land in them. Whenever a fast-path handler takes the instruction, its
// registers, flags, RIP and memory must equal execute()'s from the same start; when it does not,
// it must have changed nothing. Any difference aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "target/i386/decode.h"
#include "target/i386/interp-fast.h"
#include "target/i386/interp.h"

namespace {

using namespace machina::x86;

constexpr size_t kPages = 3;  // code, data, stack
alignas(4096) uint8_t g_mem[kPages * 4096];

struct Run {
  CpuState s;
  uint8_t mem[kPages * 4096];
};

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kRegBytes = 16 * 2 + 2;  // 16-bit register seeds, flags, fs/gs choice
  if (size < kRegBytes + 1 || size > kRegBytes + 15) return 0;
  const uint64_t base = reinterpret_cast<uint64_t>(g_mem);
  static Run start, generic, fast;

  std::memset(g_mem, 0x5a, sizeof g_mem);
  std::memcpy(g_mem, data + kRegBytes, size - kRegBytes);
  CpuState& s = start.s;
  s = CpuState{};
  for (int k = 0; k < 16; k++) {
    uint16_t seed;
    std::memcpy(&seed, data + 2 * k, 2);
    // Small values, or addresses in (and just around) the data and stack pages.
    s.regs[k] = (seed & 0x8000) ? base + 4096 + (seed & 0x1fff) - 0x100 : seed;
  }
  s.set_rflags(data[32] & kArithFlags);
  s.fs_base = (data[33] & 1) ? base : 0;
  s.gs_base = (data[33] & 2) ? base + 4096 : 0;
  s.rip = base;
  std::memcpy(start.mem, g_mem, sizeof g_mem);

  DecodedInsn d;
  if (decode(g_mem, static_cast<unsigned>(size - kRegBytes), &d) != DecodeStatus::Ok) return 0;

  FlatMemory mem(g_mem, sizeof g_mem, base);
  generic.s = start.s;
  StepResult gr = execute(generic.s, mem, d);
  std::memcpy(generic.mem, g_mem, sizeof g_mem);

  std::memcpy(g_mem, start.mem, sizeof g_mem);
  CpuTlb tlb;
  for (size_t p = 0; p < kPages; p++) {
    TlbEntry& e = tlb.slot(base + p * 4096, false);
    e.fast_read = e.fast_write = base + p * 4096;
    e.host = g_mem + p * 4096;
  }
  mem.tlb = &tlb;
  fast.s = start.s;
  FastResult fr = run_fast_one(fast.s, mem, d);
  if (fr == FastResult::Fallback) {
    check(std::memcmp(fast.s.regs, start.s.regs, sizeof start.s.regs) == 0);
    check(fast.s.rip == start.s.rip && fast.s.rflags() == start.s.rflags());
    check(std::memcmp(g_mem, start.mem, sizeof g_mem) == 0);
    return 0;
  }
  check(gr == StepResult::Ok);
  check(std::memcmp(fast.s.regs, generic.s.regs, sizeof generic.s.regs) == 0);
  check(fast.s.rip == generic.s.rip && fast.s.rflags() == generic.s.rflags());
  check(std::memcmp(g_mem, generic.mem, sizeof g_mem) == 0);
  return 0;
}
