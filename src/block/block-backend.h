// BlockBackend (QEMU's BlockBackend): what a device uses to do I/O on a block graph — the root
// node plus the guest-visible policies: write cache (cache=writethrough flushes after every
// write), werror/rerror, the I/O status, and the device it is attached to.
//
// Backends made by -drive are named (the drive id) and owned by the block layer until exit.
// A device's `drive` property may also name a node: the device then gets an anonymous backend on
// it, which goes away with the device's BlockBackendRef.
//
// I/O limits (-drive throttling.*, block_set_io_throttle): reads, writes and write-zeroes wait in
// a FIFO queue until the limits let them start (block/block-throttle.h); flushes and discards are
// not limited, as in QEMU. A drain disables the limits while it runs and starts every queued
// request at once, so a drain never waits for the throttle. Queued requests count as in flight.
//
// Threads: call everything with the BQL held (the main loop, or a vCPU thread in an MMIO/PIO
// handler). I/O callbacks run on the main loop thread with the BQL held — or inside drain(), on
// the thread that drains. A callback never runs inside the call that submitted its request.
// Before a device releases its BlockBackendRef it should drain(): the callbacks of requests
// still in flight would otherwise run while the backend is torn down.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "block/block-int.h"
#include "block/block-throttle.h"
#include "hw/core/backend-claim.h"
#include "qapi/error.h"

namespace machina {

enum class BlockdevOnError { Report, Ignore, Enospc, Stop, Auto };
enum class BlockErrorAction { Report, Ignore, Stop };
enum class BlockDeviceIoStatus { Ok, Failed, Nospace };

const char* blockdev_on_error_name(BlockdevOnError e);
const char* block_error_action_name(BlockErrorAction a);
const char* block_io_status_name(BlockDeviceIoStatus s);

class BlockBackend : public Claimable {
 public:
  using Callback = std::function<void(int ret)>;  // 0 or -errno; runs on the main loop, BQL held

  // `root` may be null: a drive without medium (I/O fails with -ENOMEDIUM).
  BlockBackend(std::string name, BlockNodePtr root);
  ~BlockBackend() override;  // drains
  BlockBackend(const BlockBackend&) = delete;
  BlockBackend& operator=(const BlockBackend&) = delete;

  const std::string& name() const { return name_; }  // the -drive id ("" when anonymous)
  std::string node_name() const;                     // root node's name ("" without medium)
  uint64_t length() const;                           // bytes
  bool is_inserted() const { return root_ != nullptr; }
  bool is_read_only() const;
  bool enable_write_cache() const { return wce_; }  // false for writethrough/directsync
  void set_enable_write_cache(bool on) { wce_ = on; }

  // iov point into guest RAM and must stay valid until the callback. Out-of-range requests
  // fail with -EIO, writes to a read-only backend with -EACCES.
  void preadv(uint64_t offset, std::vector<iovec> iov, Callback cb);
  void pwritev(uint64_t offset, std::vector<iovec> iov, Callback cb);  // writethrough: flushes
  void flush(Callback cb);  // fdatasync unless cache=unsafe / cache.no-flush
  void discard(uint64_t offset, uint64_t bytes, Callback cb);
  void write_zeroes(uint64_t offset, uint64_t bytes, bool may_unmap, Callback cb);

  size_t in_flight() const { return in_flight_; }
  // Starts the requests the I/O limits hold, then runs the block layer's completion handling
  // until in_flight() == 0. Requests submitted meanwhile are not limited.
  void drain();

  // I/O limits. A configuration without any limit turns throttling off (requests queued until
  // then start at once). Check it first with throttle_config_check. `group` names the throttle
  // group (QEMU's default: the drive's name; "" keeps the current one). A group is one backend's
  // own here: a name another throttled backend uses is refused.
  Status set_io_limits(const ThrottleConfig& cfg, const std::string& group = "");
  // The limits in force; nullptr when not throttled.
  const ThrottleConfig* io_limits() const { return throttle_ ? &throttle_->config() : nullptr; }
  // Requests waiting for the limits.
  size_t throttled_requests() const { return throttle_ ? throttle_->queued() : 0; }
  // query-block's "group" while throttled.
  const std::string& throttle_group() const { return throttle_group_; }

  // Error policy (-drive werror=/rerror=): QEMU's blk_get_error_action / blk_error_action.
  // `error` is an errno value (either sign).
  BlockErrorAction get_error_action(bool is_read, int error) const;
  // Emits BLOCK_IO_ERROR {"device","node-name","operation","action","nospace"?,"reason"}; for
  // Stop also sets the I/O status and stops the VM (state io-error, STOP event).
  void error_action(BlockErrorAction action, bool is_read, int error);
  // The BLOCK_IO_ERROR event's data for that error.
  json io_error_event_data(BlockErrorAction action, bool is_read, int error) const;
  void set_on_error(BlockdevOnError on_read, BlockdevOnError on_write);
  BlockdevOnError on_read_error() const { return on_read_error_; }
  BlockdevOnError on_write_error() const { return on_write_error_; }

  // I/O status (query-block "io-status"): enabled when a device attaches, shown when a policy
  // can stop the VM; reset when the VM runs again.
  bool iostatus_is_enabled() const;
  BlockDeviceIoStatus iostatus() const { return iostatus_; }
  void iostatus_reset() { iostatus_ = BlockDeviceIoStatus::Ok; }

  // The device using it; set at realize, cleared (empty strings) at unrealize. As QEMU's
  // blk_get_attached_dev_id, query-block's "qdev" is that device's id when it has one, else its
  // canonical QOM path — for virtio-blk-pci the backend is attached to the inner
  // virtio-blk-device, which has no id: pass ("/machine/peripheral/ID/virtio-backend", "").
  void set_attached_dev(std::string qdev_path, std::string dev_id);
  // What query-block shows as "qdev" ("" when detached).
  std::string attached_dev_id_or_path() const { return dev_id_.empty() ? qdev_path_ : dev_id_; }
  const std::string& attached_qdev() const { return qdev_path_; }
  const std::string& attached_dev_id() const { return dev_id_; }

  // -drive if=: the interface its device is created for ("none", "virtio", ...).
  const std::string& interface() const { return interface_; }
  void set_interface(std::string if_name) { interface_ = std::move(if_name); }

  const BlockNodePtr& root() const { return root_; }

 protected:
  Error busy_error(const std::string& holder) const override;
  Error in_use_error(const std::string& holder) const override;

 private:
  Callback track(Callback cb);
  bool check_range(uint64_t offset, uint64_t bytes, Callback& cb);
  // Runs `start` when the I/O limits allow a request of `bytes` in that direction.
  void throttled(bool is_write, uint64_t bytes, std::function<void()> start);

  std::string name_;
  BlockNodePtr root_;
  bool wce_ = true;
  BlockdevOnError on_read_error_ = BlockdevOnError::Report;
  BlockdevOnError on_write_error_ = BlockdevOnError::Enospc;
  bool iostatus_enabled_ = false;
  BlockDeviceIoStatus iostatus_ = BlockDeviceIoStatus::Ok;
  std::string qdev_path_, dev_id_;
  std::string interface_ = "none";
  size_t in_flight_ = 0;
  int vm_change_handler_ = 0;
  std::unique_ptr<BlockThrottle> throttle_;
  std::string throttle_group_;
  int io_limits_disabled_ = 0;  // drains in progress
};

using BlockBackendPtr = std::shared_ptr<BlockBackend>;

// Registers a named backend (-drive): "Device with id 'X' already exists", "Device name 'X'
// conflicts with an existing node name".
Result<BlockBackendPtr> blk_new_named(const std::string& name, BlockNodePtr root);
BlockBackendPtr blk_by_name(const std::string& name);
// Every backend query-block shows, in creation order: the named ones and the anonymous ones
// attached to a device.
std::vector<BlockBackend*> blk_all();
// At exit: drops the named backends.
void blk_remove_all();
// Drops one named backend (QEMU's monitor_remove_blk): it goes when its last user lets it go.
void blk_remove_named(const BlockBackend* blk);

// What a device's `drive` property holds: a claimed backend. Move-only; releasing it detaches
// the device, releases the claim, deletes a -drive backend the device marked for auto-deletion
// (blockdev_auto_del), and drops an anonymous backend (closing its node if nothing else uses
// it).
class BlockBackendRef {
 public:
  BlockBackendRef() = default;
  BlockBackendRef(BlockBackendPtr blk, BackendClaim claim)
      : blk_(std::move(blk)), claim_(std::move(claim)) {}
  BlockBackendRef(BlockBackendRef&& o) noexcept = default;
  BlockBackendRef& operator=(BlockBackendRef&& o) noexcept;
  BlockBackendRef(const BlockBackendRef&) = delete;
  BlockBackendRef& operator=(const BlockBackendRef&) = delete;
  ~BlockBackendRef() { reset(); }

  BlockBackend* get() const { return blk_.get(); }
  BlockBackend* operator->() const { return blk_.get(); }
  BlockBackend& operator*() const { return *blk_; }
  explicit operator bool() const { return blk_ != nullptr; }
  void reset();

 private:
  BlockBackendPtr blk_;
  BackendClaim claim_;
};

// The `drive` property of a device: a -drive id / BlockBackend name, or a node name (then an
// anonymous backend is created on that node). Claims it for `holder` (e.g. "vblk0"); a second
// device gets QEMU's "Drive 'X' is already in use by another device" (or, for a drive with
// if!=none, the "automatically connected" text). Unknown: "Property 'OWNER_TYPE.drive' can't
// find value 'X'".
Result<BlockBackendRef> blk_attach_by_drive_property(const std::string& value,
                                                     const std::string& holder,
                                                     const std::string& owner_type);

// -drive if=NAME: the drive ids the machine must create a device for, in order (virtio:
// virtio-blk-pci).
std::vector<std::string> drives_with_interface(const std::string& if_name);

}  // namespace machina
