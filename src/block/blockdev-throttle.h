// QMP block_set_io_throttle (QEMU's qmp_block_set_io_throttle in blockdev.c): new I/O limits for
// a backend named by its drive name (`device`) or by the qdev id of the device using it (`id`,
// resolved under /machine/peripheral: "vblk0/virtio-backend" for virtio-blk-pci's inner device).
#pragma once

#include <nlohmann/json.hpp>

#include "qapi/error.h"

namespace machina {

using json = nlohmann::json;

// `args`: BlockIOThrottle (bps, bps_rd, bps_wr, iops, iops_rd, iops_wr; the optional *_max,
// *_max_length, iops_size and group), already checked against the schema. All limits zero turns
// throttling off, releasing what it held. QEMU's texts: "Need exactly one of 'device' and 'id'",
// "Device 'X' not found", "Device does not have a block device backend", "Device has no medium",
// and throttle_config_check's.
Status qmp_block_set_io_throttle(const json& args);

}  // namespace machina
