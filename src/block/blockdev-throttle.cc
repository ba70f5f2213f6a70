#include "block/blockdev-throttle.h"

#include <string>

#include "block/block-backend.h"
#include "block/throttle.h"
#include "hw/core/qdev.h"
#include "qom/object.h"

namespace machina {

namespace {

// QEMU's qmp_get_blk.
Result<BlockBackend*> get_blk(const json& args) {
  bool has_device = args.contains("device"), has_id = args.contains("id");
  if (has_device == has_id) return generic_error("Need exactly one of 'device' and 'id'");
  if (has_device) {
    std::string name = args["device"].get<std::string>();
    BlockBackendPtr blk = blk_by_name(name);
    if (!blk) return Error{ErrorClass::DeviceNotFound, "Device '" + name + "' not found"};
    return blk.get();
  }
  std::string id = args["id"].get<std::string>();
  Object* obj = id.empty() ? nullptr : object_resolve_path("/machine/peripheral/" + id);
  if (!obj) return Error{ErrorClass::DeviceNotFound, "Device '" + id + "' not found"};
  auto* dev = dynamic_cast<Device*>(obj);
  if (!dev) return generic_error(id + " is not a hotpluggable device");
  std::string path = dev->canonical_path();
  for (BlockBackend* b : blk_all()) {
    if (b->attached_qdev() == path) return b;
  }
  return generic_error("Device does not have a block device backend");
}

// An "int" argument as QEMU's throttle code sees it: a negative value wraps to a huge one.
uint64_t u64(const json& args, const std::string& name, uint64_t def) {
  auto it = args.find(name);
  if (it == args.end()) return def;
  return it->is_number_unsigned() ? it->get<uint64_t>() : uint64_t(it->get<int64_t>());
}

}  // namespace

Status qmp_block_set_io_throttle(const json& args) {
  auto blk = get_blk(args);
  if (!blk.ok()) return blk.error();
  BlockBackend* b = blk.value();
  if (!b->is_inserted()) return generic_error("Device has no medium");
  ThrottleConfig cfg;
  for (int i = 0; i < kThrottleBuckets; ++i) {
    auto bucket = ThrottleBucket(i);
    std::string name = throttle_qmp_name(bucket);
    cfg[bucket].avg = u64(args, name, 0);
    cfg[bucket].max = u64(args, name + "_max", 0);
    cfg[bucket].max_length = u64(args, name + "_max_length", 1);
  }
  cfg.iops_size = u64(args, "iops_size", 0);
  if (Status s = throttle_config_check(cfg); !s.ok()) return s;
  // QEMU: a new group is named by `group`, else after the device or id argument.
  std::string group;
  if (args.contains("group")) {
    group = args["group"].get<std::string>();
  } else if (!b->io_limits()) {
    group =
        args.contains("device") ? args["device"].get<std::string>() : args["id"].get<std::string>();
  }
  return b->set_io_limits(cfg, group);
}

}  // namespace machina
