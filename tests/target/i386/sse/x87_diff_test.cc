// Differential tests of the x87 instructions and of the 0F AE group (FXSAVE/FXRSTOR,
// LDMXCSR/STMXCSR, fences, CLFLUSH) against the host CPU: random x87 stacks (empty and full
// registers for stack faults, TOP, special encodings: denormals, pseudo-denormals, unnormals,
// NaNs, infinities), random precision/rounding control and exception masks (unmasked
// exceptions leave a pending #MF, compared through FSW), memory operands of every format.
// FIP/FDP/FOP/FCS/FDS are implementation-specific and left out of the comparison.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "target/i386/sse/sse_diff_harness.h"

namespace machina::x86::test {
namespace {

constexpr int kCases = 1000;

enum class Mk { None, F32, F64, I16, I32, I64, F80, Bcd, Cw, Env, Save, Store, Fx, Mxcsr };

struct X87Form {
  std::string name;
  uint8_t esc;     // 0-7: opcode D8+esc; 8: 0F AE
  int r;           // ModRM.reg
  Mk mk;           // memory operand kind; None: register form
  int modrm = -1;  // fixed register encoding; -1: ST(i) form with random i
  bool p66 = false;
  bool w = false;  // REX.W (FXSAVE64/FXRSTOR64)
};

class X87Diff {
 public:
  explicit X87Diff(uint64_t seed) : g_(seed) {}
  DiffHarness h;

  int run_cases(const X87Form& f, int n) {
    int bad = 0;
    for (int i = 0; i < n; i++) {
      std::vector<uint8_t> insn;
      std::string why = run_case(f, &insn);
      if (!why.empty()) {
        if (bad < 3)
          ADD_FAILURE() << f.name << " [" << DiffHarness::bytes(insn) << "] interp/native:" << why;
        bad++;
      }
    }
    return bad;
  }

 private:
  void random_state() {
    SseNativeState& in = h.in;
    for (auto& r : in.r) r = g_.int_edge(8);
    in.r[RSP] = 0;
    in.flags = (g_.u64() & kArithFlags) | 2;
    std::memset(in.fx_in, 0, 512);
    uint16_t masks = g_.chance(70) ? 0x3f : static_cast<uint16_t>(g_.u64() & 0x3f);
    uint16_t fcw = static_cast<uint16_t>(masks | 0x40 | (g_.below(4) << 8) | (g_.below(4) << 10) |
                                         (g_.below(2) << 12));
    if (g_.chance(40)) fcw = static_cast<uint16_t>(0x037f & ~(0x3f & ~masks));
    // Sticky flags only where masked: an unmasked one would be a pending #MF natively.
    uint16_t flags = static_cast<uint16_t>(g_.u64() & masks & kFswExc);
    if ((flags & kFswIE) && g_.chance(50)) flags |= kFswSF;
    uint16_t fsw = static_cast<uint16_t>((g_.u64() & kFswCC) | flags | (g_.below(8) << 11));
    std::memcpy(in.fx_in, &fcw, 2);
    std::memcpy(in.fx_in + 2, &fsw, 2);
    uint8_t tags = 0;
    unsigned empty_pct = g_.below(4) * 15;  // 0%, 15%, 30% or 45% empty
    for (unsigned i = 0; i < 8; i++)
      if (!g_.chance(empty_pct)) tags |= 1u << i;
    in.fx_in[4] = tags;
    for (unsigned k = 0; k < 8; k++) g_.f80(in.fx_in + 32 + 16 * k);
    uint32_t mxcsr = 0x1f80 | (g_.u64() & 0x7f) | (g_.below(4) << 13);
    std::memcpy(in.fx_in + 24, &mxcsr, 4);
    g_.fill(in.fx_in + 160, 256, Vk::Any);
  }

  void fill_operand(Mk mk, uint8_t* p, bool p66) {
    switch (mk) {
      case Mk::F32: {
        uint32_t v = g_.f32();
        std::memcpy(p, &v, 4);
        break;
      }
      case Mk::F64: {
        uint64_t v = g_.f64();
        std::memcpy(p, &v, 8);
        break;
      }
      case Mk::I16:
      case Mk::I32:
      case Mk::I64: {
        uint64_t v = g_.int_edge(8);
        if (g_.chance(50))
          v = static_cast<uint64_t>(static_cast<int64_t>(g_.u64()) >> g_.below(64));
        std::memcpy(p, &v, 8);
        break;
      }
      case Mk::F80:
        g_.f80(p);
        break;
      case Mk::Bcd:
        g_.bcd(p);
        break;
      case Mk::Cw:
        g_.fill(p, 2, Vk::Any);
        break;
      case Mk::Env:
      case Mk::Save: {
        unsigned env = p66 ? 14 : 28;
        g_.fill(p, env, Vk::Any);
        unsigned step = p66 ? 2 : 4;
        uint16_t fcw = static_cast<uint16_t>(g_.u64());
        if (g_.chance(50)) fcw |= 0x3f;
        std::memcpy(p, &fcw, 2);
        uint16_t fsw = static_cast<uint16_t>(g_.u64());
        if (g_.chance(50)) fsw &= static_cast<uint16_t>(~0xbf);
        std::memcpy(p + step, &fsw, 2);
        if (mk == Mk::Save)
          for (unsigned k = 0; k < 8; k++) g_.f80(p + env + 10 * k);
        break;
      }
      case Mk::Fx: {
        g_.fill(p, 512, Vk::Any);
        for (unsigned k = 0; k < 8; k++) g_.f80(p + 32 + 16 * k);
        uint32_t mxcsr = static_cast<uint32_t>(g_.u64() & 0xffff);
        std::memcpy(p + 24, &mxcsr, 4);
        break;
      }
      case Mk::Mxcsr: {
        uint32_t mxcsr = static_cast<uint32_t>(g_.u64() & 0xffff);
        if (g_.chance(50)) mxcsr |= 0x1f80;
        std::memcpy(p, &mxcsr, 4);
        break;
      }
      default:
        g_.fill(p, 16, Vk::Any);
    }
  }

  std::string run_case(const X87Form& f, std::vector<uint8_t>* insn) {
    random_state();
    SseNativeState& in = h.in;
    std::vector<uint8_t>& b = *insn;
    b.clear();
    if (f.p66) b.push_back(0x66);
    if (f.w) b.push_back(0x48);
    if (f.esc == 8) {
      b.push_back(0x0f);
      b.push_back(0xae);
    } else {
      b.push_back(static_cast<uint8_t>(0xd8 + f.esc));
    }
    h.ignore.clear();
    if (f.mk == Mk::None) {
      unsigned modrm =
          f.modrm >= 0 ? static_cast<unsigned>(f.modrm) : 0xc0 | (f.r << 3) | g_.below(8);
      b.push_back(static_cast<uint8_t>(modrm));
      return h.run(b);
    }
    uint64_t mid = h.native.data_addr() + 4096;
    uint64_t addr = mid + g_.below(1024) - 512;
    if (f.mk == Mk::Fx) addr &= ~15ull;
    int8_t disp = static_cast<int8_t>(g_.below(256) - 128);
    in.r[RBX] = addr - disp;
    b.push_back(static_cast<uint8_t>(0x40 | (f.r << 3) | RBX));
    b.push_back(static_cast<uint8_t>(disp));
    fill_operand(f.mk, reinterpret_cast<uint8_t*>(addr), f.p66);
    unsigned off = static_cast<unsigned>(addr - h.native.data_addr());
    // Instruction/data pointers in stored images.
    bool env_store = (f.esc == 1 && f.r == 6) || (f.esc == 5 && f.r == 6);
    if (env_store)
      h.ignore.push_back(f.p66 ? std::make_pair(off + 6, 8u) : std::make_pair(off + 12, 16u));
    // FXSAVE: FOP/FIP/FDP, and MXCSR_MASK — which MXCSR bits the CPU supports is the model's
    // own (AMD's include bit 17, misaligned SSE mode; machina's qemu64 has 0xffff).
    if (f.esc == 8 && f.r == 0) {
      h.ignore.push_back({off + 6, 18u});
      h.ignore.push_back({off + 28, 4u});
    }
    return h.run(b);
  }

  Gen g_;
};

std::vector<X87Form> all_forms() {
  std::vector<X87Form> v;
  const char* arith[8] = {"fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr"};
  for (int r = 0; r < 8; r++) {
    v.push_back({std::string(arith[r]) + " m32fp", 0, r, Mk::F32});
    v.push_back({std::string(arith[r]) + " m64fp", 4, r, Mk::F64});
    v.push_back({std::string("fi") + (arith[r] + 1) + " m32int", 2, r, Mk::I32});
    v.push_back({std::string("fi") + (arith[r] + 1) + " m16int", 6, r, Mk::I16});
    v.push_back({std::string(arith[r]) + " st,st(i)", 0, r, Mk::None});
    v.push_back({std::string(arith[r]) + " st(i),st (DC)", 4, r, Mk::None});
  }
  v.push_back({"fld m32", 1, 0, Mk::F32});
  v.push_back({"fst m32", 1, 2, Mk::Store});
  v.push_back({"fstp m32", 1, 3, Mk::Store});
  v.push_back({"fldenv", 1, 4, Mk::Env});
  v.push_back({"fldenv 16", 1, 4, Mk::Env, -1, true});
  v.push_back({"fldcw", 1, 5, Mk::Cw});
  v.push_back({"fnstenv", 1, 6, Mk::Store});
  v.push_back({"fnstenv 16", 1, 6, Mk::Store, -1, true});
  v.push_back({"fnstcw", 1, 7, Mk::Store});
  v.push_back({"fild m32", 3, 0, Mk::I32});
  v.push_back({"fisttp m32", 3, 1, Mk::Store});
  v.push_back({"fist m32", 3, 2, Mk::Store});
  v.push_back({"fistp m32", 3, 3, Mk::Store});
  v.push_back({"fld m80", 3, 5, Mk::F80});
  v.push_back({"fstp m80", 3, 7, Mk::Store});
  v.push_back({"fld m64", 5, 0, Mk::F64});
  v.push_back({"fisttp m64", 5, 1, Mk::Store});
  v.push_back({"fst m64", 5, 2, Mk::Store});
  v.push_back({"fstp m64", 5, 3, Mk::Store});
  v.push_back({"frstor", 5, 4, Mk::Save});
  v.push_back({"frstor 16", 5, 4, Mk::Save, -1, true});
  v.push_back({"fnsave", 5, 6, Mk::Store});
  v.push_back({"fnsave 16", 5, 6, Mk::Store, -1, true});
  v.push_back({"fnstsw m16", 5, 7, Mk::Store});
  v.push_back({"fild m16", 7, 0, Mk::I16});
  v.push_back({"fisttp m16", 7, 1, Mk::Store});
  v.push_back({"fist m16", 7, 2, Mk::Store});
  v.push_back({"fistp m16", 7, 3, Mk::Store});
  v.push_back({"fbld", 7, 4, Mk::Bcd});
  v.push_back({"fild m64", 7, 5, Mk::I64});
  v.push_back({"fbstp", 7, 6, Mk::Store});
  v.push_back({"fistp m64", 7, 7, Mk::Store});
  // ST(i) forms.
  const struct {
    const char* name;
    uint8_t esc;
    int r;
  } st[] = {{"fld st(i)", 1, 0},  {"fxch", 1, 1},     {"fstp1", 1, 3},   {"fcmovb", 2, 0},
            {"fcmove", 2, 1},     {"fcmovbe", 2, 2},  {"fcmovu", 2, 3},  {"fcmovnb", 3, 0},
            {"fcmovne", 3, 1},    {"fcmovnbe", 3, 2}, {"fcmovnu", 3, 3}, {"fucomi", 3, 5},
            {"fcomi", 3, 6},      {"ffree", 5, 0},    {"fxch4", 5, 1},   {"fst st(i)", 5, 2},
            {"fstp st(i)", 5, 3}, {"fucom", 5, 4},    {"fucomp", 5, 5},  {"faddp", 6, 0},
            {"fmulp", 6, 1},      {"fcomp5", 6, 2},   {"fsubrp", 6, 4},  {"fsubp", 6, 5},
            {"fdivrp", 6, 6},     {"fdivp", 6, 7},    {"ffreep", 7, 0},  {"fxch7", 7, 1},
            {"fstp8", 7, 2},      {"fstp9", 7, 3},    {"fucomip", 7, 5}, {"fcomip", 7, 6}};
  for (const auto& s : st) v.push_back({s.name, s.esc, s.r, Mk::None});
  // Fixed encodings.
  const struct {
    const char* name;
    uint8_t esc;
    int modrm;
  } fixed[] = {
      {"fnop", 1, 0xd0},    {"fchs", 1, 0xe0},    {"fabs", 1, 0xe1},    {"ftst", 1, 0xe4},
      {"fxam", 1, 0xe5},    {"fld1", 1, 0xe8},    {"fldl2t", 1, 0xe9},  {"fldl2e", 1, 0xea},
      {"fldpi", 1, 0xeb},   {"fldlg2", 1, 0xec},  {"fldln2", 1, 0xed},  {"fldz", 1, 0xee},
      {"f2xm1", 1, 0xf0},   {"fyl2x", 1, 0xf1},   {"fptan", 1, 0xf2},   {"fpatan", 1, 0xf3},
      {"fxtract", 1, 0xf4}, {"fprem1", 1, 0xf5},  {"fdecstp", 1, 0xf6}, {"fincstp", 1, 0xf7},
      {"fprem", 1, 0xf8},   {"fyl2xp1", 1, 0xf9}, {"fsqrt", 1, 0xfa},   {"fsincos", 1, 0xfb},
      {"frndint", 1, 0xfc}, {"fscale", 1, 0xfd},  {"fsin", 1, 0xfe},    {"fcos", 1, 0xff},
      {"fucompp", 2, 0xe9}, {"fneni", 3, 0xe0},   {"fndisi", 3, 0xe1},  {"fnclex", 3, 0xe2},
      {"fninit", 3, 0xe3},  {"fnsetpm", 3, 0xe4}, {"fcompp", 6, 0xd9},  {"fnstsw ax", 7, 0xe0}};
  for (const auto& s : fixed) v.push_back({s.name, s.esc, s.modrm >> 3 & 7, Mk::None, s.modrm});
  // 0F AE.
  v.push_back({"fxsave", 8, 0, Mk::Fx});
  v.push_back({"fxsave64", 8, 0, Mk::Fx, -1, false, true});
  v.push_back({"fxrstor", 8, 1, Mk::Fx});
  v.push_back({"fxrstor64", 8, 1, Mk::Fx, -1, false, true});
  v.push_back({"ldmxcsr", 8, 2, Mk::Mxcsr});
  v.push_back({"stmxcsr", 8, 3, Mk::Store});
  v.push_back({"clflush", 8, 7, Mk::Store});
  v.push_back({"lfence", 8, 5, Mk::None, 0xe8});
  v.push_back({"mfence", 8, 6, Mk::None, 0xf0});
  v.push_back({"sfence", 8, 7, Mk::None, 0xf8});
  return v;
}

TEST(X87Differential, AllFormsMatchHostCpu) {
  X87Diff d(0x783837ull + env_int("MACHINA_X86_DIFF_SEED", 0));
  ASSERT_TRUE(d.h.native.ok());
  const int n = kCases * diff_scale();
  int forms = 0, bad = 0;
  for (const X87Form& f : all_forms()) {
    bad += d.run_cases(f, n);
    forms++;
  }
  EXPECT_EQ(bad, 0);
  std::printf("x87 differential: %d forms, %d cases, %d mismatches\n", forms, forms * n, bad);
}

}  // namespace
}  // namespace machina::x86::test
