// SSE/SSE2 floating-point operations executed on the host's own SSE unit under the guest's
// MXCSR (rounding, DAZ, FTZ) with every exception masked: the results, NaN propagation, flags
// and the approximations of RCP/RSQRT are those of the host x86-64 CPU, bit for bit. The caller
// turns the returned flags into MXCSR updates and #XM (see sse-fp.cc).
#pragma once

#include <cstdint>

#include "target/i386/fpu-state.h"

namespace machina::x86::sse_host {

// Mandatory prefix of an SSE form.
enum Prefix : unsigned { kNone = 0, k66 = 1, kF3 = 2, kF2 = 3 };

// The xmm, xmm forms of 0F 51-53, 58-5F, 5A, 5B, C2 (imm = predicate), E6: dst = dst OP src.
// `mxcsr` is used as given (the caller masks the exceptions); returns the host MXCSR after the
// operation, its flags cleared before. `ok` is false for a combination that has no such
// instruction (nothing is executed then).
uint32_t fp_op(unsigned op, Prefix p, XmmReg* dst, const XmmReg& src, unsigned imm, uint32_t mxcsr,
               bool* ok);

// CVTSI2SS/CVTSI2SD (p = kF3 / kF2) from a 32-bit or 64-bit (w) integer into dst's low lane.
uint32_t cvt_from_int(Prefix p, bool w, XmmReg* dst, uint64_t src, uint32_t mxcsr);

// CVT(T)SS2SI / CVT(T)SD2SI (p = kF3 / kF2; truncate: 0F 2C) of src's low lane to a 32-bit
// (zero-extended) or 64-bit (w) integer.
uint32_t cvt_to_int(Prefix p, bool truncate, bool w, const XmmReg& src, uint64_t* out,
                    uint32_t mxcsr);

// (U)COMISS/(U)COMISD (ordered: 0F 2F) of a and b's low lanes; *zpc gets ZF, PF, CF in their
// RFLAGS positions.
uint32_t comis(bool is_double, bool ordered, const XmmReg& a, const XmmReg& b, uint64_t* zpc,
               uint32_t mxcsr);

}  // namespace machina::x86::sse_host
