// Runs one x86-64 system test guest (tests/guest/x86/NAME.S, assembled into NAME.elf) on the
// software CPU, in process: 64 MiB of guest RAM at 0, an isa-debug-exit style port at 0xf4
// that records the value written and stops the CPU, a debug console at port 0xe9 (QEMU's
// -debugcon) whose output is collected, the guest loaded by x86_load_linux and
// started at its 64-bit entry. The guest reports through the port and the mailbox of
// tests/guest/x86/mailbox.h.
#pragma once

#include <cstdint>
#include <string>

#include "system/memory.h"

namespace machina::x86 {
class X86Cpu;
}

namespace machina::test {

struct GuestOutcome {
  bool loaded = false;    // the ELF was found and loaded
  bool started = false;   // the guest wrote the mailbox magic
  bool reported = false;  // the guest wrote the debug-exit port
  uint32_t value = 0;     // what it wrote
  std::string stop;       // why the CPU stopped: "port", "halt", "triple fault", "budget"
  uint64_t instructions = 0;
  uint64_t rip = 0;         // where the CPU stopped
  std::string explanation;  // for a failure: what the guest says went wrong
  std::string console;      // what the guest wrote to the debug console
};

class X86GuestRunner {
 public:
  static constexpr uint64_t kRamSize = uint64_t{64} << 20;
  static constexpr uint64_t kDefaultBudget = 50'000'000;

  X86GuestRunner();
  ~X86GuestRunner();
  X86GuestRunner(const X86GuestRunner&) = delete;
  X86GuestRunner& operator=(const X86GuestRunner&) = delete;

  // Loads and runs `name` (without .elf) from the guest directory; the guest can read
  // `cmdline` at the boot protocol's command line address (0x20000). Once per runner.
  GuestOutcome run(const std::string& name, const std::string& cmdline = "",
                   uint64_t budget = kDefaultBudget);

  // The guest-physical RAM (for reading the mailbox).
  const uint8_t* ram() const { return ram_.host_ptr(); }

 private:
  std::string explain(const GuestOutcome& o) const;
  uint64_t mailbox(unsigned offset) const;

  MemoryRegion ram_;
  MemoryRegion debug_exit_;
  MemoryRegion debugcon_;
  std::string console_;
  bool ran_ = false;
  std::string setup_error_;
  // Written by the port's callback (on the vCPU's thread, which is this one).
  bool port_written_ = false;
  uint32_t port_value_ = 0;
  x86::X86Cpu* cpu_ = nullptr;
};

// The directory holding the assembled guests (the build's tests/guest/x86).
std::string x86_guest_dir();

}  // namespace machina::test
