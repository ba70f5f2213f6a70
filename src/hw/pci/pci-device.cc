// pci-device: realize/unrealize/reset, config-space access, INTx and bus mastering. The type and
// its properties: pci-device-type.cc; BARs: pci-bar.cc; capabilities: pci-capability.cc. See
// pci-device.h.
#include "hw/pci/pci-device.h"

#include <cstring>

#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci-info.h"

namespace machina {

namespace {

bool ranges_overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen) {
  return a < b + blen && b < a + alen;
}

}  // namespace

// --- little-endian accessors

uint16_t PciDevice::get_word(unsigned off) const {
  return uint16_t(config_[off] | config_[off + 1] << 8);
}
uint32_t PciDevice::get_long(unsigned off) const {
  return uint32_t(get_word(off)) | uint32_t(get_word(off + 2)) << 16;
}
uint64_t PciDevice::get_quad(unsigned off) const {
  return uint64_t(get_long(off)) | uint64_t(get_long(off + 4)) << 32;
}
void PciDevice::set_word(unsigned off, uint16_t v) {
  config_[off] = uint8_t(v);
  config_[off + 1] = uint8_t(v >> 8);
}
void PciDevice::set_long(unsigned off, uint32_t v) {
  set_word(off, uint16_t(v));
  set_word(off + 2, uint16_t(v >> 16));
}
void PciDevice::set_quad(unsigned off, uint64_t v) {
  set_long(off, uint32_t(v));
  set_long(off + 4, uint32_t(v >> 32));
}
void PciDevice::set_wmask(unsigned off, uint64_t mask, unsigned size) {
  for (unsigned i = 0; i < size; ++i) wmask_[off + i] = uint8_t(mask >> (8 * i));
}
void PciDevice::set_w1cmask(unsigned off, uint64_t mask, unsigned size) {
  for (unsigned i = 0; i < size; ++i) w1cmask_[off + i] = uint8_t(mask >> (8 * i));
}

bool PciDevice::is_express() const {
  return is_a(kInterfacePcieDevice) && !is_a(kInterfaceConventionalPciDevice);
}

int PciDevice::bus_num() const {
  PciBus* b = pci_bus();
  return b ? b->bus_num() : 0;
}

unsigned pci_config_limit(const PciDevice& dev) {
  PciBus* bus = dev.pci_bus();
  unsigned size = dev.config_size();
  if (!bus || !bus->allows_extended_config()) size = std::min(size, pci::kConfigSpaceSize);
  return size;
}

// --- realize / unrealize / reset

void PciDevice::init_config_space() {
  size_t size = is_express() ? pci::kExpressConfigSpaceSize : pci::kConfigSpaceSize;
  config_.assign(size, 0);
  wmask_.assign(size, 0);
  w1cmask_.assign(size, 0);
  used_.assign(size, 0);
  regions_ = {};
  irq_state_ = 0;
  msi_cap_ = 0;
  retire_msix();
  exp_cap_ = 0;

  const PciDeviceClass& pc = pci_class();
  set_word(pci::kVendorId, pc.vendor_id);
  set_word(pci::kDeviceId, pc.device_id);
  set_byte(pci::kRevisionId, pc.revision);
  set_word(pci::kClassDevice, pc.class_id);
  if (!pc.is_bridge) {
    bool given = pc.subsystem_vendor_id || pc.subsystem_id;
    set_word(pci::kSubsystemVendorId,
             given ? pc.subsystem_vendor_id : kPciSubvendorIdRedhatQumranet);
    set_word(pci::kSubsystemId, given ? pc.subsystem_id : kPciSubdeviceIdQemu);
  }

  wmask_[pci::kCacheLineSize] = 0xff;
  wmask_[pci::kInterruptLine] = 0xff;
  set_wmask(pci::kCommand,
            pci::kCommandIo | pci::kCommandMemory | pci::kCommandMaster | pci::kCommandIntxDisable |
                pci::kCommandSerr,
            2);
  std::memset(wmask_.data() + pci::kConfigHeaderSize, 0xff, size - pci::kConfigHeaderSize);
  set_w1cmask(pci::kStatus,
              pci::kStatusParity | pci::kStatusSigTargetAbort | pci::kStatusRecTargetAbort |
                  pci::kStatusRecMasterAbort | pci::kStatusSigSystemError |
                  pci::kStatusDetectedParity,
              2);

  if (pc.is_bridge) {
    set_byte(pci::kHeaderType, pci::kHeaderTypeBridge);
    std::memset(wmask_.data() + pci::kPrimaryBus, 0xff, 4);  // buses and secondary latency
    wmask_[0x1c] = 0xf0;                                     // I/O base / limit
    wmask_[0x1d] = 0xf0;
    set_wmask(0x20, 0xfff0, 2);  // memory base / limit
    set_wmask(0x22, 0xfff0, 2);
    set_wmask(0x24, 0xfff0, 2);  // prefetchable base / limit, 64-bit
    set_wmask(0x26, 0xfff0, 2);
    config_[0x24] |= 0x01;
    config_[0x26] |= 0x01;
    std::memset(wmask_.data() + 0x28, 0xff, 8);  // upper 32 bits of the prefetchable range
    set_wmask(pci::kBridgeControl, 0x0bff, 2);
    set_w1cmask(pci::kBridgeControl, 0x0400, 2);
  }
  if (multifunction_) config_[pci::kHeaderType] |= pci::kHeaderTypeMultiFunction;
}

Status PciDevice::check_multifunction(PciBus& bus) {
  int slot = pci_slot(devfn_);
  if (pci_func(devfn_)) {
    PciDevice* f0 = bus.device(pci_devfn(slot, 0));
    if (f0 && f0 != this && !f0->multifunction_) {
      char buf[96];
      std::snprintf(buf, sizeof buf,
                    "PCI: single function device can't be populated in function %x.%x", slot,
                    pci_func(devfn_));
      return generic_error(buf);
    }
    return Status::Ok();
  }
  if (multifunction_) return Status::Ok();
  for (int fn = 1; fn < pci::kFuncMax; ++fn) {
    PciDevice* other = bus.device(pci_devfn(slot, fn));
    if (other && other != this) {
      char buf[96];
      std::snprintf(buf, sizeof buf,
                    "PCI: %x.0 indicates single function, but %x.%x is already populated.", slot,
                    slot, fn);
      return generic_error(buf);
    }
  }
  return Status::Ok();
}

Status PciDevice::do_realize() {
  PciBus* bus = pci_bus();
  if (!bus) return generic_error("PCI device '" + type_name() + "' is not on a PCI bus");
  auto r = bus->register_device(*this, devfn_);
  if (!r.ok()) return r.error();
  devfn_ = r.value();
  registered_ = true;
  init_config_space();
  Status s = check_multifunction(*bus);
  if (s.ok()) s = pci_realize();
  if (!s.ok()) {
    unmap_all_bars();
    bus->unregister_device(*this);
    registered_ = false;
    return s;
  }
  return Status::Ok();
}

void PciDevice::do_unrealize() {
  unmap_all_bars();
  pci_unrealize();
  deassert_intx();
  if (PciBus* bus = pci_bus(); bus && registered_) bus->unregister_device(*this);
  registered_ = false;
}

void PciDevice::generic_reset() {
  deassert_intx();
  // Clear every writable bit of COMMAND and STATUS, and INTERRUPT_LINE, CACHE_LINE_SIZE.
  set_word(pci::kCommand,
           get_word(pci::kCommand) &
               ~uint16_t(wmask_[pci::kCommand] | wmask_[pci::kCommand + 1] << 8 |
                         w1cmask_[pci::kCommand] | w1cmask_[pci::kCommand + 1] << 8));
  set_word(pci::kStatus, get_word(pci::kStatus) &
                             ~uint16_t(wmask_[pci::kStatus] | wmask_[pci::kStatus + 1] << 8 |
                                       w1cmask_[pci::kStatus] | w1cmask_[pci::kStatus + 1] << 8));
  config_[pci::kInterruptLine] &=
      uint8_t(~(wmask_[pci::kInterruptLine] | w1cmask_[pci::kInterruptLine]));
  config_[pci::kCacheLineSize] = 0;
  for (int n = 0; n < pci::kNumRegions; ++n) {
    const PciIoRegion& r = regions_[size_t(n)];
    if (!r.size) continue;
    if (!(r.type & pci::kBaseAddressSpaceIo) && (r.type & pci::kBaseAddressMemType64)) {
      set_quad(bar_offset(n), r.type);
    } else {
      set_long(bar_offset(n), r.type);
    }
  }
  update_mappings();
  msi_reset(*this);
  msix_reset(*this);
}

void PciDevice::do_reset() {
  if (!registered_) return;
  generic_reset();
  pci_reset();
}

// --- config access

uint32_t PciDevice::default_config_read(uint32_t addr, unsigned len) {
  uint32_t v = 0;
  for (unsigned i = 0; i < len && addr + i < config_.size(); ++i) {
    v |= uint32_t(config_[addr + i]) << (8 * i);
  }
  return v;
}

void PciDevice::default_config_write(uint32_t addr, uint32_t val, unsigned len) {
  bool was_disabled = irq_disabled();
  uint32_t v = val;
  for (unsigned i = 0; i < len && addr + i < config_.size(); ++i, v >>= 8) {
    uint8_t wm = wmask_[addr + i];
    uint8_t w1c = w1cmask_[addr + i];
    uint8_t& c = config_[addr + i];
    c = uint8_t((c & ~wm) | (v & wm));
    c = uint8_t(c & ~(v & w1c));
  }
  unsigned rom = pci_class().is_bridge ? pci::kRomAddress1 : pci::kRomAddress;
  bool command = ranges_overlap(addr, len, pci::kCommand, 2);
  if (ranges_overlap(addr, len, pci::kBaseAddress0, 24) || ranges_overlap(addr, len, rom, 4) ||
      command) {
    update_mappings();
  }
  if (command) update_irq_disabled(was_disabled);
  msi_write_config(*this, addr, val, len);
  msix_write_config(*this, addr, val, len);
}

uint32_t PciDevice::config_read(uint32_t addr, unsigned len) {
  return default_config_read(addr, len);
}

void PciDevice::config_write(uint32_t addr, uint32_t val, unsigned len) {
  default_config_write(addr, val, len);
}

// --- INTx

int PciDevice::intx_pin() const {
  if (config_.empty()) return -1;
  int pin = config_[pci::kInterruptPin];
  return pin >= 1 && pin <= pci::kNumPins ? pin - 1 : -1;
}

bool PciDevice::irq_disabled() const {
  return !config_.empty() && (get_word(pci::kCommand) & pci::kCommandIntxDisable);
}

void PciDevice::set_intx(int pin, int level) {
  if (pin < 0 || pin >= pci::kNumPins || config_.empty()) return;
  int old = (irq_state_ >> pin) & 1;
  level = level ? 1 : 0;
  int change = level - old;
  if (!change) return;
  irq_state_ = uint8_t((irq_state_ & ~(1u << pin)) | (unsigned(level) << pin));
  if (irq_state_) {
    config_[pci::kStatus] |= pci::kStatusInterrupt;
  } else {
    config_[pci::kStatus] &= uint8_t(~pci::kStatusInterrupt);
  }
  if (irq_disabled()) return;
  if (PciBus* bus = pci_bus()) bus->change_irq_level(*this, pin, change);
}

void PciDevice::set_irq(int level) {
  set_intx(intx_pin(), level);
}

void PciDevice::deassert_intx() {
  for (int pin = 0; pin < pci::kNumPins; ++pin) set_intx(pin, 0);
}

void PciDevice::update_irq_disabled(bool was_disabled) {
  bool disabled = irq_disabled();
  if (disabled == was_disabled) return;
  PciBus* bus = pci_bus();
  if (!bus) return;
  for (int pin = 0; pin < pci::kNumPins; ++pin) {
    int state = (irq_state_ >> pin) & 1;
    if (state) bus->change_irq_level(*this, pin, disabled ? -1 : 1);
  }
}

// --- bus mastering

bool PciDevice::bus_master_enabled() const {
  return has_power_ && !config_.empty() && (get_word(pci::kCommand) & pci::kCommandMaster);
}

Status PciDevice::dma_read(uint64_t addr, void* buf, size_t len) const {
  if (!bus_master_enabled()) return generic_error("PCI: bus mastering is disabled");
  return machina::dma_read(address_space_memory(), addr, buf, len);
}

Status PciDevice::dma_write(uint64_t addr, const void* buf, size_t len) const {
  if (!bus_master_enabled()) return generic_error("PCI: bus mastering is disabled");
  return machina::dma_write(address_space_memory(), addr, buf, len);
}

void PciDevice::send_msi_message(uint64_t address, uint32_t data) {
  if (!bus_master_enabled()) return;  // the write never leaves the function
  if (PciBus* bus = pci_bus()) bus->deliver_msi(address, data);
}

PciDevice* PciDevice::function0() const {
  PciBus* bus = pci_bus();
  if (!bus || devfn_ < 0) return nullptr;
  return bus->device(pci_devfn(slot(), 0));
}

bool PciDevice::config_visible() const {
  return has_power_ && (!hotplugged() || function0() != nullptr);
}

void PciDevice::set_power(bool on) {
  if (has_power_ == on) return;
  has_power_ = on;
  if (!registered_) return;
  update_mappings();
  if (!on) {
    generic_reset();
    pci_reset();
  }
}

// --- creation helper

Result<PciDevice*> pci_create_simple(PciBus& bus, int devfn, bool multifunction,
                                     std::string_view type, std::string_view name_in_machine) {
  auto r = object_new(type);
  if (!r.ok()) return r.error();
  Ref<Object> obj = std::move(r.value());
  auto* dev = dynamic_cast<PciDevice*>(obj.get());
  if (!dev) return generic_error("'" + std::string(type) + "' is not a PCI device type");
  if (Status s = dev->property_set("addr", json(devfn)); !s.ok()) return s.error();
  if (Status s = dev->property_set("multifunction", json(multifunction)); !s.ok()) {
    return s.error();
  }
  if (!name_in_machine.empty()) {
    if (Status s = container_get("/machine")->add_child(name_in_machine, dev); !s.ok()) {
      return s.error();
    }
  }
  dev->attach_to_bus(&bus);
  if (Status s = dev->realize(); !s.ok()) {
    dev->unparent();
    if (dev->parent_bus()) dev->detach_from_bus();
    return s.error();
  }
  return dev;
}

}  // namespace machina
