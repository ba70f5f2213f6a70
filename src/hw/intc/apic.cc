// The local APIC: type, lifecycle, reset, interrupt acceptance, priorities, EOI and the CPU's
// side (LocalInterruptController). Registers are in apic-regs.cc, the timer in apic-timer.cc.
#include "hw/intc/apic.h"

#include <algorithm>
#include <bit>
#include <string>

#include "qom/property-types.h"
#include "util/log.h"

namespace machina {

namespace {

constexpr uint32_t lvt_mode(uint32_t lvt) {
  return (lvt >> 8) & 7;
}

}  // namespace

Apic::Apic() {
  init_gpio_in("", 2, [this](int n, int level) { lint_changed(n, level); });
}

Apic::~Apic() {
  if (registered_) apic_bus_unregister(this);
}

void Apic::set_cpu(x86::CpuInterruptTarget* cpu) {
  cpu_ = cpu;
  sync_irq();
}

void Apic::set_bsp(bool bsp) {
  bsp_ = bsp;
  if (bsp) {
    apic_base_ |= kApicBaseBsp;
  } else {
    apic_base_ &= ~kApicBaseBsp;
  }
}

Status Apic::do_realize() {
  if (initial_id == 0xff) {
    return generic_error(std::string(kTypeApic) + " initialization failed. APIC ID " +
                         std::to_string(initial_id) + " is invalid");
  }
  id_ = initial_id;
  if (Status s = apic_bus_register(this); !s.ok()) return s;
  registered_ = true;
  init_mmio();
  power_on_reset();
  return Status::Ok();
}

void Apic::do_unrealize() {
  timer_.del();
  if (registered_) apic_bus_unregister(this);
  registered_ = false;
  if (mmio_.container()) (void)mmio_.container()->del_subregion(&mmio_);
}

void Apic::power_on_reset() {
  reset_state(false);
}

void Apic::init_reset() {
  reset_state(true);
}

void Apic::reset_state(bool keep_id_and_base) {
  if (!keep_id_and_base) {
    id_ = initial_id;
    uint64_t old_base = apic_base_ & ~uint64_t{0xfff};
    apic_base_ = kApicDefaultBase | kApicBaseEnable | (bsp_ ? kApicBaseBsp : 0);
    if (old_base != kApicDefaultBase && mmio_.container()) mmio_.set_address(kApicDefaultBase);
  }
  tpr_ = 0;
  ldr_ = 0;
  dfr_model_ = 0xf;
  svr_ = 0xff;
  isr_ = {};
  tmr_ = {};
  irr_ = {};
  esr_ = 0;
  esr_pending_ = 0;
  icr_low_ = 0;
  icr_high_ = 0;
  lvt_.fill(kApicLvtMasked);
  // QEMU's apic_reset_common: the BSP's LINT0 in virtual-wire mode (ExtINT, unmasked).
  if (!keep_id_and_base && bsp_) lvt_[kLvtLint0] = 0x700;
  timer_initial_ = 0;
  timer_divide_config_ = 0;
  timer_start_ns_ = 0;
  timer_.del();
  extint_message_ = false;
  sync_irq();
}

// --- priorities

int Apic::highest_bit(const Bits256& b) {
  for (int i = 7; i >= 0; --i) {
    if (b[i]) return i * 32 + 31 - std::countl_zero(b[i]);
  }
  return -1;
}

uint8_t Apic::processor_priority() const {
  int isrv = highest_bit(isr_);
  uint8_t isr_class = isrv < 0 ? 0 : uint8_t(isrv & 0xf0);
  if ((tpr_ & 0xf0) >= isr_class) return tpr_;
  return isr_class;
}

uint8_t Apic::arbitration_priority() const {
  int isrv = highest_bit(isr_);
  int irrv = highest_bit(irr_);
  uint8_t isr_class = isrv < 0 ? 0 : uint8_t(isrv & 0xf0);
  uint8_t irr_class = irrv < 0 ? 0 : uint8_t(irrv & 0xf0);
  if ((tpr_ & 0xf0) >= irr_class && (tpr_ & 0xf0) > isr_class) return tpr_;
  return std::max({uint8_t(tpr_ & 0xf0), isr_class, irr_class});
}

int Apic::deliverable_vector() const {
  if (!sw_enabled()) return -1;
  int irrv = highest_bit(irr_);
  if (irrv < 0) return -1;
  if ((irrv & 0xf0) <= (processor_priority() & 0xf0)) return -1;
  return irrv;
}

bool Apic::is_focus_for(uint8_t vector) const {
  return test_bit(irr_, vector) || test_bit(isr_, vector);
}

bool Apic::extint_pending() const {
  if (!hw_enabled()) return lint_level_[0] != 0;
  if (extint_message_) return true;
  uint32_t lvt0 = lvt_[kLvtLint0];
  return lint_level_[0] && !(lvt0 & kApicLvtMasked) && lvt_mode(lvt0) == 7;
}

void Apic::signal_hard(bool on) {
  hard_signalled_ = on;
  if (!cpu_) return;
  if (on) {
    cpu_->raise_interrupt(x86::kCpuIrqHard);
  } else {
    cpu_->lower_interrupt(x86::kCpuIrqHard);
  }
}

void Apic::update_irq() {
  bool want = extint_pending() || deliverable_vector() >= 0;
  if (want != hard_signalled_) signal_hard(want);
}

void Apic::sync_irq() {
  signal_hard(extint_pending() || deliverable_vector() >= 0);
}

// --- acceptance

bool Apic::matches_destination(uint8_t dest, bool logical) const {
  if (!hw_enabled()) return false;
  if (dest == kApicBroadcast) return true;
  if (!logical) return dest == id_;
  if (dfr_model_ == 0xf) return (dest & ldr_) != 0;  // flat
  if (dfr_model_ == 0x0) {                           // cluster
    return (dest & 0xf0) == (ldr_ & 0xf0) && (dest & ldr_ & 0x0f) != 0;
  }
  return false;  // a reserved model matches nothing
}

void Apic::set_irr(uint8_t vector, bool level_triggered) {
  if (vector < 16) {
    report_error(kApicEsrReceiveIllegalVector);
    return;
  }
  set_bit(irr_, vector);
  if (level_triggered) {
    set_bit(tmr_, vector);
  } else {
    clear_bit(tmr_, vector);
  }
  update_irq();
}

void Apic::accept_message(const ApicMessage& msg) {
  switch (msg.mode) {
    case ApicDeliveryMode::Fixed:
    case ApicDeliveryMode::LowestPriority:
      // SDM 10.4.7.2: a software-disabled APIC only answers NMI, SMI, INIT and start-up.
      if (sw_enabled()) set_irr(msg.vector, msg.level_triggered);
      break;
    case ApicDeliveryMode::Smi:
      if (cpu_) cpu_->raise_interrupt(x86::kCpuIrqSmi);
      break;
    case ApicDeliveryMode::Nmi:
      if (cpu_) cpu_->raise_interrupt(x86::kCpuIrqNmi);
      break;
    case ApicDeliveryMode::Init:
      // The level-triggered de-assert only resynchronises arbitration IDs on old processors.
      if (msg.level_triggered && !msg.assert) break;
      if (cpu_) cpu_->raise_interrupt(x86::kCpuIrqInit);
      break;
    case ApicDeliveryMode::StartUp:
      if (cpu_) cpu_->deliver_sipi(msg.vector);
      break;
    case ApicDeliveryMode::ExtInt:
      extint_message_ = true;
      update_irq();
      break;
  }
}

void Apic::report_error(uint32_t esr_bits) {
  esr_pending_ |= esr_bits;
  if (in_error_delivery_) return;  // an illegal vector in the error LVT itself
  in_error_delivery_ = true;
  local_deliver(kLvtError);
  in_error_delivery_ = false;
}

// Delivers the interrupt of a local source through its LVT entry.
void Apic::local_deliver(ApicLvt which) {
  uint32_t lvt = lvt_[which];
  if (lvt & kApicLvtMasked) return;
  // The timer and error LVTs have no delivery mode field: always fixed.
  uint32_t mode = (which == kLvtTimer || which == kLvtError) ? 0 : lvt_mode(lvt);
  switch (mode) {
    case 0: {  // fixed
      bool level = (which == kLvtLint0 || which == kLvtLint1) && (lvt & kApicLvtLevelTriggered);
      set_irr(uint8_t(lvt & 0xff), level);
      break;
    }
    case 2:
      if (cpu_) cpu_->raise_interrupt(x86::kCpuIrqSmi);
      break;
    case 4:
      if (cpu_) cpu_->raise_interrupt(x86::kCpuIrqNmi);
      break;
    case 5:
      if (cpu_) cpu_->raise_interrupt(x86::kCpuIrqInit);
      break;
    case 7:  // ExtINT: level-sensitive, see extint_pending()
      update_irq();
      break;
    default:
      log_mask(LOG_GUEST_ERROR, "apic: reserved delivery mode " + std::to_string(mode) +
                                    " in LVT " + std::to_string(which));
      break;
  }
}

// LINT0 / LINT1 pins.
void Apic::lint_changed(int n, int level) {
  level = level ? 1 : 0;
  int old = lint_level_[n];
  lint_level_[n] = level;
  if (!hw_enabled()) {
    // No APIC: LINT0 is the processor's INTR pin, LINT1 its NMI pin.
    if (n == 0) {
      update_irq();
    } else if (level && !old && cpu_) {
      cpu_->raise_interrupt(x86::kCpuIrqNmi);
    }
    return;
  }
  ApicLvt which = n == 0 ? kLvtLint0 : kLvtLint1;
  uint32_t lvt = lvt_[which];
  uint32_t mode = lvt_mode(lvt);
  if (mode == 7) {
    update_irq();
    return;
  }
  if (mode == 0 && (lvt & kApicLvtLevelTriggered)) {
    if (level && !old) {
      local_deliver(which);
    } else if (!level && old) {
      // A level-triggered request withdrawn before it was taken (as QEMU).
      uint8_t v = uint8_t(lvt & 0xff);
      if (v >= 16 && test_bit(tmr_, v)) {
        clear_bit(irr_, v);
        update_irq();
      }
    }
    return;
  }
  if (level && !old) local_deliver(which);
}

// A level-triggered fixed LINT input still asserted is requested again (after its EOI, or when
// its LVT is unmasked).
void Apic::recheck_level_lint(int n) {
  ApicLvt which = n == 0 ? kLvtLint0 : kLvtLint1;
  uint32_t lvt = lvt_[which];
  if (!lint_level_[n] || !hw_enabled() || (lvt & kApicLvtMasked) || lvt_mode(lvt) != 0 ||
      !(lvt & kApicLvtLevelTriggered)) {
    return;
  }
  uint8_t v = uint8_t(lvt & 0xff);
  if (v >= 16 && (test_bit(irr_, v) || test_bit(isr_, v))) return;
  local_deliver(which);
}

void Apic::eoi() {
  int isrv = highest_bit(isr_);
  if (isrv < 0) return;
  clear_bit(isr_, isrv);
  if (test_bit(tmr_, isrv)) {
    apic_bus_broadcast_eoi(uint8_t(isrv));
    for (int n = 0; n < 2; ++n) {
      if ((lvt_[kLvtLint0 + n] & 0xff) == uint32_t(isrv)) recheck_level_lint(n);
    }
  }
  update_irq();
}

// --- the CPU's side

int Apic::acknowledge_interrupt() {
  int vector = -1;
  if (extint_pending()) {
    extint_message_ = false;
    if (extint_ack_) {
      vector = extint_ack_() & 0xff;
    } else {
      log_mask(LOG_GUEST_ERROR, "apic: ExtINT interrupt without an ExtINT source");
    }
  } else if (sw_enabled()) {
    int irrv = highest_bit(irr_);
    if (irrv >= 0) {
      if ((irrv & 0xf0) > (processor_priority() & 0xf0)) {
        clear_bit(irr_, irrv);
        set_bit(isr_, irrv);
        vector = irrv;
      } else {
        vector = svr_ & 0xff;  // masked by priority since it was signalled: spurious
      }
    }
  }
  sync_irq();
  return vector;
}

void Apic::set_cr8(uint8_t value) {
  tpr_ = uint8_t((value & 0xf) << 4);
  update_irq();
}

bool Apic::set_apic_base(uint64_t value) {
  uint64_t phys_mask = phys_addr_bits_ >= 64 ? ~uint64_t{0} : (uint64_t{1} << phys_addr_bits_) - 1;
  // Bits 0-7, 9 and 10 (x2APIC enable, not supported) and those above MAXPHYADDR are reserved.
  uint64_t reserved = 0xffu | (1u << 9) | kApicBaseExtd | ~phys_mask;
  if (value & reserved) return false;
  bool was_enabled = hw_enabled();
  uint64_t old_base = apic_base_ & ~uint64_t{0xfff};
  uint64_t new_base = value & ~uint64_t{0xfff};
  apic_base_ = new_base | (value & kApicBaseEnable) | (bsp_ ? kApicBaseBsp : 0);
  if (new_base != old_base && mmio_.container()) mmio_.set_address(new_base);
  if (was_enabled && !hw_enabled()) {
    reset_state(true);  // SDM 10.4.3: the APIC returns to its power-on state
  }
  update_irq();
  return true;
}

namespace {

TypeRegistration apic_type{TypeInfo{
    .name = kTypeApic,
    .parent = kTypeDevice,
    .instance_new = [] { return new Apic(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          // Created and wired to its CPU by the machine (QEMU: x86_cpu_apic_create).
          dc.user_creatable = false;
          dc.hotpluggable = false;
          dc.description = "x86 local APIC (xAPIC)";
          dc.add_property(prop::integer<Apic, uint8_t>("id", &Apic::initial_id, 0xff));
          dc.add_property(prop::integer<Apic, uint8_t>("version", &Apic::version, 0x14));
        },
}};

}  // namespace

}  // namespace machina
