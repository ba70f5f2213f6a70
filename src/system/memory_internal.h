// Internal to src/system: the registry of address spaces kept by the transaction code.
#pragma once

namespace machina {

class AddressSpace;

// Both are called with the topology lock held (inside a MemoryTransaction).
void memory_register_address_space(AddressSpace* as);
void memory_unregister_address_space(AddressSpace* as);

// Renders and publishes pending changes now, inside an open transaction.
void memory_flush_pending();

}  // namespace machina
