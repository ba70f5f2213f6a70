// The PCI bus (QEMU's TYPE_PCI_BUS "PCI") and the PCI Express bus (TYPE_PCIE_BUS "PCIE", a
// subtype): the 256 device/function slots of one bus number, their allocation (the `addr`
// property or the first free slot) with QEMU's errors, the windows BARs are mapped into, INTx
// routing and MSI delivery.
//
// A root bus belongs to a host bridge (its parent device is not a PCI function); a secondary bus
// belongs to a PCI-PCI bridge or PCIe port, whose config space gives its bus number. INTx: a root
// bus maps (device, pin) to one of its interrupt lines (the chipset's PIRQs) and drives each line
// with the OR of the devices asserting it; a secondary bus maps the pin onto its bridge's pins
// (the swizzle by default) and the level travels on up. MSI messages are delivered by the root
// bus's sink (by default: addresses 0xFEExxxxx go to the local APICs through the APIC bus, others
// are written to system memory).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hw/core/qdev.h"
#include "hw/pci/pci-regs.h"
#include "system/memory.h"

namespace machina {

inline constexpr const char* kTypePciBus = "PCI";
inline constexpr const char* kTypePcieBus = "PCIE";

class PciDevice;

constexpr int pci_devfn(int slot, int func) {
  return ((slot & 0x1f) << 3) | (func & 7);
}
constexpr int pci_slot(int devfn) {
  return (devfn >> 3) & 0x1f;
}
constexpr int pci_func(int devfn) {
  return devfn & 7;
}
// PCI-PCI bridge interrupt swizzle (PCI-to-PCI Bridge spec 9.1): pin 0-3 = INTA-D.
constexpr int pci_swizzle(int slot, int pin) {
  return (slot + pin) % pci::kNumPins;
}

class PciBus : public Bus {
 public:
  // (device, pin 0-3) -> interrupt index on this bus (root) or pin of the bridge above.
  using MapIrq = std::function<int(const PciDevice& dev, int pin)>;
  using MsiSink = std::function<void(uint64_t address, uint32_t data)>;

  // --- set-up (host bridge or bridge)
  // The regions BARs of devices on this bus are mapped into. Unset: a secondary bus uses its
  // bridge's bus's (a bridge model sets its own windows), a root bus the system's.
  void set_address_spaces(MemoryRegion* mem, MemoryRegion* io) {
    mem_ = mem;
    io_ = io;
  }
  MemoryRegion* mem_space() const;
  MemoryRegion* io_space() const;
  // Slots that auto-allocation skips and explicit addresses cannot use (bit n = slot n).
  void set_slot_reserved_mask(uint32_t mask) { slot_reserved_mask_ = mask; }
  uint32_t slot_reserved_mask() const { return slot_reserved_mask_; }
  // The bus behind a PCI Express downstream port: devices go in slot 0 only.
  void set_single_slot(bool on) { single_slot_ = on; }
  bool single_slot() const { return single_slot_; }

  // Root bus INTx routing: `map` picks the line for (device, pin); `lines[n]` is driven with the
  // OR of the devices asserting index n. Replaces any previous routing.
  void set_irq_routing(MapIrq map, std::vector<IrqLine*> lines);
  // Secondary bus: how a device pin maps onto the bridge's pin (default: pci_swizzle by slot).
  void set_irq_map(MapIrq map) { map_irq_ = std::move(map); }
  int irq_count() const { return int(irq_count_.size()); }
  // Whether any device asserts interrupt index n of this (root) bus.
  int irq_level(int n) const;

  // MSI delivery for the whole hierarchy (set on the root bus; nullptr: the default sink).
  void set_msi_sink(MsiSink sink) { msi_sink_ = std::move(sink); }
  void deliver_msi(uint64_t address, uint32_t data);

  // --- topology
  bool is_root() const;
  bool is_express() const { return is_a(kTypePcieBus); }
  // Whether devices on this bus may use config space beyond 256 bytes: a PCIe root bus, or a
  // PCIe bus below one that may.
  bool allows_extended_config() const;
  // 0 for a root bus; a secondary bus has its bridge's SECONDARY_BUS register.
  int bus_num() const;
  PciBus* root_bus();
  // The PCI function that owns this (secondary) bus, or nullptr for a root bus.
  PciDevice* parent_pci_device() const;
  PciDevice* device(int devfn) const {
    return devfn >= 0 && devfn < pci::kDevfnMax ? devices_[size_t(devfn)] : nullptr;
  }
  // The bus with number `num` in this hierarchy (QEMU's pci_find_bus_nr), or nullptr.
  PciBus* find_bus(int num);
  PciDevice* find_device(int bus_num, int devfn);
  // Buses of the bridges on this bus.
  std::vector<PciBus*> secondary_buses() const;

  // --- qdev
  Status check_device(Device& dev) override;
  std::string device_address(const Device& dev) const override;

  // --- internal to PciDevice
  // Claims a devfn (`devfn` < 0: the first free slot) with QEMU's errors.
  Result<int> register_device(PciDevice& dev, int devfn);
  void unregister_device(PciDevice& dev);
  // Adds `change` (+1/-1) to the level of `pin` of `dev` and propagates it.
  void change_irq_level(const PciDevice& dev, int pin, int change);

 private:
  std::array<PciDevice*, pci::kDevfnMax> devices_{};
  uint32_t slot_reserved_mask_ = 0;
  bool single_slot_ = false;
  MemoryRegion* mem_ = nullptr;
  MemoryRegion* io_ = nullptr;
  MapIrq map_irq_;
  std::vector<IrqLine*> irq_lines_;
  std::vector<int> irq_count_;
  MsiSink msi_sink_;
};

// Creates a PCI bus of `type` (kTypePciBus / kTypePcieBus) named `name` below `parent`.
Result<PciBus*> pci_bus_new(std::string_view type, Device* parent, std::string_view name,
                            MemoryRegion* mem, MemoryRegion* io);

// The default MSI sink: 0xFEExxxxx to the APIC bus, any other address as a 32-bit write to
// system memory.
void pci_default_msi_sink(uint64_t address, uint32_t data);

}  // namespace machina
