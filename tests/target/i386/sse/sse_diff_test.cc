// Differential tests of every SSE/SSE2/MMX instruction form against the host CPU: random and
// edge operands (±0, denormals, infinities, QNaN/SNaN, integer limits, rounding boundaries)
// under random MXCSR rounding modes, DAZ, FTZ and sticky flags, and a random x87 state for the
// MMX transitions; all XMM and MMX/x87 registers, MXCSR, GPRs, flags and memory must match.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "target/i386/sse/sse_diff_harness.h"

namespace machina::x86::test {
namespace {

constexpr int kCasesPerMode = 1000;

enum class K : uint8_t { X, M, G, None };

struct Form {
  std::string name;
  uint8_t pfx;  // 0, 0x66, 0xf3, 0xf2
  uint8_t op;   // second opcode byte (0F xx)
  K reg, rm;
  unsigned mem;  // memory operand size; 0: no memory form
  Vk vk = Vk::Any;
  bool aligned = false;
  bool reg_ok = true;
  bool imm = false;
  bool w = false;
  int ext = -1;  // ModRM.reg holds an opcode extension
  bool src_count = false;
  bool rdi = false;
};

void random_x87(Gen& g, uint8_t* img, bool mmx_values) {
  uint16_t fcw = 0x037f;
  if (g.chance(30))
    fcw = static_cast<uint16_t>(0x7f | (g.below(4) << 8) | (g.below(4) << 10) | (g.below(2) << 12));
  uint16_t fsw =
      static_cast<uint16_t>((g.u64() & (kFswCC | kFswExc | kFswSF)) | (g.below(8) << 11));
  std::memcpy(img, &fcw, 2);
  std::memcpy(img + 2, &fsw, 2);
  img[4] = g.chance(50) ? 0xff : static_cast<uint8_t>(g.u64());
  for (unsigned k = 0; k < 8; k++) {
    uint8_t* p = img + 32 + 16 * k;
    if (mmx_values) {
      g.fill(p, 8, Vk::Any);
      uint16_t se = g.chance(70) ? 0xffff : static_cast<uint16_t>(g.u64());
      std::memcpy(p + 8, &se, 2);
    } else {
      g.f80(p);
    }
  }
}

class SseDiff {
 public:
  explicit SseDiff(uint64_t seed) : g_(seed) {}
  DiffHarness h;

  // Runs n cases of one mode; returns the number of mismatches.
  int run_cases(const Form& f, bool mem_mode, int n) {
    int bad = 0;
    for (int i = 0; i < n; i++) {
      std::vector<uint8_t> insn;
      std::string why = run_case(f, mem_mode, &insn);
      if (!why.empty()) {
        if (bad < 3)
          ADD_FAILURE() << f.name << (mem_mode ? " mem" : " reg") << " ["
                        << DiffHarness::bytes(insn) << "]"
                        << " interp/native:" << why;
        bad++;
      }
    }
    return bad;
  }

 private:
  unsigned pick(K k) {
    switch (k) {
      case K::X:
        return g_.below(16);
      case K::M:
        return g_.below(8);
      case K::G:
        for (;;) {
          unsigned r = g_.below(16);
          if (r != RSP) return r;
        }
      default:
        return 0;
    }
  }

  std::string run_case(const Form& f, bool mem_mode, std::vector<uint8_t>* insn) {
    SseNativeState& in = h.in;
    for (auto& r : in.r) r = g_.int_edge(8);
    in.r[RSP] = 0;
    in.flags = (g_.u64() & kArithFlags) | 2;
    std::memset(in.fx_in, 0, 512);
    const bool mmx = f.reg == K::M || f.rm == K::M || f.op == 0x77;
    random_x87(g_, in.fx_in, mmx || g_.chance(20));
    uint32_t mxcsr = 0x1f80 | (g_.below(4) << 13) | (g_.u64() & 0x3f);
    if (g_.chance(40)) mxcsr |= kMxcsrDAZ;
    if (g_.chance(40)) mxcsr |= kMxcsrFTZ;
    // Some cases unmask invalid, denormal, divide-by-zero and precision exceptions: the host
    // then raises #XM, caught by the harness. (Unmasked overflow and underflow are covered by
    // unit tests: the inexact flag reported with them is approximate, see sse-fp.cc.)
    if (g_.chance(25)) mxcsr &= ~((g_.u64() & 0x27) << 7);
    std::memcpy(in.fx_in + 24, &mxcsr, 4);
    g_.fill(in.fx_in + 160, 256, f.vk);

    unsigned reg = f.ext >= 0 ? static_cast<unsigned>(f.ext) : pick(f.reg);
    unsigned rm = pick(f.rm);
    if (f.src_count && !mem_mode) {
      uint64_t c = g_.count();
      if (f.rm == K::M)
        std::memcpy(in.fx_in + 32 + 16 * ((rm - ((in.fx_in[3] >> 3) & 7)) & 7), &c, 8);
      else
        std::memcpy(in.fx_in + 160 + 16 * rm, &c, 8);
    }
    // MMX register numbers ignore REX.R/REX.B: set them at random.
    bool rex_r = (f.reg == K::M && f.ext < 0) ? g_.chance(30) : reg >= 8;
    bool rex_b = mem_mode ? false : (f.rm == K::M ? g_.chance(30) : rm >= 8);
    std::vector<uint8_t> b;
    if (f.pfx) b.push_back(f.pfx);
    if (f.w || rex_r || rex_b || g_.chance(10))
      b.push_back(0x40 | (f.w ? 8 : 0) | (rex_r ? 4 : 0) | (rex_b ? 1 : 0));
    b.push_back(0x0f);
    b.push_back(f.op);
    uint8_t regf = static_cast<uint8_t>(reg & 7);
    size_t disp_pos = 0;
    uint64_t target = 0;
    uint64_t mid = h.native.data_addr() + 4096;
    if (f.op == 0x77) {
      // EMMS: no ModRM
    } else if (!mem_mode) {
      b.push_back(0xc0 | (regf << 3) | (rm & 7));
    } else {
      // The operand address: 16-byte aligned for the aligned forms.
      uint64_t addr = mid + g_.below(1024) - 512;
      if (f.aligned || g_.chance(25)) addr &= ~15ull;
      unsigned kind = g_.below(3);
      if (kind == 0) {
        int8_t disp = static_cast<int8_t>(g_.below(256) - 128);
        in.r[RBX] = addr - disp;
        b.push_back(0x40 | (regf << 3) | 3);
        b.push_back(static_cast<uint8_t>(disp));
      } else if (kind == 1) {
        unsigned scale = g_.below(4);
        int32_t disp = static_cast<int32_t>(g_.below(4096)) - 2048;
        in.r[RSI] = g_.below(64);
        in.r[RBX] = addr - disp - (in.r[RSI] << scale);
        b.push_back(0x80 | (regf << 3) | 4);
        b.push_back(static_cast<uint8_t>((scale << 6) | (RSI << 3) | RBX));
        for (int k = 0; k < 4; k++) b.push_back((static_cast<uint32_t>(disp) >> (8 * k)) & 0xff);
      } else {
        b.push_back((regf << 3) | 5);
        disp_pos = b.size();
        for (int k = 0; k < 4; k++) b.push_back(0);
        target = addr;
      }
      uint8_t* p = reinterpret_cast<uint8_t*>(addr);
      g_.fill(p - 32, 80, f.vk);
      if (f.src_count) {
        uint64_t c = g_.count();
        std::memcpy(p, &c, 8);
      }
    }
    if (f.imm) {
      uint8_t imm = static_cast<uint8_t>(f.src_count ? g_.count() : g_.u64());
      b.push_back(imm);
    }
    if (f.rdi) {
      in.r[RDI] = mid + g_.below(512) - 256;
      g_.fill(reinterpret_cast<uint8_t*>(in.r[RDI]), 16, Vk::Any);
    }
    *insn = b;
    return h.run(b, disp_pos, target);
  }

  Gen g_;
};

std::vector<Form> all_forms() {
  std::vector<Form> v;
  const K X = K::X, M = K::M, G = K::G;
  // --- moves
  v.push_back({"movups", 0, 0x10, X, X, 16, Vk::Any});
  v.push_back({"movups st", 0, 0x11, X, X, 16, Vk::Any});
  v.push_back({"movupd", 0x66, 0x10, X, X, 16, Vk::Any});
  v.push_back({"movupd st", 0x66, 0x11, X, X, 16, Vk::Any});
  v.push_back({"movss", 0xf3, 0x10, X, X, 4, Vk::F32});
  v.push_back({"movss st", 0xf3, 0x11, X, X, 4, Vk::F32});
  v.push_back({"movsd", 0xf2, 0x10, X, X, 8, Vk::F64});
  v.push_back({"movsd st", 0xf2, 0x11, X, X, 8, Vk::F64});
  v.push_back({"movlps/movhlps", 0, 0x12, X, X, 8, Vk::Any});
  v.push_back({"movlpd", 0x66, 0x12, X, X, 8, Vk::Any, false, false});
  v.push_back({"movlps st", 0, 0x13, X, X, 8, Vk::Any, false, false});
  v.push_back({"movlpd st", 0x66, 0x13, X, X, 8, Vk::Any, false, false});
  v.push_back({"movhps/movlhps", 0, 0x16, X, X, 8, Vk::Any});
  v.push_back({"movhpd", 0x66, 0x16, X, X, 8, Vk::Any, false, false});
  v.push_back({"movhps st", 0, 0x17, X, X, 8, Vk::Any, false, false});
  v.push_back({"movhpd st", 0x66, 0x17, X, X, 8, Vk::Any, false, false});
  v.push_back({"movaps", 0, 0x28, X, X, 16, Vk::Any, true});
  v.push_back({"movaps st", 0, 0x29, X, X, 16, Vk::Any, true});
  v.push_back({"movapd", 0x66, 0x28, X, X, 16, Vk::Any, true});
  v.push_back({"movapd st", 0x66, 0x29, X, X, 16, Vk::Any, true});
  v.push_back({"movntps", 0, 0x2b, X, X, 16, Vk::Any, true, false});
  v.push_back({"movntpd", 0x66, 0x2b, X, X, 16, Vk::Any, true, false});
  v.push_back({"movmskps", 0, 0x50, G, X, 0, Vk::F32});
  v.push_back({"movmskpd", 0x66, 0x50, G, X, 0, Vk::F64});
  v.push_back({"movd mm,r/m32", 0, 0x6e, M, G, 4, Vk::Any});
  v.push_back({"movq mm,r/m64", 0, 0x6e, M, G, 8, Vk::Any, false, true, false, true});
  v.push_back({"movd xmm,r/m32", 0x66, 0x6e, X, G, 4, Vk::Any});
  v.push_back({"movq xmm,r/m64", 0x66, 0x6e, X, G, 8, Vk::Any, false, true, false, true});
  v.push_back({"movd r/m32,mm", 0, 0x7e, M, G, 4, Vk::Any});
  v.push_back({"movq r/m64,mm", 0, 0x7e, M, G, 8, Vk::Any, false, true, false, true});
  v.push_back({"movd r/m32,xmm", 0x66, 0x7e, X, G, 4, Vk::Any});
  v.push_back({"movq r/m64,xmm", 0x66, 0x7e, X, G, 8, Vk::Any, false, true, false, true});
  v.push_back({"movq xmm,xmm/m64", 0xf3, 0x7e, X, X, 8, Vk::Any});
  v.push_back({"movq mm,mm/m64", 0, 0x6f, M, M, 8, Vk::Any});
  v.push_back({"movdqa", 0x66, 0x6f, X, X, 16, Vk::Any, true});
  v.push_back({"movdqu", 0xf3, 0x6f, X, X, 16, Vk::Any});
  v.push_back({"movq mm/m64,mm", 0, 0x7f, M, M, 8, Vk::Any});
  v.push_back({"movdqa st", 0x66, 0x7f, X, X, 16, Vk::Any, true});
  v.push_back({"movdqu st", 0xf3, 0x7f, X, X, 16, Vk::Any});
  v.push_back({"movq xmm/m64,xmm", 0x66, 0xd6, X, X, 8, Vk::Any});
  v.push_back({"movq2dq", 0xf3, 0xd6, X, M, 0, Vk::Any});
  v.push_back({"movdq2q", 0xf2, 0xd6, M, X, 0, Vk::Any});
  v.push_back({"movntq", 0, 0xe7, M, M, 8, Vk::Any, false, false});
  v.push_back({"movntdq", 0x66, 0xe7, X, X, 16, Vk::Any, true, false});
  // --- unpacks, shuffles, inserts/extracts, masks
  v.push_back({"unpcklps", 0, 0x14, X, X, 16, Vk::F32, true});
  v.push_back({"unpcklpd", 0x66, 0x14, X, X, 16, Vk::F64, true});
  v.push_back({"unpckhps", 0, 0x15, X, X, 16, Vk::F32, true});
  v.push_back({"unpckhpd", 0x66, 0x15, X, X, 16, Vk::F64, true});
  v.push_back({"shufps", 0, 0xc6, X, X, 16, Vk::F32, true, true, true});
  v.push_back({"shufpd", 0x66, 0xc6, X, X, 16, Vk::F64, true, true, true});
  v.push_back({"pshufw", 0, 0x70, M, M, 8, Vk::I16, false, true, true});
  v.push_back({"pshufd", 0x66, 0x70, X, X, 16, Vk::I32, true, true, true});
  v.push_back({"pshufhw", 0xf3, 0x70, X, X, 16, Vk::I16, true, true, true});
  v.push_back({"pshuflw", 0xf2, 0x70, X, X, 16, Vk::I16, true, true, true});
  v.push_back({"pinsrw mm", 0, 0xc4, M, G, 2, Vk::I16, false, true, true});
  v.push_back({"pinsrw xmm", 0x66, 0xc4, X, G, 2, Vk::I16, false, true, true});
  v.push_back({"pextrw mm", 0, 0xc5, G, M, 0, Vk::I16, false, true, true});
  v.push_back({"pextrw xmm", 0x66, 0xc5, G, X, 0, Vk::I16, false, true, true});
  v.push_back({"pmovmskb mm", 0, 0xd7, G, M, 0, Vk::I8});
  v.push_back({"pmovmskb xmm", 0x66, 0xd7, G, X, 0, Vk::I8});
  {
    Form a{"maskmovq", 0, 0xf7, M, M, 0, Vk::I8};
    a.rdi = true;
    v.push_back(a);
    Form b{"maskmovdqu", 0x66, 0xf7, X, X, 0, Vk::I8};
    b.rdi = true;
    v.push_back(b);
  }
  // --- floating point
  const uint8_t pf[4] = {0, 0x66, 0xf3, 0xf2};
  const char* sfx[4] = {"ps", "pd", "ss", "sd"};
  const Vk fvk[4] = {Vk::F32, Vk::F64, Vk::F32, Vk::F64};
  const unsigned fsz[4] = {16, 16, 4, 8};
  struct Arith {
    const char* name;
    uint8_t op;
    unsigned forms;  // bit i: prefix i exists
  };
  const Arith arith[] = {{"sqrt", 0x51, 15}, {"rsqrt", 0x52, 5}, {"rcp", 0x53, 5},
                         {"and", 0x54, 3},   {"andn", 0x55, 3},  {"or", 0x56, 3},
                         {"xor", 0x57, 3},   {"add", 0x58, 15},  {"mul", 0x59, 15},
                         {"sub", 0x5c, 15},  {"min", 0x5d, 15},  {"div", 0x5e, 15},
                         {"max", 0x5f, 15},  {"cmp", 0xc2, 15}};
  for (const Arith& a : arith)
    for (unsigned p = 0; p < 4; p++) {
      if (!(a.forms & (1u << p))) continue;
      Form f{std::string(a.name) + sfx[p], pf[p], a.op, X, X, fsz[p], fvk[p], fsz[p] == 16};
      f.imm = a.op == 0xc2;
      v.push_back(f);
    }
  v.push_back({"cvtps2pd", 0, 0x5a, X, X, 8, Vk::F32});
  v.push_back({"cvtpd2ps", 0x66, 0x5a, X, X, 16, Vk::F64, true});
  v.push_back({"cvtss2sd", 0xf3, 0x5a, X, X, 4, Vk::F32});
  v.push_back({"cvtsd2ss", 0xf2, 0x5a, X, X, 8, Vk::F64});
  v.push_back({"cvtdq2ps", 0, 0x5b, X, X, 16, Vk::I32, true});
  v.push_back({"cvtps2dq", 0x66, 0x5b, X, X, 16, Vk::F32, true});
  v.push_back({"cvttps2dq", 0xf3, 0x5b, X, X, 16, Vk::F32, true});
  v.push_back({"cvttpd2dq", 0x66, 0xe6, X, X, 16, Vk::F64, true});
  v.push_back({"cvtdq2pd", 0xf3, 0xe6, X, X, 8, Vk::I32});
  v.push_back({"cvtpd2dq", 0xf2, 0xe6, X, X, 16, Vk::F64, true});
  v.push_back({"cvtpi2ps", 0, 0x2a, X, M, 8, Vk::I32});
  v.push_back({"cvtpi2pd", 0x66, 0x2a, X, M, 8, Vk::I32});
  v.push_back({"cvtsi2ss r32", 0xf3, 0x2a, X, G, 4, Vk::I32});
  v.push_back({"cvtsi2ss r64", 0xf3, 0x2a, X, G, 8, Vk::I64, false, true, false, true});
  v.push_back({"cvtsi2sd r32", 0xf2, 0x2a, X, G, 4, Vk::I32});
  v.push_back({"cvtsi2sd r64", 0xf2, 0x2a, X, G, 8, Vk::I64, false, true, false, true});
  for (uint8_t op : {0x2c, 0x2d}) {
    std::string t = op == 0x2c ? "cvtt" : "cvt";
    v.push_back({t + "ps2pi", 0, op, M, X, 8, Vk::F32});
    v.push_back({t + "pd2pi", 0x66, op, M, X, 16, Vk::F64, true});
    v.push_back({t + "ss2si r32", 0xf3, op, G, X, 4, Vk::F32});
    v.push_back({t + "ss2si r64", 0xf3, op, G, X, 4, Vk::F32, false, true, false, true});
    v.push_back({t + "sd2si r32", 0xf2, op, G, X, 8, Vk::F64});
    v.push_back({t + "sd2si r64", 0xf2, op, G, X, 8, Vk::F64, false, true, false, true});
  }
  v.push_back({"ucomiss", 0, 0x2e, X, X, 4, Vk::F32});
  v.push_back({"ucomisd", 0x66, 0x2e, X, X, 8, Vk::F64});
  v.push_back({"comiss", 0, 0x2f, X, X, 4, Vk::F32});
  v.push_back({"comisd", 0x66, 0x2f, X, X, 8, Vk::F64});
  // --- integer SIMD, MMX and SSE2 forms
  struct Int {
    const char* name;
    uint8_t op;
    Vk vk;
  };
  const Int ints[] = {
      {"punpcklbw", 0x60, Vk::I8},   {"punpcklwd", 0x61, Vk::I16},  {"punpckldq", 0x62, Vk::I32},
      {"packsswb", 0x63, Vk::I16},   {"pcmpgtb", 0x64, Vk::I8},     {"pcmpgtw", 0x65, Vk::I16},
      {"pcmpgtd", 0x66, Vk::I32},    {"packuswb", 0x67, Vk::I16},   {"punpckhbw", 0x68, Vk::I8},
      {"punpckhwd", 0x69, Vk::I16},  {"punpckhdq", 0x6a, Vk::I32},  {"packssdw", 0x6b, Vk::I32},
      {"punpcklqdq", 0x6c, Vk::I64}, {"punpckhqdq", 0x6d, Vk::I64}, {"pcmpeqb", 0x74, Vk::I8},
      {"pcmpeqw", 0x75, Vk::I16},    {"pcmpeqd", 0x76, Vk::I32},    {"psrlw", 0xd1, Vk::I16},
      {"psrld", 0xd2, Vk::I32},      {"psrlq", 0xd3, Vk::I64},      {"paddq", 0xd4, Vk::I64},
      {"pmullw", 0xd5, Vk::I16},     {"psubusb", 0xd8, Vk::I8},     {"psubusw", 0xd9, Vk::I16},
      {"pminub", 0xda, Vk::I8},      {"pand", 0xdb, Vk::Any},       {"paddusb", 0xdc, Vk::I8},
      {"paddusw", 0xdd, Vk::I16},    {"pmaxub", 0xde, Vk::I8},      {"pandn", 0xdf, Vk::Any},
      {"pavgb", 0xe0, Vk::I8},       {"psraw", 0xe1, Vk::I16},      {"psrad", 0xe2, Vk::I32},
      {"pavgw", 0xe3, Vk::I16},      {"pmulhuw", 0xe4, Vk::I16},    {"pmulhw", 0xe5, Vk::I16},
      {"psubsb", 0xe8, Vk::I8},      {"psubsw", 0xe9, Vk::I16},     {"pminsw", 0xea, Vk::I16},
      {"por", 0xeb, Vk::Any},        {"paddsb", 0xec, Vk::I8},      {"paddsw", 0xed, Vk::I16},
      {"pmaxsw", 0xee, Vk::I16},     {"pxor", 0xef, Vk::Any},       {"psllw", 0xf1, Vk::I16},
      {"pslld", 0xf2, Vk::I32},      {"psllq", 0xf3, Vk::I64},      {"pmuludq", 0xf4, Vk::I32},
      {"pmaddwd", 0xf5, Vk::I16},    {"psadbw", 0xf6, Vk::I8},      {"psubb", 0xf8, Vk::I8},
      {"psubw", 0xf9, Vk::I16},      {"psubd", 0xfa, Vk::I32},      {"psubq", 0xfb, Vk::I64},
      {"paddb", 0xfc, Vk::I8},       {"paddw", 0xfd, Vk::I16},      {"paddd", 0xfe, Vk::I32}};
  for (const Int& in : ints) {
    bool shift = (in.op >= 0xd1 && in.op <= 0xd3) || in.op == 0xe1 || in.op == 0xe2 ||
                 (in.op >= 0xf1 && in.op <= 0xf3);
    bool low_unpack = in.op >= 0x60 && in.op <= 0x62;
    if (in.op != 0x6c && in.op != 0x6d) {
      Form m{std::string(in.name) + " mm", 0, in.op, M, M, low_unpack ? 4u : 8u, in.vk};
      m.src_count = shift;
      v.push_back(m);
    }
    Form x{std::string(in.name) + " xmm", 0x66, in.op, X, X, 16, in.vk, true};
    x.src_count = shift;
    v.push_back(x);
  }
  struct ShiftImm {
    const char* name;
    uint8_t op;
    int ext;
    bool mmx;
  };
  const ShiftImm si[] = {{"psrlw", 0x71, 2, true},   {"psraw", 0x71, 4, true},
                         {"psllw", 0x71, 6, true},   {"psrld", 0x72, 2, true},
                         {"psrad", 0x72, 4, true},   {"pslld", 0x72, 6, true},
                         {"psrlq", 0x73, 2, true},   {"psllq", 0x73, 6, true},
                         {"psrldq", 0x73, 3, false}, {"pslldq", 0x73, 7, false}};
  for (const ShiftImm& s : si) {
    for (int x = s.mmx ? 0 : 1; x < 2; x++) {
      Form f{std::string(s.name) + (x ? " xmm,imm" : " mm,imm"),
             uint8_t(x ? 0x66 : 0),
             s.op,
             K::None,
             x ? X : M,
             0,
             Vk::Any};
      f.ext = s.ext;
      f.imm = true;
      f.src_count = true;
      v.push_back(f);
    }
  }
  v.push_back({"emms", 0, 0x77, K::None, K::None, 0, Vk::Any});
  return v;
}

TEST(SseDifferential, AllFormsMatchHostCpu) {
  SseDiff d(0x535345ull + env_int("MACHINA_X86_DIFF_SEED", 0));
  ASSERT_TRUE(d.h.native.ok());
  const int n = kCasesPerMode * diff_scale();
  int forms = 0, cases = 0, bad = 0;
  for (const Form& f : all_forms()) {
    int before = cases;
    if (f.reg_ok) {
      bad += d.run_cases(f, false, n);
      cases += n;
    }
    if (f.mem) {
      bad += d.run_cases(f, true, n);
      cases += n;
    }
    EXPECT_GE(cases - before, kCasesPerMode) << f.name;
    forms++;
  }
  EXPECT_EQ(bad, 0);
  EXPECT_GT(d.h.native_faults, 1000);  // unmasked exceptions are reached
  std::printf("sse differential: %d forms, %d cases (%d with #XM), %d mismatches\n", forms, cases,
              d.h.native_faults, bad);
}

}  // namespace
}  // namespace machina::x86::test
