#include "block/block-backend.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "block/aio-context.h"
#include "block/block.h"
#include "block/blockdev.h"
#include "monitor/monitor.h"
#include "system/runstate.h"

namespace machina {

namespace {

// Named backends in creation order (QEMU's monitor_block_backends).
std::vector<BlockBackendPtr>& named_backends() {
  static auto* v = new std::vector<BlockBackendPtr>;
  return *v;
}
// Every backend alive, named or not, in creation order.
std::vector<BlockBackend*>& all_backends() {
  static auto* v = new std::vector<BlockBackend*>;
  return *v;
}

}  // namespace

const char* blockdev_on_error_name(BlockdevOnError e) {
  switch (e) {
    case BlockdevOnError::Report:
      return "report";
    case BlockdevOnError::Ignore:
      return "ignore";
    case BlockdevOnError::Enospc:
      return "enospc";
    case BlockdevOnError::Stop:
      return "stop";
    case BlockdevOnError::Auto:
      return "auto";
  }
  return "report";
}

const char* block_error_action_name(BlockErrorAction a) {
  switch (a) {
    case BlockErrorAction::Report:
      return "report";
    case BlockErrorAction::Ignore:
      return "ignore";
    case BlockErrorAction::Stop:
      return "stop";
  }
  return "report";
}

const char* block_io_status_name(BlockDeviceIoStatus s) {
  switch (s) {
    case BlockDeviceIoStatus::Ok:
      return "ok";
    case BlockDeviceIoStatus::Failed:
      return "failed";
    case BlockDeviceIoStatus::Nospace:
      return "nospace";
  }
  return "ok";
}

BlockBackend::BlockBackend(std::string name, BlockNodePtr root)
    : name_(std::move(name)), root_(std::move(root)) {
  if (root_) root_->add_backend();
  all_backends().push_back(this);
  // As QEMU's qmp_cont: the I/O status starts over when the VM runs again.
  vm_change_handler_ = add_vm_change_state_handler([this](bool running, RunState) {
    if (running) iostatus_reset();
  });
}

BlockBackend::~BlockBackend() {
  drain();
  remove_vm_change_state_handler(vm_change_handler_);
  std::erase(all_backends(), this);
  if (root_) root_->remove_backend();
}

std::string BlockBackend::node_name() const {
  return root_ ? root_->node_name() : std::string();
}

uint64_t BlockBackend::length() const {
  return root_ ? root_->length() : 0;
}

bool BlockBackend::is_read_only() const {
  return root_ && root_->read_only();
}

BlockBackend::Callback BlockBackend::track(Callback cb) {
  ++in_flight_;
  return [this, cb = std::move(cb)](int ret) {
    --in_flight_;
    cb(ret);
  };
}

bool BlockBackend::check_range(uint64_t offset, uint64_t bytes, Callback& cb) {
  if (!root_) {
    block_defer_cb(std::move(cb), -ENOMEDIUM);
    return false;
  }
  uint64_t len = root_->length();
  if (offset > len || bytes > len - offset) {
    block_defer_cb(std::move(cb), -EIO);
    return false;
  }
  return true;
}

void BlockBackend::drain() {
  // As QEMU's blk_root_drained_begin: the limits are off while draining, and what they held
  // starts now.
  ++io_limits_disabled_;
  if (throttle_) throttle_->release_all();
  while (in_flight_ > 0) block_aio_poll(true);
  --io_limits_disabled_;
}

Status BlockBackend::set_io_limits(const ThrottleConfig& cfg, const std::string& group) {
  if (!cfg.enabled()) {
    if (!throttle_) return Status::Ok();
    std::unique_ptr<BlockThrottle> t = std::move(throttle_);
    throttle_group_.clear();
    t->release_all();
    return Status::Ok();
  }
  std::string g = !group.empty() ? group : throttle_ ? throttle_group_ : name_;
  for (BlockBackend* b : all_backends()) {
    if (b != this && b->throttle_ && !g.empty() && b->throttle_group_ == g) {
      return generic_error("Throttle group '" + g +
                           "' is used by another drive; shared throttle groups are not "
                           "supported");
    }
  }
  throttle_group_ = g;
  if (throttle_) {
    throttle_->set_config(cfg);
  } else {
    throttle_ = std::make_unique<BlockThrottle>(cfg);
  }
  return Status::Ok();
}

void BlockBackend::throttled(bool is_write, uint64_t bytes, std::function<void()> start) {
  if (!throttle_ || io_limits_disabled_ > 0) return start();
  throttle_->submit(is_write, bytes, std::move(start));
}

void BlockBackend::preadv(uint64_t offset, std::vector<iovec> iov, Callback cb) {
  cb = track(std::move(cb));
  uint64_t bytes = iov_size(iov);
  if (!check_range(offset, bytes, cb)) return;
  throttled(false, bytes, [this, offset, iov = std::move(iov), cb = std::move(cb)]() mutable {
    root_->preadv(offset, std::move(iov), std::move(cb));
  });
}

void BlockBackend::pwritev(uint64_t offset, std::vector<iovec> iov, Callback cb) {
  uint64_t bytes = iov_size(iov);
  // detect-zeroes: a buffer of zeroes becomes a write-zeroes request (unmap: may punch a hole).
  if (root_ && bytes > 0 && root_->common().detect_zeroes != BlockdevDetectZeroes::Off &&
      iov_is_zero(iov)) {
    return write_zeroes(offset, bytes, root_->common().detect_zeroes == BlockdevDetectZeroes::Unmap,
                        std::move(cb));
  }
  cb = track(std::move(cb));
  if (!check_range(offset, bytes, cb)) return;
  if (root_->read_only()) return block_defer_cb(std::move(cb), -EACCES);
  throttled(true, bytes, [this, offset, iov = std::move(iov), cb = std::move(cb)]() mutable {
    if (wce_) return root_->pwritev(offset, std::move(iov), std::move(cb));
    // Writethrough: the write is stable before the guest hears of it.
    BlockNodePtr root = root_;
    root_->pwritev(offset, std::move(iov), [root, cb = std::move(cb)](int ret) {
      if (ret < 0) return cb(ret);
      root->flush(cb);
    });
  });
}

void BlockBackend::flush(Callback cb) {
  cb = track(std::move(cb));
  if (!root_) return block_defer_cb(std::move(cb), 0);
  root_->flush(std::move(cb));
}

void BlockBackend::discard(uint64_t offset, uint64_t bytes, Callback cb) {
  cb = track(std::move(cb));
  if (!check_range(offset, bytes, cb)) return;
  if (root_->read_only()) return block_defer_cb(std::move(cb), -EACCES);
  root_->discard(offset, bytes, std::move(cb));
}

void BlockBackend::write_zeroes(uint64_t offset, uint64_t bytes, bool may_unmap, Callback cb) {
  cb = track(std::move(cb));
  if (!check_range(offset, bytes, cb)) return;
  if (root_->read_only()) return block_defer_cb(std::move(cb), -EACCES);
  // Limited as a write of that size, as QEMU.
  throttled(true, bytes, [this, offset, bytes, may_unmap, cb = std::move(cb)]() mutable {
    if (wce_) return root_->write_zeroes(offset, bytes, may_unmap, std::move(cb));
    BlockNodePtr root = root_;
    root_->write_zeroes(offset, bytes, may_unmap, [root, cb = std::move(cb)](int ret) {
      if (ret < 0) return cb(ret);
      root->flush(cb);
    });
  });
}

void BlockBackend::set_on_error(BlockdevOnError on_read, BlockdevOnError on_write) {
  on_read_error_ = on_read;
  on_write_error_ = on_write;
}

BlockErrorAction BlockBackend::get_error_action(bool is_read, int error) const {
  error = std::abs(error);
  switch (is_read ? on_read_error_ : on_write_error_) {
    case BlockdevOnError::Enospc:
      return error == ENOSPC ? BlockErrorAction::Stop : BlockErrorAction::Report;
    case BlockdevOnError::Stop:
      return BlockErrorAction::Stop;
    case BlockdevOnError::Ignore:
      return BlockErrorAction::Ignore;
    case BlockdevOnError::Report:
    case BlockdevOnError::Auto:  // block jobs only; a backend reports
      return BlockErrorAction::Report;
  }
  return BlockErrorAction::Report;
}

bool BlockBackend::iostatus_is_enabled() const {
  return iostatus_enabled_ &&
         (on_write_error_ == BlockdevOnError::Enospc || on_write_error_ == BlockdevOnError::Stop ||
          on_read_error_ == BlockdevOnError::Stop);
}

void BlockBackend::error_action(BlockErrorAction action, bool is_read, int error) {
  error = std::abs(error);
  if (action == BlockErrorAction::Stop && iostatus_is_enabled() &&
      iostatus_ == BlockDeviceIoStatus::Ok) {
    iostatus_ = error == ENOSPC ? BlockDeviceIoStatus::Nospace : BlockDeviceIoStatus::Failed;
  }
  monitor_event("BLOCK_IO_ERROR", io_error_event_data(action, is_read, error));
  if (action == BlockErrorAction::Stop) vm_stop(RunState::IoError);
}

json BlockBackend::io_error_event_data(BlockErrorAction action, bool is_read, int error) const {
  error = std::abs(error);
  json data = {{"device", name_}};
  if (root_) data["node-name"] = root_->node_name();
  data["operation"] = is_read ? "read" : "write";
  data["action"] = block_error_action_name(action);
  if (iostatus_is_enabled()) data["nospace"] = error == ENOSPC;
  data["reason"] = std::strerror(error);
  return data;
}

void BlockBackend::set_attached_dev(std::string qdev_path, std::string dev_id) {
  qdev_path_ = std::move(qdev_path);
  dev_id_ = std::move(dev_id);
  // Devices enable the I/O status when they attach (blk_iostatus_enable).
  if (!qdev_path_.empty()) iostatus_enabled_ = true;
}

Error BlockBackend::busy_error(const std::string&) const {
  return generic_error("Node " + node_name() + " is in use");
}

Error BlockBackend::in_use_error(const std::string&) const {
  const std::string& n = name_.empty() ? node_name() : name_;
  if (interface_ != "none") {
    return generic_error("Drive '" + n +
                         "' is already in use because it has been automatically connected to "
                         "another device (did you need 'if=none' in the drive options?)");
  }
  return generic_error("Drive '" + n + "' is already in use by another device");
}

Result<BlockBackendPtr> blk_new_named(const std::string& name, BlockNodePtr root) {
  if (blk_by_name(name)) return generic_error("Device with id '" + name + "' already exists");
  if (bdrv_find_node(name)) {
    return generic_error("Device name '" + name + "' conflicts with an existing node name");
  }
  auto blk = std::make_shared<BlockBackend>(name, std::move(root));
  named_backends().push_back(blk);
  return blk;
}

BlockBackendPtr blk_by_name(const std::string& name) {
  if (name.empty()) return nullptr;
  for (auto& b : named_backends()) {
    if (b->name() == name) return b;
  }
  return nullptr;
}

std::vector<BlockBackend*> blk_all() {
  std::vector<BlockBackend*> out;
  for (BlockBackend* b : all_backends()) {
    if (!b->name().empty() || !b->attached_qdev().empty()) out.push_back(b);
  }
  return out;
}

void blk_remove_all() {
  // Nothing in flight survives (QEMU's bdrv_drain_all before closing).
  for (BlockBackend* b : std::vector<BlockBackend*>(all_backends())) b->drain();
  auto& v = named_backends();
  while (!v.empty()) {
    BlockBackendPtr b = std::move(v.back());
    v.pop_back();
  }
}

void blk_remove_named(const BlockBackend* blk) {
  std::erase_if(named_backends(), [blk](const BlockBackendPtr& b) { return b.get() == blk; });
}

BlockBackendRef& BlockBackendRef::operator=(BlockBackendRef&& o) noexcept {
  if (this != &o) {
    reset();
    blk_ = std::move(o.blk_);
    claim_ = std::move(o.claim_);
  }
  return *this;
}

void BlockBackendRef::reset() {
  if (!blk_) return;
  blk_->set_attached_dev("", "");
  claim_.release();
  blockdev_auto_del(blk_.get());
  blk_.reset();
}

Result<BlockBackendRef> blk_attach_by_drive_property(const std::string& value,
                                                     const std::string& holder,
                                                     const std::string& owner_type) {
  BlockBackendPtr blk = blk_by_name(value);
  if (!blk) {
    BlockNodePtr node = bdrv_find_node(value);
    if (!node) {
      return generic_error("Property '" + owner_type + ".drive' can't find value '" + value + "'");
    }
    // A node already used by a device (through any backend) stays with that device.
    for (BlockBackend* b : all_backends()) {
      if (b->root() == node && b->claimed()) {
        return generic_error("Drive '" + value + "' is already in use by another device");
      }
    }
    blk = std::make_shared<BlockBackend>("", node);
  }
  auto claim = blk->claim("device '" + holder + "'");
  if (!claim.ok()) return claim.error();
  return BlockBackendRef(std::move(blk), std::move(claim.value()));
}

std::vector<std::string> drives_with_interface(const std::string& if_name) {
  std::vector<std::string> out;
  for (auto& b : named_backends()) {
    if (b->interface() == if_name) out.push_back(b->name());
  }
  return out;
}

}  // namespace machina
