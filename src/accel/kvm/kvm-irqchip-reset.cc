// The in-kernel irqchip across a machine reset (QEMU's kvm_pic_reset / kvm_ioapic_reset /
// kvm_apic_reset): KVM keeps the 8259 pair's, the I/O APIC's and the local APICs' state, which a
// system_reset must bring back to power-on values as machina's models do with their devices.
// The 8259s and the I/O APIC are reset from the reset handler (vCPUs stopped); each vCPU resets
// its own local APIC on its thread before it runs again (kvm_irqchip_reset_epoch changed).
#include <linux/kvm.h>

#include <atomic>
#include <cstring>

#include "accel/kvm/kvm-internal.h"

namespace machina::kvm {

namespace {

std::atomic<uint64_t> g_reset_epoch{0};

void put32(kvm_lapic_state& s, unsigned off, uint32_t v) {
  std::memcpy(s.regs + off, &v, 4);
}

}  // namespace

uint64_t kvm_irqchip_reset_epoch() {
  return g_reset_epoch.load(std::memory_order_acquire);
}

Status kvm_irqchip_reset() {
  KvmState* s = kvm_state();
  if (!s || !s->irqchip_in_kernel) return Status::Ok();
  for (uint32_t chip : {uint32_t{KVM_IRQCHIP_PIC_MASTER}, uint32_t{KVM_IRQCHIP_PIC_SLAVE}}) {
    kvm_irqchip c{};
    c.chip_id = chip;
    int r = kvm_ioctl(s->vm_fd, KVM_GET_IRQCHIP, &c);
    if (r < 0) return generic_error(std::string("KVM_GET_IRQCHIP failed: ") + std::strerror(-r));
    kvm_pic_state& p = c.chip.pic;
    uint8_t elcr = p.elcr, elcr_mask = p.elcr_mask;  // the chipset's, not the 8259's
    std::memset(&p, 0, sizeof p);
    p.elcr = elcr;
    p.elcr_mask = elcr_mask;
    r = kvm_ioctl(s->vm_fd, KVM_SET_IRQCHIP, &c);
    if (r < 0) return generic_error(std::string("KVM_SET_IRQCHIP failed: ") + std::strerror(-r));
  }
  kvm_irqchip c{};
  c.chip_id = KVM_IRQCHIP_IOAPIC;
  int r = kvm_ioctl(s->vm_fd, KVM_GET_IRQCHIP, &c);
  if (r < 0) return generic_error(std::string("KVM_GET_IRQCHIP failed: ") + std::strerror(-r));
  kvm_ioapic_state& io = c.chip.ioapic;
  io.ioregsel = 0;
  io.id = 0;
  io.irr = 0;
  for (auto& e : io.redirtbl) e.bits = uint64_t{1} << 16;  // masked
  r = kvm_ioctl(s->vm_fd, KVM_SET_IRQCHIP, &c);
  if (r < 0) return generic_error(std::string("KVM_SET_IRQCHIP failed: ") + std::strerror(-r));
  g_reset_epoch.fetch_add(1, std::memory_order_acq_rel);
  return Status::Ok();
}

Status kvm_irqchip_set_elcr(uint8_t master, uint8_t slave) {
  KvmState* s = kvm_state();
  if (!s || !s->irqchip_in_kernel) return generic_error("the irqchip is not KVM's");
  for (auto [chip, elcr] : {std::pair{uint32_t{KVM_IRQCHIP_PIC_MASTER}, master},
                            std::pair{uint32_t{KVM_IRQCHIP_PIC_SLAVE}, slave}}) {
    kvm_irqchip c{};
    c.chip_id = chip;
    int r = kvm_ioctl(s->vm_fd, KVM_GET_IRQCHIP, &c);
    if (r < 0) return generic_error(std::string("KVM_GET_IRQCHIP failed: ") + std::strerror(-r));
    c.chip.pic.elcr = elcr & c.chip.pic.elcr_mask;
    r = kvm_ioctl(s->vm_fd, KVM_SET_IRQCHIP, &c);
    if (r < 0) return generic_error(std::string("KVM_SET_IRQCHIP failed: ") + std::strerror(-r));
  }
  return Status::Ok();
}

Status kvm_lapic_reset(int vcpu_fd, uint32_t apic_id, bool bsp) {
  kvm_lapic_state st{};
  int r = kvm_ioctl(vcpu_fd, KVM_GET_LAPIC, &st);
  if (r < 0) return generic_error(std::string("KVM_GET_LAPIC failed: ") + std::strerror(-r));
  uint32_t version;
  std::memcpy(&version, st.regs + 0x30, 4);
  std::memset(st.regs, 0, sizeof st.regs);
  put32(st, 0x20, apic_id << 24);  // ID
  put32(st, 0x30, version);
  put32(st, 0xe0, 0xffffffff);  // DFR: flat
  put32(st, 0xf0, 0xff);        // SVR: software-disabled, spurious vector 0xff
  for (unsigned lvt : {0x2f0u, 0x320u, 0x330u, 0x340u, 0x350u, 0x360u, 0x370u})
    put32(st, lvt, 0x10000);  // masked
  // As QEMU and KVM: the boot CPU's LINT0 takes the 8259's ExtINT after reset.
  if (bsp) put32(st, 0x350, 0x700);
  r = kvm_ioctl(vcpu_fd, KVM_SET_LAPIC, &st);
  if (r < 0) return generic_error(std::string("KVM_SET_LAPIC failed: ") + std::strerror(-r));
  return Status::Ok();
}

}  // namespace machina::kvm
