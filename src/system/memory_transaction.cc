// The memory topology lock, transactions and the registry of address spaces.
#include <algorithm>
#include <mutex>
#include <vector>

#include "system/address_space.h"
#include "system/memory_epoch.h"
#include "system/memory_internal.h"
#include "system/memory_region.h"

namespace machina {

namespace {

struct Topology {
  std::recursive_mutex mu;
  unsigned depth = 0;  // transaction nesting (of the thread holding mu)
  bool dirty = false;
  std::vector<AddressSpace*> spaces;
};

Topology& topo() {
  static Topology* t = new Topology;  // never destroyed: regions may die during exit
  return *t;
}

}  // namespace

void memory_region_transaction_begin() {
  auto& t = topo();
  t.mu.lock();
  ++t.depth;
}

void memory_flush_pending() {
  auto& t = topo();
  // Listeners may change the topology again; render until it is stable.
  for (int round = 0; t.dirty && round < 16; ++round) {
    t.dirty = false;
    for (AddressSpace* as : std::vector<AddressSpace*>(t.spaces)) as->update_topology();
  }
}

void memory_region_transaction_commit() {
  auto& t = topo();
  if (t.depth == 1) memory_flush_pending();
  bool outermost = --t.depth == 0;
  t.mu.unlock();
  // Free old views (and release their owners) now if no reader holds them, outside the lock.
  if (outermost && !epoch_in_reader()) epoch_reclaim();
}

void memory_topology_changed() {
  topo().dirty = true;
}

void memory_register_address_space(AddressSpace* as) {
  topo().spaces.push_back(as);
}

void memory_unregister_address_space(AddressSpace* as) {
  auto& v = topo().spaces;
  v.erase(std::remove(v.begin(), v.end(), as), v.end());
}

const std::vector<AddressSpace*>& address_spaces() {
  return topo().spaces;
}

}  // namespace machina
