#include "net/netdev-registry.h"

#include <map>

namespace machina {

namespace {

std::map<std::string, std::shared_ptr<Netdev>>& netdevs() {
  static std::map<std::string, std::shared_ptr<Netdev>> m;
  return m;
}

Error device_not_found(const std::string& name) {
  return Error{ErrorClass::DeviceNotFound, "Device '" + name + "' not found"};
}

}  // namespace

Netdev* netdev_find(const std::string& id) {
  auto it = netdevs().find(id);
  return it == netdevs().end() ? nullptr : it->second.get();
}

std::vector<Netdev*> netdev_list() {
  std::vector<Netdev*> out;
  for (auto& [id, nd] : netdevs()) out.push_back(nd.get());
  return out;
}

Result<NetdevRef> netdev_attach(const std::string& id, const std::string& holder,
                                const std::string& owner_type) {
  std::string prop = "Property '" + owner_type + ".netdev' ";
  auto it = netdevs().find(id);
  if (it == netdevs().end()) return generic_error(prop + "can't find value '" + id + "'");
  if (it->second->claimed()) {
    return generic_error(prop + "can't take value '" + id + "', it's in use");
  }
  auto claim = it->second->claim(holder);
  if (!claim.ok()) return claim.error();
  NetdevRef ref;
  ref.nd_ = it->second;
  ref.claim_ = std::move(claim.value());
  ref.nd_->set_nic_name(holder);
  ref.nd_->set_nic_link(true);
  return ref;
}

Result<Netdev*> netdev_add(const NetdevOptions& opts) {
  if (netdevs().count(opts.id)) return generic_error("Duplicate ID '" + opts.id + "'");
  Result<std::shared_ptr<Netdev>> nd =
      generic_error("Parameter 'type' expects a netdev backend type");
  if (opts.type == "user") {
    nd = net_init_user(opts);
  } else if (opts.type == "tap") {
    nd = net_init_tap(opts);
  }
  if (!nd.ok()) return nd.error();
  Netdev* raw = nd.value().get();
  netdevs()[opts.id] = std::move(nd.value());
  return raw;
}

Status netdev_del(const std::string& id) {
  auto it = netdevs().find(id);
  if (it == netdevs().end()) return device_not_found(id);
  std::shared_ptr<Netdev> nd = std::move(it->second);
  netdevs().erase(it);
  bool attached = nd->claimed();
  std::string nic = nd->nic_name();
  nd->destroy_backend();
  // As QEMU's qemu_del_net_client: the NIC's link goes down and it is told so.
  if (attached) net_call_nic_link(nic, false);
  return Status::Ok();
}

void netdev_del_all() {
  while (!netdevs().empty()) (void)netdev_del(netdevs().begin()->first);
}

Status net_set_link(const std::string& name, bool up) {
  Netdev* nd = netdev_find(name);
  bool nic = net_call_nic_link(name, up);
  if (!nd && !nic) return device_not_found(name);
  if (nd) {
    // The netdev's own link, and (as QEMU) its NIC's, which is told.
    nd->set_link(up);
    if (nd->claimed()) {
      nd->set_nic_link(up);
      net_call_nic_link(nd->nic_name(), up);
    }
  }
  if (nic) {
    for (auto& [id, other] : netdevs()) {
      if (other->claimed() && other->nic_name() == name) other->set_nic_link(up);
    }
  }
  return Status::Ok();
}

std::string net_info_text() {
  // QEMU's layout: a NIC, then its backend indented under it; unattached backends alone. A
  // multiqueue netdev shows once per queue (QEMU's NetClientState per queue, its queue_index).
  std::string out;
  for (auto& [id, nd] : netdevs()) {
    for (unsigned q = 0; q < nd->num_queues(); ++q) {
      std::string index = "index=" + std::to_string(q);
      std::string line = id + ": " + index + ",type=" + nd->type() + "," + nd->info();
      if (nd->link_down()) line += ",link=down";
      if (nd->claimed()) {
        out += nd->nic_name() + ": " + index + ",type=nic\n \\ " + line + "\n";
      } else {
        out += line + "\n";
      }
    }
  }
  return out;
}

}  // namespace machina
