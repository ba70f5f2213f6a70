// The interpreter's fast path (interp-fast.h) against the general interpreter, for what the
// differential test (which starts every case from plain RFLAGS and has no control transfers)
// cannot reach: conditions evaluated straight from the lazy flags of each kind of flag-setting
// instruction, near jumps, calls, returns and the stack, FS/GS-relative operands, and the
// fallbacks (no TLB entry, an access crossing into the next page). Every case runs through both
// paths from the same state; registers, RFLAGS, RIP and memory must be identical.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "target/i386/decode.h"
#include "target/i386/interp-fast.h"
#include "target/i386/interp.h"

namespace machina::x86 {
namespace {

// Code, data and stack pages at their own host addresses (linear = host address).
class FastPathTest : public ::testing::Test {
 protected:
  static constexpr size_t kPages = 4;
  FastPathTest()
      : buf_(static_cast<uint8_t*>(std::aligned_alloc(4096, kPages * 4096))),
        mem_(buf_, kPages * 4096, base()) {
    for (size_t i = 0; i < kPages * 4096; i++) buf_[i] = static_cast<uint8_t>(rng_());
    map_all();
  }
  ~FastPathTest() override { std::free(buf_); }

  uint64_t base() const { return reinterpret_cast<uint64_t>(buf_); }
  uint64_t code() const { return base(); }
  uint64_t data() const { return base() + 4096; }
  uint64_t stack_top() const { return base() + 3 * 4096; }  // the stack page is the third
  void map_all() {
    tlb_ = CpuTlb{};
    for (size_t p = 0; p < kPages; p++) map(base() + p * 4096);
    mem_.tlb = &tlb_;
  }
  void map(uint64_t page) {
    TlbEntry& e = tlb_.slot(page, false);
    e.fast_read = e.fast_write = page;
    e.host = reinterpret_cast<uint8_t*>(page);
  }
  void unmap(uint64_t page) { tlb_.slot(page, false) = TlbEntry{}; }

  // A state with random registers, RSP in the stack page, RBX/RSI pointing into the data page.
  CpuState random_state() {
    CpuState s;
    enter_64bit_mode(s);
    for (auto& r : s.regs) r = value();
    s.regs[RSP] = stack_top() - 512 - 8 * (rng_() % 8);
    s.regs[RBX] = data() + 8 * (rng_() % 64);
    s.regs[RSI] = data() + 1024 + 8 * (rng_() % 64);
    s.set_rflags(rng_() & kArithFlags);
    s.rip = code();
    return s;
  }
  uint64_t value() {
    static const uint64_t kEdges[] = {0,
                                      1,
                                      0x7f,
                                      0x80,
                                      0xff,
                                      0x7fffffff,
                                      0x80000000,
                                      0xffffffff,
                                      0x7fffffffffffffff,
                                      0x8000000000000000,
                                      ~0ull};
    uint64_t v = rng_();
    switch (rng_() % 4) {
      case 0:
        return kEdges[rng_() % std::size(kEdges)];
      case 1:
        return v & 0xff;
      default:
        return v;
    }
  }

  // Runs `setup` (each with the general interpreter), then `insn` through the general
  // interpreter and, from the same state and memory, through its fast-path handler. Returns
  // whether the handler ran it (false: it fell back, having changed nothing).
  bool compare(const CpuState& start, const std::vector<std::vector<uint8_t>>& setup,
               const std::vector<uint8_t>& insn) {
    std::vector<uint8_t> bytes;
    for (const auto& s : setup) bytes.insert(bytes.end(), s.begin(), s.end());
    uint64_t at = code() + bytes.size();
    bytes.insert(bytes.end(), insn.begin(), insn.end());
    std::memset(buf_, 0xcc, 4096);
    std::memcpy(buf_, bytes.data(), bytes.size());

    CpuState s = start;
    for (size_t i = 0; i < setup.size(); i++) EXPECT_EQ(step(s, mem_), StepResult::Ok);
    EXPECT_EQ(s.rip, at);
    std::vector<uint8_t> before(buf_ + 4096, buf_ + kPages * 4096);

    CpuState generic = s;
    StepResult gr = step(generic, mem_);
    std::vector<uint8_t> generic_mem(buf_ + 4096, buf_ + kPages * 4096);
    std::memcpy(buf_ + 4096, before.data(), before.size());

    CpuState fast = s;
    DecodedInsn d;
    EXPECT_EQ(decode(buf_ + (at - code()), 15, &d), DecodeStatus::Ok);
    EXPECT_NE(select_fast_op(d), &fast_fallback) << "no fast-path handler";
    FastResult fr = run_fast_one(fast, mem_, d);
    if (fr == FastResult::Fallback) {
      // Nothing may have changed.
      EXPECT_EQ(std::memcmp(&fast.regs, &s.regs, sizeof s.regs), 0);
      EXPECT_EQ(fast.rip, s.rip);
      EXPECT_EQ(fast.rflags(), s.rflags());
      EXPECT_EQ(std::memcmp(buf_ + 4096, before.data(), before.size()), 0);
      std::memcpy(buf_ + 4096, generic_mem.data(), generic_mem.size());
      return false;
    }
    EXPECT_EQ(gr, StepResult::Ok);
    if (fr == FastResult::Next) {
      EXPECT_EQ(fast.rip, s.rip + d.len);
    }
    for (int k = 0; k < 16; k++) EXPECT_EQ(fast.regs[k], generic.regs[k]) << "register " << k;
    EXPECT_EQ(fast.rip, generic.rip);
    EXPECT_EQ(fast.rflags(), generic.rflags());
    EXPECT_EQ(std::memcmp(buf_ + 4096, generic_mem.data(), generic_mem.size()), 0) << "memory";
    return true;
  }

  uint8_t* buf_;
  FlatMemory mem_;
  CpuTlb tlb_;
  std::mt19937_64 rng_{0x66617374};
};

// rax, rcx with REX.W (or without: 32-bit) and 8-bit (al, cl) flag setters, each followed by
// Jcc, SETcc and CMOVcc for all 16 conditions.
// Instructions leaving each kind of lazy flags (and plain RFLAGS: the empty one).
const std::vector<std::vector<uint8_t>> kFlagSetters = {
    {0x48, 0x39, 0xc8},  // cmp rax, rcx
    {0x39, 0xc8},        // cmp eax, ecx
    {0x38, 0xc8},        // cmp al, cl
    {0x48, 0x29, 0xc8},  // sub rax, rcx
    {0x48, 0x19, 0xc8},  // sbb rax, rcx (carry in from the random flags)
    {0x48, 0x11, 0xc8},  // adc rax, rcx
    {0x48, 0x01, 0xc8},  // add rax, rcx
    {0x48, 0x85, 0xc8},  // test rax, rcx
    {0x21, 0xc8},        // and eax, ecx
    {0x30, 0xc8},        // xor al, cl
    {0x48, 0xff, 0xc0},  // inc rax
    {0xff, 0xc8},        // dec eax
    {0x48, 0xf7, 0xd8},  // neg rax
    {0x48, 0xd1, 0xe0},  // shl rax, 1 (computed flags)
    {},                  // the random flags as they are
};

TEST_F(FastPathTest, ConditionsFromEveryKindOfLazyFlags) {
  const auto& setters = kFlagSetters;
  int runs = 0;
  for (const auto& setter : setters) {
    for (unsigned cc = 0; cc < 16; cc++) {
      for (int i = 0; i < 40; i++) {
        CpuState s = random_state();
        if (i % 3 == 0) s.regs[RCX] = s.regs[RAX];  // equal operands
        if (i % 5 == 1) s.regs[RCX] = s.regs[RAX] ^ 0x8000000000000000;
        std::vector<std::vector<uint8_t>> setup;
        if (!setter.empty()) setup.push_back(setter);
        uint8_t c = static_cast<uint8_t>(cc);
        runs += compare(s, setup, {uint8_t(0x70 + c), 0x10});                          // jcc +16
        runs += compare(s, setup, {0x0f, uint8_t(0x80 + c), 0x00, 0x01, 0x00, 0x00});  // jcc rel32
        runs += compare(s, setup, {0x0f, uint8_t(0x90 + c), 0xc2});                    // setcc dl
        runs += compare(s, setup, {0x0f, uint8_t(0x90 + c), 0xc4});                    // setcc ah
        runs += compare(s, setup, {0x0f, uint8_t(0x90 + c), 0x03});        // setcc [rbx]
        runs += compare(s, setup, {0x48, 0x0f, uint8_t(0x40 + c), 0xd6});  // cmovcc rdx, rsi
        runs += compare(s, setup, {0x0f, uint8_t(0x40 + c), 0xd6});        // cmovcc edx, esi
        runs += compare(s, setup, {0x48, 0x0f, uint8_t(0x40 + c), 0x13});  // cmovcc rdx, [rbx]
      }
    }
  }
  EXPECT_EQ(runs, int(setters.size()) * 16 * 40 * 8);
}

// Rotates change CF and OF only: the other flags come from whatever set them before.
TEST_F(FastPathTest, RotatesKeepTheFlagsOfEveryKindOfLazyFlags) {
  const std::vector<std::vector<uint8_t>> rotates = {
      {0x48, 0xc1, 0xc8, 0x07},  // ror rax, 7
      {0xc1, 0xc0, 0x1f},        // rol eax, 31
      {0x48, 0xd1, 0xc0},        // rol rax, 1
      {0xd1, 0xc8},              // ror eax, 1
      {0x48, 0xd3, 0xc0},        // rol rax, cl
      {0xd3, 0x0b},              // ror dword [rbx], cl
  };
  for (const auto& setter : kFlagSetters) {
    for (const auto& rot : rotates) {
      for (int i = 0; i < 40; i++) {
        CpuState s = random_state();
        std::vector<std::vector<uint8_t>> setup;
        if (!setter.empty()) setup.push_back(setter);
        EXPECT_TRUE(compare(s, setup, rot));
      }
    }
  }
}

TEST_F(FastPathTest, JumpsCallsReturnsAndTheStack) {
  const std::vector<std::vector<uint8_t>> insns = {
      {0xeb, 0x20},                    // jmp +0x20
      {0xe9, 0x00, 0x02, 0x00, 0x00},  // jmp +0x200
      {0xeb, 0xfe},                    // jmp to itself
      {0xe8, 0x10, 0x00, 0x00, 0x00},  // call +0x10
      {0xe8, 0xf0, 0xff, 0xff, 0xff},  // call backwards
      {0xc3},                          // ret
      {0xf3, 0xc3},                    // rep ret
      {0xff, 0xd0},                    // call rax
      {0xff, 0xe1},                    // jmp rcx
      {0xff, 0x13},                    // call [rbx]
      {0xff, 0x63, 0x08},              // jmp [rbx+8]
      {0x41, 0xff, 0xd3},              // call r11
      {0x50},                          // push rax
      {0x41, 0x57},                    // push r15
      {0x54},                          // push rsp
      {0x58},                          // pop rax
      {0x41, 0x5c},                    // pop r12
      {0x5c},                          // pop rsp
      {0x6a, 0x80},                    // push -128
      {0x68, 0x78, 0x56, 0x34, 0x12},  // push 0x12345678
      {0xff, 0x33},                    // push [rbx]
      {0xff, 0xf6},                    // push rsi
      {0xc9},                          // leave
  };
  for (const auto& insn : insns) {
    for (int i = 0; i < 50; i++) {
      CpuState s = random_state();
      s.regs[RBP] = stack_top() - 256 - 8 * (rng_() % 16);
      std::memcpy(buf_ + (s.regs[RBX] - base()), &s.regs[RDX], 8);  // a target in memory
      EXPECT_TRUE(compare(s, {}, insn)) << "insn " << int(insn[0]);
    }
  }
}

TEST_F(FastPathTest, MovesLeaAndConversionsIncludingHighByteRegisters) {
  const std::vector<std::vector<uint8_t>> insns = {
      {0x88, 0xe0},                          // mov al, ah
      {0x88, 0xc4},                          // mov ah, al
      {0x40, 0x88, 0xe0},                    // mov al, spl (REX)
      {0x8a, 0x3b},                          // mov bh, [rbx]
      {0x88, 0x3e},                          // mov [rsi], bh
      {0x0f, 0xb6, 0xc4},                    // movzx eax, ah
      {0x48, 0x0f, 0xbe, 0x06},              // movsx rax, byte [rsi]
      {0x0f, 0xbf, 0x06},                    // movsx eax, word [rsi]
      {0x48, 0x63, 0xc1},                    // movsxd rax, ecx
      {0xb4, 0x99},                          // mov ah, 0x99
      {0x48, 0x8d, 0x44, 0x8b, 0xf0},        // lea rax, [rbx+rcx*4-16]
      {0x8d, 0x05, 0x10, 0x00, 0x00, 0x00},  // lea eax, [rip+16]
      {0x48, 0x98},                          // cdqe
      {0x98},                                // cwde
      {0x48, 0x99},                          // cqo
      {0x99},                                // cdq
      {0x0f, 0x1f, 0x44, 0x00, 0x00},        // nopl [rax+rax]
      {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},  // nopw [rax+rax]
      {0x90},                                // nop
      {0x48, 0xf7, 0xe1},                    // mul rcx
      {0xf7, 0x2e},                          // imul dword [rsi]
      {0x48, 0x6b, 0xc1, 0x81},              // imul rax, rcx, -127
  };
  for (const auto& insn : insns) {
    for (int i = 0; i < 50; i++) EXPECT_TRUE(compare(random_state(), {}, insn)) << int(insn.back());
  }
}

TEST_F(FastPathTest, FsAndGsBasesApply) {
  for (int i = 0; i < 50; i++) {
    CpuState s = random_state();
    s.fs_base = data() - 0x100000;
    s.gs_base = data() + 64;
    s.regs[RAX] = 0x100000 + 8 * (rng_() % 32);
    EXPECT_TRUE(compare(s, {}, {0x64, 0x48, 0x8b, 0x08}));  // mov rcx, fs:[rax]
    EXPECT_TRUE(compare(
        s, {}, {0x65, 0x48, 0x03, 0x0c, 0x25, 0x10, 0x00, 0x00, 0x00}));  // add rcx, gs:[0x10]
    EXPECT_TRUE(compare(s, {}, {0x65, 0x48, 0x8d, 0x48, 0x08}));          // lea rcx, gs:[rax+8]
  }
}

TEST_F(FastPathTest, FallsBackWithoutTouchingAnythingOnTlbMissOrPageCrossing) {
  CpuState s = random_state();
  s.regs[RBX] = data() + 4092;                       // an 8-byte access crosses into the next page
  EXPECT_FALSE(compare(s, {}, {0x48, 0x8b, 0x03}));  // mov rax, [rbx]
  EXPECT_FALSE(compare(s, {}, {0x48, 0x01, 0x03}));  // add [rbx], rax
  EXPECT_TRUE(compare(s, {}, {0x8b, 0x03}));         // mov eax, [rbx]: fits
  unmap(data());
  s.regs[RBX] = data() + 8;
  EXPECT_FALSE(compare(s, {}, {0x48, 0x8b, 0x03}));  // mov rax, [rbx]
  EXPECT_FALSE(compare(s, {}, {0xff, 0x13}));        // call [rbx]
  unmap(stack_top() - 4096);
  EXPECT_FALSE(compare(s, {}, {0x50}));                          // push rax
  EXPECT_FALSE(compare(s, {}, {0xe8, 0x10, 0x00, 0x00, 0x00}));  // call
  EXPECT_FALSE(compare(s, {}, {0xc3}));                          // ret
  map_all();
  EXPECT_TRUE(compare(s, {}, {0xc3}));
}

TEST_F(FastPathTest, OnlyTheCommonFormsHaveHandlers) {
  auto handler = [](std::vector<uint8_t> bytes) {
    DecodedInsn d;
    EXPECT_EQ(decode(bytes.data(), unsigned(bytes.size()), &d), DecodeStatus::Ok);
    return select_fast_op(d) != &fast_fallback;
  };
  EXPECT_FALSE(handler({0xf0, 0x48, 0x01, 0x03}));       // lock add: atomic, general path
  EXPECT_FALSE(handler({0x66, 0x01, 0xc8}));             // 16-bit add
  EXPECT_FALSE(handler({0x67, 0x8b, 0x03}));             // 32-bit addressing
  EXPECT_FALSE(handler({0xf3, 0x48, 0xab}));             // rep stosq
  EXPECT_FALSE(handler({0x48, 0xd1, 0xd0}));             // rcl rax, 1
  EXPECT_FALSE(handler({0x48, 0xf7, 0xf1}));             // div rcx: #DE
  EXPECT_FALSE(handler({0x0f, 0x01, 0xf8}));             // swapgs
  EXPECT_FALSE(handler({0x41, 0x90}));                   // xchg r8, rax
  EXPECT_TRUE(handler({0x48, 0x01, 0xc8}));              // add rax, rcx
  EXPECT_TRUE(handler({0x0f, 0x1f, 0x44, 0x00, 0x00}));  // nopl
}

}  // namespace
}  // namespace machina::x86
