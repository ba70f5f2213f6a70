// "ICH9-LPC": the ICH9 LPC interface bridge, function 1f.0 of the q35 board (vendor 8086,
// device 2918, class 0601 ISA bridge, revision 2, multifunction), as QEMU's hw/isa/lpc_ich9.c.
//
// Config registers (ICH9 datasheet, chapter 13.1):
// - 0x40 PMBASE: ACPI PM I/O base, bits 15:7 writable, bit 0 reads 1 (I/O space). 0x44
//   ACPI_CNTL: bit 7 ACPI_EN, bits 2:0 SCI IRQ (0: 9, 1: 10, 2: 11, 4: 20, 5: 21, 6: 22, 7: 23).
//   While ACPI_EN is set and the base is not 0, the PM register block (the ACPI code's) is mapped
//   at the base through an Ich9PmMapper.
// - 0x60-0x63 PIRQA-D_ROUT and 0x68-0x6b PIRQE-H_ROUT: bit 7 IRQEN (1 = not routed, the reset
//   value 0x80), bits 3:0 the ISA IRQ. In PIC mode PIRQn drives that ISA IRQ (the OR of every
//   PIRQ routed there and of the SCI when it selects that IRQ). As QEMU's q35 does for APIC mode,
//   PIRQA-H also drive GSI 16-23 whatever the routing says.
// - 0xf0 RCBA: root complex base address, storage only (the chipset configuration registers are
//   not modelled; the PCI INTx -> PIRQ map is QEMU's default, ich9_pirq_for below).
// - The rest of 0x40-0xff is read/write storage, as in QEMU.
// - I/O port 0xCF9, reset control (RST_CNT): writing a value with bit 2 (RST_CPU) set asks for a
//   system reset (QEMU resets on bit 2 alone, whatever bit 1 says); bits 3 and 1 are kept and read
//   back. The port sits inside the host bridge's CONFIG_ADDRESS dword; the LPC hands it to the
//   host (PciHostBridge::set_conf_side_port), or maps it itself without such a host.
//
// Lines: GPIO output "gsi" 0-23 (connect to the board's GSI 0-23), GPIO input "sci" (the ACPI PM
// block's SCI), GPIO inputs "pirq" 0-7 (driven by the PCI root bus it sits on: realize installs
// the PIRQ routing on that bus).
//
// The ISA bus "isa.0" is the LPC's (created at realize, as QEMU's): isa_bus() gives it; the board
// sets its IRQ n to GSI line n.
#pragma once

#include <cstdint>

#include "hw/pci/pci-device.h"

namespace machina {

class IsaBus;

inline constexpr const char* kTypeIch9Lpc = "ICH9-LPC";
inline constexpr const char* kIch9GpioGsi = "gsi";
inline constexpr const char* kIch9GpioSci = "sci";
inline constexpr const char* kIch9GpioPirq = "pirq";
inline constexpr int kIch9LpcSlot = 31;
inline constexpr int kIch9LpcFunc = 0;
inline constexpr int kIch9NumPirqs = 8;
inline constexpr int kIch9NumGsi = 24;
inline constexpr uint16_t kIch9RstCntPort = 0xcf9;

namespace ich9 {
inline constexpr unsigned kPmBase = 0x40;
inline constexpr uint32_t kPmBaseRte = 0x1;
inline constexpr uint32_t kPmBaseMask = 0xff80;
inline constexpr unsigned kAcpiCntl = 0x44;
inline constexpr uint8_t kAcpiCntlAcpiEn = 0x80;
inline constexpr uint8_t kAcpiCntlSciMask = 0x07;
inline constexpr unsigned kPirqaRout = 0x60;
inline constexpr unsigned kPirqeRout = 0x68;
inline constexpr uint8_t kPirqRoutIrqen = 0x80;  // 1: not routed
inline constexpr uint8_t kPirqRoutMask = 0x0f;
inline constexpr uint8_t kPirqRoutDefault = 0x80;
inline constexpr unsigned kRcba = 0xf0;
inline constexpr uint32_t kRcbaEnable = 0x1;
inline constexpr uint32_t kRcbaWmask = 0xffffc001;
inline constexpr uint8_t kRstCntSysRst = 0x02;
inline constexpr uint8_t kRstCntRstCpu = 0x04;
inline constexpr uint8_t kRstCntFullRst = 0x08;
}  // namespace ich9

// The PIRQ (0-7 = A-H) that INTx pin `pin` (0-3) of a device in `slot` of the root bus drives:
// QEMU's default ICH9 routing, which its ACPI _PRT describes. Slots 25-29 and 31: INTA-D to
// PIRQA-D; slot 30: PIRQE-H; every other slot: PIRQ[E + (slot + pin) % 4].
constexpr int ich9_pirq_for(int slot, int pin) {
  if ((slot >= 25 && slot <= 29) || slot == 31) return pin & 3;
  if (slot == 30) return 4 + (pin & 3);
  return 4 + (slot + pin) % 4;
}

// The ACPI PM register block's placement (the ACPI code implements it): map(base) puts its
// registers at I/O port `base`; unmap() takes them away.
class Ich9PmMapper {
 public:
  virtual ~Ich9PmMapper() = default;
  virtual void map(uint16_t base) = 0;
  virtual void unmap() = 0;
};

class Ich9Lpc : public PciDevice {
 public:
  // QEMU's ICH9-LPC properties that configure the ACPI side (ich9_pm_add_properties), kept here
  // for the ACPI code to read and so that -global ICH9-LPC.x=y lines carry over.
  uint8_t disable_s3 = 0;
  uint8_t disable_s4 = 0;
  uint8_t s4_val = 2;
  // On: the root ports' hot-plug goes through ACPI (hw/acpi/pcihp.h); off: native PCIe hot-plug.
  bool acpi_pci_hotplug_with_bridge_support = true;
  bool noreboot = false;

  Ich9Lpc();

  // The PM block's mapper (nullptr: none). Told about the current state at once.
  void set_pm_mapper(Ich9PmMapper* mapper);
  // Where the PM block is mapped now, 0 when not.
  uint16_t pm_io_base() const { return pm_mapped_base_; }
  // The SCI's IRQ/GSI from ACPI_CNTL (QEMU's "sci_int"), -1 for a reserved value.
  int sci_irq() const;
  // The ISA IRQ PIRQ n (0-7) is routed to in PIC mode, -1 when IRQEN says not routed.
  int pirq_route(int n) const;
  uint8_t reset_control() const { return rst_cnt_; }
  // The ISA bus behind the bridge ("isa.0").
  IsaBus* isa_bus() const;

  void config_write(uint32_t addr, uint32_t val, unsigned len) override;

 protected:
  void post_init() override;
  Status pci_realize() override;
  void pci_unrealize() override;
  void pci_reset() override;

 private:
  void update_pm();
  void update_irqs();

  MemoryRegion rst_cnt_mem_;
  uint8_t rst_cnt_ = 0;
  bool rst_cnt_mapped_ = false;
  Ich9PmMapper* pm_mapper_ = nullptr;
  uint16_t pm_mapped_base_ = 0;
  int pirq_level_[kIch9NumPirqs] = {};
  int sci_level_ = 0;
  int driven_[kIch9NumGsi] = {};
};

// Creates the LPC at 1f.0 (multifunction) on `bus` and realizes it; with a name it becomes
// /machine/NAME (QEMU leaves it in /machine/unattached).
Result<Ich9Lpc*> ich9_lpc_create(PciBus& bus, std::string_view name_in_machine = "");

}  // namespace machina
