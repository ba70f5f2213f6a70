// PCI Express ports with a hot-plug slot (QEMU's TYPE_PCIE_PORT "pcie-port" and TYPE_PCIE_SLOT
// "pcie-slot", abstract): a PCI-PCI bridge whose PCI Express capability describes a slot, and the
// hot-plug controller of that slot (PCIe base spec 6.7, the register model of QEMU's
// hw/pci/pcie.c).
//
// Properties: `port` (LNKCAP port number), `chassis` and `slot` (the physical slot number in
// SLTCAP; each chassis/slot pair may be used once: "Can't add chassis slot, error -16"),
// `hotplug` (default on: SLTCAP says hot-plug capable and surprise; off: the secondary bus takes
// cold-plugged devices only).
//
// Slot: attention button, power controller, attention and power indicators, electromechanical
// interlock; data-link-layer link-active reporting. Status bits ABP, PFD, MRLSC, PDC, CC and
// DLLSC are write-1-to-clear. A write to SLOT CONTROL is a command: it completes at once (CC).
// Each SLOT STATUS event enabled in SLOT CONTROL, with HPIE set, makes the hot-plug event
// pending; a rising edge sends MSI-X / MSI vector 0 (the capability's interrupt message number),
// and without either the port's INTx follows the pending state. As QEMU, a write that would clear
// an event bit that is not set (guests clear "everything" at start-up) clears nothing, so a
// button press made before the guest's driver ran is still seen when it enables interrupts.
//
// The controller (HotplugHandler for the secondary bus; on q35 with ACPI PCI hot-plug on, the
// default, the machine routes a pcie-root-port's bus to the ACPI controller instead, see
// hw/acpi/pcihp.h, and the slot only follows presence and power through acpi_slot_populated):
//  - plug: presence detect and link active set; for a hot-plugged function 0 also PDC (and
//    DLLSC), the guest powers the slot on and scans it. A slot powered off (PCC set) keeps its
//    functions unpowered: their config space reads all-ones.
//  - unplug_request (device_del): refused without hot-plug ("Hot-unplug failed: unsupported by
//    the port device 'ID'") or while the guest blinks the power indicator ("Hot-unplug failed:
//    guest is busy (power indicator blinking)"); otherwise the device is marked unplug-pending
//    for 5 s of virtual time and the attention button is pressed. A slot the guest already
//    powered off, and a function other than 0 that the guest cannot see, are removed at once.
//  - The guest completes the removal by turning the power controller and the power indicator
//    off (Linux's pciehp: 5 s after the button, then off): every function below is unplugged
//    (unrealize, unparent; DEVICE_DELETED follows at finalize), presence and link go down, PDC.
#pragma once

#include <cstdint>

#include "hw/core/hotplug.h"
#include "hw/pci/pci-device.h"

namespace machina {

inline constexpr const char* kTypePciePort = "pcie-port";
inline constexpr const char* kTypePcieSlot = "pcie-slot";
// QEMU's pending_deleted_expires_ms: a device_del the guest ignored may be repeated after this.
inline constexpr int64_t kPcieUnplugExpiryMs = 5000;

class PcieSlot : public PciDevice, public HotplugHandler {
 public:
  ~PcieSlot() override;
  // Configuration (properties).
  uint8_t port = 0;
  uint8_t chassis = 0;
  uint16_t slot_number = 0;
  bool hotplug = true;

  // The bus behind the port (nullptr before realize).
  PciBus* sec_bus() const;
  bool slot_powered_off() const;
  // Whether the hot-plug event is pending (what INTx shows).
  bool hotplug_event_pending() const { return hpev_notified_; }
  // For a slot whose bus ACPI hot-plug serves (hw/acpi/pcihp.h), without the native handshake
  // and without slot events: a device arrived (the slot is powered, presence and link up) or the
  // slot became empty (presence and link down; the power stays on, as QEMU's).
  void acpi_slot_populated(bool present);

  // --- HotplugHandler
  Status pre_plug(Device& dev) override;
  Status plug(Device& dev) override;
  Status unplug_request(Device& dev, bool* asynchronous) override;
  bool hotpluggable_bus(const Bus&) const override { return hotplug; }

  void config_write(uint32_t addr, uint32_t val, unsigned len) override;

  // Registers the properties (called by the abstract types).
  static void port_class_init(ObjectClass& oc);
  static void slot_class_init(ObjectClass& oc);

 protected:
  // For the port models: after pcie_cap_init, makes the capability describe this slot, claims
  // the chassis/slot pair and becomes the secondary bus's hot-plug handler.
  Status slot_init(PciBus& secondary);
  void slot_uninit();
  // The slot part of a reset: indicators and power follow whether the slot is populated.
  void slot_reset();

 private:
  uint16_t sltctl() const;
  uint16_t sltsta() const;
  void set_sltsta(uint16_t v);
  // Sets status `bits` (an event) and notifies.
  void slot_event(uint16_t bits);
  void update_event_status();
  void notify();
  void update_power();
  void set_link(bool present);
  // Unplugs every function on the secondary bus (the guest powered the slot off).
  void do_unplug();
  void slot_write(uint16_t old_ctl, uint16_t old_sta, uint32_t addr, uint32_t val, unsigned len);

  bool hpev_notified_ = false;
  bool chassis_claimed_ = false;
};

}  // namespace machina
