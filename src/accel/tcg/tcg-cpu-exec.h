// The software CPU's execution loop for one x86 CPU: instruction fetch through the TLB, blocks of
// decoded instructions keyed by physical address (translation-block.h: validated against the
// bytes in memory, so modified code is always seen), interrupt and exception delivery. Pending
// interrupts are taken between blocks.
#pragma once

#include <cstdint>
#include <memory>

#include "accel/tcg/translation-block.h"
#include "target/i386/decode.h"
#include "target/i386/interp.h"
#include "target/i386/x86-cpu.h"

namespace machina::tcg {

enum class ExitReason : uint8_t {
  Budget,       // ran the number of instructions asked for
  Halted,       // HLT (or waiting for SIPI) with nothing to wake it
  ExitRequest,  // kCpuIrqExit was raised (pause, stop)
  TripleFault,  // the machine must reset
  Yield,        // the guest spins (PAUSE) while another vCPU waits for the turn
};

class CpuExec {
 public:
  explicit CpuExec(x86::X86Cpu& cpu);
  ~CpuExec();
  CpuExec(const CpuExec&) = delete;
  CpuExec& operator=(const CpuExec&) = delete;

  // Runs up to `budget` instructions.
  ExitReason run(uint64_t budget);
  // Whether a halted CPU has something that wakes it (called on the vCPU thread).
  bool has_work() const;
  uint64_t instructions() const { return icount_; }

 private:
  // The translation of the page instructions are being fetched from.
  struct CodePage {
    uint64_t page = ~uint64_t{0};  // linear
    const uint8_t* host = nullptr;
    uint64_t paddr = 0;
    uint64_t generation = 0;
    unsigned cpl = 0;
  };
  // Takes a pending interrupt if it can; false if the CPU should stop (triple fault).
  bool service_interrupts(uint32_t req, bool* stop);
  bool deliver_exception();
  // Host pointer to the code at RIP (nullptr if not RAM, or a fetch fault when *avail is 0).
  const uint8_t* code_at_rip(unsigned* avail, uint64_t* paddr);
  // One instruction fetched byte by byte (crossing pages, or not in RAM); nullptr on a fault.
  const x86::DecodedInsn* fetch_slow(x86::DecodedInsn* scratch);
  // Handles what an instruction returned; false if the CPU must stop (triple fault).
  bool finish(x86::StepResult r);

  x86::X86Cpu& cpu_;
  x86::CpuState& env_;
  x86::X86Mmu& mmu_;
  // The block for the code at RIP: the one that followed the previous block last time if it is
  // still valid, else looked up (and remembered as that block's successor).
  const TranslationBlock* block_at_rip(const uint8_t** host, unsigned* avail, uint64_t* paddr);

  TbCache tbs_;
  CodePage code_;
  const TranslationBlock* prev_ = nullptr;  // the block run last, while tbs_ has not flushed
  uint64_t prev_flushes_ = 0;
  uint64_t icount_ = 0;
};

}  // namespace machina::tcg
