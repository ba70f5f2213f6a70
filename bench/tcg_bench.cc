// Software CPU speed: guest instructions per second on a tight integer loop, a memory-heavy loop
// and a call-heavy loop, run in 64-bit mode with paging through the real execution loop.
//
//   build/bench/tcg_bench [--iterations N]
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "accel/tcg/tcg-cpu-exec.h"
#include "hw/i386/x86-direct-boot.h"
#include "system/memory.h"
#include "target/i386/x86-cpu.h"

using namespace machina;

namespace {

constexpr uint64_t kCode = 0x200000, kStack = 0x300000, kData = 0x400000;

struct Workload {
  const char* name;
  std::vector<uint8_t> code;  // runs RCX iterations, ends with HLT
};

std::vector<Workload> workloads() {
  return {
      {"integer loop (add/xor/dec/jnz)",
       {0x01, 0xc8,  // lp: add eax, ecx
        0x31, 0xc2,  // xor edx, eax
        0xff, 0xc9,  // dec ecx
        0x75, 0xf8,  // jnz lp
        0xf4}},
      {"memory loop (load/add/store, 1 MiB window)",
       {0x48, 0x8b, 0x04, 0x3b,              // lp: mov rax, [rbx+rdi]
        0x48, 0x01, 0xc8,                    // add rax, rcx
        0x48, 0x89, 0x44, 0x3b, 0x08,        // mov [rbx+rdi+8], rax
        0x83, 0xc7, 0x40,                    // add edi, 64
        0x81, 0xe7, 0xc0, 0xff, 0x0f, 0x00,  // and edi, 0xfffc0
        0xff, 0xc9,                          // dec ecx
        0x75, 0xe7,                          // jnz lp
        0xf4}},
      {"call loop (call/push/pop/ret)",
       {0xe8, 0x05, 0x00, 0x00, 0x00,  // lp: call f
        0xff, 0xc9,                    // dec ecx
        0x75, 0xf7,                    // jnz lp
        0xf4,                          // hlt
        0x53,                          // f: push rbx
        0x48, 0x89, 0xcb,              // mov rbx, rcx
        0x48, 0x01, 0xd8,              // add rax, rbx
        0x5b,                          // pop rbx
        0xc3}},                        // ret
  };
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t iterations = 20'000'000;
  for (int i = 1; i + 1 < argc; i++)
    if (std::strcmp(argv[i], "--iterations") == 0) iterations = std::strtoull(argv[i + 1], 0, 0);

  MemoryRegion ram;
  if (!ram.init_ram(nullptr, "bench-ram", 16 << 20).ok() ||
      !get_system_memory()->add_subregion(0, &ram).ok())
    return 1;
  DirectBootState boot;
  if (!x86_write_long_mode_structures(&boot).ok()) return 1;

  std::printf("%-46s %14s %10s %10s\n", "workload", "instructions", "cpu s", "MIPS");
  for (const Workload& w : workloads()) {
    if (!dma_write(address_space_memory(), kCode, w.code.data(), w.code.size()).ok()) return 1;
    auto* cpu = new x86::X86Cpu(x86::x86_default_cpu_model());
    cpu->enter_long_mode(boot.cr3, boot.gdt_base, boot.gdt_limit, kCode, 0);
    x86::CpuState& s = cpu->state();
    s.regs[x86::RCX] = iterations;
    s.regs[x86::RSP] = kStack;
    s.regs[x86::RBX] = kData;
    tcg::CpuExec exec(*cpu);
    // CPU time of this thread: the figure does not depend on what else the machine runs.
    auto cpu_seconds = [] {
      timespec ts;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return ts.tv_sec + ts.tv_nsec / 1e9;
    };
    double t0 = cpu_seconds();
    tcg::ExitReason r;
    do {
      r = exec.run(1 << 24);
    } while (r == tcg::ExitReason::Budget);
    double secs = cpu_seconds() - t0;
    if (r != tcg::ExitReason::Halted) {
      std::fprintf(stderr, "%s: stopped unexpectedly at rip=0x%llx\n", w.name,
                   static_cast<unsigned long long>(s.rip));
      return 1;
    }
    std::printf("%-46s %14llu %10.3f %10.1f\n", w.name,
                static_cast<unsigned long long>(exec.instructions()), secs,
                exec.instructions() / secs / 1e6);
    cpu->unref();
  }
  (void)get_system_memory()->del_subregion(&ram);
  return 0;
}
