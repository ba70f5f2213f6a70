// The software CPU's execution loop.
#include "accel/tcg/tcg-cpu-exec.h"

#include <cstdio>
#include <cstring>

#include "system/runstate.h"
#include "target/i386/excp.h"
#include "target/i386/interp.h"
#include "util/bql.h"
#include "util/log.h"

namespace machina::tcg {

using namespace x86;

CpuExec::CpuExec(X86Cpu& cpu)
    : cpu_(cpu),
      env_(cpu.state()),
      mmu_(cpu.mmu()),
      cache_(std::make_unique<CachedInsn[]>(size_t{1} << kCacheBits)) {}

CpuExec::~CpuExec() = default;

bool CpuExec::has_work() const {
  uint32_t req = cpu_.interrupt_request();
  if (req & (kCpuIrqExit | kCpuIrqNmi | kCpuIrqInit)) return true;
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

const DecodedInsn* CpuExec::fetch_decode(DecodedInsn* scratch) {
  uint64_t rip = env_.rip;
  uint64_t page = rip & ~uint64_t{0xfff};
  unsigned off = static_cast<unsigned>(rip & 0xfff);
  const uint8_t* host;
  uint64_t paddr;
  unsigned avail = 4096 - off;
  if (page == code_.page && code_.generation == mmu_.generation() && code_.cpl == env_.cpl) {
    host = code_.host + off;
    paddr = code_.paddr + off;
  } else {
    host = mmu_.fetch_host(rip, &avail, &paddr);
    if (host) {
      code_ = {page, host - off, paddr - off, mmu_.generation(), env_.cpl};
    } else {
      code_.page = ~uint64_t{0};
      if (avail == 0) return nullptr;  // fetch fault recorded in env_.exc
    }
  }
  if (host) {
    CachedInsn& c = cache_[(paddr ^ (paddr >> kCacheBits)) & ((1u << kCacheBits) - 1)];
    if (c.paddr == paddr) {
      if (avail >= 16) {
        uint64_t w[2];
        std::memcpy(w, host, 16);
        if (((w[0] ^ c.bytes[0]) & c.mask[0]) == 0 && ((w[1] ^ c.bytes[1]) & c.mask[1]) == 0)
          return &c.insn;
      } else if (c.insn.len <= avail && std::memcmp(host, c.bytes, c.insn.len) == 0) {
        return &c.insn;
      }
    }
    DecodeStatus st = decode(host, avail < 15 ? avail : 15, &c.insn);
    if (st == DecodeStatus::Ok) {
      c.paddr = paddr;
      uint8_t b[16] = {}, m[16] = {};
      std::memcpy(b, host, c.insn.len);
      std::memset(m, 0xff, c.insn.len);
      std::memcpy(c.bytes, b, 16);
      std::memcpy(c.mask, m, 16);
      return &c.insn;
    }
    c.paddr = ~uint64_t{0};
    if (st == DecodeStatus::Invalid) {
      env_.exc = {true, kExcUD, false, 0};
      return nullptr;
    }
  }
  // The instruction crosses into the next page (or is not in RAM): fetch it byte-exactly.
  uint8_t buf[15];
  unsigned n = 0;
  while (n < 15 && mmu_.fetch(env_.rip + n, buf + n, 1)) n++;
  DecodeStatus st = decode(buf, n, scratch);
  if (st == DecodeStatus::Ok) {
    env_.exc = {};  // a fault past the instruction's end does not matter
    return scratch;
  }
  if (st == DecodeStatus::Invalid || !env_.exc.pending) env_.exc = {true, kExcUD, false, 0};
  return nullptr;
}

ExitReason CpuExec::run(uint64_t budget) {
  mmu_.check_memory_map();
  DecodedInsn scratch;
  for (uint64_t i = 0; i < budget; i++) {
    uint32_t req = cpu_.interrupt_request();
    if (req) {
      if (req & kCpuIrqExit) return ExitReason::ExitRequest;
      if (!env_.irq_shadow) {
        bool stop;
        service_interrupts(req, &stop);
        if (stop) return ExitReason::TripleFault;
      }
    }
    if (env_.halted) return ExitReason::Halted;
    env_.irq_shadow = false;
    const DecodedInsn* insn = fetch_decode(&scratch);
    StepResult r;
    if (!insn) {
      r = StepResult::Exception;
    } else {
      r = execute(env_, mmu_, *insn);
      icount_++;
    }
    switch (r) {
      case StepResult::Ok:
        continue;
      case StepResult::Halt:
        env_.halted = true;
        continue;
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
    if (!deliver_exception()) return ExitReason::TripleFault;
  }
  return ExitReason::Budget;
}

}  // namespace machina::tcg
