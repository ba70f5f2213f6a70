// The local APIC's xAPIC register page: the MMIO region, register reads and writes, LVT and SVR
// rules, and IPIs sent through the ICR.
#include <string>

#include "hw/intc/apic.h"
#include "util/log.h"

namespace machina {

namespace {

// Writable bits of each LVT entry (the delivery status bit 12 and remote IRR bit 14 read 0).
constexpr std::array<uint32_t, kLvtCount> kLvtWritable = {
    0x300ff,  // timer: vector, mask, periodic (no TSC-deadline mode)
    0x107ff,  // thermal: vector, delivery mode, mask
    0x107ff,  // performance counters
    0x1a7ff,  // LINT0: vector, delivery mode, polarity, trigger mode, mask
    0x1a7ff,  // LINT1
    0x100ff,  // error: vector, mask
};

constexpr uint32_t kIcrLowWritable = 0x000ccfff;  // all but delivery status and reserved bits
constexpr uint32_t kSvrWritable = 0x3ff;          // vector, enable, focus checking disable

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

Apic& Apic::accessing_apic() {
  auto* cur = dynamic_cast<Apic*>(x86::current_cpu_interrupt_controller());
  return cur ? *cur : *this;
}

void Apic::init_mmio() {
  MemoryRegionOps ops;
  // Registers are 32 bits wide at 16-byte boundaries; smaller reads see part of the register,
  // smaller writes are ignored (QEMU).
  // Every CPU sees its own APIC in the page: an access from a vCPU thread goes to that CPU's
  // APIC, whichever APIC's region is mapped (others, as qtest, reach this one).
  ops.read = [this](uint64_t addr, unsigned size) -> uint64_t {
    unsigned byte = addr & 0xf;
    if (byte + size > 4) return 0;
    uint32_t v = accessing_apic().read_register(uint32_t(addr & 0xff0));
    return (v >> (byte * 8)) & (size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1);
  };
  ops.write = [this](uint64_t addr, uint64_t value, unsigned size) {
    if (size != 4) {
      log_mask(LOG_GUEST_ERROR,
               "apic: " + std::to_string(size) + "-byte write at offset " + hex(addr) + " ignored");
      return;
    }
    accessing_apic().write_register(uint32_t(addr & 0xff0), uint32_t(value));
  };
  ops.valid.min_access_size = 1;
  ops.valid.max_access_size = 4;
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = 4;
  mmio_.init_io(this, "apic-msi", std::move(ops), kApicMmioSize);
}

uint32_t Apic::read_register(uint32_t offset) {
  namespace r = apic_reg;
  if (offset >= r::kIsr && offset < r::kIsr + 0x80) return isr_[(offset - r::kIsr) >> 4];
  if (offset >= r::kTmr && offset < r::kTmr + 0x80) return tmr_[(offset - r::kTmr) >> 4];
  if (offset >= r::kIrr && offset < r::kIrr + 0x80) return irr_[(offset - r::kIrr) >> 4];
  if (offset >= r::kLvtTimer && offset <= r::kLvtError) return lvt_[(offset - r::kLvtTimer) >> 4];
  switch (offset) {
    case r::kId:
      return uint32_t(id_) << 24;
    case r::kVersion:
      return version | (uint32_t(kLvtCount - 1) << 16);
    case r::kTpr:
      return tpr_;
    case r::kApr:
      return arbitration_priority();
    case r::kPpr:
      return processor_priority();
    case r::kEoi:
    case r::kRrd:
      return 0;
    case r::kLdr:
      return uint32_t(ldr_) << 24;
    case r::kDfr:
      return (uint32_t(dfr_model_) << 28) | 0x0fffffff;
    case r::kSvr:
      return svr_;
    case r::kEsr:
      return esr_;
    case r::kIcrLow:
      return icr_low_;  // delivery status (bit 12) is always idle: IPIs are delivered at once
    case r::kIcrHigh:
      return icr_high_;
    case r::kTimerInitialCount:
      return timer_initial_;
    case r::kTimerCurrentCount:
      return timer_current_count(clock_get_ns(ClockType::Virtual));
    case r::kTimerDivide:
      return timer_divide_config_;
    default:
      log_mask(LOG_GUEST_ERROR, "apic: read of reserved register " + hex(offset));
      report_error(kApicEsrIllegalRegister);
      return 0;
  }
}

void Apic::write_register(uint32_t offset, uint32_t value) {
  namespace r = apic_reg;
  if (offset >= r::kIsr && offset < r::kIrr + 0x80) return;  // ISR, TMR, IRR: read-only
  if (offset >= r::kLvtTimer && offset <= r::kLvtError) {
    write_lvt(ApicLvt((offset - r::kLvtTimer) >> 4), value);
    return;
  }
  switch (offset) {
    case r::kId:
      id_ = uint8_t(value >> 24);
      break;
    case r::kVersion:
    case r::kApr:
    case r::kPpr:
    case r::kRrd:
    case r::kTimerCurrentCount:
      break;  // read-only
    case r::kTpr:
      tpr_ = uint8_t(value);
      update_irq();
      break;
    case r::kEoi:
      eoi();
      break;
    case r::kLdr:
      ldr_ = uint8_t(value >> 24);
      break;
    case r::kDfr:
      dfr_model_ = uint8_t(value >> 28);
      break;
    case r::kSvr:
      write_svr(value);
      break;
    case r::kEsr:
      // SDM 10.5.3: a write latches the errors seen since the previous write, for reading.
      esr_ = esr_pending_;
      esr_pending_ = 0;
      break;
    case r::kIcrLow:
      icr_low_ = value & kIcrLowWritable;
      send_ipi();
      break;
    case r::kIcrHigh:
      icr_high_ = value & 0xff000000u;
      break;
    case r::kTimerInitialCount:
      write_timer_initial(value);
      break;
    case r::kTimerDivide:
      write_timer_divide(value);
      break;
    default:
      log_mask(LOG_GUEST_ERROR,
               "apic: write of " + hex(value) + " to reserved register " + hex(offset));
      report_error(kApicEsrIllegalRegister);
      break;
  }
}

void Apic::write_lvt(ApicLvt which, uint32_t value) {
  value &= kLvtWritable[which];
  if (!sw_enabled()) value |= kApicLvtMasked;  // SDM 10.4.7.2: masks cannot be cleared
  lvt_[which] = value;
  switch (which) {
    case kLvtTimer:
      timer_update(clock_get_ns(ClockType::Virtual));
      break;
    case kLvtLint0:
      update_irq();  // ExtINT from the 8259 may now get through, or no longer
      recheck_level_lint(0);
      break;
    case kLvtLint1:
      recheck_level_lint(1);
      break;
    default:
      break;
  }
}

void Apic::write_svr(uint32_t value) {
  svr_ = value & kSvrWritable;
  if (!sw_enabled()) {
    for (uint32_t& l : lvt_) l |= kApicLvtMasked;
    timer_update(clock_get_ns(ClockType::Virtual));
  }
  update_irq();
}

void Apic::send_ipi() {
  uint32_t mode = (icr_low_ >> 8) & 7;
  uint8_t vector = uint8_t(icr_low_ & 0xff);
  if (mode == 3 || mode == 7) {
    log_mask(LOG_GUEST_ERROR, "apic: IPI with reserved delivery mode " + std::to_string(mode));
    return;
  }
  ApicMessage msg;
  msg.dest = uint8_t(icr_high_ >> 24);
  msg.logical = (icr_low_ >> 11) & 1;
  msg.mode = ApicDeliveryMode(mode);
  msg.vector = vector;
  msg.assert = (icr_low_ & kApicIcrLevelAssert) != 0;
  // SDM 10.6.1: the trigger mode only qualifies INIT level de-assert; IPIs are edge-triggered.
  msg.level_triggered =
      msg.mode == ApicDeliveryMode::Init && (icr_low_ & kApicIcrLevelTriggered) != 0;
  if ((msg.mode == ApicDeliveryMode::Fixed || msg.mode == ApicDeliveryMode::LowestPriority) &&
      vector < 16) {
    report_error(kApicEsrSendIllegalVector);
    return;
  }
  apic_bus_send_ipi(*this, ApicShorthand((icr_low_ >> 18) & 3), msg);
}

}  // namespace machina
