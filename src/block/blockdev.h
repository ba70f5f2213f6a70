// -drive (QEMU's blockdev.c drive_new): legacy drive options to a named BlockBackend over a
// raw/file graph, and -blockdev.
#pragma once

#include <string>
#include <vector>

#include "block/block-backend.h"
#include "qapi/error.h"
#include "util/qemu-option.h"

namespace machina {

// What -drive said about the device to create (QEMU's DriveInfo).
struct DriveInfo {
  std::string id;
  std::string interface;  // "none", "virtio", ...
  int bus = 0;
  int unit = 0;
  std::string media = "disk";
  std::string addr;  // if=virtio: PCI address of the device ("" for automatic)
  std::string serial;
  bool auto_del = false;  // delete the backend when its device releases it
};

// Cache modes as QEMU's bdrv_parse_cache_mode: false for an unknown mode.
struct CacheMode {
  bool writeback = true;  // guest-visible write cache (WCE)
  bool direct = false;    // O_DIRECT
  bool no_flush = false;  // flushes ignored
};
bool parse_cache_mode(const std::string& mode, CacheMode* out);

// -drive OPTS: creates the named backend. `default_if` is the machine's default interface
// ("none" for -M none, "ide" for q35). Interfaces other than none/virtio get QEMU's
// "machine type does not support if=IF,bus=B,unit=U".
Result<BlockBackendPtr> drive_new(const QemuOpts& opts, const std::string& default_if);
const DriveInfo* drive_info(const std::string& id);
// Forgets every DriveInfo (with the backends, at exit).
void drive_info_clear();

// QEMU's drive auto-deletion, for -drive backends only (those with a DriveInfo; -blockdev and
// blockdev-add nodes stay until blockdev-del). A device going away marks its drive
// (blockdev_mark_auto_del, from its unrealize); when the device then releases the drive
// (BlockBackendRef::reset), blockdev_auto_del drops the named backend and its DriveInfo: the
// backend drains and goes, and with it the nodes nothing else uses, closing their files.
void blockdev_mark_auto_del(BlockBackend* blk);
void blockdev_auto_del(BlockBackend* blk);

// The -drive option group (for QEMU's texts of the QemuOpts parser).
Result<BlockdevOnError> parse_block_error_action(const std::string& value, bool is_read);

}  // namespace machina
