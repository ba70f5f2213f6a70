// Queue interrupts through irqfds (QEMU's virtio_pci_set_guest_notifiers with
// kvm_msi_via_irqfd_enabled): when the accelerator offers MSI routes (accel-irq.h: KVM's
// in-kernel irqchip), the first interrupt of an MSI-X vector binds the vector's message to an
// eventfd of its own (the guest notifier); from then on the device raises that vector by
// signalling the eventfd and the kernel injects it. A masked vector, or MSI-X off, takes the
// ordinary path (pending bit, INTx). A vector the guest reprogrammed has its route updated before
// the next signal. The bindings go with reset, DRIVER_OK cleared and unrealize.
#include "hw/pci/msix.h"
#include "hw/virtio/virtio-pci.h"
#include "system/accel-irq.h"
#include "util/log.h"

namespace machina {

bool VirtioPciProxy::notify_through_irqfd(uint16_t vector) {
  AccelMsiRouting* r = accel_msi_routing();
  if (!r || vector >= msix_nr_vectors(*this) || msix_is_masked(*this, vector)) return false;
  MsiMessage m = msix_get_message(*this, vector);
  auto it = irqfds_.find(vector);
  if (it == irqfds_.end()) {
    IrqfdVector v;
    auto e = EventNotifier::create();
    auto route = e.ok() ? r->add_msi_route(m.address, m.data) : Result<int>(e.error());
    if (route.ok()) {
      if (Status st = r->set_irqfd(e.value()->fd(), route.value(), true); !st.ok()) {
        r->release_msi_route(route.value());
        route = st.error();
      }
    }
    if (!route.ok()) {
      // This vector keeps the ordinary path (an invalid route: nothing is bound).
      log_mask(LOG_UNIMP, vdev()->virtio_name() + ": no irqfd for MSI-X vector " +
                              std::to_string(vector) + ": " + route.message());
      irqfds_.emplace(vector, IrqfdVector{});
      return false;
    }
    v.notifier = e.value();
    v.route = route.value();
    v.msg = m;
    it = irqfds_.emplace(vector, std::move(v)).first;
  }
  IrqfdVector& v = it->second;
  if (!v.notifier) return false;
  if (v.msg.address != m.address || v.msg.data != m.data) {
    if (Status st = r->update_msi_route(v.route, m.address, m.data); !st.ok()) return false;
    v.msg = m;
  }
  v.notifier->set();
  irqfd_signals_++;
  return true;
}

void VirtioPciProxy::release_irqfds() {
  AccelMsiRouting* r = accel_msi_routing();
  for (auto& [vector, v] : irqfds_) {
    if (!v.notifier || !r) continue;
    (void)r->set_irqfd(v.notifier->fd(), v.route, false);
    r->release_msi_route(v.route);
  }
  irqfds_.clear();
}

}  // namespace machina
