// SSE/SSE2 floating-point operations on the host's SSE unit (see sse-host.h). Every operation is
// one asm statement that loads the guest MXCSR, executes the instruction, reads MXCSR back and
// restores the host's: the compiler cannot move floating-point work across the MXCSR switch.
#include "target/i386/sse-host.h"

#include <emmintrin.h>

#include <cstring>

namespace machina::x86::sse_host {

namespace {

__m128d load(const XmmReg& r) {
  __m128d v;
  std::memcpy(&v, &r, sizeof v);
  return v;
}
void store(XmmReg* r, __m128d v) {
  std::memcpy(r, &v, sizeof v);
}

uint32_t host_mxcsr() {
  uint32_t v;
  asm volatile("stmxcsr %0" : "=m"(v));
  return v;
}

}  // namespace

#define KEY(p, op) (((p) << 8) | (op))
#define SSE_CASE(p, op, insn)                                                          \
  case KEY(p, op):                                                                     \
    asm volatile("ldmxcsr %[c]\n\t" insn " %[s], %[d]\n\tstmxcsr %[o]\n\tldmxcsr %[h]" \
                 : [d] "+x"(d), [o] "=m"(out)                                          \
                 : [s] "x"(s), [c] "m"(csr), [h] "m"(host));                           \
    break;
#define SSE_CASE4(op, ps, pd, ss, sd) \
  SSE_CASE(kNone, op, ps)             \
  SSE_CASE(k66, op, pd)               \
  SSE_CASE(kF3, op, ss)               \
  SSE_CASE(kF2, op, sd)
#define CMP_CASE(p, n, insn)                                                                    \
  case KEY(p, 0xc2) | ((n) << 12):                                                              \
    asm volatile("ldmxcsr %[c]\n\t" insn " $" #n ", %[s], %[d]\n\tstmxcsr %[o]\n\tldmxcsr %[h]" \
                 : [d] "+x"(d), [o] "=m"(out)                                                   \
                 : [s] "x"(s), [c] "m"(csr), [h] "m"(host));                                    \
    break;
#define CMP_CASES(n)          \
  CMP_CASE(kNone, n, "cmpps") \
  CMP_CASE(k66, n, "cmppd")   \
  CMP_CASE(kF3, n, "cmpss")   \
  CMP_CASE(kF2, n, "cmpsd")

uint32_t fp_op(unsigned op, Prefix p, XmmReg* dst, const XmmReg& src, unsigned imm, uint32_t mxcsr,
               bool* ok) {
  uint32_t host = host_mxcsr(), out = 0, csr = mxcsr & ~kMxcsrFlags;
  __m128d d = load(*dst), s = load(src);
  unsigned key = KEY(p, op) | (op == 0xc2 ? (imm & 7) << 12 : 0);
  *ok = true;
  switch (key) {
    SSE_CASE4(0x51, "sqrtps", "sqrtpd", "sqrtss", "sqrtsd")
    SSE_CASE(kNone, 0x52, "rsqrtps")
    SSE_CASE(kF3, 0x52, "rsqrtss")
    SSE_CASE(kNone, 0x53, "rcpps")
    SSE_CASE(kF3, 0x53, "rcpss")
    SSE_CASE4(0x58, "addps", "addpd", "addss", "addsd")
    SSE_CASE4(0x59, "mulps", "mulpd", "mulss", "mulsd")
    SSE_CASE4(0x5a, "cvtps2pd", "cvtpd2ps", "cvtss2sd", "cvtsd2ss")
    SSE_CASE(kNone, 0x5b, "cvtdq2ps")
    SSE_CASE(k66, 0x5b, "cvtps2dq")
    SSE_CASE(kF3, 0x5b, "cvttps2dq")
    SSE_CASE4(0x5c, "subps", "subpd", "subss", "subsd")
    SSE_CASE4(0x5d, "minps", "minpd", "minss", "minsd")
    SSE_CASE4(0x5e, "divps", "divpd", "divss", "divsd")
    SSE_CASE4(0x5f, "maxps", "maxpd", "maxss", "maxsd")
    SSE_CASE(k66, 0xe6, "cvttpd2dq")
    SSE_CASE(kF3, 0xe6, "cvtdq2pd")
    SSE_CASE(kF2, 0xe6, "cvtpd2dq")
    CMP_CASES(0)
    CMP_CASES(1)
    CMP_CASES(2)
    CMP_CASES(3)
    CMP_CASES(4)
    CMP_CASES(5)
    CMP_CASES(6)
    CMP_CASES(7)
    default:
      *ok = false;
      return mxcsr;
  }
  store(dst, d);
  return out;
}

#define CVT_FROM(p, w, insn, mod)                                                             \
  case (p)*2 + (w):                                                                           \
    asm volatile("ldmxcsr %[c]\n\t" insn " %" mod "[s], %[d]\n\tstmxcsr %[o]\n\tldmxcsr %[h]" \
                 : [d] "+x"(d), [o] "=m"(out)                                                 \
                 : [s] "r"(src), [c] "m"(csr), [h] "m"(host));                                \
    break;

uint32_t cvt_from_int(Prefix p, bool w, XmmReg* dst, uint64_t src, uint32_t mxcsr) {
  uint32_t host = host_mxcsr(), out = 0, csr = mxcsr & ~kMxcsrFlags;
  __m128d d = load(*dst);
  switch ((p == kF3 ? 0 : 1) * 2 + (w ? 1 : 0)) {
    CVT_FROM(0, 0, "cvtsi2ssl", "k")
    CVT_FROM(0, 1, "cvtsi2ssq", "q")
    CVT_FROM(1, 0, "cvtsi2sdl", "k")
    CVT_FROM(1, 1, "cvtsi2sdq", "q")
  }
  store(dst, d);
  return out;
}

#define CVT_TO(n, insn, mod)                                                                  \
  case n:                                                                                     \
    asm volatile("ldmxcsr %[c]\n\t" insn " %[s], %" mod "[r]\n\tstmxcsr %[o]\n\tldmxcsr %[h]" \
                 : [r] "=r"(r), [o] "=m"(out)                                                 \
                 : [s] "x"(s), [c] "m"(csr), [h] "m"(host));                                  \
    break;

uint32_t cvt_to_int(Prefix p, bool truncate, bool w, const XmmReg& src, uint64_t* result,
                    uint32_t mxcsr) {
  uint32_t host = host_mxcsr(), out = 0, csr = mxcsr & ~kMxcsrFlags;
  __m128d s = load(src);
  uint64_t r = 0;
  switch ((p == kF3 ? 0 : 4) + (truncate ? 2 : 0) + (w ? 1 : 0)) {
    CVT_TO(0, "cvtss2si", "k")
    CVT_TO(1, "cvtss2si", "q")
    CVT_TO(2, "cvttss2si", "k")
    CVT_TO(3, "cvttss2si", "q")
    CVT_TO(4, "cvtsd2si", "k")
    CVT_TO(5, "cvtsd2si", "q")
    CVT_TO(6, "cvttsd2si", "k")
    CVT_TO(7, "cvttsd2si", "q")
  }
  *result = w ? r : (r & 0xffffffffu);
  return out;
}

#define COMIS(n, insn)                                                                 \
  case n:                                                                              \
    asm volatile("ldmxcsr %[c]\n\t" insn " %[b], %[a]\n\tstmxcsr %[o]\n\tldmxcsr %[h]" \
                 : [o] "=m"(out), "=@ccz"(z), "=@ccp"(pf), "=@ccc"(c)                  \
                 : [a] "x"(va), [b] "x"(vb), [c] "m"(csr), [h] "m"(host));             \
    break;

uint32_t comis(bool is_double, bool ordered, const XmmReg& a, const XmmReg& b, uint64_t* zpc,
               uint32_t mxcsr) {
  uint32_t host = host_mxcsr(), out = 0, csr = mxcsr & ~kMxcsrFlags;
  __m128d va = load(a), vb = load(b);
  bool z = false, pf = false, c = false;
  switch ((is_double ? 2 : 0) + (ordered ? 1 : 0)) {
    COMIS(0, "ucomiss")
    COMIS(1, "comiss")
    COMIS(2, "ucomisd")
    COMIS(3, "comisd")
  }
  *zpc = (z ? 1u << 6 : 0) | (pf ? 1u << 2 : 0) | (c ? 1u : 0);
  return out;
}

}  // namespace machina::x86::sse_host
