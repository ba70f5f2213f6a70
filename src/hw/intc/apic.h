// The x86 local APIC (QEMU's "apic" device): xAPIC mode through a 4 KiB MMIO region (the
// machine maps it at the APIC base, 0xFEE00000 by default), as described in the Intel SDM vol. 3,
// "Advanced Programmable Interrupt Controller (APIC)". x2APIC and the TSC-deadline timer mode are
// not implemented (and must not be advertised in CPUID).
//
// Model:
// - Version register 0x50014 (version 0x14, max LVT entry 5: timer, thermal, performance
//   counters, LINT0, LINT1, error; no CMCI LVT, no EOI-broadcast suppression).
// - Priorities: PPR from TPR and the highest in-service vector; an interrupt in the IRR is
//   delivered when its priority class (vector >> 4) is above PPR's.
// - Software disable (SVR bit 8 clear): every LVT is masked and stays masked, fixed and
//   lowest-priority messages are dropped; NMI, SMI, INIT and start-up are still accepted.
// - Hardware disable (IA32_APIC_BASE bit 11 clear): the APIC takes no bus messages, the LINT0
//   input (the 8259's INTR) goes straight to the CPU as an ExtINT interrupt and LINT1 raises NMI
//   (as if the processor had no APIC; QEMU's apic_accept_pic_intr). Disabling returns the APIC
//   to its power-on state (SDM 10.4.3), ID and base kept; it may be enabled again.
// - LINT0/LINT1 are the unnamed GPIO inputs 0 and 1. In ExtINT mode the vector comes from the
//   ExtINT acknowledge callback (the 8259's INTA cycle) set by the machine; ExtINT takes
//   precedence over fixed interrupts, as in QEMU. ExtINT messages from an I/O APIC pin work the
//   same way.
// - Timer: the APIC bus clock is 1 GHz, as in QEMU and KVM: the current count decrements once
//   every `divide` nanoseconds of the virtual clock. One-shot: the interrupt fires when the count
//   reaches 0, initial_count * divide ns after the initial count was written. Periodic: it
//   reloads and fires every initial_count * divide ns (re-armed no more often than every
//   kApicMinTimerPeriodNs, so that a tiny period cannot stall the machine).
// - Power-on state (reset, cpu_reset): per SDM 10.4.7.1 (all LVTs masked, SVR 0xFF, DFR all
//   ones, timer stopped, IA32_APIC_BASE = 0xFEE00000 | enable | BSP) except that, as in QEMU, the
//   BSP's LINT0 is 0x700 (ExtINT, unmasked: the virtual-wire mode firmware sets up), so that the
//   8259 reaches the BSP before the guest programs its APIC. init_reset() is the INIT variant
//   (ID and IA32_APIC_BASE kept, LINT0 masked too).
//
// The CPU is signalled through a CpuInterruptTarget (kCpuIrqHard follows "something
// deliverable"; NMI, SMI and INIT are raised as edges; start-up IPIs call deliver_sipi). All
// methods run with the big lock held.
#pragma once

#include <array>
#include <cstdint>
#include <functional>

#include "hw/core/qdev.h"
#include "hw/intc/apic-bus.h"
#include "system/memory.h"
#include "target/i386/cpu-interrupts.h"
#include "util/qemu-timer.h"

namespace machina {

inline constexpr const char* kTypeApic = "apic";
inline constexpr uint64_t kApicDefaultBase = 0xfee00000;
inline constexpr uint64_t kApicMmioSize = 0x1000;
inline constexpr int64_t kApicBusFrequencyHz = 1000000000;  // 1 tick per ns at divide 1
inline constexpr int64_t kApicMinTimerPeriodNs = 100000;    // 100 us

// IA32_APIC_BASE bits.
inline constexpr uint64_t kApicBaseBsp = 1u << 8;
inline constexpr uint64_t kApicBaseExtd = 1u << 10;  // x2APIC enable: not supported (reserved)
inline constexpr uint64_t kApicBaseEnable = 1u << 11;

// Register offsets in the MMIO region.
namespace apic_reg {
inline constexpr uint32_t kId = 0x020;
inline constexpr uint32_t kVersion = 0x030;
inline constexpr uint32_t kTpr = 0x080;
inline constexpr uint32_t kApr = 0x090;
inline constexpr uint32_t kPpr = 0x0a0;
inline constexpr uint32_t kEoi = 0x0b0;
inline constexpr uint32_t kRrd = 0x0c0;
inline constexpr uint32_t kLdr = 0x0d0;
inline constexpr uint32_t kDfr = 0x0e0;
inline constexpr uint32_t kSvr = 0x0f0;
inline constexpr uint32_t kIsr = 0x100;  // 8 registers, 0x10 apart
inline constexpr uint32_t kTmr = 0x180;
inline constexpr uint32_t kIrr = 0x200;
inline constexpr uint32_t kEsr = 0x280;
inline constexpr uint32_t kIcrLow = 0x300;
inline constexpr uint32_t kIcrHigh = 0x310;
inline constexpr uint32_t kLvtTimer = 0x320;
inline constexpr uint32_t kLvtThermal = 0x330;
inline constexpr uint32_t kLvtPerf = 0x340;
inline constexpr uint32_t kLvtLint0 = 0x350;
inline constexpr uint32_t kLvtLint1 = 0x360;
inline constexpr uint32_t kLvtError = 0x370;
inline constexpr uint32_t kTimerInitialCount = 0x380;
inline constexpr uint32_t kTimerCurrentCount = 0x390;
inline constexpr uint32_t kTimerDivide = 0x3e0;
}  // namespace apic_reg

// Register bits.
inline constexpr uint32_t kApicVersion = 0x00050014;
inline constexpr uint32_t kApicSvrEnable = 1u << 8;
inline constexpr uint32_t kApicLvtMasked = 1u << 16;
inline constexpr uint32_t kApicLvtLevelTriggered = 1u << 15;
inline constexpr uint32_t kApicLvtTimerPeriodic = 1u << 17;
inline constexpr uint32_t kApicIcrLevelAssert = 1u << 14;
inline constexpr uint32_t kApicIcrLevelTriggered = 1u << 15;
// ESR bits.
inline constexpr uint32_t kApicEsrSendIllegalVector = 1u << 5;
inline constexpr uint32_t kApicEsrReceiveIllegalVector = 1u << 6;
inline constexpr uint32_t kApicEsrIllegalRegister = 1u << 7;

enum ApicLvt : int { kLvtTimer, kLvtThermal, kLvtPerf, kLvtLint0, kLvtLint1, kLvtError, kLvtCount };

class Apic : public Device, public x86::LocalInterruptController {
 public:
  // Properties (as QEMU's): "id" (the initial APIC ID, 0..254; required) and "version".
  uint8_t initial_id = 0xff;
  uint8_t version = 0x14;

  Apic();
  ~Apic() override;

  // --- wiring, by the machine
  void set_cpu(x86::CpuInterruptTarget* cpu);
  // The boot processor: IA32_APIC_BASE bit 8 and the power-on LINT0 (see above).
  void set_bsp(bool bsp);
  bool bsp() const { return bsp_; }
  // The 8259's interrupt acknowledge: returns the vector of an ExtINT interrupt.
  void set_extint_acknowledge(std::function<int()> ack) { extint_ack_ = std::move(ack); }
  // MAXPHYADDR, for the reserved bits of IA32_APIC_BASE (default 40, QEMU's TCG phys-bits).
  void set_phys_addr_bits(int bits) { phys_addr_bits_ = bits; }
  // The xAPIC register page. When it is mapped and the guest moves the APIC base, it is moved.
  MemoryRegion* mmio() { return &mmio_; }

  // --- LocalInterruptController
  int acknowledge_interrupt() override;
  uint8_t cr8() const override { return tpr_ >> 4; }
  void set_cr8(uint8_t value) override;
  uint64_t apic_base() const override { return apic_base_; }
  bool set_apic_base(uint64_t value) override;
  void cpu_reset() override { power_on_reset(); }

  // INIT reset (SDM 10.4.7.3): the power-on state, APIC ID and IA32_APIC_BASE kept.
  void init_reset();

  // --- registers (MMIO offsets, 32-bit). Reserved offsets log, set the ESR's illegal register
  // address bit and read 0.
  uint32_t read_register(uint32_t offset);
  void write_register(uint32_t offset, uint32_t value);

  // --- for the APIC bus
  uint8_t apic_id() const { return id_; }
  bool hw_enabled() const { return (apic_base_ & kApicBaseEnable) != 0; }
  bool sw_enabled() const { return (svr_ & kApicSvrEnable) != 0; }
  bool matches_destination(uint8_t dest, bool logical) const;
  uint8_t processor_priority() const;
  // Whether `vector` is in service or requested here (the focus processor of lowest priority).
  bool is_focus_for(uint8_t vector) const;
  bool focus_checking() const { return (svr_ & (1u << 9)) == 0; }
  // A message the bus routed here.
  void accept_message(const ApicMessage& msg);

  // --- inspection (tests, monitor)
  bool irr_bit(int vector) const { return test_bit(irr_, vector); }
  bool isr_bit(int vector) const { return test_bit(isr_, vector); }
  bool tmr_bit(int vector) const { return test_bit(tmr_, vector); }
  uint32_t lvt(ApicLvt which) const { return lvt_[which]; }
  // Virtual-clock deadline of the armed timer, -1 if none.
  int64_t timer_deadline() const { return timer_.expire_time(); }

 protected:
  Status do_realize() override;
  void do_unrealize() override;
  void do_reset() override { power_on_reset(); }

 private:
  using Bits256 = std::array<uint32_t, 8>;
  static bool test_bit(const Bits256& b, int v) { return (b[v >> 5] >> (v & 31)) & 1; }
  static void set_bit(Bits256& b, int v) { b[v >> 5] |= 1u << (v & 31); }
  static void clear_bit(Bits256& b, int v) { b[v >> 5] &= ~(1u << (v & 31)); }
  static int highest_bit(const Bits256& b);

  void power_on_reset();
  void reset_state(bool keep_id_and_base);

  // Interrupt logic (apic.cc).
  int deliverable_vector() const;  // highest IRR vector above PPR, -1 if none
  bool extint_pending() const;
  void update_irq();  // signals kCpuIrqHard when the deliverable state changed
  void sync_irq();    // signals kCpuIrqHard's state whatever the CPU was told before
  void signal_hard(bool on);
  void set_irr(uint8_t vector, bool level_triggered);
  void local_deliver(ApicLvt which);
  void report_error(uint32_t esr_bits);
  void eoi();
  void lint_changed(int n, int level);
  void recheck_level_lint(int n);
  void send_ipi();
  uint8_t arbitration_priority() const;

  // Register helpers (apic-regs.cc).
  void write_lvt(ApicLvt which, uint32_t value);
  void write_svr(uint32_t value);
  void init_mmio();
  // The APIC a CPU access to the xAPIC page is for: the accessing CPU's own, else this one.
  Apic& accessing_apic();

  // Timer (apic-timer.cc).
  int64_t timer_divide() const;
  uint32_t timer_current_count(int64_t now) const;
  void timer_update(int64_t now);
  void timer_expired();
  void write_timer_divide(uint32_t value);
  void write_timer_initial(uint32_t value);

  MemoryRegion mmio_;
  Timer timer_{ClockType::Virtual, [this] { timer_expired(); }};
  x86::CpuInterruptTarget* cpu_ = nullptr;
  std::function<int()> extint_ack_;
  bool bsp_ = false;
  int phys_addr_bits_ = 40;
  bool registered_ = false;

  uint64_t apic_base_ = kApicDefaultBase | kApicBaseEnable;
  uint8_t id_ = 0;
  uint8_t tpr_ = 0;
  uint8_t ldr_ = 0;
  uint8_t dfr_model_ = 0xf;
  uint32_t svr_ = 0xff;
  Bits256 isr_{}, tmr_{}, irr_{};
  uint32_t esr_ = 0;          // what ESR reads: latched at the last ESR write
  uint32_t esr_pending_ = 0;  // errors since the last ESR write
  bool in_error_delivery_ = false;
  uint32_t icr_low_ = 0, icr_high_ = 0;
  std::array<uint32_t, kLvtCount> lvt_{};
  uint32_t timer_initial_ = 0;
  uint32_t timer_divide_config_ = 0;
  int64_t timer_start_ns_ = 0;  // virtual time at which the count was timer_initial_

  std::array<int, 2> lint_level_{};
  bool extint_message_ = false;  // an ExtINT message from the bus awaits its acknowledge
  bool hard_signalled_ = false;
};

}  // namespace machina
