// virtio over PCI (virtio 1.x, 4.1), QEMU's virtio-pci proxies: "virtio-rng-pci",
// "virtio-blk-pci", ... Each is a PCI function that owns a virtio bus with one virtio device, its
// QOM child "virtio-backend" (so /machine/peripheral/ID/virtio-backend exists, as in QEMU, and the
// backend's DEVICE_DELETED comes before the proxy's). The backend's properties are also the
// proxy's (-device virtio-blk-pci,drive=d0,serial=S).
//
// Both interfaces of a transitional device, as QEMU lays them out:
//   BAR 0, I/O: the legacy (virtio 0.9.5) interface when legacy is enabled (registers, then the
//     device configuration; virtio-pci-legacy.cc);
//   BAR 1, 32-bit memory: the MSI-X table (at 0) and PBA (upper half) when vectors > 0;
//   BAR 4, 64-bit prefetchable, 16 KiB, when modern is enabled: common config at 0x0000, ISR at
//     0x1000, device config at 0x2000, notifications at 0x3000 (queue n at n * 4:
//     notify_off_multiplier 4); vendor capabilities for the four structures and the PCI
//     configuration access window.
// `disable-legacy=auto` (the default) enables legacy unless the device sits behind a PCI Express
// port (root port, switch downstream port): on a conventional bus and on the root complex
// (pcie.0) the device is transitional. With legacy enabled the device ID is the transitional one
// (net 0x1000, blk 0x1001, console 0x1003, rng 0x1005; revision 0, subsystem ID the virtio
// device ID); modern only: 0x1040 + virtio device ID, revision 1. `disable-modern=on` leaves the
// legacy interface alone; both disabled is refused (QEMU's error). With MSI-X off the ISR drives
// INTA.
//
// Queue notifications (`ioeventfd=on`, the default, as QEMU): while the driver is running
// (DRIVER_OK) each queue's notify address — queue n's word of the notify region, and the legacy
// QUEUE_NOTIFY register when written with n — is an ioeventfd of the memory API (see
// MemoryRegionIoeventfd) signalling the queue's host notifier (VirtioDevice::set_host_notifier).
// An accelerator that catches such writes in the kernel (KVM) delivers the kick to the device's
// event loop without the vCPU thread; otherwise machina's dispatch signals the same notifier.
// They are withdrawn on reset, when DRIVER_OK is cleared, and at unrealize (the descriptors
// close before the device is finalized); a moved or disabled BAR moves or withdraws them with
// the region. Queue interrupts go back through irqfds where the accelerator offers them
// (virtio-pci-irqfd.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "hw/pci/msi.h"
#include "hw/pci/pci-device.h"
#include "hw/virtio/virtio.h"

namespace machina {

inline constexpr const char* kTypeVirtioPci = "virtio-pci";

class VirtioPciClass : public PciDeviceClass {
 public:
  MACHINA_CLASS_CLONE(VirtioPciClass)
  std::string backend_type;      // "virtio-rng-device"
  uint32_t default_vectors = 2;  // -device ...,vectors= default
  // When set, the default from the realized backend instead (virtio-net: its queue pairs).
  std::function<uint32_t(const VirtioDevice&)> vectors_for;
};

class VirtioPciProxy : public PciDevice, public VirtioTransport {
 public:
  enum class OnOffAuto { On, Off, Auto };

  const VirtioPciClass& virtio_pci_class() const {
    return static_cast<const VirtioPciClass&>(object_class());
  }
  VirtioDevice* vdev() const { return vdev_; }
  bool legacy() const { return legacy_; }
  bool modern() const { return modern_; }
  uint32_t vectors() const { return vectors_; }
  // Interrupts raised through irqfds, and vectors bound to one now (for tests).
  uint64_t irqfd_signals() const { return irqfd_signals_; }
  size_t irqfd_vectors() const {
    size_t n = 0;
    for (const auto& [v, i] : irqfds_) n += i.notifier != nullptr;
    return n;
  }

  // VirtioTransport
  void notify_vector(uint16_t vector) override;
  void update_isr() override;

  uint32_t config_read(uint32_t addr, unsigned len) override;
  void config_write(uint32_t addr, uint32_t val, unsigned len) override;

  static void class_init(ObjectClass& oc);

 protected:
  void post_init() override;
  Status pci_realize() override;
  void pci_unrealize() override;
  void pci_reset() override;

 private:
  uint64_t common_read(uint64_t addr, unsigned size);
  void common_write(uint64_t addr, uint64_t value, unsigned size);
  void add_vendor_cap(uint8_t cfg_type, uint32_t offset, uint32_t length, unsigned cap_len,
                      uint32_t extra, uint8_t* where);
  VirtQueue* selected_queue();
  uint16_t check_vector(uint16_t v) const;
  void alias_backend_properties();
  Status modern_init();
  // The legacy I/O BAR (virtio-pci-legacy.cc).
  Status legacy_init();
  uint64_t legacy_read(uint64_t addr, unsigned size);
  void legacy_write(uint64_t addr, uint64_t value, unsigned size);
  uint32_t legacy_config_offset() const;
  // Host notifiers as ioeventfds on the notify addresses (see above).
  void start_ioeventfd();
  void stop_ioeventfd();
  // Queue interrupts through irqfds (virtio-pci-irqfd.cc): true if `vector` was raised that way.
  bool notify_through_irqfd(uint16_t vector);
  void release_irqfds();
  uint64_t bar_window_read(uint8_t bar, uint32_t offset, unsigned len);
  void bar_window_write(uint8_t bar, uint32_t offset, uint32_t value, unsigned len);

  VirtioDevice* vdev_ = nullptr;
  VirtioBus* vbus_ = nullptr;
  OnOffAuto disable_legacy_ = OnOffAuto::Auto;
  bool disable_modern_ = false;
  bool legacy_ = false, modern_ = false;  // the interfaces realize settled on
  uint32_t vectors_ = UINT32_MAX;         // UINT32_MAX: the class default
  MemoryRegion modern_bar_, common_, isr_, device_, notify_, msix_bar_, legacy_bar_;
  uint32_t dfselect_ = 0, gfselect_ = 0;
  uint16_t queue_select_ = 0;
  uint8_t pci_cfg_cap_ = 0;
  bool ioeventfd_ = true;  // the `ioeventfd` property
  bool ioeventfd_started_ = false;
  struct IrqfdVector {
    std::shared_ptr<EventNotifier> notifier;  // null: this vector cannot use an irqfd
    int route = -1;
    MsiMessage msg;
  };
  std::map<uint16_t, IrqfdVector> irqfds_;
  uint64_t irqfd_signals_ = 0;
};

}  // namespace machina
