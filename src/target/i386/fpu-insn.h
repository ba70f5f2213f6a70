// One x87 instruction being executed (D8-DF), and the 0F AE group; shared by fpu.cc (dispatch
// and the host-executed instructions), fpu-env.cc (control instructions, FSTENV/FSAVE images)
// and fpu-fxsave.cc (FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, fences, CLFLUSH).
#pragma once

#include <cstdint>

#include "target/i386/exec.h"

namespace machina::x86 {

// The tag of a non-empty x87 register from its contents: 0 valid, 1 zero, 2 special.
unsigned x87_tag_of(const X87Reg& r);
// The full 16-bit tag word (2 bits per physical register, 3 = empty).
uint16_t x87_full_tags(const FpuState& f);
// FSW.ES and FSW.B from the exception flags the control word leaves unmasked.
void x87_update_es(FpuState* f);
// FNINIT.
void x87_init(FpuState* f);

class X87Insn {
 public:
  explicit X87Insn(Exec& e) : e_(e), d_(e.d_) {}
  StepResult run();

 private:
  bool mem() const { return d_.mod != 3; }
  unsigned esc() const { return d_.opcode & 7; }
  unsigned reg() const { return d_.reg & 7; }
  // #MF for a pending unmasked exception (FSW.ES) before a waiting instruction.
  StepResult check_pending();
  // The instructions the host executes (everything but the control instructions).
  StepResult host_op();
  // fpu-env.cc: FNINIT/FNCLEX/FLDCW/FNSTCW/FNSTSW/FLDENV/FNSTENV/FRSTOR/FNSAVE (and the
  // FNENI/FNDISI/FNSETPM no-ops): returns false if the instruction is not one of them, else
  // true with the instruction's result in *r.
  bool control_op(StepResult* r);
  // The 14/28-byte environment image at addr (16-bit format with the 66 prefix).
  unsigned env_size() const { return d_.opsize == 2 ? 14 : 28; }
  void make_env(uint8_t* out) const;
  void load_env(const uint8_t* in);

  Exec& e_;
  const DecodedInsn& d_;
};

}  // namespace machina::x86
