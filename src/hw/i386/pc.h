// The PC machines (today: q35, QEMU's "pc-q35-7.2"): what the rest of machina needs from the board.
//
// Board layout in the QOM tree (stable paths, for tests and for wiring):
//   /machine/gsi          machina-gsi: GSI 0-23 fan-out (pc-gsi.h)
//   /machine/q35          q35-pcihost with /machine/q35/mch (00.0) and the root bus pcie.0
//   /machine/unattached/device[N]  ICH9-LPC (1f.0), with the ISA bus "isa.0"; its GSI outputs
//                         drive GSI 0-23 (PIRQA-H: 16-23, and the PIC-mode routing; SCI: 9)
//   /machine/ich9-pm      the ACPI PM registers, mapped by the LPC at PMBASE (0x600); with the
//                         LPC's acpi-pci-hotplug-with-bridge-support (default on) also ACPI PCI
//                         hot-plug at 0x0cc4, which the machine routes the root ports' buses to
//   /machine/fw_cfg       fw_cfg_io at 0x510 (DMA 0x514)
//   /machine/pic-master   isa-i8259 at 0x20 (ELCR 0x4d0); its INT is unnamed GPIO output 0
//   /machine/pic-slave    isa-i8259 at 0xa0 (ELCR 0x4d1), cascaded on the master's IR2
//   /machine/pit          isa-pit at 0x40 (IRQ 0);  /machine/pcspk  port 0x61
// With KVM's irqchip (kernel-irqchip=on) the 8259 pair, the PIT and port 0x61, the I/O APIC
// (x86-cpus.cc) are KVM's, and GSI n is KVM_IRQ_LINE n (accel_set_gsi): none of those models.
//   /machine/rtc          mc146818rtc at 0x70 (IRQ 8)
//   /machine/i8042        i8042 at 0x60/0x64 (IRQ 1, 12)
//   /machine/serialN      isa-serial COM(N+1) for each -serial (chardev "serialN"), N = 0-3
// Ports 0x80 and 0xed (I/O delay) and 0xf0 (FPU error) are dummies: writes are ignored, reads
// give 0xff.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "hw/acpi/ich9-pm.h"
#include "hw/core/machine.h"
#include "hw/intc/i8259.h"
#include "hw/isa/isa-bus.h"
#include "hw/isa/lpc_ich9.h"
#include "hw/rtc/mc146818rtc.h"
#include "system/memory.h"

namespace machina {

class Q35PciHost;

inline constexpr const char* kTypePcQ35Machine = "pc-q35-7.2-machine";

// How RAM is split around the 32-bit PCI hole (q35): with 0xb0000000 bytes or more, 2 GiB below
// 4 GiB and the rest from 4 GiB up; with less, all of it below 4 GiB.
struct PcRamLayout {
  uint64_t below_4g = 0;
  uint64_t above_4g = 0;
};
PcRamLayout pc_q35_ram_layout(uint64_t ram_size);

class PcMachine : public Machine {
 public:
  Status init(const MachineParams& params) override;
  Status machine_done() override;
  // Devices on a bus that ACPI PCI hot-plug serves go to its controller (hw/acpi/pcihp.h).
  HotplugHandler* hotplug_handler_for(Device& dev) override;

  // RAM: "pc.ram", mapped through the aliases "ram-below-4g" at 0 and "ram-above-4g" at 4 GiB.
  const PcRamLayout& ram_layout() const { return layout_; }
  uint64_t below_4g_mem_size() const { return layout_.below_4g; }
  uint64_t above_4g_mem_size() const { return layout_.above_4g; }
  MemoryRegion& ram() { return ram_; }

  // The 8259 pair (nullptr with KVM's irqchip). Connect the master's INT (unnamed GPIO output 0)
  // to the CPU with pic_master().connect_gpio_out("", 0, line); acknowledge with
  // pic_read_irq(pic_master()).
  bool has_pics() const { return pics_.master != nullptr; }
  I8259& pic_master() { return *pics_.master; }
  I8259& pic_slave() { return *pics_.slave; }
  // The GSI fan-out: inputs 0-23 (ISA IRQ n is GSI n); connect an I/O APIC's pins with
  // gsi().connect_gpio_out(kGsiOutIoapic, n, ioapic_pin_n).
  Device& gsi() { return *gsi_; }
  // The line ISA IRQ / GSI n drives (n < 24).
  IrqLine* gsi_line(int n) { return gsi_->gpio_in("", n); }
  IsaBus& isa_bus() { return *isa_bus_; }
  Mc146818Rtc& rtc() { return *rtc_; }
  Q35PciHost& pci_host() { return *host_; }
  Ich9Lpc& lpc() { return *lpc_; }
  Ich9Pm& pm() { return *pm_; }

 private:
  Status init_ram(uint64_t ram_size);
  Status init_chipset();
  Status init_firmware_state();
  Status init_isa_devices(const MachineParams& params);
  Status init_dummy_ports();

  PcRamLayout layout_;
  MemoryRegion ram_, ram_below_4g_, ram_above_4g_;
  MemoryRegion port80_, port_ed_, port_f0_;
  Device* gsi_ = nullptr;
  Q35PciHost* host_ = nullptr;
  Ich9Lpc* lpc_ = nullptr;
  Ich9Pm* pm_ = nullptr;
  IsaBus* isa_bus_ = nullptr;
  I8259Pair pics_;
  // GSI n -> the accelerator's irqchip (kernel-irqchip=on).
  std::vector<std::unique_ptr<IrqLine>> accel_gsi_lines_;
  Mc146818Rtc* rtc_ = nullptr;
};

// The running machine if it is a PC, else nullptr.
PcMachine* pc_machine();

}  // namespace machina
