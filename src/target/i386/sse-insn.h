// One SSE/SSE2/MMX instruction being executed (0F-map opcodes 10-17, 28-2F, 50-7F, C2, C4-C6,
// D0-FE): the mandatory prefix, the CR0/CR4 checks, the MMX/XMM register files and operand
// access shared by sse.cc, sse-move.cc, sse-int.cc and sse-fp.cc.
#pragma once

#include <cstdint>
#include <cstring>

#include "target/i386/exec.h"
#include "target/i386/sse-host.h"

namespace machina::x86 {

// A 64-bit (MMX) or 128-bit (XMM) packed operand.
struct Vec {
  uint8_t b[16] = {};

  template <class T>
  T get(unsigned i) const {
    T v;
    std::memcpy(&v, b + i * sizeof(T), sizeof(T));
    return v;
  }
  template <class T>
  void set(unsigned i, T v) {
    std::memcpy(b + i * sizeof(T), &v, sizeof(T));
  }
  uint64_t lo() const { return get<uint64_t>(0); }
  uint64_t hi() const { return get<uint64_t>(1); }
  static Vec of(const XmmReg& r) {
    Vec v;
    std::memcpy(v.b, &r, 16);
    return v;
  }
  static Vec of64(uint64_t lo) {
    Vec v;
    v.set<uint64_t>(0, lo);
    return v;
  }
  XmmReg xmm() const {
    XmmReg r;
    std::memcpy(&r, b, 16);
    return r;
  }
};

class SseInsn {
 public:
  explicit SseInsn(Exec& e);
  StepResult run();

 private:
  using Prefix = sse_host::Prefix;

  // --- checks: return Ok or the exception to end the instruction with.
  StepResult check_sse();  // XMM forms: #UD (CR0.EM, !CR4.OSFXSR), #NM (CR0.TS)
  StepResult check_mmx();  // MMX forms: #UD (CR0.EM), #NM (CR0.TS), #MF (pending x87 fault)
  StepResult check_mf();   // pending unmasked x87 exception (FSW.ES) with CR0.NE

  // --- registers
  XmmReg& xmm(unsigned i) { return e_.s_.fpu.xmm[i & 15]; }
  uint64_t mmx(unsigned i) const { return e_.s_.fpu.r[i & 7].mant; }
  // Writes an MMX register (sign/exponent all ones) and enters MMX mode.
  void set_mmx(unsigned i, uint64_t v);
  // MMX mode: TOP = 0, every register valid. Every MMX instruction but EMMS does this.
  void enter_mmx();

  // --- operands. The load/store helpers return false with result_ set (memory fault, #GP for
  // a misaligned operand of an aligned form).
  bool mem() const { return e_.d_.mod != 3; }
  bool check_align(uint64_t addr, unsigned size, bool aligned);
  // The r/m operand of an XMM form: the register, or `size` bytes of memory zero-extended.
  bool load_xmm_rm(Vec* v, unsigned size, bool aligned);
  bool store_xmm_rm(const Vec& v, unsigned size, bool aligned);
  // The r/m operand of an MMX form (register or `size` bytes of memory).
  bool load_mmx_rm(Vec* v, unsigned size = 8);
  // The GPR-or-memory operand of MOVD/MOVQ/CVTSI2SS/PINSRW.
  bool load_gpr_rm(uint64_t* v, unsigned size);

  // --- groups
  StepResult moves();      // sse-move.cc: 10-17, 28, 29, 2B, 50, 6E, 6F, 7E, 7F, D6, E7
  StepResult shuffles();   // sse-move.cc: 14, 15, 70, C4, C5, C6, D7, F7
  StepResult fp();         // sse-fp.cc: 2A-2F, 51-5F, C2, E6
  StepResult integer();    // sse-int.cc: 60-6D, 74-76, D1-FE (arithmetic, logic, shifts)
  StepResult shift_imm();  // sse-int.cc: 71-73
  StepResult emms();

  // Applies the exception flags of a host FP operation to MXCSR; false (with #XM or #UD
  // raised) when one of them is unmasked: the destination must then be left unchanged.
  bool fp_flags(uint32_t host_mxcsr);
  // sse-fp.cc: per-element exception flags of an arithmetic form (see there).
  uint32_t lane_flags(const XmmReg& src);
  // MXCSR for a host operation: the guest's rounding, DAZ and FTZ, every exception masked.
  // FTZ only acts while underflow is masked.
  uint32_t host_csr() const {
    uint32_t csr = e_.s_.fpu.mxcsr;
    if (!(csr & (1u << 11))) csr &= ~kMxcsrFTZ;
    return csr | kMxcsrMasks;
  }

  Exec& e_;
  const DecodedInsn& d_;
  unsigned op_;
  Prefix pfx_;
};

// Integer SIMD operation of opcode `op` (60-6D, 74-76, D1-FE) on n = 8 or 16 bytes: d = d OP s.
// Returns false for opcodes that are not such operations.
bool sse_int_op(unsigned op, Vec* d, const Vec& s, unsigned n);
// Interleaves the elements (of `elem` bytes) of the low (or high) halves of d and s.
Vec sse_unpack(const Vec& d, const Vec& s, unsigned elem, bool high, unsigned n);
// Shifts every `elem`-byte lane of v: kind 0 logical right, 1 arithmetic right, 2 left.
void sse_shift(Vec* v, unsigned n, unsigned elem, unsigned kind, uint64_t count);

}  // namespace machina::x86
