// PCI host bridges and config cycles: see pci-host.h.
#include "hw/pci/pci-host.h"

#include <algorithm>

#include "hw/pci/pci-device.h"
#include "system/memory_access.h"
#include "util/log.h"

namespace machina {

namespace {

constexpr uint64_t kMiB = 1ull << 20;

std::vector<PciHostBridge*>& host_list() {
  static auto* v = new std::vector<PciHostBridge*>();
  return *v;
}

uint32_t all_ones(unsigned len) {
  return len >= 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
}

TypeRegistration pci_host_type{TypeInfo{
    .name = kTypePciHostBridge,
    .parent = kTypeSysBusDevice,
    .abstract = true,
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.category = "Bridge devices";
        },
}};

TypeRegistration pcie_host_type{TypeInfo{
    .name = kTypePcieHostBridge,
    .parent = kTypePciHostBridge,
    .abstract = true,
}};

}  // namespace

const std::vector<PciHostBridge*>& pci_host_bridges() {
  return host_list();
}

// --- config cycles

uint32_t pci_host_config_read_common(PciDevice& dev, uint32_t addr, uint32_t limit, unsigned len) {
  limit = std::min(limit, pci_config_limit(dev));
  if (limit <= addr || !dev.config_visible()) return all_ones(len);
  return dev.config_read(addr, std::min<unsigned>(len, limit - addr));
}

void pci_host_config_write_common(PciDevice& dev, uint32_t addr, uint32_t limit, uint32_t val,
                                  unsigned len) {
  limit = std::min(limit, pci_config_limit(dev));
  if (limit <= addr || !dev.config_visible()) return;
  dev.config_write(addr, val, std::min<unsigned>(len, limit - addr));
}

uint32_t pci_data_read(PciBus& root, uint32_t addr, unsigned len) {
  PciDevice* dev = root.find_device(int((addr >> 16) & 0xff), int((addr >> 8) & 0xff));
  if (!dev) return all_ones(len);
  return pci_host_config_read_common(*dev, addr & 0xff, pci::kConfigSpaceSize, len);
}

void pci_data_write(PciBus& root, uint32_t addr, uint32_t val, unsigned len) {
  PciDevice* dev = root.find_device(int((addr >> 16) & 0xff), int((addr >> 8) & 0xff));
  if (!dev) return;
  pci_host_config_write_common(*dev, addr & 0xff, pci::kConfigSpaceSize, val, len);
}

// --- PciHostBridge

PciHostBridge::PciHostBridge() {
  MemoryRegionOps conf;
  conf.read = [this](uint64_t addr, unsigned size) -> uint64_t {
    if (side_port_ && addr == side_offset_) {
      uint64_t v = 0;
      (void)io_region_read(*side_port_, 0, size, &v);
      return v;
    }
    return config_reg_;  // as QEMU: the register, whatever the offset
  };
  conf.write = [this](uint64_t addr, uint64_t val, unsigned size) {
    if (side_port_ && addr == side_offset_) {
      (void)io_region_write(*side_port_, 0, size, val);
      return;
    }
    if (addr == 0 && size == 4) config_reg_ = uint32_t(val);
  };
  conf.impl.min_access_size = 1;
  conf.impl.max_access_size = 4;
  conf_mem_.init_io(this, "pci-conf-idx", std::move(conf), 4);

  MemoryRegionOps data;
  data.read = [this](uint64_t addr, unsigned size) -> uint64_t {
    if (!(config_reg_ & kPciConfigAddressEnable) || !bus_) return 0xffffffff;
    return pci_data_read(*bus_, config_reg_ | uint32_t(addr & 3), size);
  };
  data.write = [this](uint64_t addr, uint64_t val, unsigned size) {
    if (!(config_reg_ & kPciConfigAddressEnable) || !bus_) return;
    pci_data_write(*bus_, config_reg_ | uint32_t(addr & 3), uint32_t(val), size);
  };
  data.impl.min_access_size = 1;
  data.impl.max_access_size = 4;
  data_mem_.init_io(this, "pci-conf-data", std::move(data), 4);
}

void PciHostBridge::set_conf_side_port(unsigned offset, MemoryRegion* mr) {
  side_port_ = (offset >= 1 && offset <= 3) ? mr : nullptr;
  side_offset_ = offset;
}

void PciHostBridge::register_host() {
  auto& l = host_list();
  if (std::find(l.begin(), l.end(), this) == l.end()) l.push_back(this);
}

void PciHostBridge::unregister_host() {
  auto& l = host_list();
  l.erase(std::remove(l.begin(), l.end(), this), l.end());
}

// --- PcieHostBridge

PcieHostBridge::PcieHostBridge() {
  MemoryRegionOps ops;
  ops.read = [this](uint64_t addr, unsigned size) -> uint64_t {
    PciBus* root = bus();
    PciDevice* dev =
        root ? root->find_device(int((addr >> 20) & 0xff), int((addr >> 12) & 0xff)) : nullptr;
    if (!dev) return all_ones(size);
    return pci_host_config_read_common(*dev, uint32_t(addr & 0xfff), pci::kExpressConfigSpaceSize,
                                       size);
  };
  ops.write = [this](uint64_t addr, uint64_t val, unsigned size) {
    PciBus* root = bus();
    PciDevice* dev =
        root ? root->find_device(int((addr >> 20) & 0xff), int((addr >> 12) & 0xff)) : nullptr;
    if (!dev) return;
    pci_host_config_write_common(*dev, uint32_t(addr & 0xfff), pci::kExpressConfigSpaceSize,
                                 uint32_t(val), size);
  };
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = 4;
  mmcfg_.init_io(this, "pcie-mmcfg-mmio", std::move(ops), 256 * kMiB);
}

void PcieHostBridge::post_init() {
  // An object property, as QEMU's (not a qdev property: info qtree does not list it).
  Property p;
  p.name = "MCFG";
  p.type = "uint64";
  p.description = "ECAM base address (all-ones while disabled)";
  p.get = [](Object& o) -> Result<json> {
    return json(static_cast<PcieHostBridge&>(o).mmcfg_base());
  };
  (void)add_property(std::move(p));
  PciHostBridge::post_init();
}

void PcieHostBridge::mmcfg_update(bool enable, uint64_t base, uint64_t size) {
  MemoryTransaction tx;
  if (mmcfg_.container()) (void)mmcfg_.container()->del_subregion(&mmcfg_);
  mmcfg_base_ = kPcieBaseAddrUnmapped;
  if (size < kMiB || size > 256 * kMiB || (size & (kMiB - 1))) {
    log_mask(LOG_GUEST_ERROR, "PCIe: invalid MMCONFIG size " + std::to_string(size));
    return;
  }
  mmcfg_size_ = size;
  if (!enable) return;
  mmcfg_.set_size(size);
  if (get_system_memory()->add_subregion(base, &mmcfg_).ok()) mmcfg_base_ = base;
}

}  // namespace machina
