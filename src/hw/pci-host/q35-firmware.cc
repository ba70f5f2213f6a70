// Chipset set-up in place of firmware: see q35-firmware.h.
#include "hw/pci-host/q35-firmware.h"

#include "hw/isa/lpc_ich9.h"
#include "hw/pci-host/q35.h"
#include "hw/pci/pci-host.h"
#include "system/accel-irq.h"

namespace machina {

namespace {

uint32_t cfg_addr(int devfn, unsigned reg) {
  return kPciConfigAddressEnable | uint32_t(devfn) << 8 | reg;
}

}  // namespace

Status q35_firmware_init(PciBus& root) {
  int mch = pci_devfn(0, 0);
  int lpc = pci_devfn(kIch9LpcSlot, kIch9LpcFunc);
  if (!dynamic_cast<Mch*>(root.device(mch))) return generic_error("q35: no MCH at 00.0");
  if (!dynamic_cast<Ich9Lpc*>(root.device(lpc))) return generic_error("q35: no ICH9-LPC at 1f.0");

  pci_data_write(root, cfg_addr(mch, mch::kPciexbar + 4), 0, 4);
  pci_data_write(root, cfg_addr(mch, mch::kPciexbar),
                 uint32_t(kMchPciexbarDefault | mch::kPciexbarEnable), 4);

  pci_data_write(root, cfg_addr(lpc, ich9::kPmBase), kQ35AcpiPmBase | ich9::kPmBaseRte, 4);
  pci_data_write(root, cfg_addr(lpc, ich9::kAcpiCntl), ich9::kAcpiCntlAcpiEn, 1);
  uint8_t elcr[2] = {};
  for (int n = 0; n < kIch9NumPirqs; ++n) {
    uint8_t irq = kQ35PirqIrqs[n % 4];
    unsigned reg = n < 4 ? ich9::kPirqaRout + unsigned(n) : ich9::kPirqeRout + unsigned(n - 4);
    pci_data_write(root, cfg_addr(lpc, reg), irq, 1);
    elcr[irq >> 3] |= uint8_t(1u << (irq & 7));
  }
  // The PIRQ lines are level-triggered: into KVM's 8259s when they are the accelerator's (the
  // ports would reach no model of machina's), else through the ports as firmware writes them.
  if (!accel_set_elcr(elcr[0], elcr[1])) {
    (void)address_space_io().write(0x4d0, 1, elcr[0]);
    (void)address_space_io().write(0x4d1, 1, elcr[1]);
  }
  pci_data_write(root, cfg_addr(lpc, ich9::kRcba), kQ35RcbaAddress | ich9::kRcbaEnable, 4);
  return Status::Ok();
}

}  // namespace machina
