#include "block/block.h"

#include <random>

#include "block/block-backend.h"
#include "block/blockdev.h"
#include "block/file-posix.h"
#include "block/null-block.h"
#include "block/raw-format.h"
#include "util/qemu-option.h"

namespace machina {

namespace {

struct NamedNode {
  std::string name;
  std::weak_ptr<BlockDriverState> node;
};

std::vector<NamedNode>& named_nodes() {
  static auto* v = new std::vector<NamedNode>;
  return *v;
}

std::vector<BlockNodePtr>& monitor_nodes() {
  static auto* v = new std::vector<BlockNodePtr>;
  return *v;
}

void prune() {
  std::erase_if(named_nodes(), [](const NamedNode& n) { return n.node.expired(); });
}

Status check_new_node_name(const std::string& name) {
  if (!id_wellformed(name)) return generic_error("Invalid node-name: '" + name + "'");
  if (blk_by_name(name)) {
    return generic_error("node-name=" + name + " is conflicting with a device id");
  }
  if (bdrv_find_node(name)) {
    return generic_error("Duplicate nodes with node-name='" + name + "'");
  }
  if (name.size() >= 32) return generic_error("Node name too long");
  return Status::Ok();
}

// Options a parent passes down to an inline child (QEMU's bdrv_inherited_options).
json inherited(const BlockNodeCommon& parent) {
  json d = json::object();
  d["cache.direct"] = parent.cache_direct;
  d["cache.no-flush"] = parent.cache_no_flush;
  d["read-only"] = parent.read_only;
  d["auto-read-only"] = parent.auto_read_only;
  d["force-share"] = parent.force_share;
  // Lower layers follow the format layer's requests: unmap is allowed there.
  d["discard"] = "unmap";
  return d;
}

Result<BlockNodeCommon> read_common(OptReader& r, const json& defaults, const std::string& driver) {
  BlockNodeCommon c;
  c.driver = driver;
  c.cache_direct = defaults.value("cache.direct", false);
  c.cache_no_flush = defaults.value("cache.no-flush", false);
  c.read_only = defaults.value("read-only", false);
  c.auto_read_only = defaults.value("auto-read-only", false);
  c.force_share = defaults.value("force-share", false);
  if (defaults.value("discard", "ignore") == "unmap") c.discard = BlockdevDiscard::Unmap;

  auto name = r.str("node-name");
  if (!name.ok()) return name.error();
  if (name.value()) {
    if (Status s = check_new_node_name(*name.value()); !s.ok()) return s.error();
    c.node_name = *name.value();
    c.node_name_given = true;
  }
  auto discard = r.enumeration("discard", {"ignore", "unmap", "off", "on"});
  if (!discard.ok()) return discard.error();
  if (discard.value()) {
    const std::string& d = *discard.value();
    c.discard = (d == "unmap" || d == "on") ? BlockdevDiscard::Unmap : BlockdevDiscard::Ignore;
  }
  auto cache = r.object("cache");
  if (!cache.ok()) return cache.error();
  if (cache.value()) {
    OptReader& cr = *cache.value();
    auto direct = cr.boolean("direct");
    if (!direct.ok()) return direct.error();
    if (direct.value()) c.cache_direct = *direct.value();
    auto nf = cr.boolean("no-flush");
    if (!nf.ok()) return nf.error();
    if (nf.value()) c.cache_no_flush = *nf.value();
    if (Status s = cr.check_all_read(); !s.ok()) return s.error();
  }
  for (auto [key, field] :
       {std::pair{"read-only", &c.read_only}, std::pair{"auto-read-only", &c.auto_read_only},
        std::pair{"force-share", &c.force_share}}) {
    auto b = r.boolean(key);
    if (!b.ok()) return b.error();
    if (b.value()) *field = *b.value();
  }
  auto dz = r.enumeration("detect-zeroes", {"off", "on", "unmap"});
  if (!dz.ok()) return dz.error();
  if (dz.value()) {
    c.detect_zeroes = *dz.value() == "on"      ? BlockdevDetectZeroes::On
                      : *dz.value() == "unmap" ? BlockdevDetectZeroes::Unmap
                                               : BlockdevDetectZeroes::Off;
  }
  if (c.force_share && !c.read_only) {
    return generic_error("force-share=on can only be used with read-only images");
  }
  return c;
}

Result<BlockNodePtr> open_file(OptReader& r, BlockNodeCommon c) {
  FileOptions o;
  auto filename = r.str("filename");
  if (!filename.ok()) return filename.error();
  if (!filename.value()) return generic_error("Parameter '" + r.full("filename") + "' is missing");
  o.filename = *filename.value();
  auto aio = r.enumeration("aio", {"threads", "native", "io_uring"});
  if (!aio.ok()) return aio.error();
  if (aio.value()) {
    o.aio_name = *aio.value();
    o.aio = o.aio_name == "threads" ? AioKind::Threads : AioKind::IoUring;
    if (o.aio_name == "native" && !c.cache_direct) {
      return generic_error(
          "aio=native was specified, but it requires cache.direct=on, which was not specified.");
    }
  }
  auto locking = r.enumeration("locking", {"auto", "on", "off"});
  if (!locking.ok()) return locking.error();
  if (locking.value()) o.locking = *locking.value();
  // Accepted, without effect here.
  for (const char* k : {"drop-cache", "x-check-cache-dropped"}) {
    auto b = r.boolean(k);
    if (!b.ok()) return b.error();
  }
  auto batch = r.int64("aio-max-batch");
  if (!batch.ok()) return batch.error();
  auto pr = r.str("pr-manager");
  if (!pr.ok()) return pr.error();
  if (Status s = r.check_all_read("Block protocol 'file'"); !s.ok()) return s.error();
  auto node = FileNode::open(std::move(c), std::move(o));
  if (!node.ok()) return node.error();
  return BlockNodePtr(node.value());
}

Result<BlockNodePtr> open_raw(OptReader& r, BlockNodeCommon c) {
  RawOptions o;
  auto offset = r.uint("offset");
  if (!offset.ok()) return offset.error();
  if (offset.value()) o.offset = *offset.value();
  auto size = r.uint("size");
  if (!size.ok()) return size.error();
  o.size = size.value();
  const json* file = r.raw("file");
  if (Status s = r.check_all_read("Block format 'raw'"); !s.ok()) return s.error();
  BlockNodePtr child;
  if (!file || file->is_null()) {
    return generic_error("A block device must be specified for \"file\"");
  } else if (file->is_string()) {
    std::string ref = file->get<std::string>();
    child = bdrv_find_node(ref);
    if (!child) {
      if (auto blk = blk_by_name(ref)) child = blk->root();
    }
    if (!child) {
      return generic_error("Cannot find device='" + ref + "' nor node-name='" + ref + "'");
    }
  } else if (file->is_object()) {
    json child_opts = *file;
    // Errors inside name their path ("file.filename").
    auto opened = bdrv_open_options(child_opts, r.syntax(), inherited(c));
    if (!opened.ok()) {
      Error e = opened.error();
      const std::string needle = "Parameter '";
      if (e.desc.rfind(needle, 0) == 0) e.desc.insert(needle.size(), "file.");
      if (e.desc.rfind("Invalid parameter type for '", 0) == 0) {
        e.desc.insert(std::string("Invalid parameter type for '").size(), "file.");
      }
      return e;
    }
    child = opened.value();
  } else {
    return generic_error("Invalid parameter type for 'file', expected: BlockdevRef");
  }
  auto node = RawNode::open(std::move(c), o, child);
  if (!node.ok()) return node.error();
  return BlockNodePtr(node.value());
}

Result<BlockNodePtr> open_null(OptReader& r, BlockNodeCommon c) {
  auto o = null_read_options(r, c.driver);
  if (!o.ok()) return o.error();
  if (Status s = r.check_all_read("Block protocol '" + c.driver + "'"); !s.ok()) return s.error();
  return BlockNodePtr(std::make_shared<NullNode>(std::move(c), o.value()));
}

// The drivers a node can be opened with (QEMU's block driver list, as far as machina has them).
using OpenFn = Result<BlockNodePtr> (*)(OptReader&, BlockNodeCommon);
OpenFn find_driver(const std::string& name) {
  static const std::pair<const char*, OpenFn> drivers[] = {
      {"file", open_file}, {"raw", open_raw}, {"null-co", open_null}, {"null-aio", open_null}};
  for (auto& [n, fn] : drivers) {
    if (name == n) return fn;
  }
  return nullptr;
}

}  // namespace

std::string bdrv_generate_node_name() {
  static uint64_t counter = 0;
  static std::mt19937 rng{std::random_device{}()};
  for (;;) {
    std::string n = "#block" + std::to_string(++counter);
    unsigned r = rng() % 100;
    n += char('0' + r / 10);
    n += char('0' + r % 10);
    if (!bdrv_find_node(n)) return n;
  }
}

Result<BlockNodePtr> bdrv_open_options(const json& options, OptSyntax syntax,
                                       const json& defaults) {
  if (!options.is_object()) return generic_error("Invalid parameter type, expected: object");
  OptReader r(options, "", syntax);
  auto driver = r.str("driver");
  if (!driver.ok()) return driver.error();
  if (!driver.value()) return generic_error("Parameter 'driver' is missing");
  const std::string& drv = *driver.value();
  OpenFn open = find_driver(drv);
  if (!open) {
    if (syntax == OptSyntax::Legacy) return generic_error("Unknown driver '" + drv + "'");
    return generic_error("Parameter 'driver' does not accept value '" + drv + "'");
  }
  auto common = read_common(r, defaults, drv);
  if (!common.ok()) return common.error();
  BlockNodeCommon c = std::move(common.value());
  if (!c.node_name_given) c.node_name = bdrv_generate_node_name();
  Result<BlockNodePtr> node = open(r, c);
  if (!node.ok()) return node.error();
  // A child opened inline may have taken the name meanwhile.
  if (bdrv_find_node(c.node_name)) {
    return generic_error("Duplicate nodes with node-name='" + c.node_name + "'");
  }
  named_nodes().push_back(NamedNode{c.node_name, node.value()});
  return node;
}

std::vector<BlockNodePtr> bdrv_named_nodes() {
  prune();
  std::vector<BlockNodePtr> out;
  for (auto& n : named_nodes()) {
    if (auto p = n.node.lock()) out.push_back(std::move(p));
  }
  return out;
}

BlockNodePtr bdrv_find_node(const std::string& node_name) {
  for (auto& n : named_nodes()) {
    if (n.name == node_name) {
      if (auto p = n.node.lock()) return p;
    }
  }
  return nullptr;
}

Status blockdev_add(const json& options, OptSyntax syntax) {
  if (!options.is_object() || !options.contains("node-name")) {
    if (options.is_object() && !options.contains("driver")) {
      return generic_error("Parameter 'driver' is missing");
    }
    return generic_error("'node-name' must be specified for the root node");
  }
  auto node = bdrv_open_options(options, syntax);
  if (!node.ok()) return node.error();
  node.value()->set_monitor_owned(true);
  monitor_nodes().push_back(node.value());
  return Status::Ok();
}

Status blockdev_del(const std::string& node_name) {
  BlockNodePtr bs = bdrv_find_node(node_name);
  if (!bs) return generic_error("Failed to find node with node-name='" + node_name + "'");
  if (bs->backend_count() > 0) return generic_error("Node " + node_name + " is in use");
  if (!bs->monitor_owned()) {
    return generic_error("Node " + node_name + " is not owned by the monitor");
  }
  if (bs->parent_count() > 0) return generic_error("Block device " + node_name + " is in use");
  auto& v = monitor_nodes();
  std::erase(v, bs);
  bs->set_monitor_owned(false);
  bs.reset();  // the last reference: the node (and its file) closes now
  prune();
  return Status::Ok();
}

void bdrv_close_all() {
  blk_remove_all();
  drive_info_clear();
  // Parents first (newest first), so that children go with their last parent.
  auto& v = monitor_nodes();
  while (!v.empty()) {
    BlockNodePtr n = std::move(v.back());
    v.pop_back();
    n->set_monitor_owned(false);
  }
  prune();
}

}  // namespace machina
