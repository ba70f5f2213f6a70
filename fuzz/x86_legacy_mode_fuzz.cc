// libFuzzer target: the interpreter running arbitrary code in 16- and 32-bit code segments (real
// mode, protected mode, compatibility mode), where a guest's start-up code runs. The input picks
// the mode, the registers and the bytes of 64 KiB of memory; up to 64 instructions run. Whatever
// the bytes, the interpreter must not crash or read outside memory (the sanitizers of the fuzz
// build watch), and outside 64-bit mode EIP and the linear addresses stay within 32 bits.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "target/i386/interp.h"

namespace {

using namespace machina::x86;

constexpr size_t kMemBytes = 64 * 1024;
constexpr size_t kHeader = 1 + 8 * 2;  // mode, 8 register seeds

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader + 1) return 0;
  static std::vector<uint8_t> mem_bytes(kMemBytes);
  std::memset(mem_bytes.data(), 0xf4, kMemBytes);  // HLT wherever the code ends
  std::memcpy(mem_bytes.data(), data + kHeader, std::min(size - kHeader, kMemBytes));
  FlatMemory mem(mem_bytes.data(), kMemBytes, 0);

  CpuState s;
  unsigned mode = data[0] % 3;
  for (SegmentCache& sc : s.seg) sc = {0, 0, 0xffff, kDescP | kDescS | (0x3u << 8)};
  s.seg[CS] = {0, 0, 0xffff, kDescP | kDescS | (0xbu << 8)};
  s.idtr = {0, 0x3ff};
  if (mode >= 1) {  // protected mode, 32-bit segments; with LMA: compatibility mode
    s.cr0 |= kCr0PE;
    for (SegmentCache& sc : s.seg) sc.flags |= kDescDB | kDescG, sc.limit = 0xffffffffu;
    // A GDT at 0x8000 (whatever the input put there) for the far jumps and segment loads.
    s.gdtr = {0x8000, 0xfff};
  }
  if (mode == 2) s.efer |= kEferLME | kEferLMA;
  for (int k = 0; k < 8; k++) {
    uint16_t seed;
    std::memcpy(&seed, data + 1 + 2 * k, 2);
    s.regs[k] = seed;
  }
  s.regs[RSP] = 0xf000;
  s.rip = 0;
  for (int i = 0; i < 64; i++) {
    CodeMode before = code_mode(s);
    StepResult r = step(s, mem);
    if (before != CodeMode::k64) check(s.rip <= 0xffffffffu);
    if (r != StepResult::Ok) break;
    s.exc = {};
  }
  return 0;
}
