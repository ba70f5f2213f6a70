// PCI / PCIe buses: see pci-bus.h.
#include "hw/pci/pci-bus.h"

#include <cstdio>

#include "hw/intc/apic-bus.h"
#include "hw/pci/pci-device.h"
#include "hw/pci/pci-info.h"

namespace machina {

namespace {

std::string devfn_error(int devfn, const std::string& name, const std::string& tail) {
  return "PCI: slot " + std::to_string(pci_slot(devfn)) + " function " +
         std::to_string(pci_func(devfn)) + " not available for " + name + ", " + tail;
}

TypeRegistration pci_bus_type{TypeInfo{
    .name = kTypePciBus,
    .parent = kTypeBus,
    .instance_new = [] { return new PciBus(); },
}};

TypeRegistration pcie_bus_type{TypeInfo{
    .name = kTypePcieBus,
    .parent = kTypePciBus,
    .instance_new = [] { return new PciBus(); },
}};

}  // namespace

void pci_default_msi_sink(uint64_t address, uint32_t data) {
  if ((address & ~uint64_t{0xfffff}) == 0xfee00000) {
    apic_deliver_msi(address, data);
    return;
  }
  (void)address_space_memory().write(address, 4, data);
}

void PciBus::set_irq_routing(MapIrq map, std::vector<IrqLine*> lines) {
  map_irq_ = std::move(map);
  irq_lines_ = std::move(lines);
  irq_count_.assign(irq_lines_.size(), 0);
}

int PciBus::irq_level(int n) const {
  if (n < 0 || size_t(n) >= irq_count_.size()) return 0;
  return irq_count_[size_t(n)] != 0;
}

void PciBus::deliver_msi(uint64_t address, uint32_t data) {
  PciBus* root = root_bus();
  if (root->msi_sink_) {
    root->msi_sink_(address, data);
  } else {
    pci_default_msi_sink(address, data);
  }
}

MemoryRegion* PciBus::mem_space() const {
  if (mem_) return mem_;
  PciDevice* bridge = parent_pci_device();
  PciBus* up = bridge ? bridge->pci_bus() : nullptr;
  return up ? up->mem_space() : get_system_memory();
}

MemoryRegion* PciBus::io_space() const {
  if (io_) return io_;
  PciDevice* bridge = parent_pci_device();
  PciBus* up = bridge ? bridge->pci_bus() : nullptr;
  return up ? up->io_space() : get_system_io();
}

PciDevice* PciBus::parent_pci_device() const {
  return dynamic_cast<PciDevice*>(parent_device());
}

bool PciBus::is_root() const {
  return parent_pci_device() == nullptr;
}

bool PciBus::allows_extended_config() const {
  if (!is_express()) return false;
  if (is_root()) return true;
  PciBus* up = parent_pci_device()->pci_bus();
  return up && up->allows_extended_config();
}

int PciBus::bus_num() const {
  PciDevice* bridge = parent_pci_device();
  return bridge ? bridge->get_byte(pci::kSecondaryBus) : 0;
}

PciBus* PciBus::root_bus() {
  PciBus* b = this;
  while (PciDevice* bridge = b->parent_pci_device()) {
    PciBus* up = bridge->pci_bus();
    if (!up) break;
    b = up;
  }
  return b;
}

std::vector<PciBus*> PciBus::secondary_buses() const {
  std::vector<PciBus*> out;
  for (PciDevice* d : devices_) {
    if (!d) continue;
    for (Bus* cb : d->child_buses()) {
      if (auto* pb = dynamic_cast<PciBus*>(cb)) out.push_back(pb);
    }
  }
  return out;
}

namespace {

// Whether bus number `num` is behind the bridge that owns `sec` (QEMU's
// pci_secondary_bus_in_range).
bool secondary_in_range(const PciBus& sec, int num) {
  PciDevice* bridge = sec.parent_pci_device();
  if (!bridge) return false;
  if (bridge->get_word(pci::kBridgeControl) & pci::kBridgeCtlBusReset) return false;
  return bridge->get_byte(pci::kSecondaryBus) <= num &&
         num <= bridge->get_byte(pci::kSubordinateBus);
}

}  // namespace

PciBus* PciBus::find_bus(int num) {
  if (bus_num() == num) return this;
  if (!is_root() && !secondary_in_range(*this, num)) return nullptr;
  for (PciBus* sec : secondary_buses()) {
    if (sec->bus_num() == num) return sec;
    if (secondary_in_range(*sec, num)) return sec->find_bus(num);
  }
  return nullptr;
}

PciDevice* PciBus::find_device(int num, int devfn) {
  PciBus* b = find_bus(num);
  return b ? b->device(devfn) : nullptr;
}

Status PciBus::check_device(Device& dev) {
  if (!dynamic_cast<PciDevice*>(&dev)) {
    return generic_error("Device '" + dev.type_name() + "' can't go on " + type_name() + " bus");
  }
  return Status::Ok();
}

std::string PciBus::device_address(const Device& dev) const {
  auto* d = dynamic_cast<const PciDevice*>(&dev);
  if (!d || d->config_size() == 0) return "";
  char buf[160];
  std::snprintf(buf, sizeof buf, "class %s, addr %02x:%02x.%x, pci id %04x:%04x (sub %04x:%04x)",
                pci_class_text(d->get_word(pci::kClassDevice)).c_str(), unsigned(d->bus_num()),
                unsigned(d->slot()), unsigned(d->func()), d->get_word(pci::kVendorId),
                d->get_word(pci::kDeviceId), d->get_word(pci::kSubsystemVendorId),
                d->get_word(pci::kSubsystemId));
  return buf;
}

Result<int> PciBus::register_device(PciDevice& dev, int devfn) {
  const std::string& name = dev.type_name();
  if (devfn < 0) {
    int end = single_slot_ ? pci::kFuncMax : pci::kDevfnMax;
    for (int d = 0; d < end; d += pci::kFuncMax) {
      if (!devices_[size_t(d)] && !(slot_reserved_mask_ & (1u << pci_slot(d)))) {
        devfn = d;
        break;
      }
    }
    if (devfn < 0) {
      return generic_error("PCI: no slot/function available for " + name +
                           ", all in use or reserved");
    }
  } else if (devfn >= pci::kDevfnMax) {
    return generic_error("PCI: invalid devfn " + std::to_string(devfn) + " for " + name);
  } else if (single_slot_ && pci_slot(devfn) != 0) {
    return generic_error("PCI: slot " + std::to_string(pci_slot(devfn)) + " is not valid for " +
                         name + ", parent device only allows plugging into slot 0.");
  } else if (slot_reserved_mask_ & (1u << pci_slot(devfn))) {
    return generic_error(devfn_error(devfn, name, "reserved"));
  } else if (PciDevice* other = devices_[size_t(devfn)]) {
    // QEMU prints the id with %s: "(null)" when the device has none.
    std::string id = other->id() ? *other->id() : "(null)";
    return generic_error(devfn_error(devfn, name, "in use by " + other->type_name() + ",id=" + id));
  } else if (dev.hotplugged()) {
    PciDevice* f0 = devices_[size_t(pci_devfn(pci_slot(devfn), 0))];
    if (f0) {
      return generic_error("PCI: slot " + std::to_string(pci_slot(devfn)) +
                           " function 0 already occupied by " + f0->type_name() + ", new func " +
                           name + " cannot be exposed to guest.");
    }
  }
  devices_[size_t(devfn)] = &dev;
  return devfn;
}

void PciBus::unregister_device(PciDevice& dev) {
  for (auto& slot : devices_) {
    if (slot == &dev) slot = nullptr;
  }
}

void PciBus::change_irq_level(const PciDevice& dev, int pin, int change) {
  PciBus* bus = this;
  const PciDevice* d = &dev;
  int irq = pin;
  for (;;) {
    if (bus->map_irq_) {
      irq = bus->map_irq_(*d, irq);
    } else if (!bus->is_root()) {
      irq = pci_swizzle(d->slot(), irq);
    } else {
      return;  // a root bus without routing: the level goes nowhere
    }
    if (bus->is_root()) break;
    d = bus->parent_pci_device();
    bus = d->pci_bus();
    if (!bus) return;
  }
  if (irq < 0 || size_t(irq) >= bus->irq_count_.size()) return;
  int& count = bus->irq_count_[size_t(irq)];
  count += change;
  irq_set(bus->irq_lines_[size_t(irq)], count != 0);
}

Result<PciBus*> pci_bus_new(std::string_view type, Device* parent, std::string_view name,
                            MemoryRegion* mem, MemoryRegion* io) {
  auto r = qbus_new(type, parent, name);
  if (!r.ok()) return r.error();
  auto* bus = dynamic_cast<PciBus*>(r.value());
  if (!bus) return generic_error("'" + std::string(type) + "' is not a PCI bus type");
  bus->set_address_spaces(mem, io);
  return bus;
}

}  // namespace machina
