// The in-kernel interrupt controllers (kernel-irqchip=on; QEMU's kvm_irqchip_create and
// kvm_pc_setup_irq_routing): KVM_CREATE_IRQCHIP (8259 pair, I/O APIC, a local APIC per vCPU),
// the in-kernel PIT (KVM_CREATE_PIT2), and the GSI routing table: GSI 0-15 to the 8259 pins (not
// 2, the cascade), GSI 0 to I/O APIC pin 2 and GSI 1-23 to pin n (not 2), as the PC's
// interrupt source override says; then MSI routes for irqfds. Interrupt messages that machina's
// device models send on the APIC bus (MSI, the test devices' fixed interrupts) become
// KVM_SIGNAL_MSI; a device's GSI line becomes KVM_IRQ_LINE.
#include <linux/kvm.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "accel/kvm/kvm-internal.h"
#include "accel/kvm/kvm-uapi.h"
#include "accel/kvm/kvm.h"
#include "hw/intc/apic-bus.h"
#include "system/accel-irq.h"
#include "system/cpus.h"
#include "system/runstate.h"
#include "util/log.h"

namespace machina::kvm {

namespace {

constexpr unsigned kIoapicPins = 24;

struct Route {
  kvm_irq_routing_entry entry;
  bool used;
};

struct Irqchip {
  std::mutex lock;
  KvmState* state = nullptr;
  std::vector<Route> routes;  // index: position in the table; MSI routes have their own GSI
  unsigned max_gsi = 0;       // KVM_CAP_IRQ_ROUTING
  std::vector<bool> gsi_used;
  KvmIrqchipStats stats;
};

Irqchip& irqchip() {
  static Irqchip* c = new Irqchip;
  return *c;
}

kvm_irq_routing_entry irqchip_route(unsigned gsi, unsigned chip, unsigned pin) {
  kvm_irq_routing_entry e{};
  e.gsi = gsi;
  e.type = KVM_IRQ_ROUTING_IRQCHIP;
  e.u.irqchip.irqchip = chip;
  e.u.irqchip.pin = pin;
  return e;
}

kvm_irq_routing_entry msi_route(unsigned gsi, uint64_t addr, uint32_t data) {
  kvm_irq_routing_entry e{};
  e.gsi = gsi;
  e.type = KVM_IRQ_ROUTING_MSI;
  e.u.msi.address_lo = uint32_t(addr);
  e.u.msi.address_hi = uint32_t(addr >> 32);
  e.u.msi.data = data;
  return e;
}

// KVM_SET_GSI_ROUTING with every route in use. Lock held.
Status commit_locked(Irqchip& c) {
  std::vector<kvm_irq_routing_entry> live;
  for (const Route& r : c.routes)
    if (r.used) live.push_back(r.entry);
  KvmIrqRoutingArray a(live.size());
  for (size_t i = 0; i < live.size(); i++) a.set(i, live[i]);
  int r = kvm_ioctl(c.state->vm_fd, kIoctlSetGsiRouting, a.data());
  if (r < 0) return generic_error(std::string("KVM_SET_GSI_ROUTING failed: ") + std::strerror(-r));
  c.stats.route_commits++;
  return Status::Ok();
}

uint32_t msi_data_of(const ApicMessage& m) {
  return uint32_t(m.vector) | uint32_t(m.mode) << 8 | uint32_t(m.assert) << 14 |
         uint32_t(m.level_triggered) << 15;
}

uint64_t msi_address_of(const ApicMessage& m) {
  return 0xfee00000u | uint64_t(m.dest) << 12 | uint64_t(m.logical) << 2;
}

}  // namespace

Status kvm_irqchip_create(KvmState& s) {
  for (auto [cap, name] : {std::pair{KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
                           std::pair{KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
                           std::pair{KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"}}) {
    if (kvm_ioctl_value(s.vm_fd, KVM_CHECK_EXTENSION, static_cast<unsigned long>(cap)) <= 0)
      return generic_error(std::string("kernel-irqchip=on: kvm does not support ") + name);
  }
  int r = kvm_ioctl_value(s.vm_fd, KVM_CREATE_IRQCHIP, 0);
  if (r < 0) return generic_error(std::string("Create kernel irqchip failed: ") + strerror(-r));
  if (kvm_ioctl_value(s.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT2) > 0) {
    kvm_pit_config pit{};
    r = kvm_ioctl(s.vm_fd, KVM_CREATE_PIT2, &pit);
    if (r < 0)
      return generic_error(std::string("Create kernel PIC irqchip failed: ") + strerror(-r));
    s.pit_in_kernel = true;
  }
  Irqchip& c = irqchip();
  std::lock_guard l(c.lock);
  c.state = &s;
  c.max_gsi = unsigned(kvm_ioctl_value(s.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING));
  c.gsi_used.assign(c.max_gsi, false);
  for (unsigned i = 0; i < 16; i++) {
    if (i == 2) continue;
    c.routes.push_back(
        {irqchip_route(i, i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, i % 8), true});
  }
  for (unsigned i = 0; i < kIoapicPins; i++) {
    if (i == 2) continue;
    c.routes.push_back({irqchip_route(i, KVM_IRQCHIP_IOAPIC, i == 0 ? 2 : i), true});
    c.gsi_used[i] = true;
  }
  for (unsigned i = 0; i < 16; i++) c.gsi_used[i] = true;
  if (Status st = commit_locked(c); !st.ok()) {
    c.state = nullptr;
    c.routes.clear();
    return st;
  }
  s.irqchip_in_kernel = true;
  set_accel_kernel_irqchip(true);
  // A system_reset brings KVM's interrupt controllers back to power-on state, as the models'.
  qemu_register_reset([] {
    if (Status st = kvm_irqchip_reset(); !st.ok())
      std::fprintf(stderr, "kvm: %s\n", st.message().c_str());
  });
  // Devices may bind MSIs to irqfds.
  static AccelMsiRouting routing{
      .add_msi_route = kvm_irqchip_add_msi_route,
      .update_msi_route = kvm_irqchip_update_msi_route,
      .release_msi_route = kvm_irqchip_release_msi_route,
      .set_irqfd = kvm_irqchip_set_irqfd,
  };
  accel_set_msi_routing(&routing);
  accel_set_gsi_handler([](unsigned gsi, int level) {
    int r = kvm_set_irq(gsi, level);
    if (r < 0) std::fprintf(stderr, "kvm: KVM_IRQ_LINE %u failed: %s\n", gsi, std::strerror(-r));
  });
  accel_set_elcr_handler([](uint8_t master, uint8_t slave) {
    if (Status st = kvm_irqchip_set_elcr(master, slave); !st.ok())
      std::fprintf(stderr, "kvm: %s\n", st.message().c_str());
  });
  // The device models' interrupt messages go to the in-kernel local APICs.
  apic_bus_set_delivery_override(
      [](const ApicMessage& m) { (void)kvm_irqchip_send_msi(msi_address_of(m), msi_data_of(m)); });
  return Status::Ok();
}

bool kvm_irqchip_in_kernel() {
  KvmState* s = kvm_state();
  return s && s->irqchip_in_kernel;
}

int kvm_set_irq(unsigned gsi, int level) {
  Irqchip& c = irqchip();
  KvmState* s = c.state;
  if (!s) return -ENODEV;
  kvm_irq_level l{};
  l.irq = gsi;
  l.level = level ? 1u : 0u;
  int r = kvm_ioctl(s->vm_fd, KVM_IRQ_LINE, &l);
  std::lock_guard g(c.lock);
  c.stats.irq_lines++;
  return r;
}

int kvm_irqchip_send_msi(uint64_t addr, uint32_t data) {
  Irqchip& c = irqchip();
  KvmState* s = c.state;
  if (!s) return -ENODEV;
  kvm_msi m{};
  m.address_lo = uint32_t(addr);
  m.address_hi = uint32_t(addr >> 32);
  m.data = data;
  int r = kvm_ioctl(s->vm_fd, KVM_SIGNAL_MSI, &m);
  if (r < 0)
    log_mask(LOG_GUEST_ERROR, std::string("kvm: KVM_SIGNAL_MSI failed: ") + std::strerror(-r));
  std::lock_guard g(c.lock);
  c.stats.msis++;
  return r;
}

Result<int> kvm_irqchip_add_msi_route(uint64_t addr, uint32_t data) {
  Irqchip& c = irqchip();
  std::lock_guard l(c.lock);
  if (!c.state) return generic_error("kvm: no in-kernel irqchip");
  unsigned gsi = 0;
  while (gsi < c.max_gsi && c.gsi_used[gsi]) gsi++;
  if (gsi >= c.max_gsi) return generic_error("kvm: no free GSI for an MSI route");
  c.gsi_used[gsi] = true;
  c.routes.push_back({msi_route(gsi, addr, data), true});
  if (Status st = commit_locked(c); !st.ok()) {
    c.routes.pop_back();
    c.gsi_used[gsi] = false;
    return st.error();
  }
  return int(gsi);
}

Status kvm_irqchip_update_msi_route(int gsi, uint64_t addr, uint32_t data) {
  Irqchip& c = irqchip();
  std::lock_guard l(c.lock);
  if (!c.state) return generic_error("kvm: no in-kernel irqchip");
  for (Route& r : c.routes) {
    if (!r.used || r.entry.gsi != unsigned(gsi) || r.entry.type != KVM_IRQ_ROUTING_MSI) continue;
    kvm_irq_routing_entry e = msi_route(unsigned(gsi), addr, data);
    if (std::memcmp(&e, &r.entry, sizeof e) == 0) return Status::Ok();
    r.entry = e;
    return commit_locked(c);
  }
  return generic_error("kvm: no MSI route for GSI " + std::to_string(gsi));
}

void kvm_irqchip_release_msi_route(int gsi) {
  Irqchip& c = irqchip();
  std::lock_guard l(c.lock);
  if (!c.state) return;
  for (auto it = c.routes.begin(); it != c.routes.end(); ++it) {
    if (it->entry.gsi != unsigned(gsi) || it->entry.type != KVM_IRQ_ROUTING_MSI) continue;
    c.routes.erase(it);
    c.gsi_used[unsigned(gsi)] = false;
    (void)commit_locked(c);
    return;
  }
}

Status kvm_irqchip_set_irqfd(int fd, int gsi, bool on) {
  Irqchip& c = irqchip();
  KvmState* s = c.state;
  if (!s) return generic_error("kvm: no in-kernel irqchip");
  kvm_irqfd a{};
  a.fd = uint32_t(fd);
  a.gsi = uint32_t(gsi);
  a.flags = on ? 0u : KVM_IRQFD_FLAG_DEASSIGN;
  int r = kvm_ioctl(s->vm_fd, KVM_IRQFD, &a);
  if (r < 0) return generic_error(std::string("KVM_IRQFD failed: ") + std::strerror(-r));
  std::lock_guard g(c.lock);
  if (on)
    c.stats.irqfds++;
  else
    c.stats.irqfds--;
  return Status::Ok();
}

KvmIrqchipStats kvm_irqchip_stats() {
  Irqchip& c = irqchip();
  std::lock_guard l(c.lock);
  return c.stats;
}

}  // namespace machina::kvm
