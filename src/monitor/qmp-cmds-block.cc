// QMP: the block layer (blockdev-add, blockdev-del, query-block, query-named-block-nodes,
// block_set_io_throttle).
#include "block/block.h"
#include "block/blockdev-throttle.h"
#include "block/qapi-block.h"
#include "monitor/qmp-cmds.h"

namespace machina {

namespace {

void add(QmpCommandRegistry& r, QmpCommand c) {
  (void)r.add(std::move(c));
}

}  // namespace

void qmp_register_block_commands(QmpCommandRegistry& r) {
  add(r, QmpCommand{.name = "blockdev-add",
                    .args = {{"driver", QmpArgType::kString}},
                    .handler = [](const json& a, QmpContext&) -> Result<json> {
                      if (Status s = blockdev_add(a, OptSyntax::Qmp); !s.ok()) return s.error();
                      return json::object();
                    },
                    .extra_args = true});
  add(r, QmpCommand{.name = "blockdev-del",
                    .args = {{"node-name", QmpArgType::kString}},
                    .handler = [](const json& a, QmpContext&) -> Result<json> {
                      Status s = blockdev_del(a["node-name"].get<std::string>());
                      if (!s.ok()) return s.error();
                      return json::object();
                    }});
  {
    // BlockIOThrottle, as QEMU's schema: the six averages are required.
    std::vector<QmpArg> args = {{"device", QmpArgType::kString, true},
                                {"id", QmpArgType::kString, true}};
    for (const char* n : {"bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"}) {
      args.push_back({n, QmpArgType::kInt});
    }
    for (const char* n : {"bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"}) {
      args.push_back({std::string(n) + "_max", QmpArgType::kInt, true});
    }
    for (const char* n : {"bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"}) {
      args.push_back({std::string(n) + "_max_length", QmpArgType::kInt, true});
    }
    args.push_back({"iops_size", QmpArgType::kInt, true});
    args.push_back({"group", QmpArgType::kString, true});
    add(r, QmpCommand{.name = "block_set_io_throttle",
                      .args = std::move(args),
                      .handler = [](const json& a, QmpContext&) -> Result<json> {
                        if (Status s = qmp_block_set_io_throttle(a); !s.ok()) return s.error();
                        return json::object();
                      }});
  }
  add(r, QmpCommand{.name = "query-block", .handler = [](const json&, QmpContext&) -> Result<json> {
                      return qmp_query_block();
                    }});
  add(r, QmpCommand{.name = "query-named-block-nodes",
                    .args = {{"flat", QmpArgType::kBool, true}},
                    .handler = [](const json&, QmpContext&) -> Result<json> {
                      return qmp_query_named_block_nodes();
                    }});
}

}  // namespace machina
