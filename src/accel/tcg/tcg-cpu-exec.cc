// The software CPU's execution loop.
#include "accel/tcg/tcg-cpu-exec.h"

#include <cstdio>
#include <cstring>
#include "accel/tcg/tcg-turn.h"

#include "system/ram-writes.h"
#include "system/runstate.h"
#include "target/i386/excp.h"
#include "target/i386/interp.h"
#include "target/i386/seg.h"
#include "util/bql.h"
#include "util/log.h"

namespace machina::tcg {

using namespace x86;

CpuExec::CpuExec(X86Cpu& cpu) : cpu_(cpu), env_(cpu.state()), mmu_(cpu.mmu()) {}

CpuExec::~CpuExec() = default;

bool CpuExec::has_work() const {
  uint32_t req = cpu_.interrupt_request();
  if (req & (kCpuIrqExit | kCpuIrqInit)) return true;
  // An application processor waiting for its start-up IPI takes nothing else.
  if (env_.wait_sipi) return req & kCpuIrqSipi;
  if (req & kCpuIrqNmi) return true;
  return (req & kCpuIrqHard) && (env_.flags_other & kIF);
}

bool CpuExec::deliver_exception() {
  if (deliver_pending_exception(env_, mmu_, env_.rip)) return true;
  char msg[64];
  std::snprintf(msg, sizeof msg, "x86: triple fault at rip=0x%llx\n",
                static_cast<unsigned long long>(env_.rip));
  log_mask(LOG_GUEST_ERROR, msg);
  return false;
}

bool CpuExec::service_interrupts(uint32_t req, bool* stop) {
  *stop = false;
  if (req & kCpuIrqInit) {
    cpu_.lower_interrupt(kCpuIrqInit);
    BqlGuard bql;
    cpu_.reset_state(true);
    return true;
  }
  if (req & kCpuIrqSipi) {
    cpu_.lower_interrupt(kCpuIrqSipi);
    (void)cpu_.start_at_sipi();  // only a processor waiting for one takes it
    return true;
  }
  if (env_.wait_sipi) return false;
  if ((req & kCpuIrqNmi) && !env_.nmi_blocked) {
    cpu_.lower_interrupt(kCpuIrqNmi);
    env_.halted = false;
    if (!deliver_event(env_, mmu_, kExcNMI, EventKind::External, false, 0, env_.rip)) {
      if (!deliver_exception()) *stop = true;
      return true;
    }
    env_.nmi_blocked = true;
    return true;
  }
  if ((req & kCpuIrqHard) && (env_.flags_other & kIF) && env_.lapic) {
    int vector;
    {
      BqlGuard bql;
      vector = env_.lapic->acknowledge_interrupt();
    }
    if (vector < 0) return false;
    env_.halted = false;
    if (!deliver_event(env_, mmu_, static_cast<uint8_t>(vector), EventKind::External, false, 0,
                       env_.rip)) {
      if (!deliver_exception()) *stop = true;
    }
    return true;
  }
  return false;
}

const uint8_t* CpuExec::code_at_rip(unsigned* avail, uint64_t* paddr) {
  uint64_t rip = env_.rip;
  uint64_t page = rip & ~uint64_t{0xfff};
  unsigned off = static_cast<unsigned>(rip & 0xfff);
  if (page == code_.page && code_.generation == mmu_.generation() && code_.cpl == env_.cpl) {
    *avail = 4096 - off;
    *paddr = code_.paddr + off;
    return code_.host + off;
  }
  const uint8_t* host = mmu_.fetch_host(rip, avail, paddr);
  if (host)
    code_ = {page, host - off, *paddr - off, mmu_.generation(), env_.cpl};
  else
    code_.page = ~uint64_t{0};
  return host;
}

const TranslationBlock* CpuExec::block_at_rip(const uint8_t** host, unsigned* avail,
                                              uint64_t* paddr) {
  uint64_t writes = ram_writes();
  bool checked;
  const TranslationBlock* prev = tbs_.flushes() == prev_flushes_ ? prev_ : nullptr;
  if (prev && prev->next && prev->next_rip == env_.rip &&
      prev->next_generation == mmu_.generation() && prev->next_cpl == env_.cpl) {
    const TranslationBlock* tb = prev->next;
    *paddr = tb->paddr;
    *avail = 4096 - static_cast<unsigned>(tb->paddr & 0xfff);
    *host = prev->next_code_page + (tb->paddr & 0xfff);
    if (tbs_.still_valid(tb, *host, writes, &checked)) {
      // Its bytes were just found in memory: stores into the page must count as RAM writes.
      if (checked && !mmu_.is_code_page(*paddr)) mmu_.protect_code_page(*paddr);
      return tb;
    }
  }
  *host = code_at_rip(avail, paddr);
  if (!*host) return nullptr;
  const TranslationBlock* tb = tbs_.get(*paddr, *host, *avail, writes, &checked);
  if (checked && tb && !mmu_.is_code_page(*paddr)) mmu_.protect_code_page(*paddr);
  if (tbs_.flushes() != prev_flushes_) {
    prev_flushes_ = tbs_.flushes();  // the previous block is gone
  } else if (prev && tb) {
    prev->next = tb;
    prev->next_rip = env_.rip;
    prev->next_generation = mmu_.generation();
    prev->next_cpl = env_.cpl;
    prev->next_code_page = *host - (*paddr & 0xfff);
  }
  return tb;
}

const DecodedInsn* CpuExec::fetch_slow(DecodedInsn* scratch) {
  uint8_t buf[15];
  unsigned n = 0;
  CodeMode mode = code_mode(env_);
  if (mode == CodeMode::k64) {
    while (n < 15 && mmu_.fetch(env_.rip + n, buf + n, 1)) n++;
  } else {
    // CS:IP or CS:EIP; linear addresses wrap at 4 GiB.
    uint64_t ip_mask = mode == CodeMode::k32 ? 0xffffffffu : 0xffffu;
    while (n < 15 &&
           mmu_.fetch((env_.seg[CS].base + ((env_.rip + n) & ip_mask)) & 0xffffffffu, buf + n, 1))
      n++;
  }
  DecodeStatus st = decode(buf, n, scratch, mode);
  if (st == DecodeStatus::Ok) {
    env_.exc = {};  // a fault past the instruction's end does not matter
    return scratch;
  }
  if (st == DecodeStatus::Invalid || !env_.exc.pending) env_.exc = {true, kExcUD, false, 0};
  return nullptr;
}

bool CpuExec::finish(StepResult r) {
  switch (r) {
    case StepResult::Ok:
      return true;
    case StepResult::Halt:
      env_.halted = true;
      return true;
    case StepResult::InvalidOp:
      env_.exc = {true, kExcUD, false, 0};
      break;
    case StepResult::DivideError:
      env_.exc = {true, kExcDE, false, 0};
      break;
    case StepResult::MemoryFault:
      if (!env_.exc.pending) env_.exc = {true, kExcGP, true, 0};
      break;
    case StepResult::Exception:
      break;
  }
  return deliver_exception();
}

ExitReason CpuExec::run(uint64_t budget) {
  mmu_.check_memory_map();
  mmu_.sync_code_protection();  // another vCPU may have protected pages since this one ran
  DecodedInsn scratch;
  uint64_t start = icount_;
  while (icount_ - start < budget) {
    if (mmu_.map_stale()) mmu_.check_memory_map();  // this CPU's device access moved memory
    uint32_t req = cpu_.interrupt_request();
    if (req) {
      if (req & kCpuIrqExit) return ExitReason::ExitRequest;
      if (!env_.irq_shadow) {
        bool stop;
        service_interrupts(req, &stop);
        if (stop) return ExitReason::TripleFault;
      }
    }
    if (env_.halted || env_.wait_sipi) return ExitReason::Halted;
    if (env_.spin_hint) {
      env_.spin_hint = false;
      if (TcgTurn::get().contended()) return ExitReason::Yield;
    }

    unsigned avail = 0;
    uint64_t paddr;
    const uint8_t* host = nullptr;
    // 16- and 32-bit code (an application processor's start-up) has no translation blocks.
    bool legacy = code_mode(env_) != CodeMode::k64;
    const TranslationBlock* tb = legacy ? nullptr : block_at_rip(&host, &avail, &paddr);
    prev_ = tb;
    if (!tb) {
      // One instruction on its own: 16- or 32-bit code, across a page boundary, outside RAM, or
      // a fetch fault.
      env_.irq_shadow = false;
      const DecodedInsn* insn = nullptr;
      if (legacy || host || avail != 0) insn = fetch_slow(&scratch);
      StepResult r = StepResult::Exception;
      if (insn) {
        r = execute(env_, mmu_, *insn);
        icount_++;
      }
      if (!finish(r)) return ExitReason::TripleFault;
      continue;
    }

    // The block, while execution goes straight on and the address space stays the same.
    // Interrupts are taken between blocks only, so an interrupt shadow (STI, MOV SS) covers the
    // first instruction of the block after the one that set it, and ends with it.
    CpuState& env = env_;
    X86Mmu& mmu = mmu_;
    const FastInsn* at = tb->insns();
    uint64_t generation = mmu.generation();
    uint64_t done = 0;
    bool triple_fault = false;
    env.code_page_host = host - (paddr & 0xfff);
    env.code_written = false;
    env.irq_shadow = false;
    env.fast_rounds_left = kFastLoopRounds;
    for (;;) {
      // The handlers run the block as far as they can (interp-fast.h) ...
      env.fast_loop_insns = 0;
      const FastInsn* stop = at->fn(env, mmu, at);
      done += (stop - at) + env.fast_loop_insns;
      if (env.fast_exit != kFastFallback) break;  // end of block, jump, or code written
      // ... and the general interpreter the instruction they left.
      uint64_t next = env.rip + stop->d.len;
      StepResult r = execute(env, mmu, stop->d);
      done++;
      if (r != StepResult::Ok) {
        triple_fault = !finish(r);
        break;
      }
      // A jump, a store into this code page, a new address space or an interrupt shadow: look
      // the code (and pending interrupts) up again.
      if (env.rip != next || env.code_written || mmu.generation() != generation || env.irq_shadow ||
          env.spin_hint)
        break;
      at = stop + 1;
    }
    icount_ += done;
    if (triple_fault) return ExitReason::TripleFault;
  }
  return ExitReason::Budget;
}

}  // namespace machina::tcg
