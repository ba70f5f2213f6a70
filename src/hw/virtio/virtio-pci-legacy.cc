// The legacy (virtio 0.9.5) interface of a transitional virtio-pci device: the I/O BAR 0 (virtio
// 1.x, 4.1.4.8 "Legacy Interfaces: A Note on PCI Device Layout"). See virtio-pci.h.
//
// Registers at fixed offsets (host features, guest features, queue PFN, queue size, queue select,
// queue notify, status, ISR; the MSI-X config and queue vectors while MSI-X is enabled), then the
// device configuration. Only feature bits 0-31 exist here, so VERSION_1 is never offered: a
// driver on this interface gets legacy semantics. Features take effect when written (there is no
// FEATURES_OK step); a queue is placed by its page frame number with the legacy ring layout and
// is live at once. Writing PFN 0 resets the device (as QEMU does: legacy drivers write it when
// they tear a queue down after resetting the device).
#include <bit>
#include <cinttypes>
#include <cstdio>

#include "hw/pci/msix.h"
#include "hw/virtio/virtio-pci.h"
#include "util/log.h"

namespace machina {

namespace {

constexpr uint8_t kLegacyBar = 0;

}  // namespace

uint32_t VirtioPciProxy::legacy_config_offset() const {
  return msix_enabled(*this) ? virtio::kLegacyConfigMsix : virtio::kLegacyConfig;
}

Status VirtioPciProxy::legacy_init() {
  // Registers (with the MSI-X vectors if the function has MSI-X) plus the device configuration,
  // rounded up to a power of two.
  uint32_t regs = msix_present(*this) ? virtio::kLegacyConfigMsix : virtio::kLegacyConfig;
  uint32_t size = std::bit_ceil(regs + vdev_->config_size());
  MemoryRegionOps ops;
  ops.read = [this](uint64_t a, unsigned s) { return legacy_read(a, s); };
  ops.write = [this](uint64_t a, uint64_t v, unsigned s) { legacy_write(a, v, s); };
  ops.valid.min_access_size = 1;
  ops.valid.max_access_size = 4;
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = 4;
  legacy_bar_.init_io(this, "virtio-pci-legacy", std::move(ops), size);
  register_bar(kLegacyBar, pci::kBaseAddressSpaceIo, &legacy_bar_);
  return Status::Ok();
}

uint64_t VirtioPciProxy::legacy_read(uint64_t addr, unsigned size) {
  uint32_t config = legacy_config_offset();
  if (addr >= config) return vdev_->config_read(uint32_t(addr - config), size);
  VirtQueue* vq = selected_queue();
  // Registers answer for their own offset whatever the access size; elsewhere all ones (QEMU).
  switch (addr) {
    case virtio::kLegacyHostFeatures:
      return uint32_t(vdev_->host_features());
    case virtio::kLegacyGuestFeatures:
      return uint32_t(vdev_->guest_features());
    case virtio::kLegacyQueuePfn:
      return vq ? uint32_t(vq->desc_addr() >> virtio::kLegacyQueueAddrShift) : 0;
    case virtio::kLegacyQueueNum:
      return vq ? vq->size() : 0;
    case virtio::kLegacyQueueSel:
      return queue_select_;
    case virtio::kLegacyQueueNotify:
      return 0;
    case virtio::kLegacyStatus:
      return vdev_->status();
    case virtio::kLegacyIsr:
      // Reading clears it and lowers INTx.
      return vdev_->isr_read_and_clear();
    case virtio::kLegacyMsixConfig:
      return vdev_->config_vector();
    case virtio::kLegacyMsixQueue:
      return vq ? vq->vector() : virtio::kNoVector;
    default:
      return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
  }
}

void VirtioPciProxy::legacy_write(uint64_t addr, uint64_t value, unsigned size) {
  uint32_t config = legacy_config_offset();
  if (addr >= config) {
    vdev_->config_write(uint32_t(addr - config), value, size);
    return;
  }
  VirtQueue* vq = selected_queue();
  switch (addr) {
    case virtio::kLegacyGuestFeatures:
      vdev_->set_legacy_features(uint32_t(value));
      break;
    case virtio::kLegacyQueuePfn: {
      uint64_t pa = uint64_t(uint32_t(value)) << virtio::kLegacyQueueAddrShift;
      if (pa == 0) {
        stop_ioeventfd();
        release_irqfds();
        vdev_->set_status(0);
        pci_reset();
        update_isr();
        break;
      }
      if (!vq) {
        log_mask(LOG_GUEST_ERROR, vdev_->virtio_name() + ": legacy queue PFN for queue " +
                                      std::to_string(queue_select_) + " that does not exist");
        break;
      }
      // The legacy layout for the queue's (fixed) size; the rings must be in guest RAM, else
      // the device needs a reset (VirtQueue::enable reports it).
      vq->set_legacy_addresses(pa, virtio::kLegacyVringAlign);
      vq->enable();
      break;
    }
    case virtio::kLegacyQueueSel:
      queue_select_ = uint16_t(value);
      break;
    case virtio::kLegacyQueueNotify:
      vdev_->queue_notify(unsigned(uint16_t(value)));
      break;
    case virtio::kLegacyStatus: {
      uint8_t status = uint8_t(value);
      if (!(status & virtio::kStatusDriverOk)) {
        stop_ioeventfd();
        release_irqfds();
      }
      vdev_->set_status(status, /*legacy=*/true);
      if (vdev_->driver_ok()) start_ioeventfd();
      if (status == 0) {
        pci_reset();
        update_isr();
      }
      // As QEMU: old Linux (before 2.6.34) drives the device without enabling bus mastering.
      if (status == (virtio::kStatusAcknowledge | virtio::kStatusDriver)) {
        default_config_write(pci::kCommand, get_word(pci::kCommand) | pci::kCommandMaster, 2);
      }
      break;
    }
    case virtio::kLegacyMsixConfig:
      if (msix_enabled(*this)) vdev_->set_config_vector(check_vector(uint16_t(value)));
      break;
    case virtio::kLegacyMsixQueue:
      if (msix_enabled(*this) && vq) vq->set_vector(check_vector(uint16_t(value)));
      break;
    default:
      break;  // read-only (host features, queue size, ISR) or nothing there
  }
}

}  // namespace machina
