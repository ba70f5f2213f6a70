// virtio-blk: see virtio-blk.h.
#include "hw/virtio/virtio-blk.h"

#include <cerrno>
#include <cstring>

#include "block/blockdev.h"
#include "hw/virtio/virtio-pci.h"
#include "qom/property-types.h"
#include "system/iothread.h"
#include "system/runstate.h"
#include "util/log.h"

namespace machina {

namespace {

// 5.2.3 Feature bits
constexpr unsigned kFSizeMax = 1, kFSegMax = 2, kFGeometry = 4, kFRo = 5, kFBlkSize = 6,
                   kFFlush = 9, kFTopology = 10, kFConfigWce = 11, kFMq = 12, kFDiscard = 13,
                   kFWriteZeroes = 14;
// 5.2.6 Request types and status
constexpr uint32_t kTIn = 0, kTOut = 1, kTFlush = 4, kTGetId = 8, kTDiscard = 11,
                   kTWriteZeroes = 13;
constexpr uint8_t kSOk = 0, kSIoErr = 1, kSUnsupp = 2;
constexpr unsigned kIdBytes = 20;
constexpr uint64_t kSectorSize = 512;
constexpr uint32_t kWriteZeroesUnmap = 1;
// 5.2.4 Device configuration layout (offsets)
constexpr unsigned kCfgCapacity = 0, kCfgSizeMax = 8, kCfgSegMax = 12, kCfgGeometry = 16,
                   kCfgBlkSize = 20, kCfgTopology = 24, kCfgWriteback = 32, kCfgNumQueues = 34,
                   kCfgMaxDiscardSectors = 36, kCfgMaxDiscardSeg = 40,
                   kCfgDiscardSectorAlignment = 44, kCfgMaxWriteZeroesSectors = 48,
                   kCfgMaxWriteZeroesSeg = 52, kCfgWriteZeroesMayUnmap = 56, kCfgSize = 60;
constexpr uint32_t kMaxDiscardSectors = (1u << 30) / 512;  // 1 GiB per request, as QEMU

template <class T>
void put(std::vector<uint8_t>& cfg, unsigned off, T v) {
  std::memcpy(&cfg[off], &v, sizeof v);
}

TypeRegistration virtio_blk_type{TypeInfo{
    .name = kTypeVirtioBlk,
    .parent = kTypeVirtioDevice,
    .instance_new = [] { return new VirtioBlk(); },
    .class_init =
        [](ObjectClass& c) {
          auto& vc = static_cast<VirtioDeviceClass&>(c);
          vc.device_id = virtio::kIdBlock;
          vc.virtio_name = "virtio-blk";
          vc.description = "Virtio Block Device";
          vc.add_property(
              prop::string<VirtioBlk>("drive", &VirtioBlk::drive_, "",
                                      "Node name or ID of a block device to use as a backend"));
          vc.add_property(prop::string<VirtioBlk>("serial", &VirtioBlk::serial_));
          vc.add_property(prop::link<VirtioBlk>("iothread", kTypeIOThread, &VirtioBlk::iothread_));
          vc.add_property(
              prop::integer<VirtioBlk, uint16_t>("num-queues", &VirtioBlk::num_queues_, 1));
          vc.add_property(
              prop::integer<VirtioBlk, uint16_t>("queue-size", &VirtioBlk::queue_size_, 256));
          vc.add_property(prop::boolean<VirtioBlk>("config-wce", &VirtioBlk::config_wce_, true));
          vc.add_property(prop::boolean<VirtioBlk>("discard", &VirtioBlk::discard_, true));
          vc.add_property(
              prop::boolean<VirtioBlk>("write-zeroes", &VirtioBlk::write_zeroes_, true));
        },
}};

TypeRegistration virtio_blk_pci_type{TypeInfo{
    .name = kTypeVirtioBlkPci,
    .parent = kTypeVirtioPci,
    .instance_new = [] { return new VirtioPciProxy(); },
    .class_init =
        [](ObjectClass& c) {
          auto& vc = static_cast<VirtioPciClass&>(c);
          vc.backend_type = kTypeVirtioBlk;
          vc.class_id = 0x0100;    // PCI_CLASS_STORAGE_SCSI, as QEMU
          vc.default_vectors = 2;  // config + one queue (num-queues + 1 for more queues)
          vc.category = "Storage devices";
          vc.description = "Virtio Block Device (PCI)";
        },
}};

}  // namespace

struct VirtioBlk::Request {
  VirtQueueElement elem;
  VirtQueue* vq = nullptr;
  uint32_t type = 0;
  uint64_t sector = 0;
  std::vector<iovec> data;  // payload: device-readable (write) or device-writable (read)
  uint8_t* status = nullptr;
  uint32_t in_len = 0;  // bytes the device writes (data for reads + status)
  // discard / write-zeroes
  uint64_t range_sectors = 0;
  bool unmap = false;
};

VirtioBlk::VirtioBlk() : alive_(std::make_shared<bool>(true)) {}

VirtioBlk::~VirtioBlk() {
  *alive_ = false;
}

uint64_t VirtioBlk::capacity_sectors() const {
  return blk_ ? blk_->length() / kSectorSize : 0;
}

uint64_t VirtioBlk::device_features() const {
  uint64_t f = virtio::bit(kFSegMax) | virtio::bit(kFGeometry) | virtio::bit(kFBlkSize) |
               virtio::bit(kFTopology) | virtio::bit(kFFlush);
  if (config_wce_) f |= virtio::bit(kFConfigWce);
  if (discard_) f |= virtio::bit(kFDiscard);
  if (write_zeroes_) f |= virtio::bit(kFWriteZeroes);
  if (num_queues_ > 1) f |= virtio::bit(kFMq);
  if (blk_ && blk_->is_read_only()) f |= virtio::bit(kFRo);
  (void)kFSizeMax;
  return f;
}

void VirtioBlk::get_config(std::vector<uint8_t>& cfg) {
  std::fill(cfg.begin(), cfg.end(), 0);
  uint64_t cap = capacity_sectors();
  put<uint64_t>(cfg, kCfgCapacity, cap);
  put<uint32_t>(cfg, kCfgSizeMax, 0);
  put<uint32_t>(cfg, kCfgSegMax, uint32_t(queue_size_ - 2));
  // Geometry as QEMU's hd_geometry_guess for a disk without a partition table: 16 heads,
  // 63 sectors per track.
  uint64_t cyls = cap / (16 * 63);
  put<uint16_t>(cfg, kCfgGeometry, uint16_t(std::min<uint64_t>(cyls, 65535)));
  cfg[kCfgGeometry + 2] = 16;
  cfg[kCfgGeometry + 3] = 63;
  put<uint32_t>(cfg, kCfgBlkSize, 512);
  cfg[kCfgTopology] = 0;  // physical_block_exp
  cfg[kCfgTopology + 1] = 0;
  put<uint16_t>(cfg, kCfgTopology + 2, 1);  // min_io_size (in blocks)
  put<uint32_t>(cfg, kCfgTopology + 4, 0);
  cfg[kCfgWriteback] = blk_ && blk_->enable_write_cache() ? 1 : 0;
  put<uint16_t>(cfg, kCfgNumQueues, num_queues_);
  put<uint32_t>(cfg, kCfgMaxDiscardSectors, kMaxDiscardSectors);
  put<uint32_t>(cfg, kCfgMaxDiscardSeg, 1);
  put<uint32_t>(cfg, kCfgDiscardSectorAlignment, 1);
  put<uint32_t>(cfg, kCfgMaxWriteZeroesSectors, kMaxDiscardSectors);
  put<uint32_t>(cfg, kCfgMaxWriteZeroesSeg, 1);
  cfg[kCfgWriteZeroesMayUnmap] = 1;
}

void VirtioBlk::set_config(const std::vector<uint8_t>& cfg, uint32_t addr, unsigned size) {
  // Only the writeback byte is writable, and only with VIRTIO_BLK_F_CONFIG_WCE.
  if (addr <= kCfgWriteback && kCfgWriteback < addr + size && has_feature(kFConfigWce) && blk_) {
    blk_->set_enable_write_cache(cfg[kCfgWriteback] != 0);
  }
}

void VirtioBlk::features_set(uint64_t) {
  // A driver without VIRTIO_BLK_F_FLUSH expects writes to be durable when completed.
  if (blk_ && !(guest_features() & virtio::bit(kFFlush)) && guest_features()) {
    blk_->set_enable_write_cache(false);
  }
}

Status VirtioBlk::virtio_realize() {
  if (drive_.empty()) return generic_error("drive property not set");
  if (num_queues_ == 0 || num_queues_ > virtio::kQueueMaxSize) {
    return generic_error("num-queues property must be larger than 0");
  }
  if (queue_size_ <= 2 || queue_size_ > virtio::kQueueMaxSize ||
      (queue_size_ & (queue_size_ - 1))) {
    return generic_error("invalid queue-size property (" + std::to_string(queue_size_) +
                         "), must be a power of 2 and larger than 2 and smaller than 1024");
  }
  std::string holder = id() ? *id() : canonical_path();
  if (Object* p = parent(); p && dynamic_cast<Device*>(p) && static_cast<Device*>(p)->id()) {
    holder = *static_cast<Device*>(p)->id();
  }
  auto r = blk_attach_by_drive_property(drive_, holder, type_name());
  if (!r.ok()) return r.error();
  blk_ = std::move(r.value());
  if (!blk_->is_inserted()) {
    blk_.reset();
    return generic_error("Device needs media, but drive is empty");
  }
  // As QEMU: the backend device (no id of its own) is named by its path in query-block.
  blk_->set_attached_dev(canonical_path(), "");
  set_config_size(kCfgSize);
  for (unsigned q = 0; q < num_queues_; ++q) {
    add_queue(queue_size_, [this](VirtQueue& vq) { handle_queue(vq); });
  }
  std::weak_ptr<bool> alive = alive_;
  vm_handler_ = add_vm_change_state_handler([this, alive](bool running, RunState) {
    if (auto a = alive.lock(); a && *a && running) retry_stopped();
  });
  return Status::Ok();
}

void VirtioBlk::virtio_unrealize() {
  if (vm_handler_) remove_vm_change_state_handler(vm_handler_);
  vm_handler_ = 0;
  if (blk_) blk_->drain();
  stopped_.clear();
  inflight_.clear();
  if (blk_) blk_->set_attached_dev("", "");
  // As QEMU: a -drive backend goes with its device (its file is closed now, before the device's
  // DEVICE_DELETED); -blockdev nodes stay.
  blockdev_mark_auto_del(blk_.get());
  blk_.reset();  // releases the claim; an anonymous backend closes its node now
}

void VirtioBlk::device_reset() {
  // Requests in flight complete into rings the driver is about to forget: wait for them first.
  if (blk_) blk_->drain();
  inflight_.clear();
  stopped_.clear();
  if (blk_ && config_wce_) blk_->set_enable_write_cache(true);
}

void VirtioBlk::handle_queue(VirtQueue& vq) {
  do {
    vq.set_notification(false);
    while (auto elem = vq.pop()) {
      auto req = std::make_unique<Request>();
      req->elem = std::move(*elem);
      req->vq = &vq;
      VirtQueueElement& e = req->elem;
      struct {
        uint32_t type, reserved;
        uint64_t sector;
      } hdr;
      size_t in_bytes = e.in_bytes();
      if (iov_to_buf(e.out_sg, 0, &hdr, sizeof hdr) < sizeof hdr || in_bytes < 1) {
        error("virtio-blk missing headers");
        return;
      }
      // The status byte is the last device-writable byte.
      iovec& last = e.in_sg.back();
      req->status = static_cast<uint8_t*>(last.iov_base) + last.iov_len - 1;
      req->type = hdr.type;
      req->sector = hdr.sector;
      req->in_len = 0;
      submit(std::move(req));
      if (broken()) return;
    }
    vq.set_notification(true);
  } while (!vq.empty());
}

void VirtioBlk::submit(std::unique_ptr<Request> owned) {
  Request* req = owned.get();
  VirtQueueElement& e = req->elem;
  size_t in_data = e.in_bytes() - 1;
  uint64_t cap = capacity_sectors();
  auto range_ok = [cap](uint64_t sector, uint64_t bytes) {
    return bytes % kSectorSize == 0 && sector <= cap && bytes / kSectorSize <= cap - sector;
  };
  switch (req->type & ~0x80000000u) {  // bit 31: the legacy barrier flag, ignored
    case kTIn: {
      req->data = iov_slice(e.in_sg, 0, in_data);
      if (!range_ok(req->sector, in_data)) return complete(owned.release(), kSIoErr);
      req->in_len = uint32_t(in_data);
      inflight_.push_back(std::move(owned));
      blk_->preadv(req->sector * kSectorSize, req->data, io_done(req));
      return;
    }
    case kTOut: {
      size_t out_data = e.out_bytes() - 16;
      req->data = iov_slice(e.out_sg, 16, out_data);
      if (!range_ok(req->sector, out_data)) return complete(owned.release(), kSIoErr);
      if (blk_->is_read_only()) return complete(owned.release(), kSIoErr);
      inflight_.push_back(std::move(owned));
      blk_->pwritev(req->sector * kSectorSize, req->data, io_done(req));
      return;
    }
    case kTFlush: {
      inflight_.push_back(std::move(owned));
      blk_->flush(io_done(req));
      return;
    }
    case kTGetId: {
      char id[kIdBytes] = {};
      std::memcpy(id, serial_.data(), std::min<size_t>(serial_.size(), kIdBytes));
      size_t n =
          iov_from_buf(iov_slice(e.in_sg, 0, in_data), 0, id, std::min<size_t>(in_data, kIdBytes));
      req->in_len = uint32_t(n);
      return complete(owned.release(), kSOk);
    }
    case kTDiscard:
    case kTWriteZeroes: {
      bool zeroes = (req->type & ~0x80000000u) == kTWriteZeroes;
      if ((zeroes && !has_feature(kFWriteZeroes)) || (!zeroes && !has_feature(kFDiscard))) {
        return complete(owned.release(), kSUnsupp);
      }
      struct {
        uint64_t sector;
        uint32_t num_sectors, flags;
      } seg;
      size_t out_data = e.out_bytes() - 16;
      // One segment per request (max_discard_seg / max_write_zeroes_seg = 1).
      if (out_data != sizeof seg || iov_to_buf(e.out_sg, 16, &seg, sizeof seg) != sizeof seg) {
        return complete(owned.release(), kSUnsupp);
      }
      uint64_t bytes = uint64_t(seg.num_sectors) * kSectorSize;
      if (seg.num_sectors > kMaxDiscardSectors || !range_ok(seg.sector, bytes) ||
          (!zeroes && seg.flags) || (zeroes && (seg.flags & ~kWriteZeroesUnmap))) {
        return complete(owned.release(), kSIoErr);
      }
      if (blk_->is_read_only()) return complete(owned.release(), kSIoErr);
      req->sector = seg.sector;
      req->range_sectors = seg.num_sectors;
      req->unmap = seg.flags & kWriteZeroesUnmap;
      inflight_.push_back(std::move(owned));
      auto cb = io_done(req);
      if (zeroes) {
        blk_->write_zeroes(seg.sector * kSectorSize, bytes, req->unmap, cb);
      } else {
        blk_->discard(seg.sector * kSectorSize, bytes, cb);
      }
      return;
    }
    default:
      return complete(owned.release(), kSUnsupp);
  }
}

BlockBackend::Callback VirtioBlk::io_done(Request* req) {
  std::weak_ptr<bool> alive = alive_;
  return [this, alive, req](int ret) {
    if (auto a = alive.lock(); a && *a) on_io_done(req, ret);
  };
}

void VirtioBlk::on_io_done(Request* req, int ret) {
  if (ret == 0) return complete(req, kSOk);
  uint32_t type = req->type & ~0x80000000u;
  bool is_read = type == kTIn;
  if (type == kTDiscard && ret == -ENOTSUP) return complete(req, kSOk);  // advisory
  BlockErrorAction action = blk_->get_error_action(is_read, -ret);
  blk_->error_action(action, is_read, -ret);
  if (action == BlockErrorAction::Stop) {
    // Kept for `cont`: moved from the in-flight list to the stopped list.
    for (auto it = inflight_.begin(); it != inflight_.end(); ++it) {
      if (it->get() == req) {
        stopped_.push_back(std::move(*it));
        inflight_.erase(it);
        break;
      }
    }
    return;
  }
  complete(req, action == BlockErrorAction::Ignore ? kSOk : kSIoErr);
}

void VirtioBlk::complete(Request* req, uint8_t status) {
  std::unique_ptr<Request> owned;
  for (auto it = inflight_.begin(); it != inflight_.end(); ++it) {
    if (it->get() == req) {
      owned = std::move(*it);
      inflight_.erase(it);
      break;
    }
  }
  if (!owned) owned.reset(req);  // completed without being submitted
  *req->status = status;
  req->vq->push(req->elem, req->in_len + 1);
  notify(*req->vq);
}

void VirtioBlk::retry_stopped() {
  auto reqs = std::move(stopped_);
  stopped_.clear();
  for (auto& r : reqs) {
    if (!driver_ok() || broken()) continue;
    submit(std::move(r));
  }
}

}  // namespace machina
