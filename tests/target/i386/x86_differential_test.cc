// Differential tests: each instruction form runs natively on the host CPU and in the interpreter
// with the same registers, flags and memory; GPRs, defined flags and memory must match.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "target/i386/decode.h"
#include "target/i386/interp-fast.h"
#include "target/i386/interp.h"
#include "target/i386/x86_native_runner.h"

namespace machina::x86 {
namespace {

using test::NativeRegs;
using test::NativeRunner;

// Per form: this many register and this many memory cases. MACHINA_X86_DIFF_SCALE=N runs N times
// as many (the long mode); MACHINA_X86_DIFF_SEED picks another operand sequence.
constexpr int kCasesPerMode = 1000;

int env_int(const char* name, int def) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : def;
}
int cases_per_mode() {
  return kCasesPerMode * std::max(1, env_int("MACHINA_X86_DIFF_SCALE", 1));
}

enum class Undef { None, LogicAF, MulLike, Shift, ShiftD, Bit, Bsf, Div, Rotate };

struct Form {
  std::string name;
  std::vector<uint8_t> op;  // opcode bytes
  int ext;            // ModRM.reg extension 0-7; -1 reg operand; -2 reg in opcode; -3 no ModRM
  unsigned size;      // operand size (66 / REX.W)
  unsigned rm_size;   // size of the r/m (or opcode-register) operand
  unsigned reg_size;  // size of the ModRM.reg register operand (0 if none)
  unsigned imm;       // immediate bytes
  Undef undef = Undef::None;
  bool mem = true;     // memory operand forms allowed
  bool reg_ok = true;  // register operand forms allowed
  bool count_imm = false;
  bool bt_reg = false;    // register bit offset addressing memory: keep it small
  unsigned div_kind = 0;  // 1 DIV, 2 IDIV
  unsigned shift_op = 0;
  bool cl_count = false;
  bool lock = false;  // LOCK-prefixed (memory operand only)
};

uint64_t mask_of(unsigned size) {
  return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  uint64_t u64() { return rng_(); }
  unsigned below(unsigned n) { return static_cast<unsigned>(rng_() % n); }
  uint64_t value() {
    static const uint64_t edges[] = {0,
                                     1,
                                     2,
                                     0x7f,
                                     0x80,
                                     0xff,
                                     0x100,
                                     0x7fff,
                                     0x8000,
                                     0xffff,
                                     0x10000,
                                     0x7fffffff,
                                     0x80000000,
                                     0xffffffff,
                                     0x100000000,
                                     0x7fffffffffffffff,
                                     0x8000000000000000,
                                     ~0ull,
                                     ~0ull - 1,
                                     0xf,
                                     0x10};
    switch (below(5)) {
      case 0:
      case 1:
        return edges[below(sizeof(edges) / sizeof(edges[0]))];
      case 2:  // edge value in the low part, random above
        return (u64() << 32) | (edges[below(sizeof(edges) / sizeof(edges[0]))] & 0xffffffff);
      case 3:
        return u64() & mask_of(1u << below(4));
      default:
        return u64();
    }
  }
  uint64_t count() {
    static const uint64_t counts[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255};
    return below(2) ? counts[below(16)] : below(256);
  }

 private:
  std::mt19937_64 rng_;
};

class DiffRunner {
 public:
  DiffRunner() : mem_(nullptr, 0, 0) {}

  // Runs all cases of a form; returns the number of cases compared (natively executed).
  int run_form(const Form& f, Gen& g, int* mismatches) {
    int compared = 0;
    for (int mode = 0; mode < 2; mode++) {
      if (mode == 0 && !f.reg_ok) continue;
      if (mode == 1 && (!f.mem || f.ext <= -2)) continue;
      for (int i = 0, n = cases_per_mode(); i < n; i++)
        compared += run_case(f, g, mode == 1, mismatches);
    }
    return compared;
  }

  NativeRunner native;
  int de_cases = 0;    // #DE cases checked on the interpreter only
  int fast_cases = 0;  // cases the fast path (interp-fast.h) ran and was compared on
  std::set<std::string> fast_forms;

 private:
  static bool rsp_conflict(int idx, unsigned size, bool rex) {
    return idx == 4 && (size != 1 || rex);
  }
  // Reads a register operand as the instruction sees it (AH..BH without REX).
  static uint64_t reg_value(const NativeRegs& r, int idx, unsigned size, bool rex) {
    if (size == 1 && !rex && idx >= 4 && idx < 8) return (r.r[idx - 4] >> 8) & 0xff;
    return r.r[idx] & mask_of(size);
  }

  int run_case(const Form& f, Gen& g, bool mem_mode, int* mismatches);
  // Runs the instruction at `insn_addr` again through its fast-path handler, from `in` and the
  // data area's contents `before`, with a TLB that maps the runner's pages as RAM; where the
  // handler takes it, registers, RFLAGS (undefined bits too), RIP and memory must equal the
  // general interpreter's result (`st`, `sr` and the data area as it is now, which is kept).
  void check_fast_path(const Form& f, const NativeRegs& in, uint64_t insn_addr,
                       const uint8_t* before, const CpuState& st, StepResult sr, int* mismatches);

  FlatMemory mem_;
};

int DiffRunner::run_case(const Form& f, Gen& g, bool mem_mode, int* mismatches) {
  NativeRegs in;
  for (auto& r : in.r) r = g.value();
  in.r[4] = 0;
  in.flags = (g.u64() & kArithFlags) | 0x2;
  uint8_t* data = native.data();
  // Operand registers.
  bool extra_rex = (f.rm_size == 1 || f.reg_size == 1) && g.below(2);
  int reg = 0, rm = 0;
  unsigned memkind = g.below(3);  // 0 [rbx+disp8], 1 [rbx+rsi*s+disp32], 2 [rip+disp32]
  int index = 6, base = 3;
  for (int tries = 0;; tries++) {
    reg = g.below(16);
    rm = g.below(16);
    bool rex = extra_rex || f.size == 8 || (f.ext == -1 && reg >= 8) || rm >= 8;
    if (mem_mode) rex = extra_rex || f.size == 8 || (f.ext == -1 && reg >= 8);
    bool bad = false;
    if (f.ext == -1 && rsp_conflict(reg, f.reg_size, rex)) bad = true;
    if (!mem_mode && f.ext != -3 && rsp_conflict(rm, f.rm_size, rex)) bad = true;
    if (mem_mode && f.bt_reg && (reg == base || reg == index || (reg & 3) == 3)) bad = true;
    if (!bad) break;
  }
  bool rex_needed = f.size == 8 || (f.ext == -1 && reg >= 8) || (!mem_mode && rm >= 8);
  bool rex_on = rex_needed || extra_rex;
  // Immediate.
  uint64_t imm = f.count_imm ? g.count() : g.value();
  if (f.imm) imm &= mask_of(f.imm);
  if (f.bt_reg && mem_mode)
    in.r[reg] = static_cast<uint64_t>(static_cast<int64_t>(g.below(400)) - 200);
  // Encode.
  std::vector<uint8_t> b;
  b.reserve(32);
  if (f.lock) b.push_back(0xf0);
  if (f.size == 2) b.push_back(0x66);
  if (rex_on)
    b.push_back(0x40 | (f.size == 8 ? 8 : 0) | (f.ext == -1 && reg >= 8 ? 4 : 0) |
                (!mem_mode && rm >= 8 ? 1 : 0));
  b.insert(b.end(), f.op.begin(), f.op.end());
  if (f.ext == -2) b.back() += rm & 7;
  size_t disp_pos = 0;
  uint64_t mem_addr = 0;
  uint64_t data_mid = reinterpret_cast<uint64_t>(data) + 2048;
  if (f.ext >= -1) {
    uint8_t regf = f.ext >= 0 ? f.ext : (reg & 7);
    if (!mem_mode) {
      b.push_back(0xc0 | (regf << 3) | (rm & 7));
    } else if (memkind == 0) {
      int8_t disp = static_cast<int8_t>(g.below(256) - 128);
      in.r[base] = data_mid - 64 * (g.below(3));
      mem_addr = in.r[base] + disp;
      b.push_back(0x40 | (regf << 3) | 3);
      b.push_back(static_cast<uint8_t>(disp));
    } else if (memkind == 1) {
      unsigned scale = g.below(4);
      int32_t disp = static_cast<int32_t>(g.below(512)) - 256;
      in.r[base] = data_mid;
      in.r[index] = g.below(64);
      mem_addr = in.r[base] + (in.r[index] << scale) + disp;
      b.push_back(0x80 | (regf << 3) | 4);
      b.push_back((scale << 6) | (index << 3) | base);
      for (int k = 0; k < 4; k++) b.push_back((static_cast<uint32_t>(disp) >> (8 * k)) & 0xff);
    } else {
      b.push_back((regf << 3) | 5);
      disp_pos = b.size();
      for (int k = 0; k < 4; k++) b.push_back(0);
      mem_addr = data_mid + g.below(256) - 128;
    }
  }
  if (mem_mode) {
    // Fresh operand values around the accessed location (bit offsets reach +-32 bytes).
    uint64_t lo = mem_addr - 40, data_lo = reinterpret_cast<uint64_t>(data);
    for (unsigned k = 0; k < 11; k++) {
      uint64_t v = g.value();
      if (lo + 8 * k >= data_lo) std::memcpy(reinterpret_cast<void*>(lo + 8 * k), &v, 8);
    }
  }
  for (unsigned k = 0; k < f.imm; k++) b.push_back((imm >> (8 * k)) & 0xff);
  uint64_t insn_addr = native.insn_addr();
  if (disp_pos) {
    int32_t disp = static_cast<int32_t>(mem_addr - (insn_addr + b.size()));
    std::memcpy(&b[disp_pos], &disp, 4);
  }
  // Sign-extended immediate as the instruction sees it.
  uint64_t simm = imm;
  if (f.imm == 1) simm = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(imm)));
  if (f.imm == 2) simm = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(imm)));
  if (f.imm == 4) simm = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(imm)));
  // The r/m operand value (source for BSF, DIV...).
  uint64_t src = 0;
  if (mem_mode)
    std::memcpy(&src, reinterpret_cast<void*>(mem_addr), f.rm_size);
  else if (f.ext != -3)
    src = reg_value(in, rm, f.rm_size, rex_on);
  src &= mask_of(f.rm_size);
  unsigned sz = f.rm_size;
  unsigned bits = sz * 8;
  uint64_t count = f.cl_count ? (in.r[1] & 0xff) : (f.count_imm ? imm : 1);
  unsigned mcount = count & (sz == 8 ? 63 : 31);

  // Undefined flags and results per the SDM.
  uint64_t undef_flags = 0;
  bool dest_undef = false;
  switch (f.undef) {
    case Undef::None:
      break;
    case Undef::LogicAF:
      undef_flags = kAF;
      break;
    case Undef::MulLike:
      undef_flags = kSF | kZF | kAF | kPF;
      break;
    case Undef::Div:
      undef_flags = kArithFlags;
      break;
    case Undef::Bit:
      undef_flags = kOF | kSF | kAF | kPF;
      break;
    case Undef::Bsf:
      undef_flags = kArithFlags & ~kZF;
      dest_undef = src == 0;
      break;
    case Undef::Shift:
      if (mcount) {
        undef_flags = kAF;
        if (mcount != 1) undef_flags |= kOF;
        if ((f.shift_op == 4 || f.shift_op == 5) && mcount >= bits) undef_flags |= kCF;
      }
      break;
    case Undef::Rotate:
      if (mcount != 1) undef_flags = kOF;
      break;
    case Undef::ShiftD:
      if (mcount) {
        undef_flags = kAF;
        if (mcount != 1) undef_flags |= kOF;
        if (mcount > bits) {
          undef_flags = kArithFlags;
          dest_undef = true;
        }
      }
      break;
  }
  (void)simm;

  // Interpreter run.
  CpuState st;
  enter_64bit_mode(st);
  for (int k = 0; k < 16; k++) st.regs[k] = in.r[k];
  st.set_rflags(in.flags);
  native.build(b);
  st.rip = insn_addr;
  FlatMemory mem(native.page(), NativeRunner::kPageSize, reinterpret_cast<uint64_t>(native.page()));
  // Snapshot memory so the native run starts from the same contents.
  static uint8_t before[NativeRunner::kPageSize];
  std::memcpy(before, data, NativeRunner::kPageSize - NativeRunner::kDataOffset);
  StepResult sr = step(st, mem);
  check_fast_path(f, in, insn_addr, before, st, sr, mismatches);

  if (f.div_kind) {
    // #DE is checked against a reference, never executed natively.
    uint64_t m = mask_of(sz);
    uint64_t lo = sz == 1 ? in.r[0] & 0xff : in.r[0] & m;
    uint64_t hi = sz == 1 ? (in.r[0] >> 8) & 0xff : in.r[2] & m;
    bool de;
    if (src == 0) {
      de = true;
    } else if (f.div_kind == 1) {
      unsigned __int128 dv = (static_cast<unsigned __int128>(hi) << bits) | lo;
      de = dv / src > m;
    } else {
      unsigned __int128 dv = (static_cast<unsigned __int128>(hi) << bits) | lo;
      unsigned sh = 128 - 2 * bits;
      __int128 sd = static_cast<__int128>(dv << sh) >> sh;
      int64_t sv = static_cast<int64_t>(src << (64 - bits)) >> (64 - bits);
      __int128 lim = static_cast<__int128>(1) << (bits - 1);
      if (sz == 8 && sd == -(static_cast<__int128>(1) << 126) * 2 && sv == -1) {
        de = true;
      } else {
        __int128 q = sd / sv;
        de = q >= lim || q < -lim;
      }
    }
    if (de) {
      ++de_cases;
      bool ok = sr == StepResult::DivideError && st.rip == insn_addr;
      for (int k = 0; k < 16; k++) ok = ok && st.regs[k] == in.r[k];
      if (!ok) {
        ++*mismatches;
        if (*mismatches < 20) ADD_FAILURE() << f.name << ": expected #DE";
      }
      return 0;
    }
  }

  std::vector<uint8_t> interp_mem(data,
                                  data + (NativeRunner::kPageSize - NativeRunner::kDataOffset));
  std::memcpy(data, before, NativeRunner::kPageSize - NativeRunner::kDataOffset);
  native.build(b);
  NativeRegs out = in;
  native.run(&out);

  uint64_t defined = kArithFlags & ~undef_flags;
  bool ok = sr == StepResult::Ok && st.rip == insn_addr + b.size();
  std::string why;
  if (!ok) why = "step result/rip";
  for (int k = 0; k < 16; k++) {
    if (k == 4) continue;
    // SHLD/SHRD write their r/m operand (ModRM.reg is the source); BSF/BSR their reg operand.
    bool dest_is_rm = f.ext >= 0 || f.undef == Undef::ShiftD;
    if (dest_undef && !dest_is_rm && k == reg) continue;
    if (dest_undef && dest_is_rm && !mem_mode && k == rm) continue;
    if (st.regs[k] != out.r[k]) {
      ok = false;
      char buf[120];
      snprintf(buf, sizeof buf, " r%d interp=%llx native=%llx", k,
               static_cast<unsigned long long>(st.regs[k]),
               static_cast<unsigned long long>(out.r[k]));
      why += buf;
    }
  }
  if ((st.rflags() & defined) != (out.flags & defined)) {
    ok = false;
    char buf[120];
    snprintf(buf, sizeof buf, " flags interp=%llx native=%llx defined=%llx",
             static_cast<unsigned long long>(st.rflags() & kArithFlags),
             static_cast<unsigned long long>(out.flags & kArithFlags),
             static_cast<unsigned long long>(defined));
    why += buf;
  }
  if (!(dest_undef && mem_mode) && std::memcmp(interp_mem.data(), data, interp_mem.size()) != 0) {
    ok = false;
    why += " memory";
  }
  if (!ok) {
    ++*mismatches;
    static std::string last_failed;
    if (last_failed != f.name) {
      last_failed = f.name;
      std::string hex;
      for (uint8_t x : b) {
        char h[4];
        snprintf(h, sizeof h, "%02x ", x);
        hex += h;
      }
      char ib[200];
      snprintf(ib, sizeof ib, " in: rax=%llx rcx=%llx rdx=%llx flags=%llx src=%llx",
               static_cast<unsigned long long>(in.r[0]), static_cast<unsigned long long>(in.r[1]),
               static_cast<unsigned long long>(in.r[2]), static_cast<unsigned long long>(in.flags),
               static_cast<unsigned long long>(src));
      ADD_FAILURE() << f.name << " [" << hex << "]" << (mem_mode ? " mem" : " reg") << why << ib;
    }
  }
  return 1;
}

void DiffRunner::check_fast_path(const Form& f, const NativeRegs& in, uint64_t insn_addr,
                                 const uint8_t* before, const CpuState& st, StepResult sr,
                                 int* mismatches) {
  constexpr size_t kDataBytes = NativeRunner::kPageSize - NativeRunner::kDataOffset;
  uint8_t* data = native.data();
  std::vector<uint8_t> generic_mem(data, data + kDataBytes);
  std::memcpy(data, before, kDataBytes);

  CpuState fs;
  enter_64bit_mode(fs);
  for (int k = 0; k < 16; k++) fs.regs[k] = in.r[k];
  fs.set_rflags(in.flags);
  fs.rip = insn_addr;
  FlatMemory mem(native.page(), NativeRunner::kPageSize, reinterpret_cast<uint64_t>(native.page()));
  CpuTlb tlb;
  for (size_t off = 0; off < NativeRunner::kPageSize; off += 4096) {
    uint64_t page = reinterpret_cast<uint64_t>(native.page()) + off;
    TlbEntry& e = tlb.slot(page, fs.cpl == 3);
    e.fast_read = e.fast_write = page;
    e.host = native.page() + off;
  }
  mem.tlb = &tlb;
  DecodedInsn d;
  ASSERT_EQ(decode(reinterpret_cast<const uint8_t*>(insn_addr), 15, &d), DecodeStatus::Ok);
  bool taken = run_fast_one(fs, mem, d) != FastResult::Fallback;
  if (taken) {
    fast_cases++;
    fast_forms.insert(f.name);
    bool ok = sr == StepResult::Ok && fs.rip == st.rip && fs.rflags() == st.rflags() &&
              std::memcmp(data, generic_mem.data(), kDataBytes) == 0;
    for (int k = 0; k < 16; k++) ok = ok && fs.regs[k] == st.regs[k];
    if (!ok) {
      ++*mismatches;
      if (*mismatches < 20) ADD_FAILURE() << f.name << ": the fast path differs from execute()";
    }
  }
  std::memcpy(data, generic_mem.data(), kDataBytes);
}

const char* size_name(unsigned s) {
  switch (s) {
    case 1:
      return "8";
    case 2:
      return "16";
    case 4:
      return "32";
    default:
      return "64";
  }
}

std::vector<Form> all_forms() {
  std::vector<Form> v;
  const char* alu_names[] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
  const unsigned sizes[] = {1, 2, 4, 8};
  for (unsigned op = 0; op < 8; op++) {
    Undef u = (op == 1 || op == 4 || op == 6) ? Undef::LogicAF : Undef::None;
    std::string n = alu_names[op];
    for (unsigned s : sizes) {
      uint8_t w = s == 1 ? 0 : 1;
      std::string sn = size_name(s);
      v.push_back({n + sn + " rm,r", {uint8_t(op * 8 + w)}, -1, s, s, s, 0, u});
      v.push_back({n + sn + " r,rm", {uint8_t(op * 8 + 2 + w)}, -1, s, s, s, 0, u});
      v.push_back({n + sn + " acc,imm",
                   {uint8_t(op * 8 + 4 + w)},
                   -3,
                   s,
                   s,
                   0,
                   s == 1 ? 1u : (s == 2 ? 2u : 4u),
                   u});
      if (s == 1)
        v.push_back({n + "8 rm,imm8", {0x80}, int(op), 1, 1, 0, 1, u});
      else {
        v.push_back({n + sn + " rm,imm", {0x81}, int(op), s, s, 0, s == 2 ? 2u : 4u, u});
        v.push_back({n + sn + " rm,imm8", {0x83}, int(op), s, s, 0, 1, u});
      }
    }
  }
  const char* sh_names[] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "", "sar"};
  for (unsigned op = 0; op < 8; op++) {
    if (op == 6) continue;
    Undef u = op < 4 ? Undef::Rotate : Undef::Shift;
    for (unsigned s : sizes) {
      uint8_t w = s == 1 ? 0 : 1;
      std::string n = std::string(sh_names[op]) + size_name(s);
      Form a{n + " rm,1", {uint8_t(0xd0 + w)}, int(op), s, s, 0, 0, u};
      a.shift_op = op;
      v.push_back(a);
      Form c{n + " rm,cl", {uint8_t(0xd2 + w)}, int(op), s, s, 0, 0, u};
      c.shift_op = op;
      c.cl_count = true;
      v.push_back(c);
      Form i{n + " rm,imm8", {uint8_t(0xc0 + w)}, int(op), s, s, 0, 1, u};
      i.shift_op = op;
      i.count_imm = true;
      v.push_back(i);
    }
  }
  const char* g3[] = {"test", "", "not", "neg", "mul", "imul", "div", "idiv"};
  for (unsigned op = 0; op < 8; op++) {
    if (op == 1) continue;
    for (unsigned s : sizes) {
      uint8_t w = s == 1 ? 0 : 1;
      Form f{std::string(g3[op]) + size_name(s) + " rm", {uint8_t(0xf6 + w)}, int(op), s, s, 0, 0};
      if (op == 0) {
        f.imm = s == 1 ? 1 : (s == 2 ? 2 : 4);
        f.undef = Undef::LogicAF;
      }
      if (op == 4 || op == 5) f.undef = Undef::MulLike;
      if (op >= 6) {
        f.undef = Undef::Div;
        f.div_kind = op - 5;
      }
      v.push_back(f);
    }
  }
  for (unsigned s : sizes) {
    uint8_t w = s == 1 ? 0 : 1;
    std::string sn = size_name(s);
    v.push_back({"inc" + sn, {uint8_t(0xfe + w)}, 0, s, s, 0, 0});
    v.push_back({"dec" + sn, {uint8_t(0xfe + w)}, 1, s, s, 0, 0});
    v.push_back({"test" + sn + " rm,r", {uint8_t(0x84 + w)}, -1, s, s, s, 0, Undef::LogicAF});
    v.push_back({"test" + sn + " acc,imm",
                 {uint8_t(0xa8 + w)},
                 -3,
                 s,
                 s,
                 0,
                 s == 1 ? 1u : (s == 2 ? 2u : 4u),
                 Undef::LogicAF});
    v.push_back({"mov" + sn + " rm,r", {uint8_t(0x88 + w)}, -1, s, s, s, 0});
    v.push_back({"mov" + sn + " r,rm", {uint8_t(0x8a + w)}, -1, s, s, s, 0});
    v.push_back({"mov" + sn + " rm,imm",
                 {uint8_t(0xc6 + w)},
                 0,
                 s,
                 s,
                 0,
                 s == 1 ? 1u : (s == 2 ? 2u : 4u)});
    v.push_back({"mov" + sn + " r,imm", {uint8_t(s == 1 ? 0xb0 : 0xb8)}, -2, s, s, 0, s});
    v.push_back({"xchg" + sn + " rm,r", {uint8_t(0x86 + w)}, -1, s, s, s, 0});
    v.push_back({"xadd" + sn, {0x0f, uint8_t(0xc0 + w)}, -1, s, s, s, 0});
    v.push_back({"cmpxchg" + sn, {0x0f, uint8_t(0xb0 + w)}, -1, s, s, s, 0});
    if (s == 1) continue;
    v.push_back({"xchg" + sn + " acc,r", {0x90}, -2, s, s, 0, 0});
    v.push_back({"imul" + sn + " r,rm", {0x0f, 0xaf}, -1, s, s, s, 0, Undef::MulLike});
    v.push_back({"imul" + sn + " r,rm,imm", {0x69}, -1, s, s, s, s == 2 ? 2u : 4u, Undef::MulLike});
    v.push_back({"imul" + sn + " r,rm,imm8", {0x6b}, -1, s, s, s, 1, Undef::MulLike});
    v.push_back({"movzx" + sn + " r,rm8", {0x0f, 0xb6}, -1, s, 1, s, 0});
    v.push_back({"movsx" + sn + " r,rm8", {0x0f, 0xbe}, -1, s, 1, s, 0});
    if (s != 2) {
      v.push_back({"movzx" + sn + " r,rm16", {0x0f, 0xb7}, -1, s, 2, s, 0});
      v.push_back({"movsx" + sn + " r,rm16", {0x0f, 0xbf}, -1, s, 2, s, 0});
    }
    if (s == 8) v.push_back({"movsxd r64,rm32", {0x63}, -1, 8, 4, 8, 0});
    Form lea{"lea" + sn, {0x8d}, -1, s, s, s, 0};
    lea.reg_ok = false;
    v.push_back(lea);
    v.push_back({"cbw/cwde/cdqe" + sn, {0x98}, -3, s, s, 0, 0});
    v.push_back({"cwd/cdq/cqo" + sn, {0x99}, -3, s, s, 0, 0});
    const char* bt[] = {"bt", "bts", "btr", "btc"};
    for (unsigned k = 0; k < 4; k++) {
      Form r{std::string(bt[k]) + sn + " rm,r",
             {0x0f, uint8_t(0xa3 + 8 * k)},
             -1,
             s,
             s,
             s,
             0,
             Undef::Bit};
      r.bt_reg = true;
      v.push_back(r);
      Form i{
          std::string(bt[k]) + sn + " rm,imm8", {0x0f, 0xba}, int(4 + k), s, s, 0, 1, Undef::Bit};
      i.count_imm = true;
      v.push_back(i);
    }
    v.push_back({"bsf" + sn, {0x0f, 0xbc}, -1, s, s, s, 0, Undef::Bsf});
    v.push_back({"bsr" + sn, {0x0f, 0xbd}, -1, s, s, s, 0, Undef::Bsf});
    const char* sd[] = {"shld", "shrd"};
    for (unsigned k = 0; k < 2; k++) {
      Form i{std::string(sd[k]) + sn + " rm,r,imm8",
             {0x0f, uint8_t(0xa4 + 8 * k)},
             -1,
             s,
             s,
             s,
             1,
             Undef::ShiftD};
      i.count_imm = true;
      v.push_back(i);
      Form c{std::string(sd[k]) + sn + " rm,r,cl",
             {0x0f, uint8_t(0xa5 + 8 * k)},
             -1,
             s,
             s,
             s,
             0,
             Undef::ShiftD};
      c.cl_count = true;
      v.push_back(c);
    }
    for (unsigned cc = 0; cc < 16; cc++)
      v.push_back(
          {"cmov" + std::to_string(cc) + "_" + sn, {0x0f, uint8_t(0x40 + cc)}, -1, s, s, s, 0});
  }
  for (unsigned cc = 0; cc < 16; cc++)
    v.push_back({"set" + std::to_string(cc), {0x0f, uint8_t(0x90 + cc)}, 0, 4, 1, 0, 0});
  // LOCK-prefixed read-modify-write forms (memory destination only).
  size_t n = v.size();
  for (size_t i = 0; i < n; i++) {
    const Form& f = v[i];
    const std::string& nm = f.name;
    auto starts = [&](const char* p) { return nm.rfind(p, 0) == 0; };
    bool rmw_dest = nm.find(" rm,") != std::string::npos && nm.find(" acc,") == std::string::npos;
    bool lockable = ((starts("add") || starts("or") || starts("adc") || starts("sbb") ||
                      starts("and") || starts("sub") || starts("xor")) &&
                     rmw_dest) ||
                    starts("inc") || starts("dec") || starts("not") || starts("neg") ||
                    starts("xadd") || starts("cmpxchg") || (starts("xchg") && rmw_dest) ||
                    ((starts("bts") || starts("btr") || starts("btc")) && rmw_dest);
    if (!lockable || !f.mem) continue;
    Form l = f;
    l.name = "lock " + f.name;
    l.lock = true;
    l.reg_ok = false;
    v.push_back(l);
  }
  v.push_back({"nop", {0x90}, -3, 4, 4, 0, 0});
  v.push_back({"nop rm", {0x0f, 0x1f}, 0, 4, 4, 0, 0});
  return v;
}

TEST(X86Differential, AllFormsMatchHostCpu) {
  DiffRunner runner;
  ASSERT_TRUE(runner.native.ok());
  Gen g(0x6d616368696e61ull + env_int("MACHINA_X86_DIFF_SEED", 0));
  int total = 0, mismatches = 0, forms = 0;
  for (const Form& f : all_forms()) {
    int n = runner.run_form(f, g, &mismatches);
    forms++;
    total += n;
    // Division forms skip #DE cases natively; every other form compares every case.
    if (!f.div_kind) {
      EXPECT_GE(n, kCasesPerMode) << f.name;
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(runner.de_cases, 100);  // the generator does reach division by zero and overflow
  // The fast path is exercised: every ALU, move, shift and multiply form it has a handler for.
  EXPECT_GT(runner.fast_forms.size(), 150u);
  EXPECT_GT(runner.fast_cases, 150 * kCasesPerMode);
  std::printf("x86 differential: %d forms, %d native-compared cases, %d #DE cases, %d mismatches\n",
              forms, total, runner.de_cases, mismatches);
  std::printf("x86 differential: fast path on %zu forms, %d cases\n", runner.fast_forms.size(),
              runner.fast_cases);
}

}  // namespace
}  // namespace machina::x86
