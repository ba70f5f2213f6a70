// A small machine for the SSE/x87 unit tests: 64 KiB of flat memory, code at 0x1000, data at
// 0x4000, and a CpuState set up for SSE.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "target/i386/sse/sse_test_util.h"

namespace machina::x86::test {

constexpr uint64_t kCode = 0x1000, kData = 0x4000;

class Machine {
 public:
  Machine() : ram(0x10000, 0), mem(ram.data(), ram.size(), 0) {}
  std::vector<uint8_t> ram;
  FlatMemory mem;
  CpuState s = sse_state();

  StepResult exec(const std::vector<uint8_t>& code) {
    std::memcpy(ram.data() + kCode, code.data(), code.size());
    s.rip = kCode;
    s.exc = {};
    return step(s, mem);
  }
  // Runs and expects success with RIP advanced.
  void ok(const std::vector<uint8_t>& code) {
    ASSERT_EQ(exec(code), StepResult::Ok);
    ASSERT_EQ(s.rip, kCode + code.size());
  }
  void expect_exc(const std::vector<uint8_t>& code, uint8_t vector) {
    EXPECT_EQ(exec(code), StepResult::Exception);
    EXPECT_EQ(s.exc.vector, vector);
    EXPECT_EQ(s.rip, kCode);
  }
  void put32f(uint64_t a, float f) { std::memcpy(ram.data() + a, &f, 4); }
  void set_xmm_f32(unsigned i, float a, float b, float c, float d) {
    float v[4] = {a, b, c, d};
    std::memcpy(&s.fpu.xmm[i], v, 16);
  }
  float xmm_f32(unsigned i, unsigned lane) const {
    float v[4];
    std::memcpy(v, &s.fpu.xmm[i], 16);
    return v[lane];
  }
};

}  // namespace machina::x86::test
