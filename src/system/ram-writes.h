// A count of the writes into guest RAM that CPU caches of decoded code cannot see: device DMA,
// buffer writes through an address space (qtest, loaders, fw_cfg), host pointers handed out for
// writing (virtio buffers, filled later by the block layer), memory map changes, and a vCPU's
// own stores into pages it holds decoded code for (those pages are never written through its
// TLB's fast path). The software CPU checks a block of decoded instructions against memory only
// when this count moved since the block was last checked.
//
// The count moves *before* the write: whatever tells the guest that the write is done (a used
// ring index, an interrupt) comes after it, so code the guest runs once it knows is checked.
#pragma once

#include <atomic>
#include <cstdint>

namespace machina {

inline std::atomic<uint64_t> ram_write_count{0};

inline void note_ram_write() {
  ram_write_count.fetch_add(1, std::memory_order_seq_cst);
}
inline uint64_t ram_writes() {
  return ram_write_count.load(std::memory_order_seq_cst);
}

}  // namespace machina
