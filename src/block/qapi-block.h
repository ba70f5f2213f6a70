// What query-block, query-named-block-nodes and HMP "info block" report (QEMU's block/qapi.c).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "block/block-int.h"

namespace machina {

using json = nlohmann::json;

// BlockDeviceInfo of a node.
json bdrv_block_device_info(const BlockDriverState& bs);
// [BlockInfo]
json qmp_query_block();
// [BlockDeviceInfo] of every named node.
json qmp_query_named_block_nodes();
std::string hmp_info_block_text();

}  // namespace machina
