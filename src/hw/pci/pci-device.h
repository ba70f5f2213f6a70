// pci-device: the abstract base of every PCI function (QEMU's TYPE_PCI_DEVICE "pci-device").
//
// Config space: 256 bytes for conventional PCI, 4 KiB for PCI Express functions (types that
// implement "pci-express-device" and not "conventional-pci-device"). Next to the bytes are a
// write mask (bits the guest may change; everything else is read-only) and a write-1-to-clear
// mask. The standard type 0 header is filled in from the class (vendor, device, revision, class,
// subsystem — QEMU's default 1af4:1100 when the class has none), COMMAND bits IO, MEMORY, MASTER,
// SERR and INTX_DISABLE are writable, the STATUS error bits are write-1-to-clear, CACHE_LINE_SIZE
// and INTERRUPT_LINE are writable, as is all of the device-specific space beyond the header until
// a capability claims it.
//
// BARs registered with register_bar() are sized by the guest (all-ones, read back the mask) and
// mapped into the bus's memory or I/O window while COMMAND.MEM / COMMAND.IO is set, with QEMU's
// rules: address 0, a range that wraps, a 32-bit BAR reaching 4 GiB and the all-ones address
// are not mapped; overlapping BARs are mapped, the newest on top (priority 1 in the window).
//
// INTx: the pin in INTERRUPT_PIN (1-4 = INTA-D); set_irq() changes its level, STATUS.INTERRUPT
// follows the device's own state, and COMMAND.INTX_DISABLE keeps it off the bus.
//
// Properties: `addr` ("slot.fn" or "slot", hex, as QEMU's: -device ...,addr=1f.0; an integer
// devfn from JSON; -1 = first free slot) and `multifunction` (bit 7 of HEADER_TYPE).
//
// Subclasses implement pci_realize / pci_unrealize / pci_reset and may override config_read /
// config_write (calling the defaults) to react to their registers, as QEMU's config_read/write.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hw/core/qdev.h"
#include "hw/pci/pci-bus.h"
#include "hw/pci/pci-regs.h"
#include "system/memory.h"

namespace machina {

inline constexpr const char* kTypePciDevice = "pci-device";
inline constexpr const char* kInterfacePcieDevice = "pci-express-device";
inline constexpr const char* kInterfaceConventionalPciDevice = "conventional-pci-device";

struct MsixState;

inline constexpr uint64_t kPciBarUnmapped = ~uint64_t{0};
// QEMU's default subsystem IDs (Red Hat / QEMU).
inline constexpr uint16_t kPciSubvendorIdRedhatQumranet = 0x1af4;
inline constexpr uint16_t kPciSubdeviceIdQemu = 0x1100;

class PciDeviceClass : public DeviceClass {
 public:
  MACHINA_CLASS_CLONE(PciDeviceClass)
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint8_t revision = 0;
  uint16_t class_id = 0;  // base class << 8 | sub-class
  // Both 0: QEMU's default 1af4:1100. Type 0 header only.
  uint16_t subsystem_vendor_id = 0;
  uint16_t subsystem_id = 0;
  bool is_bridge = false;  // type 1 header
};

// One BAR (or the expansion ROM, slot 6).
struct PciIoRegion {
  uint64_t size = 0;  // 0: not registered
  uint8_t type = 0;   // pci::kBaseAddress* bits
  MemoryRegion* memory = nullptr;
  MemoryRegion* space = nullptr;    // the bus window it is mapped into
  uint64_t addr = kPciBarUnmapped;  // where it is mapped now
};

class PciDevice : public Device {
 public:
  const PciDeviceClass& pci_class() const {
    return static_cast<const PciDeviceClass&>(object_class());
  }
  PciBus* pci_bus() const { return dynamic_cast<PciBus*>(parent_bus()); }
  // devfn once realized (the `addr` property: -1 before auto-allocation).
  int devfn() const { return devfn_; }
  int slot() const { return pci_slot(devfn_); }
  int func() const { return pci_func(devfn_); }
  int bus_num() const;
  bool multifunction() const { return multifunction_; }
  bool is_express() const;
  unsigned config_size() const { return unsigned(config_.size()); }

  // --- config space bytes and masks (valid once realized; offsets are the caller's business)
  uint8_t* config() { return config_.data(); }
  const uint8_t* config() const { return config_.data(); }
  uint8_t* wmask() { return wmask_.data(); }
  uint8_t* w1cmask() { return w1cmask_.data(); }
  uint8_t get_byte(unsigned off) const { return config_[off]; }
  uint16_t get_word(unsigned off) const;
  uint32_t get_long(unsigned off) const;
  uint64_t get_quad(unsigned off) const;
  void set_byte(unsigned off, uint8_t v) { config_[off] = v; }
  void set_word(unsigned off, uint16_t v);
  void set_long(unsigned off, uint32_t v);
  void set_quad(unsigned off, uint64_t v);
  // Sets `size` bytes of the write mask / write-1-to-clear mask from a little-endian value.
  void set_wmask(unsigned off, uint64_t mask, unsigned size);
  void set_w1cmask(unsigned off, uint64_t mask, unsigned size);

  // --- config space as the bus sees it (host bridges, bridges). `addr` + `len` lie inside the
  // config space; `len` is 1, 2 or 4.
  virtual uint32_t config_read(uint32_t addr, unsigned len);
  virtual void config_write(uint32_t addr, uint32_t val, unsigned len);

  // --- BARs. `n` 0-5 or pci::kRomSlot; the region's size must be a power of two. Call from
  // pci_realize.
  void register_bar(int n, uint8_t type, MemoryRegion* mr);
  const PciIoRegion& region(int n) const { return regions_[size_t(n)]; }
  // The address BAR n would decode now (QEMU's pci_bar_address), kPciBarUnmapped if none.
  uint64_t bar_address(int n) const;
  // Config offset of BAR n.
  unsigned bar_offset(int n) const;

  // --- capabilities. add_capability: `offset` 0 finds free space after the header; the
  // capability's bytes become read-only. Errors as QEMU's for overlaps.
  Result<uint8_t> add_capability(uint8_t cap_id, uint8_t offset, uint8_t size);
  void del_capability(uint8_t cap_id, uint8_t size);
  uint8_t find_capability(uint8_t cap_id) const;
  // Extended capabilities (PCIe, from 0x100): chains a header at `offset` (read-only bytes).
  void add_ext_capability(uint16_t cap_id, uint8_t version, uint16_t offset, uint16_t size);
  uint16_t find_ext_capability(uint16_t cap_id) const;
  // The PCI Express capability's offset, 0 if none (set by pcie_cap_init).
  uint8_t exp_cap() const { return exp_cap_; }
  void set_exp_cap(uint8_t off) { exp_cap_ = off; }
  // The MSI capability's offset, 0 if none (set by msi_init).
  uint8_t msi_cap() const { return msi_cap_; }
  void set_msi_cap(uint8_t off) { msi_cap_ = off; }
  // The MSI-X capability's offset and state (msix.cc), 0 / nullptr if none.
  uint8_t msix_cap() const { return msix_cap_; }
  MsixState* msix_state() const { return msix_.get(); }
  void set_msix(uint8_t cap, std::shared_ptr<MsixState> state) {
    msix_cap_ = cap;
    msix_ = std::move(state);
  }
  // Drops the MSI-X capability but keeps its state (and the table and PBA regions) until the
  // device is finalized: a flat view taken during the current access may still map them, and
  // it keeps the device, not the state, alive.
  void retire_msix() {
    if (msix_) retired_msix_.push_back(std::move(msix_));
    msix_cap_ = 0;
  }

  // --- INTx
  // The pin from INTERRUPT_PIN: 0-3 = INTA-D, -1 if the function has none.
  int intx_pin() const;
  // Sets the level of the function's pin (QEMU's pci_set_irq).
  void set_irq(int level);
  // Sets the level of pin 0-3 (QEMU's pci_irq_handler).
  void set_intx(int pin, int level);
  // Lowers every pin (QEMU's pci_device_deassert_intx).
  void deassert_intx();
  // Bit n: the device asserts pin n (whatever INTX_DISABLE says).
  uint8_t irq_state() const { return irq_state_; }

  // --- bus mastering: DMA and MSI writes need COMMAND.MASTER.
  bool bus_master_enabled() const;
  Status dma_read(uint64_t addr, void* buf, size_t len) const;
  Status dma_write(uint64_t addr, const void* buf, size_t len) const;
  // An MSI/MSI-X message write (QEMU's msi_send_message): dropped without bus mastering.
  void send_msi_message(uint64_t address, uint32_t data);

  // Slot power (QEMU's pci_set_power, for hotplug slots): without power the function decodes
  // nothing, its config space reads all-ones, and it is reset when power goes away.
  void set_power(bool on);
  bool has_power() const { return has_power_; }

  // Function 0 of this device's slot (itself when it is function 0), or nullptr.
  PciDevice* function0() const;
  // Whether the host may see this function: hotplugged functions > 0 stay hidden until their
  // function 0 exists (QEMU's rule).
  bool config_visible() const;

 protected:
  virtual Status pci_realize() { return Status::Ok(); }
  virtual void pci_unrealize() {}
  // Device-specific part of a reset, after the generic one (COMMAND, STATUS, BARs, INTx, MSI).
  virtual void pci_reset() {}

  // QEMU's pci_default_read_config / pci_default_write_config.
  uint32_t default_config_read(uint32_t addr, unsigned len);
  void default_config_write(uint32_t addr, uint32_t val, unsigned len);

  Status do_realize() final;
  void do_unrealize() final;
  void do_reset() final;

 private:
  friend class PciBus;

 public:
  // Registers the generic properties (called by the "pci-device" type).
  static void class_init(ObjectClass& oc);

 private:
  void init_config_space();
  Status check_multifunction(PciBus& bus);
  void update_mappings();
  void unmap_all_bars();
  void update_irq_disabled(bool was_disabled);
  bool irq_disabled() const;
  void generic_reset();

  int devfn_ = -1;
  bool multifunction_ = false;
  bool registered_ = false;
  bool has_power_ = true;
  std::vector<uint8_t> config_, wmask_, w1cmask_, used_;
  std::array<PciIoRegion, pci::kNumRegions> regions_{};
  uint8_t irq_state_ = 0;
  uint8_t msi_cap_ = 0;
  uint8_t msix_cap_ = 0;
  std::shared_ptr<MsixState> msix_;
  std::vector<std::shared_ptr<MsixState>> retired_msix_;
  uint8_t exp_cap_ = 0;
  std::map<std::string, json> compat_values_;  // romfile, rombar, ... (unused)
};

// The config-space limit the bus allows for `dev`: its config size, or 256 on a bus without
// extended config space.
unsigned pci_config_limit(const PciDevice& dev);

// -- creation helpers for built-in functions (as QEMU's pci_create_simple_multifunction):
// creates `type` at `devfn` (-1: first free) on `bus`, with `multifunction`, realizes it. With a
// name it is added as /machine/NAME (else /machine/unattached/device[N]).
Result<PciDevice*> pci_create_simple(PciBus& bus, int devfn, bool multifunction,
                                     std::string_view type, std::string_view name_in_machine = "");

}  // namespace machina
