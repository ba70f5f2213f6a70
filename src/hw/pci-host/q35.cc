// q35-pcihost: see q35.h.
#include "hw/pci-host/q35.h"

#include "qom/property-types.h"

namespace machina {

namespace {

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t k4GiB = 4 * kGiB;

Property read_only_u64(const char* name, uint64_t (Q35PciHost::*getter)() const) {
  Property p;
  p.name = name;
  p.type = "uint64";
  p.get = [getter](Object& o) -> Result<json> {
    return json((static_cast<Q35PciHost&>(o).*getter)());
  };
  return p;
}

TypeRegistration q35_host_type{TypeInfo{
    .name = kTypeQ35Host,
    .parent = kTypePcieHostBridge,
    .instance_new = [] { return new Q35PciHost(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.user_creatable = false;
          dc.hotpluggable = false;
          dc.description = "Q35 PCIe host bridge";
          dc.add_property(
              prop::size<Q35PciHost>("below-4g-mem-size", &Q35PciHost::below_4g_mem_size, 0));
          dc.add_property(
              prop::size<Q35PciHost>("above-4g-mem-size", &Q35PciHost::above_4g_mem_size, 0));
          dc.add_property(prop::size<Q35PciHost>("pci-hole64-size", &Q35PciHost::pci_hole64_size,
                                                 kQ35PciHole64SizeDefault));
          dc.add_property(prop::integer<Q35PciHost, uint64_t>(
              "mcfg_size", &Q35PciHost::mcfg_size_prop, kMchPciexbarMax));
        },
}};

}  // namespace

uint64_t Q35PciHost::pci_hole64_start() const {
  // Above the RAM that sits above 4 GiB, aligned to 1 GiB (QEMU's pc_pci_hole64_start without
  // device memory).
  uint64_t start = k4GiB + above_4g_mem_size;
  return (start + kGiB - 1) & ~(kGiB - 1);
}

void Q35PciHost::post_init() {
  // Object properties, as QEMU's PCI_HOST_PROP_PCI_HOLE*.
  (void)add_property(read_only_u64("pci-hole-start", &Q35PciHost::pci_hole_start));
  (void)add_property(read_only_u64("pci-hole-end", &Q35PciHost::pci_hole_end));
  (void)add_property(read_only_u64("pci-hole64-start", &Q35PciHost::pci_hole64_start));
  (void)add_property(read_only_u64("pci-hole64-end", &Q35PciHost::pci_hole64_end));
  PcieHostBridge::post_init();
}

Status Q35PciHost::do_realize() {
  if (!bus()) {
    pci_memory_.init_container(this, "pci", UINT64_MAX);
    auto b = pci_bus_new(kTypePcieBus, this, "pcie.0", &pci_memory_, get_system_io());
    if (!b.ok()) return b.error();
    set_bus(b.value());
  }
  Status s = map_regions();
  if (s.ok() && !mch_) {
    auto r = object_new(kTypeMch);
    if (!r.ok()) {
      s = r.error();
    } else {
      Ref<Object> obj = std::move(r.value());
      auto* m = static_cast<Mch*>(obj.get());
      s = add_child("mch", m);
      if (s.ok()) s = m->property_set("addr", json(0));
      if (s.ok()) {
        m->attach_to_bus(bus());
        mch_ = m;
      }
    }
  }
  if (s.ok()) s = mch_->realize();
  if (!s.ok()) {
    unmap_regions();
    return s;
  }
  register_host();
  return Status::Ok();
}

Status Q35PciHost::map_regions() {
  MemoryTransaction tx;
  // The PCI address space under everything else in system memory, as QEMU's
  // pc_pci_as_mapping_init; configuration mechanism #1 at 0xCF8 / 0xCFC.
  if (Status s = get_system_memory()->add_subregion(0, &pci_memory_, -1); !s.ok()) return s;
  if (Status s = get_system_io()->add_subregion(kMchConfigAddrPort, conf_mem()); !s.ok()) return s;
  return get_system_io()->add_subregion(kMchConfigDataPort, data_mem());
}

void Q35PciHost::unmap_regions() {
  MemoryTransaction tx;
  for (MemoryRegion* mr : {&pci_memory_, conf_mem(), data_mem()}) {
    if (MemoryRegion* c = mr->container()) (void)c->del_subregion(mr);
  }
}

void Q35PciHost::do_unrealize() {
  unmap_mmcfg();
  unregister_host();
  unmap_regions();
}

Result<Q35PciHost*> q35_host_create(uint64_t below_4g_mem_size, uint64_t above_4g_mem_size) {
  auto r = object_new(kTypeQ35Host);
  if (!r.ok()) return r.error();
  Ref<Object> obj = std::move(r.value());
  auto* host = static_cast<Q35PciHost*>(obj.get());
  host->below_4g_mem_size = below_4g_mem_size;
  host->above_4g_mem_size = above_4g_mem_size;
  if (Status s = container_get("/machine")->add_child("q35", host); !s.ok()) return s.error();
  host->attach_to_bus(sysbus_get_default());
  if (Status s = host->realize(); !s.ok()) {
    host->unparent();
    return s.error();
  }
  return host;
}

}  // namespace machina
