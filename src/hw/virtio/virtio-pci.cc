// virtio over PCI: see virtio-pci.h.
#include "hw/virtio/virtio-pci.h"

#include <algorithm>
#include <cstring>

#include "hw/pci/msix.h"
#include "qom/property-types.h"
#include "util/log.h"

namespace machina {

namespace {

constexpr uint32_t kCommonOffset = 0x0000;
constexpr uint32_t kIsrOffset = 0x1000;
constexpr uint32_t kDeviceOffset = 0x2000;
constexpr uint32_t kNotifyOffset = 0x3000;
constexpr uint32_t kRegionSize = 0x1000;
constexpr uint32_t kModernBarSize = 0x4000;
constexpr uint32_t kNotifyMultiplier = 4;
constexpr uint8_t kModernBar = 4;
constexpr uint8_t kMsixBar = 1;
// struct virtio_pci_cfg_cap: the common header (16 bytes) then pci_cfg_data[4].
constexpr unsigned kPciCfgData = 16;

TypeRegistration virtio_pci_type{TypeInfo{
    .name = kTypeVirtioPci,
    .parent = kTypePciDevice,
    .abstract = true,
    .interfaces = {kInterfaceConventionalPciDevice},
    .class_new = class_from_parent<VirtioPciClass, PciDeviceClass>(),
    .class_init = VirtioPciProxy::class_init,
}};

MemoryRegionOps ops_for(std::function<uint64_t(uint64_t, unsigned)> rd,
                        std::function<void(uint64_t, uint64_t, unsigned)> wr, unsigned max) {
  MemoryRegionOps ops;
  ops.read = std::move(rd);
  ops.write = std::move(wr);
  // Wider accesses are split into ones the callbacks take (as QEMU: any size is valid).
  ops.valid.min_access_size = 1;
  ops.valid.max_access_size = 8;
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = max;
  return ops;
}

}  // namespace

void VirtioPciProxy::class_init(ObjectClass& oc) {
  auto& dc = static_cast<DeviceClass&>(oc);
  auto& pc = static_cast<PciDeviceClass&>(oc);
  pc.vendor_id = virtio::kPciVendorId;
  pc.revision = 1;
  dc.add_property(prop::enumeration<VirtioPciProxy, OnOffAuto>(
      "disable-legacy", "OnOffAuto", &VirtioPciProxy::disable_legacy_, {"on", "off", "auto"},
      OnOffAuto::Auto, "on/off/auto"));
  dc.add_property(prop::boolean<VirtioPciProxy>("disable-modern", &VirtioPciProxy::disable_modern_,
                                                false, "on/off"));
  dc.add_property(
      prop::boolean<VirtioPciProxy>("ioeventfd", &VirtioPciProxy::ioeventfd_, true, "on/off"));
  Property vectors =
      prop::integer<VirtioPciProxy, uint32_t>("vectors", &VirtioPciProxy::vectors_, UINT32_MAX);
  vectors.default_value.reset();  // the class default, shown by the device's own value
  dc.add_property(std::move(vectors));
}

void VirtioPciProxy::post_init() {
  PciDevice::post_init();
  const std::string& backend = virtio_pci_class().backend_type;
  if (backend.empty()) return;
  auto bus = qbus_new(kTypeVirtioBus, this, "virtio-bus");
  if (!bus.ok()) return;
  vbus_ = static_cast<VirtioBus*>(bus.value());
  vbus_->set_transport(this);
  auto obj = object_new(backend);
  if (!obj.ok()) return;
  Ref<Object> ref = std::move(obj.value());
  vdev_ = static_cast<VirtioDevice*>(ref.get());
  if (!add_child("virtio-backend", vdev_).ok()) {
    vdev_ = nullptr;
    return;
  }
  vdev_->attach_to_bus(vbus_);
  alias_backend_properties();
}

// Every configuration property of the backend is a property of the proxy too (QEMU's
// qdev_alias_all_properties).
void VirtioPciProxy::alias_backend_properties() {
  for (const Property* bp : vdev_->properties()) {
    if (!qdev_is_config_property(*vdev_, *bp) || find_property(bp->name)) continue;
    Property p;
    p.name = bp->name;
    p.type = bp->type;
    p.description = bp->description;
    p.default_value = bp->default_value;
    p.qdev = true;
    p.settable_after_realize = bp->settable_after_realize;
    std::string name = bp->name;
    if (bp->get) {
      p.get = [name](Object& o) -> Result<json> {
        return static_cast<VirtioPciProxy&>(o).vdev_->property_get(name);
      };
    }
    if (bp->set) {
      p.set = [name](Object& o, const json& v) -> Status {
        return static_cast<VirtioPciProxy&>(o).vdev_->property_set(name, v);
      };
      p.parse = [name](Object& o, std::string_view s) -> Status {
        return static_cast<VirtioPciProxy&>(o).vdev_->property_parse(name, s);
      };
    }
    (void)add_property(std::move(p));
  }
}

void VirtioPciProxy::add_vendor_cap(uint8_t cfg_type, uint32_t offset, uint32_t length,
                                    unsigned cap_len, uint32_t extra, uint8_t* where) {
  auto r = add_capability(pci::kCapIdVendor, 0, uint8_t(cap_len));
  if (!r.ok()) return;
  uint8_t c = r.value();
  set_byte(c + 2, uint8_t(cap_len));
  set_byte(c + virtio::kPciCapCfgType, cfg_type);
  set_byte(c + virtio::kPciCapBar, cfg_type == virtio::kPciCapPciCfg ? 0 : kModernBar);
  set_long(c + virtio::kPciCapOffset, offset);
  set_long(c + virtio::kPciCapLength, length);
  if (cap_len >= 20 && cfg_type == virtio::kPciCapNotifyCfg) set_long(c + 16, extra);
  if (where) *where = c;
}

Status VirtioPciProxy::pci_realize() {
  if (!vdev_) return generic_error("virtio-pci: no backend device");
  // As QEMU: legacy by default unless behind a PCI Express port (a root complex integrated
  // endpoint on pcie.0 and a device on a conventional bus are transitional).
  PciBus* bus = pci_bus();
  bool pcie_port = bus && bus->is_express() && !bus->is_root();
  if (disable_legacy_ == OnOffAuto::Auto) {
    disable_legacy_ = pcie_port ? OnOffAuto::On : OnOffAuto::Off;
  }
  legacy_ = disable_legacy_ == OnOffAuto::Off;
  modern_ = !disable_modern_;
  if (!legacy_ && !modern_) {
    return generic_error("device cannot work as neither modern nor legacy mode is enabled");
  }
  uint16_t trans_id = virtio::pci_transitional_device_id(vdev_->device_id());
  if (legacy_ && !trans_id) return generic_error("device is modern-only, use disable-legacy=on");
  uint32_t nvectors = vectors_ == UINT32_MAX ? virtio_pci_class().default_vectors : vectors_;
  if (nvectors > pci::kMsixVectorsMax) {
    return generic_error("Parameter 'vectors' expects a value between 0 and 2048");
  }
  if (Status s = vdev_->realize(); !s.ok()) return s;
  if (vectors_ == UINT32_MAX && virtio_pci_class().vectors_for) {
    nvectors = std::min(virtio_pci_class().vectors_for(*vdev_), uint32_t(pci::kMsixVectorsMax));
  }
  vectors_ = nvectors;
  if (legacy_) {
    // Transitional: the legacy device ID, the virtio device ID as subsystem ID, revision 0.
    set_word(pci::kDeviceId, trans_id);
    set_word(pci::kSubsystemId, vdev_->device_id());
    set_byte(pci::kRevisionId, 0);
  } else {
    set_word(pci::kDeviceId, uint16_t(virtio::kPciDeviceIdModernBase + vdev_->device_id()));
    set_byte(pci::kRevisionId, 1);
  }
  set_byte(pci::kInterruptPin, 1);
  if (modern_) {
    if (Status s = modern_init(); !s.ok()) return s;
  }
  if (nvectors) {
    msix_bar_.init_container(this, "virtio-pci-msix", msix_exclusive_bar_size(nvectors));
    auto r = msix_init(*this, nvectors, &msix_bar_, kMsixBar, 0, &msix_bar_, kMsixBar,
                       msix_exclusive_bar_pba_offset(nvectors), 0);
    if (!r.ok()) return r.error();
    register_bar(kMsixBar, pci::kBaseAddressMemType32, &msix_bar_);
    msix_set_enable_notifier(*this, [this](bool) { update_isr(); });
  }
  if (legacy_) {
    if (Status s = legacy_init(); !s.ok()) return s;
  }
  return Status::Ok();
}

// The modern interface: BAR 4 and the vendor capabilities that describe it.
Status VirtioPciProxy::modern_init() {
  common_.init_io(this, "virtio-pci-common",
                  ops_for([this](uint64_t a, unsigned s) { return common_read(a, s); },
                          [this](uint64_t a, uint64_t v, unsigned s) { common_write(a, v, s); }, 4),
                  kRegionSize);
  isr_.init_io(
      this, "virtio-pci-isr",
      ops_for([this](uint64_t a,
                     unsigned) -> uint64_t { return a == 0 ? vdev_->isr_read_and_clear() : 0; },
              [](uint64_t, uint64_t, unsigned) {}, 4),
      kRegionSize);
  device_.init_io(
      this, "virtio-pci-device",
      ops_for(
          [this](uint64_t a, unsigned s) { return vdev_->config_read(uint32_t(a), s); },
          [this](uint64_t a, uint64_t v, unsigned s) { vdev_->config_write(uint32_t(a), v, s); },
          4),
      kRegionSize);
  notify_.init_io(this, "virtio-pci-notify",
                  ops_for([](uint64_t, unsigned) -> uint64_t { return 0; },
                          [this](uint64_t a, uint64_t, unsigned) {
                            vdev_->queue_notify(unsigned(a / kNotifyMultiplier));
                          },
                          4),
                  kRegionSize);
  modern_bar_.init_container(this, "virtio-pci", kModernBarSize);
  {
    MemoryTransaction tx;
    for (auto [off, mr] :
         {std::pair{kCommonOffset, &common_}, std::pair{kIsrOffset, &isr_},
          std::pair{kDeviceOffset, &device_}, std::pair{kNotifyOffset, &notify_}}) {
      if (Status s = modern_bar_.add_subregion(off, mr); !s.ok()) return s;
    }
  }
  add_vendor_cap(virtio::kPciCapCommonCfg, kCommonOffset, kRegionSize, virtio::kPciCapSize, 0,
                 nullptr);
  add_vendor_cap(virtio::kPciCapIsrCfg, kIsrOffset, kRegionSize, virtio::kPciCapSize, 0, nullptr);
  add_vendor_cap(virtio::kPciCapDeviceCfg, kDeviceOffset, kRegionSize, virtio::kPciCapSize, 0,
                 nullptr);
  add_vendor_cap(virtio::kPciCapNotifyCfg, kNotifyOffset, kRegionSize, virtio::kPciNotifyCapSize,
                 kNotifyMultiplier, nullptr);
  add_vendor_cap(virtio::kPciCapPciCfg, 0, 0, virtio::kPciCfgCapSize, 0, &pci_cfg_cap_);
  if (pci_cfg_cap_) {
    // The window's bar, offset, length and data are the driver's to write.
    set_wmask(pci_cfg_cap_ + virtio::kPciCapBar, 0xff, 1);
    set_wmask(pci_cfg_cap_ + virtio::kPciCapOffset, 0xffffffff, 4);
    set_wmask(pci_cfg_cap_ + virtio::kPciCapLength, 0xffffffff, 4);
    set_wmask(pci_cfg_cap_ + kPciCfgData, 0xffffffff, 4);
  }
  register_bar(kModernBar, pci::kBaseAddressMemType64 | pci::kBaseAddressMemPrefetch, &modern_bar_);
  return Status::Ok();
}

void VirtioPciProxy::pci_unrealize() {
  stop_ioeventfd();
  release_irqfds();
  msix_uninit(*this);
}

void VirtioPciProxy::start_ioeventfd() {
  if (!ioeventfd_ || ioeventfd_started_ || !vdev_) return;
  MemoryTransaction tx;
  for (unsigned n = 0; n < vdev_->num_queues(); ++n) {
    auto e = vdev_->set_host_notifier(n, true);
    if (!e.ok()) {
      // Kicks of this queue go through the notify region's callbacks, as without ioeventfd.
      log_mask(LOG_GUEST_ERROR, vdev_->virtio_name() + ": no host notifier for queue " +
                                    std::to_string(n) + ": " + e.message());
      continue;
    }
    if (modern_) notify_.add_eventfd(n * kNotifyMultiplier, 0, false, 0, e.value());
    if (legacy_) legacy_bar_.add_eventfd(virtio::kLegacyQueueNotify, 2, true, n, e.value());
  }
  ioeventfd_started_ = true;
}

void VirtioPciProxy::stop_ioeventfd() {
  if (!ioeventfd_started_) return;
  ioeventfd_started_ = false;
  {
    // Withdrawn from the memory map first (the accelerator stops catching the writes), then
    // unwatched: a kick in between is still in the notifier and is not lost.
    MemoryTransaction tx;
    for (unsigned n = 0; n < vdev_->num_queues(); ++n) {
      const EventNotifier* e = vdev_->host_notifier(n);
      if (!e) continue;
      if (modern_) notify_.del_eventfd(n * kNotifyMultiplier, 0, false, 0, e);
      if (legacy_) legacy_bar_.del_eventfd(virtio::kLegacyQueueNotify, 2, true, n, e);
    }
  }
  for (unsigned n = 0; n < vdev_->num_queues(); ++n) (void)vdev_->set_host_notifier(n, false);
}

void VirtioPciProxy::pci_reset() {
  stop_ioeventfd();
  release_irqfds();
  dfselect_ = gfselect_ = 0;
  queue_select_ = 0;
}

VirtQueue* VirtioPciProxy::selected_queue() {
  return queue_select_ < vdev_->num_queues() ? &vdev_->queue(queue_select_) : nullptr;
}

uint16_t VirtioPciProxy::check_vector(uint16_t v) const {
  return v < msix_nr_vectors(*this) ? v : virtio::kNoVector;
}

uint64_t VirtioPciProxy::common_read(uint64_t addr, unsigned size) {
  (void)size;
  VirtQueue* vq = selected_queue();
  uint64_t features = vdev_->host_features();
  switch (addr) {
    case virtio::kCommonDfselect:
      return dfselect_;
    case virtio::kCommonDf:
      return dfselect_ < 2 ? uint32_t(features >> (32 * dfselect_)) : 0;
    case virtio::kCommonGfselect:
      return gfselect_;
    case virtio::kCommonGf:
      return gfselect_ < 2 ? uint32_t(vdev_->driver_features() >> (32 * gfselect_)) : 0;
    case virtio::kCommonMsix:
      return vdev_->config_vector();
    case virtio::kCommonNumq:
      return vdev_->num_queues();
    case virtio::kCommonStatus:
      return vdev_->status();
    case virtio::kCommonCfgGeneration:
      return vdev_->config_generation();
    case virtio::kCommonQSelect:
      return queue_select_;
    case virtio::kCommonQSize:
      return vq ? vq->size() : 0;
    case virtio::kCommonQMsix:
      return vq ? vq->vector() : virtio::kNoVector;
    case virtio::kCommonQEnable:
      return vq ? vq->enabled() : 0;
    case virtio::kCommonQNoff:
      return vq ? queue_select_ : 0;
    case virtio::kCommonQDescLo:
      return vq ? uint32_t(vq->desc_addr()) : 0;
    case virtio::kCommonQDescHi:
      return vq ? uint32_t(vq->desc_addr() >> 32) : 0;
    case virtio::kCommonQAvailLo:
      return vq ? uint32_t(vq->avail_addr()) : 0;
    case virtio::kCommonQAvailHi:
      return vq ? uint32_t(vq->avail_addr() >> 32) : 0;
    case virtio::kCommonQUsedLo:
      return vq ? uint32_t(vq->used_addr()) : 0;
    case virtio::kCommonQUsedHi:
      return vq ? uint32_t(vq->used_addr() >> 32) : 0;
    default:
      return 0;
  }
}

void VirtioPciProxy::common_write(uint64_t addr, uint64_t value, unsigned size) {
  (void)size;
  VirtQueue* vq = selected_queue();
  auto set_half = [](uint64_t old, uint64_t v, bool hi) {
    return hi ? (old & 0xffffffffu) | (v << 32) : (old & ~uint64_t{0xffffffff}) | uint32_t(v);
  };
  // Queue registers may change only while the queue is disabled.
  bool queue_writable = vq && !vq->enabled();
  switch (addr) {
    case virtio::kCommonDfselect:
      dfselect_ = uint32_t(value);
      break;
    case virtio::kCommonGfselect:
      gfselect_ = uint32_t(value);
      break;
    case virtio::kCommonGf:
      if (gfselect_ < 2) {
        vdev_->set_driver_features(
            set_half(vdev_->driver_features(), value & 0xffffffff, gfselect_ == 1));
      }
      break;
    case virtio::kCommonMsix:
      vdev_->set_config_vector(check_vector(uint16_t(value)));
      break;
    case virtio::kCommonStatus:
      if (!(value & virtio::kStatusDriverOk)) {
        stop_ioeventfd();
        release_irqfds();
      }
      vdev_->set_status(uint8_t(value));
      if (vdev_->driver_ok()) start_ioeventfd();
      if (value == 0) update_isr();
      break;
    case virtio::kCommonQSelect:
      queue_select_ = uint16_t(value);
      break;
    case virtio::kCommonQSize:
      if (queue_writable) vq->set_size(uint16_t(value));
      break;
    case virtio::kCommonQMsix:
      if (vq) vq->set_vector(check_vector(uint16_t(value)));
      break;
    case virtio::kCommonQEnable:
      if (vq && value == 1 && !vq->enabled()) vq->enable();
      break;
    case virtio::kCommonQDescLo:
    case virtio::kCommonQDescHi:
      if (queue_writable) {
        vq->set_addresses(set_half(vq->desc_addr(), value, addr == virtio::kCommonQDescHi),
                          vq->avail_addr(), vq->used_addr());
      }
      break;
    case virtio::kCommonQAvailLo:
    case virtio::kCommonQAvailHi:
      if (queue_writable) {
        vq->set_addresses(vq->desc_addr(),
                          set_half(vq->avail_addr(), value, addr == virtio::kCommonQAvailHi),
                          vq->used_addr());
      }
      break;
    case virtio::kCommonQUsedLo:
    case virtio::kCommonQUsedHi:
      if (queue_writable) {
        vq->set_addresses(vq->desc_addr(), vq->avail_addr(),
                          set_half(vq->used_addr(), value, addr == virtio::kCommonQUsedHi));
      }
      break;
    default:
      break;  // read-only or reserved
  }
}

void VirtioPciProxy::notify_vector(uint16_t vector) {
  if (msix_enabled(*this)) {
    if (vector != virtio::kNoVector && !notify_through_irqfd(vector)) msix_notify(*this, vector);
    return;
  }
  update_isr();
}

void VirtioPciProxy::update_isr() {
  if (!vdev_) return;
  set_irq(!msix_enabled(*this) && vdev_->isr() ? 1 : 0);
}

// The VIRTIO_PCI_CAP_PCI_CFG window: pci_cfg_data reads or writes `length` bytes of BAR `bar`
// at `offset`.
uint64_t VirtioPciProxy::bar_window_read(uint8_t bar, uint32_t offset, unsigned len) {
  if (bar != kModernBar || offset >= kModernBarSize || kModernBarSize - offset < len) return 0;
  uint32_t region = offset & ~(kRegionSize - 1), off = offset & (kRegionSize - 1);
  MemoryRegion* mr = region == kCommonOffset   ? &common_
                     : region == kIsrOffset    ? &isr_
                     : region == kDeviceOffset ? &device_
                                               : &notify_;
  return mr->ops().read ? mr->ops().read(off, len) : 0;
}

void VirtioPciProxy::bar_window_write(uint8_t bar, uint32_t offset, uint32_t value, unsigned len) {
  if (bar != kModernBar || offset >= kModernBarSize || kModernBarSize - offset < len) return;
  uint32_t region = offset & ~(kRegionSize - 1), off = offset & (kRegionSize - 1);
  MemoryRegion* mr = region == kCommonOffset   ? &common_
                     : region == kIsrOffset    ? &isr_
                     : region == kDeviceOffset ? &device_
                                               : &notify_;
  if (mr->ops().write) mr->ops().write(off, value, len);
}

uint32_t VirtioPciProxy::config_read(uint32_t addr, unsigned len) {
  if (pci_cfg_cap_ && addr == pci_cfg_cap_ + kPciCfgData && len == 4) {
    uint32_t n = get_long(pci_cfg_cap_ + virtio::kPciCapLength);
    if (n == 1 || n == 2 || n == 4) {
      uint32_t v = uint32_t(bar_window_read(get_byte(pci_cfg_cap_ + virtio::kPciCapBar),
                                            get_long(pci_cfg_cap_ + virtio::kPciCapOffset), n));
      set_long(pci_cfg_cap_ + kPciCfgData, v);
    }
  }
  return default_config_read(addr, len);
}

void VirtioPciProxy::config_write(uint32_t addr, uint32_t val, unsigned len) {
  default_config_write(addr, val, len);
  if (pci_cfg_cap_ && addr == pci_cfg_cap_ + kPciCfgData) {
    uint32_t n = get_long(pci_cfg_cap_ + virtio::kPciCapLength);
    if ((n == 1 || n == 2 || n == 4) && len >= n) {
      bar_window_write(get_byte(pci_cfg_cap_ + virtio::kPciCapBar),
                       get_long(pci_cfg_cap_ + virtio::kPciCapOffset), val, n);
    }
  }
}

}  // namespace machina
