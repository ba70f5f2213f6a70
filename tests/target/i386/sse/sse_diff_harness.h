// Runs one instruction natively (SseNativeRunner) and in the interpreter from the same GPRs,
// RFLAGS, x87/SSE state and memory, and compares every GPR but RSP, the arithmetic flags, the
// data pages and the x87/SSE state (FpView). A SIMD floating-point exception (#XM, SIGFPE)
// raised natively is caught: the handler resumes the stub after the instruction, so the state
// the fault left is compared with the interpreter's, which must report #XM with RIP unchanged.
#pragma once

#include <signal.h>
#include <ucontext.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "target/i386/sse/sse_native_runner.h"
#include "target/i386/sse/sse_test_util.h"

namespace machina::x86::test {

inline volatile sig_atomic_t g_native_xm = 0;
inline uint64_t g_native_resume = 0;

inline void on_native_sigfpe(int, siginfo_t*, void* ctx) {
  auto* uc = static_cast<ucontext_t*>(ctx);
  g_native_xm = 1;
  uc->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(g_native_resume);
}

class DiffHarness {
 public:
  DiffHarness() {
    std::memset(&in, 0, sizeof in);
    struct sigaction sa = {};
    sa.sa_sigaction = on_native_sigfpe;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGFPE, &sa, &old_fpe_);
  }
  ~DiffHarness() { sigaction(SIGFPE, &old_fpe_, nullptr); }
  DiffHarness(const DiffHarness&) = delete;
  DiffHarness& operator=(const DiffHarness&) = delete;
  int native_faults = 0;  // cases where the host raised #XM

  SseNativeRunner native;
  SseNativeState in;
  // Byte ranges of the data area left out of the memory comparison (implementation-specific
  // fields such as FIP/FDP in an FNSTENV image).
  std::vector<std::pair<unsigned, unsigned>> ignore;

  // Runs `insn`; a RIP-relative displacement at insn[disp_pos] (if nonzero) is set to reach
  // `target`. Returns "" when both runs agree, else what differs.
  std::string run(std::vector<uint8_t> insn, size_t disp_pos = 0, uint64_t target = 0) {
    const uint64_t ia = native.insn_addr();
    if (disp_pos) {
      int32_t d = static_cast<int32_t>(target - (ia + insn.size()));
      std::memcpy(&insn[disp_pos], &d, 4);
    }
    native.build(insn);
    uint8_t* data = native.data();
    before_.assign(data, data + SseNativeRunner::kDataSize);

    CpuState st = sse_state();
    for (int k = 0; k < 16; k++) st.regs[k] = in.r[k];
    st.regs[RSP] = 0;
    st.set_rflags(in.flags);
    image_to_fpu(in.fx_in, &st.fpu);
    st.rip = ia;
    FlatMemory mem(native.base(), SseNativeRunner::kMapSize, native.base_addr());
    StepResult sr = step(st, mem);
    interp_mem_.assign(data, data + SseNativeRunner::kDataSize);

    std::memcpy(data, before_.data(), SseNativeRunner::kDataSize);
    SseNativeState out = in;
    g_native_xm = 0;
    g_native_resume = ia + insn.size();
    native.run(&out);
    const bool xm = g_native_xm;
    native_faults += xm;

    std::string why;
    char buf[160];
    if (xm) {
      if (sr != StepResult::Exception || st.exc.vector != kExcXM || st.rip != ia) {
        std::snprintf(buf, sizeof buf, " native #XM, interp step=%d rip+%lld", static_cast<int>(sr),
                      static_cast<long long>(st.rip - ia));
        why += buf;
      }
    } else if (sr != StepResult::Ok || st.rip != ia + insn.size()) {
      std::snprintf(buf, sizeof buf, " step=%d rip+%lld", static_cast<int>(sr),
                    static_cast<long long>(st.rip - ia));
      why += buf;
      if (st.exc.pending) {
        std::snprintf(buf, sizeof buf, " exc=%d", st.exc.vector);
        why += buf;
      }
      return why;
    }
    for (int k = 0; k < 16; k++) {
      if (k == RSP || st.regs[k] == out.r[k]) continue;
      std::snprintf(buf, sizeof buf, " r%d %llx/%llx", k,
                    static_cast<unsigned long long>(st.regs[k]),
                    static_cast<unsigned long long>(out.r[k]));
      why += buf;
    }
    if ((st.rflags() & kArithFlags) != (out.flags & kArithFlags)) {
      std::snprintf(buf, sizeof buf, " flags %llx/%llx",
                    static_cast<unsigned long long>(st.rflags() & kArithFlags),
                    static_cast<unsigned long long>(out.flags & kArithFlags));
      why += buf;
    }
    for (auto [off, len] : ignore) {
      std::memset(interp_mem_.data() + off, 0, len);
      std::memset(data + off, 0, len);
    }
    const bool mem_differs = std::memcmp(interp_mem_.data(), data, SseNativeRunner::kDataSize);
    for (unsigned i = 0; mem_differs && i < SseNativeRunner::kDataSize; i++) {
      if (interp_mem_[i] != data[i]) {
        std::snprintf(buf, sizeof buf, " mem[+%u] %02x/%02x", i, interp_mem_[i], data[i]);
        why += buf;
        break;
      }
    }
    why += diff_views(view_of_state(st.fpu), view_of_image(out.fx_out));
    return why;
  }

  // Hex of an instruction, for messages.
  static std::string bytes(const std::vector<uint8_t>& b) {
    std::string s;
    char h[4];
    for (uint8_t x : b) {
      std::snprintf(h, sizeof h, "%02x ", x);
      s += h;
    }
    return s;
  }

 private:
  std::vector<uint8_t> before_, interp_mem_;
  struct sigaction old_fpe_ = {};
};

}  // namespace machina::x86::test
