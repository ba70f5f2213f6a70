// virtio-blk (virtio 1.x, 5.2): "virtio-blk-device" on a BlockBackend (the `drive` property),
// "virtio-blk-pci" its PCI proxy. Requests: read, write, flush, get-id (`serial`), discard and
// write-zeroes; read-only drives offer VIRTIO_BLK_F_RO and fail writes with IOERR. Each request
// is submitted asynchronously to the block layer with the guest's buffers as its iovecs; the
// used ring is written when the block layer completes it (never before the data is where the
// cache mode says it must be).
//
// A request whose header or status byte is missing (or sits in buffers of the wrong direction)
// is the guest's error: the device goes to NEEDS_RESET. I/O errors follow the drive's
// werror/rerror policy: report (IOERR), ignore (OK), or stop — the VM stops and the request is
// retried when it runs again (`cont`).
//
// Unrealize and reset wait for the requests in flight (the device's DEVICE_DELETED therefore
// comes after they completed and after the drive was released). Unrealize also deletes a -drive
// backend with its nodes (QEMU's blockdev_mark_auto_del / blockdev_auto_del): its file is closed
// before DEVICE_DELETED. A -blockdev node stays until blockdev-del.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "block/block-backend.h"
#include "hw/virtio/virtio.h"

namespace machina {

inline constexpr const char* kTypeVirtioBlk = "virtio-blk-device";
inline constexpr const char* kTypeVirtioBlkPci = "virtio-blk-pci";

class VirtioBlk : public VirtioDevice {
 public:
  VirtioBlk();
  ~VirtioBlk() override;

  // Properties.
  std::string drive_;
  std::string serial_;
  uint16_t num_queues_ = 1;
  uint16_t queue_size_ = 256;
  bool config_wce_ = true;
  bool discard_ = true;
  bool write_zeroes_ = true;
  uint32_t seg_max_adjust_ = 1;  // seg-max-adjust: seg_max = queue_size - 2

  BlockBackend* blk() const { return blk_.get(); }
  size_t requests_in_flight() const { return inflight_.size(); }

 protected:
  uint64_t device_features() const override;
  void get_config(std::vector<uint8_t>& cfg) override;
  void set_config(const std::vector<uint8_t>& cfg, uint32_t addr, unsigned size) override;
  void features_set(uint64_t features) override;
  void device_reset() override;
  Status virtio_realize() override;
  void virtio_unrealize() override;

 private:
  struct Request;
  void handle_queue(VirtQueue& vq);
  void submit(std::unique_ptr<Request> req);
  void complete(Request* req, uint8_t status);
  // The block layer's completion callback for `req` (ignored once the device is gone).
  BlockBackend::Callback io_done(Request* req);
  void on_io_done(Request* req, int ret);
  void retry_stopped();
  uint64_t capacity_sectors() const;

  BlockBackendRef blk_;
  std::list<std::unique_ptr<Request>> inflight_;
  std::list<std::unique_ptr<Request>> stopped_;  // werror/rerror=stop: retried on cont
  int vm_handler_ = 0;
  std::shared_ptr<bool> alive_;
};

}  // namespace machina
