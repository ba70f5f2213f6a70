#include "block/qapi-block.h"

#include "block/block-backend.h"
#include "block/block.h"

namespace machina {

namespace {

const char* detect_zeroes_name(BlockdevDetectZeroes d) {
  switch (d) {
    case BlockdevDetectZeroes::Off:
      return "off";
    case BlockdevDetectZeroes::On:
      return "on";
    case BlockdevDetectZeroes::Unmap:
      return "unmap";
  }
  return "off";
}

json image_info(const BlockDriverState& bs) {
  json img = {{"filename", bs.filename()},
              {"format", bs.driver()},
              {"dirty-flag", false},
              {"virtual-size", bs.length()}};
  int64_t actual = bs.actual_size();
  if (actual >= 0) img["actual-size"] = actual;
  return img;
}

// The I/O limits as QEMU's bdrv_block_device_info shows a throttled backend's: the averages always,
// burst rates and lengths only where a burst rate is set, iops_size when set, and the group.
void add_io_limits(json& info, const BlockBackend& blk) {
  const ThrottleConfig* cfg = blk.io_limits();
  if (!cfg) return;
  for (int i = 0; i < kThrottleBuckets; ++i) {
    auto b = ThrottleBucket(i);
    std::string name = throttle_qmp_name(b);
    const ThrottleLimit& l = (*cfg)[b];
    info[name] = l.avg;
    if (l.max) {
      info[name + "_max"] = l.max;
      info[name + "_max_length"] = l.max_length;
    }
  }
  if (cfg->iops_size) info["iops_size"] = cfg->iops_size;
  info["group"] = blk.throttle_group();
}

}  // namespace

json bdrv_block_device_info(const BlockDriverState& bs) {
  const BlockNodeCommon& c = bs.common();
  json info = {
      {"file", bs.filename()},
      {"node-name", bs.node_name()},
      {"ro", bs.read_only()},
      {"drv", bs.driver()},
      {"backing_file_depth", 0},
      {"encrypted", false},
      {"detect_zeroes", detect_zeroes_name(c.detect_zeroes)},
      {"bps", 0},
      {"bps_rd", 0},
      {"bps_wr", 0},
      {"iops", 0},
      {"iops_rd", 0},
      {"iops_wr", 0},
      {"image", image_info(bs)},
      {"cache", {{"writeback", true}, {"direct", c.cache_direct}, {"no-flush", c.cache_no_flush}}},
      {"write_threshold", 0}};
  return info;
}

json qmp_query_block() {
  json list = json::array();
  for (BlockBackend* blk : blk_all()) {
    bool attached = !blk->attached_qdev().empty();
    json info = {{"device", blk->name()}};
    if (attached) info["qdev"] = blk->attached_dev_id_or_path();
    info["locked"] = false;
    // A backend without a device could take any medium (QEMU's blk_dev_has_removable_media).
    info["removable"] = !attached;
    if (blk->is_inserted()) {
      json ins = bdrv_block_device_info(*blk->root());
      ins["cache"]["writeback"] = blk->enable_write_cache();
      add_io_limits(ins, *blk);
      info["inserted"] = ins;
    }
    if (blk->iostatus_is_enabled()) info["io-status"] = block_io_status_name(blk->iostatus());
    info["type"] = "unknown";
    list.push_back(info);
  }
  return list;
}

json qmp_query_named_block_nodes() {
  json list = json::array();
  for (const BlockNodePtr& n : bdrv_named_nodes()) list.push_back(bdrv_block_device_info(*n));
  return list;
}

std::string hmp_info_block_text() {
  std::string out;
  auto cache_mode = [](bool wb, bool direct, bool no_flush) -> std::string {
    std::string s = wb ? "writeback" : "writethrough";
    if (direct) s += ", direct";
    if (no_flush) s += ", ignore flushes";
    return s;
  };
  for (BlockBackend* blk : blk_all()) {
    if (!out.empty()) out += "\n";
    out += blk->name().empty() ? blk->attached_dev_id_or_path() : blk->name();
    if (!blk->is_inserted()) {
      out += ": [not inserted]\n";
    } else {
      const BlockDriverState& bs = *blk->root();
      out += " (" + bs.node_name() + "): " + bs.filename() + " (" + bs.driver() +
             (bs.read_only() ? ", read-only" : "") + ")\n";
    }
    if (!blk->attached_qdev().empty())
      out += "    Attached to:      " + blk->attached_dev_id_or_path() + "\n";
    if (blk->is_inserted()) {
      const BlockNodeCommon& c = blk->root()->common();
      out += "    Cache mode:       " +
             cache_mode(blk->enable_write_cache(), c.cache_direct, c.cache_no_flush) + "\n";
    }
    if (const ThrottleConfig* t = blk->io_limits()) {
      using B = ThrottleBucket;
      auto v = [](uint64_t n) { return std::to_string(n); };
      const ThrottleConfig& l = *t;
      out += "    I/O throttling:   bps=" + v(l[B::BpsTotal].avg) +
             " bps_rd=" + v(l[B::BpsRead].avg) + " bps_wr=" + v(l[B::BpsWrite].avg) +
             " bps_max=" + v(l[B::BpsTotal].max) + " bps_rd_max=" + v(l[B::BpsRead].max) +
             " bps_wr_max=" + v(l[B::BpsWrite].max) + " iops=" + v(l[B::IopsTotal].avg) +
             " iops_rd=" + v(l[B::IopsRead].avg) + " iops_wr=" + v(l[B::IopsWrite].avg) +
             " iops_max=" + v(l[B::IopsTotal].max) + " iops_rd_max=" + v(l[B::IopsRead].max) +
             " iops_wr_max=" + v(l[B::IopsWrite].max) + " iops_size=" + v(l.iops_size) +
             " group=" + blk->throttle_group() + "\n";
    }
  }
  // Nodes no backend uses (-blockdev, blockdev-add), as QEMU lists them.
  for (const BlockNodePtr& n : bdrv_named_nodes()) {
    if (n->backend_count() > 0 || n->parent_count() > 0) continue;
    if (!out.empty()) out += "\n";
    out += n->node_name() + ": " + n->filename() + " (" + n->driver() +
           (n->read_only() ? ", read-only" : "") + ")\n";
    out += "    Cache mode:       " +
           cache_mode(true, n->common().cache_direct, n->common().cache_no_flush) + "\n";
  }
  return out;
}

}  // namespace machina
