// ACPI PCI hot-plug (QEMU's "acpi-pcihp", docs/specs/acpi_pci_hotplug.rst): the register block
// the DSDT's hot-plug methods use, and the hot-plug controller of the buses it serves.
//
// q35 with ICH9-LPC.acpi-pci-hotplug-with-bridge-support=on (the default, as QEMU 7.2): every
// pcie-root-port on the root bus with hotplug=on has its secondary bus served here rather than by
// the port's native slot. Each such bus gets a bus selector (QEMU's "acpi-pcihp-bsel"): 0, 1, ...
// in the order of the ports' devfn on the root bus (assign_bus_selectors, once the command line's
// devices exist). The root bus itself takes no hot-plugged device.
//
// Registers (I/O port 0x0cc4 on q35, 32-bit accesses only; others read all-ones and are ignored):
//   0x00 PCIU  read: slots of bus BNUM with a device to announce (device check); read clears it
//   0x04 PCID  read: slots of bus BNUM whose device should be ejected (eject request)
//   0x08 B0EJ  write: eject the device(s) in the lowest slot set, on bus BNUM; read: 0
//   0x0c PCRM  read: removable slots of bus BNUM
//   0x10 BNUM  read/write: the bus selector the other registers apply to
//   0x14 PIDX  write: a slot bit of bus BNUM; read: that slot's acpi-index (then 0)
//   0x18 OSLT  write: the slot an _OST report is about (machina's extension, see below)
//   0x1c OSTS  write: an _OST report for slot OSLT of bus BNUM: source event in bits 15:0,
//              status code in bits 31:16 (ACPI 6.3.5)
// Bogus values (an unknown BNUM, an eject of an empty slot, an out-of-range slot) change nothing
// and are logged with -d guest_errors.
//
// Hot-plug: a hot-added device sets its PCIU bit and raises GPE0 bit 1 (the DSDT's \_GPE._E01 runs
// the PCNT methods, which Notify the slot: device check). Cold-plugged devices are no event. The
// port's slot is powered whenever a device is plugged (and stays powered once it is gone), so the
// guest's config reads reach the device.
//
// device_del: sets the PCID bit, raises GPE0 bit 1, and marks the device unplug-pending ("Device
// X is already in the process of unplug") for 5 s of virtual time, as native hot-plug does, so
// that a request the guest ignored can be repeated (QEMU 7.2.0 has no expiry here; later QEMU
// lets the retry through at once). A repeated request announces the eject again. The guest's _EJ0
// writes BNUM and B0EJ: its PCIU/PCID bits are cleared and every function of that slot is unplugged
// (unrealized, unparented; DEVICE_DELETED at finalize) from the main loop right after the write
// (not inside the guest's access). An _OST report of a refused eject (event 3, status 2 or more but
// 0x84 "in progress": e.g. 0x80 not supported, 0x81 in use, 0x82 busy) clears the device's PCID bit
// and its pending state, and sends DEVICE_UNPLUG_GUEST_ERROR, so the user may try again. A
// non-specific failure (status 1) is what Linux reports when the request came before it could route
// it (no ACPI device object for the slot yet, early in its boot): the request stays, and is
// announced again one second (virtual time) later, up to kOstRetries times; then it fails as a
// refusal does.
//
// Requests made before the guest can act: Linux clears every GPE status bit when its ACPI code
// starts, which would lose an event raised before. So an event counts as announced only once the
// guest has read the bus's PCIU/PCID (what PCNT does); whenever the guest enables GPE0 bit 1
// (gpe_enabled(), at boot and after each _E01 run) while some event is not yet announced, the GPE
// is raised again (and see the non-specific _OST failure above: Linux enables its GPEs before it
// has the slot's device object). A reset completes the pending ejects (as QEMU) and forgets
// announcements.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "hw/core/hotplug.h"
#include "system/memory.h"
#include "util/qemu-timer.h"

namespace machina {

class Bus;
class Object;
class PciBus;
class PciDevice;
class PcieSlot;

inline constexpr uint16_t kAcpiPciHpIoBaseIch9 = 0x0cc4;
inline constexpr uint64_t kAcpiPciHpIoSize = 0x20;
inline constexpr int kAcpiPciHpGpeBit = 1;  // GPE0 bit 1: \_GPE._E01

namespace acpi_pcihp {
inline constexpr uint16_t kPciu = 0x00;
inline constexpr uint16_t kPcid = 0x04;
inline constexpr uint16_t kB0ej = 0x08;
inline constexpr uint16_t kPcrm = 0x0c;
inline constexpr uint16_t kBnum = 0x10;
inline constexpr uint16_t kPidx = 0x14;
inline constexpr uint16_t kOslt = 0x18;
inline constexpr uint16_t kOsts = 0x1c;
inline constexpr int kMaxBuses = 256;
inline constexpr int kSlotsPerBus = 32;
// _OST (ACPI 6.3.5): source event and status codes.
inline constexpr uint32_t kOstEventEjectRequest = 3;
inline constexpr uint32_t kOstStatusSuccess = 0;
inline constexpr uint32_t kOstStatusNonSpecificFailure = 1;
inline constexpr uint32_t kOstStatusEjectInProgress = 0x84;
// How often a request the guest could not route is announced again, and how far apart.
inline constexpr int kOstRetries = 30;
inline constexpr int64_t kOstRetryDelayNs = 1'000'000'000;
}  // namespace acpi_pcihp

// A bus served by the controller: its selector and the port above it (for the DSDT).
struct AcpiPciHpPort {
  int bsel = 0;
  int port_devfn = 0;  // of the port on the root bus
};

class AcpiPciHp : public HotplugHandler {
 public:
  // `owner` owns the register region; `raise_gpe` sets the hot-plug GPE's status bit.
  AcpiPciHp(Object* owner, std::function<void()> raise_gpe);
  ~AcpiPciHp() override;

  MemoryRegion& io() { return io_; }

  // Whether `bus` is one this controller serves: the secondary bus of a pcie-root-port with
  // hotplug=on that sits on a root bus.
  static bool serves(const Bus& bus);
  // This controller for a device on a served bus, else nullptr (the machine's hot-plug router).
  HotplugHandler* handler_for(Device& dev);
  // Numbers the served buses below `root` (0, 1, ... by port devfn). Runs once.
  void assign_bus_selectors(PciBus& root);
  const std::vector<AcpiPciHpPort>& ports() const { return ports_; }
  // The bus selector of a served bus, -1 if it has none.
  int bsel_of(const Bus& bus) const;

  // The guest enabled the hot-plug GPE (see above).
  void gpe_enabled();
  // System reset: pending ejects complete, announcements are forgotten.
  void reset();

  // --- HotplugHandler
  Status pre_plug(Device& dev) override;
  Status plug(Device& dev) override;
  Status unplug_request(Device& dev, bool* asynchronous) override;
  bool hotpluggable_bus(const Bus& bus) const override;

 private:
  struct BusState {
    PciBus* bus = nullptr;
    PcieSlot* port = nullptr;
    uint32_t up = 0;        // PCIU
    uint32_t down = 0;      // PCID
    bool announced = true;  // the guest read PCIU/PCID since the last event
    uint8_t retries[acpi_pcihp::kSlotsPerBus] = {};  // non-specific _OST failures per request
  };

  uint64_t read(uint64_t addr);
  void write(uint64_t addr, uint32_t value);
  BusState* selected();
  BusState* state_of(const Bus& bus);
  void event(BusState& b);
  // Clears the lowest slot's bits and unplugs its functions: `now`, or from the main loop when
  // the guest's register access is still in flight.
  void eject(BusState& b, uint32_t slots, bool now);
  void ost_report(uint32_t value);
  // Ends the eject request for `slot`: the guest refused it.
  void eject_refused(BusState& b, uint32_t slot);
  // Raises the GPE if some event was not announced.
  void announce_again();
  // The retry timer: requests the guest could not route are announced again.
  void retry_unrouted();
  uint32_t removable(const BusState& b) const;
  uint32_t acpi_index(const BusState& b, uint32_t slots) const;
  // The functions of `slot` on the bus.
  static std::vector<PciDevice*> slot_functions(const BusState& b, int slot);

  MemoryRegion io_;
  std::function<void()> raise_gpe_;
  Timer retry_timer_{ClockType::Virtual, [this] { retry_unrouted(); }};
  std::vector<BusState> buses_;  // index: bus selector
  std::vector<AcpiPciHpPort> ports_;
  uint32_t bnum_ = 0;
  uint32_t ost_slot_ = 0;
  uint32_t index_ = 0;  // the acpi-index PIDX reads
  bool assigned_ = false;
};

}  // namespace machina
