// The block graph: opening nodes from options, node names, the monitor's nodes
// (blockdev-add/-del), and closing everything at exit.
#pragma once

#include <string>
#include <vector>

#include "block/block-int.h"
#include "block/block-options.h"
#include "qapi/error.h"

namespace machina {

// Opens a node (and the children given inline) from BlockdevOptions. The nodes are registered
// by name; nothing holds them but the returned pointer.
//   defaults: options inherited from a parent for an inline child (cache.*, read-only, ...).
Result<BlockNodePtr> bdrv_open_options(const json& options, OptSyntax syntax,
                                       const json& defaults = json::object());

// Named nodes that are open, in creation order.
std::vector<BlockNodePtr> bdrv_named_nodes();
BlockNodePtr bdrv_find_node(const std::string& node_name);
// QEMU's auto node name: "#block" + counter + two random digits.
std::string bdrv_generate_node_name();

// blockdev-add / -blockdev: opens and keeps a monitor-owned node. "'node-name' must be specified
// for the root node" without a name.
Status blockdev_add(const json& options, OptSyntax syntax);
// blockdev-del: QEMU's checks and texts ("Failed to find node with node-name='X'", "Node X is in
// use", "Node X is not owned by the monitor", "Block device X is in use").
Status blockdev_del(const std::string& node_name);

// At exit: drops every backend and monitor-owned node, so that every file is closed.
void bdrv_close_all();

}  // namespace machina
