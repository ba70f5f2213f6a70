#include "block/blockdev.h"

#include <map>

#include "block/block-options.h"
#include "block/block.h"
#include "util/cutils.h"

namespace machina {

namespace {

std::map<std::string, DriveInfo>& drive_infos() {
  static auto* m = new std::map<std::string, DriveInfo>;
  return *m;
}

bool known_interface(const std::string& s) {
  for (const char* i : {"none", "ide", "scsi", "floppy", "pflash", "mtd", "sd", "virtio", "xen"}) {
    if (s == i) return true;
  }
  return false;
}

int next_free_unit(const std::string& if_name, int bus) {
  for (int unit = 0;; ++unit) {
    bool used = false;
    for (auto& [id, d] : drive_infos()) {
      if (d.interface == if_name && d.bus == bus && d.unit == unit) used = true;
    }
    if (!used) return unit;
  }
}

// Takes a -drive option out of the set (the last occurrence counts, as qemu_opt_get).
std::optional<std::string> take(QemuOpts& o, std::string_view name) {
  const std::string* v = o.get(name);
  if (!v) return std::nullopt;
  std::string s = *v;
  o.remove(name);
  return s;
}

Result<std::optional<bool>> take_bool(QemuOpts& o, std::string_view name) {
  if (!o.has(name)) return std::optional<bool>();
  auto b = o.get_bool(name, false);
  if (!b.ok()) return b.error();
  o.remove(name);
  return std::optional<bool>(b.value());
}

// A throttling number: QemuOpts' unsigned number, where (as QEMU's qemu_strtou64) "-N" wraps
// around, so that throttle_config_check refuses it as out of range.
Result<std::optional<uint64_t>> take_throttle_number(QemuOpts& o, const std::string& name) {
  std::optional<std::string> v = take(o, name);
  if (!v) return std::optional<uint64_t>();
  if (!v->empty() && (*v)[0] == '-') {
    if (auto mag = parse_uint64(std::string_view(*v).substr(1))) {
      return std::optional<uint64_t>(uint64_t(0) - *mag);
    }
  }
  QemuOpts one;
  one.set(name, *v);
  auto n = one.get_number(name, 0);
  if (!n.ok()) return n.error();
  return std::optional<uint64_t>(n.value());
}

// The legacy spellings -drive still takes (QEMU's opt_renames).
Status rename_legacy_throttling(QemuOpts& o) {
  static const std::pair<const char*, const char*> renames[] = {
      {"iops", "throttling.iops-total"},
      {"iops_rd", "throttling.iops-read"},
      {"iops_wr", "throttling.iops-write"},
      {"bps", "throttling.bps-total"},
      {"bps_rd", "throttling.bps-read"},
      {"bps_wr", "throttling.bps-write"},
      {"iops_max", "throttling.iops-total-max"},
      {"iops_rd_max", "throttling.iops-read-max"},
      {"iops_wr_max", "throttling.iops-write-max"},
      {"bps_max", "throttling.bps-total-max"},
      {"bps_rd_max", "throttling.bps-read-max"},
      {"bps_wr_max", "throttling.bps-write-max"},
      {"iops_size", "throttling.iops-size"},
      {"group", "throttling.group"}};
  for (auto [from, to] : renames) {
    if (!o.has(from)) continue;
    if (o.has(to)) {
      return generic_error(std::string("'") + from + "' and its alias '" + to +
                           "' can't be used at the same time");
    }
    for (QemuOpt& opt : o.opts) {
      if (opt.name == from) opt.name = to;
    }
  }
  return Status::Ok();
}

struct DriveThrottling {
  ThrottleConfig cfg;
  std::optional<std::string> group;
};

// -drive throttling.*: the limits and their validation (QEMU's texts).
Result<DriveThrottling> take_throttling(QemuOpts& o) {
  if (Status s = rename_legacy_throttling(o); !s.ok()) return s.error();
  DriveThrottling t;
  for (int i = 0; i < kThrottleBuckets; ++i) {
    auto b = ThrottleBucket(i);
    std::string base = std::string("throttling.") + throttle_drive_name(b);
    ThrottleLimit& l = t.cfg[b];
    for (auto [suffix, field] : {std::pair{"", &l.avg}, std::pair{"-max", &l.max},
                                 std::pair{"-max-length", &l.max_length}}) {
      auto n = take_throttle_number(o, base + suffix);
      if (!n.ok()) return n.error();
      if (n.value()) *field = *n.value();
    }
  }
  auto size = take_throttle_number(o, "throttling.iops-size");
  if (!size.ok()) return size.error();
  if (size.value()) t.cfg.iops_size = *size.value();
  t.group = take(o, "throttling.group");
  if (Status s = throttle_config_check(t.cfg); !s.ok()) return s.error();
  return t;
}

// Whether a -drive file= names a protocol of its own ("null-co://"), and which.
std::string protocol_of(const std::string& file) {
  for (const char* p : {"null-co", "null-aio"}) {
    if (file.rfind(std::string(p) + ":", 0) == 0) return p;
  }
  return "file";
}

bool is_protocol_driver(const std::string& d) {
  return d == "file" || d == "null-co" || d == "null-aio";
}

}  // namespace

bool parse_cache_mode(const std::string& mode, CacheMode* out) {
  CacheMode m;
  if (mode == "off" || mode == "none") {
    m.direct = true;
  } else if (mode == "directsync") {
    m.direct = true;
    m.writeback = false;
  } else if (mode == "writeback") {
  } else if (mode == "unsafe") {
    m.no_flush = true;
  } else if (mode == "writethrough") {
    m.writeback = false;
  } else {
    return false;
  }
  *out = m;
  return true;
}

Result<BlockdevOnError> parse_block_error_action(const std::string& value, bool is_read) {
  if (value == "ignore") return BlockdevOnError::Ignore;
  if (!is_read && value == "enospc") return BlockdevOnError::Enospc;
  if (value == "stop") return BlockdevOnError::Stop;
  if (value == "report") return BlockdevOnError::Report;
  return generic_error("'" + value + "' invalid " + (is_read ? "read" : "write") + " error action");
}

void drive_info_clear() {
  drive_infos().clear();
}

void blockdev_mark_auto_del(BlockBackend* blk) {
  if (!blk || blk->name().empty()) return;
  auto it = drive_infos().find(blk->name());
  if (it != drive_infos().end()) it->second.auto_del = true;
}

void blockdev_auto_del(BlockBackend* blk) {
  if (!blk || blk->name().empty()) return;
  auto it = drive_infos().find(blk->name());
  if (it == drive_infos().end() || !it->second.auto_del) return;
  drive_infos().erase(it);
  blk_remove_named(blk);
}

const DriveInfo* drive_info(const std::string& id) {
  auto it = drive_infos().find(id);
  return it == drive_infos().end() ? nullptr : &it->second;
}

Result<BlockBackendPtr> drive_new(const QemuOpts& in, const std::string& default_if) {
  QemuOpts o = in;
  DriveInfo info;

  // The device side (QEMU's legacy drive options).
  std::string if_name = take(o, "if").value_or(default_if);
  if (!known_interface(if_name)) return generic_error("unsupported bus type '" + if_name + "'");
  info.interface = if_name;
  if (auto media = take(o, "media")) {
    if (*media != "disk" && *media != "cdrom")
      return generic_error("'" + *media + "' invalid media");
    info.media = *media;
  }
  auto index = o.get_number("index", uint64_t(-1));
  auto bus = o.get_number("bus", 0);
  auto unit = o.get_number("unit", uint64_t(-1));
  if (!index.ok()) return index.error();
  if (!bus.ok()) return bus.error();
  if (!unit.ok()) return unit.error();
  bool has_index = o.has("index");
  if (has_index && (o.has("bus") || o.has("unit"))) {
    return generic_error("index cannot be used with bus and unit");
  }
  o.remove("index");
  o.remove("bus");
  info.bus = int(bus.value());
  if (has_index) {
    info.unit = int(index.value());
  } else if (o.has("unit")) {
    info.unit = int(unit.value());
  } else {
    info.unit = next_free_unit(if_name, info.bus);
  }
  o.remove("unit");
  if (auto addr = take(o, "addr")) {
    if (if_name != "virtio") return generic_error("addr is not supported by this bus type");
    info.addr = *addr;
  }
  if (auto serial = take(o, "serial")) info.serial = *serial;

  if (if_name != "none" && if_name != "virtio") {
    return generic_error("machine type does not support if=" + if_name +
                         ",bus=" + std::to_string(info.bus) + ",unit=" + std::to_string(info.unit));
  }

  // The id: QEMU's generated name when none is given ("virtio0", "none0").
  info.id = in.id.empty() ? if_name + std::to_string(info.unit) : in.id;

  // The block side (QEMU's blockdev_init).
  CacheMode cache;
  if (auto c = take(o, "cache")) {
    if (!parse_cache_mode(*c, &cache)) return generic_error("invalid cache option");
  }
  auto wb = take_bool(o, "cache.writeback");
  if (!wb.ok()) return wb.error();
  if (wb.value()) cache.writeback = *wb.value();
  for (auto [key, field] :
       {std::pair{"cache.direct", &cache.direct}, std::pair{"cache.no-flush", &cache.no_flush}}) {
    auto b = take_bool(o, key);
    if (!b.ok()) return b.error();
    if (b.value()) *field = *b.value();
  }
  std::optional<std::string> aio = take(o, "aio");
  if (aio && *aio != "threads" && *aio != "native" && *aio != "io_uring") {
    return generic_error("invalid aio option");
  }
  BlockdevOnError on_write = BlockdevOnError::Enospc, on_read = BlockdevOnError::Report;
  if (auto w = take(o, "werror")) {
    auto r = parse_block_error_action(*w, false);
    if (!r.ok()) return r.error();
    on_write = r.value();
  }
  if (auto w = take(o, "rerror")) {
    auto r = parse_block_error_action(*w, true);
    if (!r.ok()) return r.error();
    on_read = r.value();
  }
  bool read_only = false;
  for (const char* k : {"readonly", "read-only"}) {
    auto b = take_bool(o, k);
    if (!b.ok()) return b.error();
    if (b.value()) read_only = *b.value();
  }
  std::string discard = "ignore";
  if (auto d = take(o, "discard")) {
    if (*d == "off" || *d == "ignore") {
      discard = "ignore";
    } else if (*d == "on" || *d == "unmap") {
      discard = "unmap";
    } else {
      return generic_error("Invalid discard option");
    }
  }
  std::string detect_zeroes = "off";
  if (auto dz = take(o, "detect-zeroes")) {
    if (*dz != "off" && *dz != "on" && *dz != "unmap") {
      return generic_error("invalid parameter value: " + *dz);
    }
    detect_zeroes = *dz;
    if (*dz == "unmap" && discard != "unmap") {
      return generic_error(
          "setting detect-zeroes to unmap is not allowed without setting discard operation to "
          "unmap");
    }
  }
  auto snapshot = take_bool(o, "snapshot");
  if (!snapshot.ok()) return snapshot.error();
  if (snapshot.value().value_or(false)) return generic_error("snapshot=on is not supported yet");
  auto cor = take_bool(o, "copy-on-read");
  if (!cor.ok()) return cor.error();
  if (cor.value().value_or(false)) return generic_error("copy-on-read=on is not supported yet");
  auto throttling = take_throttling(o);
  if (!throttling.ok()) return throttling.error();
  std::optional<std::string> format = take(o, "format");
  std::optional<std::string> driver = take(o, "driver");
  if (format && driver) return generic_error("Cannot specify both 'driver' and 'format'");
  std::optional<std::string> file = take(o, "file");

  // What every root node gets from the drive's options.
  auto common_options = [&](json& opts) {
    opts["cache"] = {{"direct", cache.direct}, {"no-flush", cache.no_flush}};
    opts["read-only"] = read_only;
    opts["discard"] = discard;
    opts["detect-zeroes"] = detect_zeroes;
  };
  BlockNodePtr root;
  if ((file && !file->empty()) || driver) {
    auto rest = options_to_json(o);
    if (!rest.ok()) return rest.error();
    json opts = rest.value();
    opts.erase("id");
    std::string root_driver = driver ? *driver : format.value_or("raw");
    if (file && !file->empty()) {
      std::string protocol = protocol_of(*file);
      if (is_protocol_driver(root_driver)) {
        // The protocol node is the root: the filename is its own (null-co checks it), and so
        // are file.* options.
        if (opts.contains("file") && opts["file"].is_object()) {
          json inner = opts["file"];
          opts.erase("file");
          for (auto& [k, v] : inner.items()) opts[k] = v;
        }
        opts["filename"] = *file;
        if (aio && root_driver == "file") opts["aio"] = *aio;
      } else {
        json f = opts.contains("file") && opts["file"].is_object() ? opts["file"] : json::object();
        f["driver"] = protocol;
        f["filename"] = *file;
        if (aio && protocol == "file") f["aio"] = *aio;
        opts["file"] = f;
      }
    }
    opts["driver"] = root_driver;
    common_options(opts);
    if (blk_by_name(info.id)) {
      return generic_error("Device with id '" + info.id + "' already exists");
    }
    auto node = bdrv_open_options(opts, OptSyntax::Legacy);
    if (!node.ok()) return node.error();
    root = node.value();
  } else if (o.has("node-name") || !o.opts.empty()) {
    return generic_error("Must specify either driver or file");
  }

  auto blk = blk_new_named(info.id, root);
  if (!blk.ok()) return blk.error();
  if (throttling.value().cfg.enabled()) {
    std::string group = throttling.value().group.value_or(info.id);
    if (Status s = blk.value()->set_io_limits(throttling.value().cfg, group); !s.ok()) {
      blk_remove_named(blk.value().get());
      return s.error();
    }
  }
  blk.value()->set_enable_write_cache(cache.writeback);
  blk.value()->set_on_error(on_read, on_write);
  blk.value()->set_interface(if_name);
  drive_infos()[info.id] = info;
  return blk;
}

}  // namespace machina
