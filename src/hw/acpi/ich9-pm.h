// The ICH9 ACPI power-management register block ("ich9-pm", QEMU's ICH9 PM in hw/acpi/ich9.c):
// 128 I/O ports that the LPC bridge maps at PMBASE (QEMU's q35 firmware and machina: 0x600).
//
// Registers (offsets from PMBASE; ICH9 datasheet 13.8.3, ACPI 4.8):
//   0x00 PM1_STS  16 bits, write 1 to clear: TMR_STS 0, BM_STS 4, GBL_STS 5, PWRBTN_STS 8,
//                 RTC_STS 10, PCIEXPWAK_STS 14, WAK_STS 15
//   0x02 PM1_EN   16 bits: TMR_EN 0, GBL_EN 5, PWRBTN_EN 8, RTC_EN 10, PCIEXPWAK_DIS 14
//   0x04 PM1_CNT  SCI_EN 0, BM_RLD 1, GBL_RLS 2 (write-only), SLP_TYP 12:10, SLP_EN 13 (write-only)
//   0x08 PM1_TMR  the 24-bit ACPI PM timer at 3.579545 MHz on the virtual clock (read-only)
//   0x20 GPE0_STS 64 bits, write 1 to clear;  0x28 GPE0_EN 64 bits
// Other offsets read 0 and ignore writes. Any access of 1, 2 or 4 bytes works at any offset.
//
// TMR_STS is set each time bit 23 of the timer changes (whatever TMR_EN says). The SCI (the
// unnamed GPIO output 0; the machine connects it to ISA IRQ 9 / GSI 9, level, active high) is
// asserted while SCI_EN is set and an enabled PM1 event (timer, global lock, power button, RTC)
// or an enabled GPE0 event is pending. SCI_EN is set at reset: machina's FADT has no SMI_CMD,
// ACPI is always on (set the "acpi-enabled" property false to start in legacy mode, then
// set_acpi_mode() implements the ACPI_ENABLE / ACPI_DISABLE commands of an SMI_CMD port).
//
// Writing SLP_EN with SLP_TYP 0 (the \_S5 value of machina's and QEMU's q35 DSDT) or 7 (the ICH9
// encoding of S5) is a soft-off: qemu_system_shutdown_request("guest-shutdown"). Other sleep
// types are not supported (logged, ignored).
//
// Mapping: the ICH9 LPC bridge maps the block at PMBASE while ACPI_EN is set, through the
// Ich9PmMapper interface (Ich9Lpc::set_pm_mapper(pm)); connect the SCI to the LPC's "sci" input,
// which routes it to the IRQ that ACPI_CNTL selects (9).
//
// The power button: system_powerdown (powerdown-request.h) or power_button() sets PWRBTN_STS (the
// SCI follows if PWRBTN_EN is set).
//
// ACPI PCI hot-plug (pcihp.h): enable_pci_hotplug() creates the controller, maps its registers at
// I/O port 0x0cc4 and makes GPE0 bit 1 its event; the guest enabling that GPE bit is passed on
// (gpe_enabled), and a reset of this block resets the controller.
#pragma once

#include <cstdint>
#include <memory>

#include "hw/acpi/pcihp.h"
#include "hw/core/sysbus.h"
#include "hw/isa/lpc_ich9.h"
#include "system/memory.h"
#include "util/qemu-timer.h"

namespace machina {

inline constexpr const char* kTypeIch9Pm = "ich9-pm";
inline constexpr uint16_t kIch9PmDefaultBase = 0x600;
inline constexpr uint64_t kIch9PmIoSize = 0x80;
inline constexpr uint32_t kPmTimerFrequency = 3579545;  // Hz

namespace ich9_pm {
inline constexpr uint16_t kPm1Sts = 0x00;
inline constexpr uint16_t kPm1En = 0x02;
inline constexpr uint16_t kPm1Cnt = 0x04;
inline constexpr uint16_t kPmTmr = 0x08;
inline constexpr uint16_t kGpe0Sts = 0x20;
inline constexpr uint16_t kGpe0En = 0x28;
inline constexpr uint16_t kGpe0Len = 0x10;

inline constexpr uint16_t kTmrSts = 1u << 0;
inline constexpr uint16_t kBmSts = 1u << 4;
inline constexpr uint16_t kGblSts = 1u << 5;
inline constexpr uint16_t kPwrbtnSts = 1u << 8;
inline constexpr uint16_t kRtcSts = 1u << 10;
inline constexpr uint16_t kPciexpWakSts = 1u << 14;
inline constexpr uint16_t kWakSts = 1u << 15;

inline constexpr uint16_t kTmrEn = 1u << 0;
inline constexpr uint16_t kGblEn = 1u << 5;
inline constexpr uint16_t kPwrbtnEn = 1u << 8;
inline constexpr uint16_t kRtcEn = 1u << 10;
inline constexpr uint16_t kPciexpWakDis = 1u << 14;

inline constexpr uint16_t kSciEn = 1u << 0;
inline constexpr uint16_t kBmRld = 1u << 1;
inline constexpr uint16_t kGblRls = 1u << 2;
inline constexpr uint16_t kSlpTypShift = 10;
inline constexpr uint16_t kSlpTypMask = 7u << kSlpTypShift;
inline constexpr uint16_t kSlpEn = 1u << 13;

inline constexpr uint32_t kTimerMask = 0xffffff;  // 24 bits
}  // namespace ich9_pm

class Ich9Pm : public SysBusDevice, public Ich9PmMapper {
 public:
  bool acpi_enabled = true;  // property "acpi-enabled": SCI_EN after reset

  Ich9Pm();
  ~Ich9Pm() override;

  // Maps the block at `base` of the I/O port space (moving it if mapped); unmap() takes it out.
  void map(uint16_t base) override;
  void unmap() override;
  bool mapped() const { return mapped_; }
  uint16_t base() const { return base_; }
  MemoryRegion* io() { return &io_; }

  // Presses the power button.
  void power_button();
  // Sets GPE0 status bit `bit` (0-63), as a GPE source (hotplug) does.
  void raise_gpe(int bit);
  // ACPI_ENABLE / ACPI_DISABLE through an SMI_CMD port: sets / clears SCI_EN.
  void set_acpi_mode(bool enable);
  // Turns ACPI PCI hot-plug on (once; the board does it when the LPC's
  // acpi-pci-hotplug-with-bridge-support property is on).
  Status enable_pci_hotplug();
  // The hot-plug controller, nullptr when ACPI PCI hot-plug is off.
  AcpiPciHp* pci_hotplug() { return pcihp_.get(); }

  // Inspection (tests, monitor).
  uint16_t pm1_sts();
  uint16_t pm1_en() const { return pm1_en_; }
  uint16_t pm1_cnt() const { return pm1_cnt_; }
  uint32_t pm_timer() const;
  bool sci_level() const { return sci_level_; }

 protected:
  Status do_realize() override;
  void do_unrealize() override;
  void do_reset() override;

 private:
  uint64_t io_read(uint64_t addr, unsigned size);
  void io_write(uint64_t addr, uint64_t value, unsigned size);
  uint8_t read_byte(uint64_t off, int64_t now);
  void write_byte(uint64_t off, uint8_t v);
  void write_pm1_cnt_byte(int byte, uint8_t v);
  void enter_sleep(int slp_typ);

  uint64_t timer_ticks(int64_t now) const;
  int64_t next_msb_toggle(int64_t now) const;
  void update_tmr_sts(int64_t now);
  void rearm_timer();
  void timer_expired();
  void update_sci();

  MemoryRegion io_;
  bool mapped_ = false;
  uint16_t base_ = 0;
  int powerdown_handle_ = 0;
  Timer timer_{ClockType::Virtual, [this] { timer_expired(); }};

  uint16_t pm1_sts_ = 0;
  uint16_t pm1_en_ = 0;
  uint16_t pm1_cnt_ = 0;
  uint64_t gpe0_sts_ = 0;
  uint64_t gpe0_en_ = 0;
  int64_t tmr_toggle_ns_ = 0;  // the next change of timer bit 23 not yet reflected in TMR_STS
  bool sci_level_ = false;
  std::unique_ptr<AcpiPciHp> pcihp_;
  bool pcihp_mapped_ = false;
};

}  // namespace machina
