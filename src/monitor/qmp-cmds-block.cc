// QMP: the block layer (blockdev-add, blockdev-del, query-block, query-named-block-nodes).
#include "block/block.h"
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
