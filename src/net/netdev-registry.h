// The netdevs by id: creation from -netdev / netdev_add options, deletion (netdev_del), set_link
// and "info network".
#pragma once

#include <memory>
#include <string>

#include "net/net.h"
#include "net/netdev-options.h"

namespace machina {

// Creates and registers a netdev. QEMU's errors: "Duplicate ID 'X'" and the backend's own.
Result<Netdev*> netdev_add(const NetdevOptions& opts);
// netdev_del: "Device 'X' not found" (DeviceNotFound). A netdev that a NIC uses is deleted too
// (see net.h): its host side is released now, the object when the NIC lets go.
Status netdev_del(const std::string& id);
// At exit and between tests: deletes every netdev.
void netdev_del_all();
// HMP "info network".
std::string net_info_text();

// --- for the backends (net.cc, slirp.cc, tap.cc)
Result<std::shared_ptr<Netdev>> net_init_user(const NetdevOptions& opts);
Result<std::shared_ptr<Netdev>> net_init_tap(const NetdevOptions& opts);
bool net_call_nic_link(const std::string& name, bool up);

}  // namespace machina
