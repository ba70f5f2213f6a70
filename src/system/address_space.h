// AddressSpace: a root region as seen by a bus master (CPU memory, I/O ports, a device's DMA),
// with its current flat view, listeners for RAM mappings (KVM memory slots), guest accesses and
// DMA helpers.
//
// Accesses are lock-free: they pin the current view with an EpochGuard, look the address up and
// call into the region. A view (and the owners of the regions it maps) stays alive until every
// access that could see it has finished. An AddressSpace itself must outlive its users.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "qapi/error.h"
#include "system/flatview.h"
#include "system/memory_epoch.h"
#include "system/memory_region.h"

namespace machina {

// A RAM (or ROM) range mapped in an address space, as listeners see it.
struct MemoryRegionSection {
  MemoryRegion* mr = nullptr;
  uint64_t offset_within_region = 0;
  uint64_t offset_within_address_space = 0;  // guest physical address
  uint64_t size = 0;
  void* host = nullptr;  // host address of the first byte
  bool readonly = false;

  bool operator==(const MemoryRegionSection&) const = default;
};

// Told about RAM ranges and ioeventfds appearing and disappearing. On a change all removals are
// reported (in address order) before the additions. Callbacks run with the memory topology lock
// held. Every callback is optional.
struct MemoryListener {
  std::function<void()> begin;   // before the changes of one commit
  std::function<void()> commit;  // after them
  std::function<void(const MemoryRegionSection&)> region_add;
  std::function<void(const MemoryRegionSection&)> region_del;
  // An ioeventfd (at its address in this address space) came or went (QEMU's eventfd_add/del).
  std::function<void(const FlatIoeventfd&)> eventfd_add;
  std::function<void(const FlatIoeventfd&)> eventfd_del;
  // Dirty-page logging (dirty_log.h): it went on / off for the whole machine; or bring the
  // bitmap of a RAM range up to date with the writes the listener tracks (QEMU's log_sync).
  std::function<void()> log_global_start;
  std::function<void()> log_global_stop;
  std::function<void(const MemoryRegionSection&)> log_sync;
  int priority = 0;  // lower first for additions, higher first for removals (as QEMU)
};

// A guest-physical address resolved to host memory (translate()).
struct MemoryTranslation {
  uint8_t* host = nullptr;  // nullptr: not RAM (I/O, unassigned, or readonly for a write)
  uint64_t len = 0;         // bytes valid from `host` (to the end of the range), 0 if none
  MemoryRegion* mr = nullptr;
  uint64_t offset_in_region = 0;
  bool readonly = false;
};

class AddressSpace {
 public:
  AddressSpace(MemoryRegion* root, std::string name);
  ~AddressSpace();
  AddressSpace(const AddressSpace&) = delete;
  AddressSpace& operator=(const AddressSpace&) = delete;

  const std::string& name() const { return name_; }
  MemoryRegion* root() const { return root_; }

  // Registers a listener and reports the current RAM ranges (and ioeventfds) to it with
  // region_add (eventfd_add), then log_global_start if dirty-page logging is on.
  void add_listener(MemoryListener* listener);
  // Unregisters it, reporting the current RAM ranges (ioeventfds) with region_del (eventfd_del).
  void remove_listener(MemoryListener* listener);

  // --- guest accesses of 1, 2, 4 or 8 bytes, little-endian. Unassigned or invalid: reads give
  // all-ones and DecodeError, writes are dropped with DecodeError. Writes to ROM are ignored.
  // A write an ioeventfd matches signals it instead of reaching the region.
  MemTxResult read(uint64_t addr, unsigned size, uint64_t* value) const;
  MemTxResult write(uint64_t addr, unsigned size, uint64_t value) const;
  // Accesses of any length, split at region boundaries and into valid I/O sizes.
  MemTxResult read_buf(uint64_t addr, void* buf, size_t len) const;
  MemTxResult write_buf(uint64_t addr, const void* buf, size_t len) const;

  // --- fast paths. Call inside an EpochGuard; results are valid until the guard ends.
  // seq_cst: ordered after the reader's epoch slot store (see memory_epoch.h).
  const FlatView* view() const { return view_.load(std::memory_order_seq_cst); }
  const FlatRange* lookup(uint64_t addr) const {
    const FlatView* v = view();
    return v ? v->lookup(addr) : nullptr;
  }
  MemoryTranslation translate(uint64_t addr, bool is_write) const;

  // Sections of the current RAM ranges.
  std::vector<MemoryRegionSection> ram_sections() const;

  // Internal (dirty_log.cc, with the topology lock held): log_global_start or log_global_stop
  // on every listener; log_sync on every listener for every RAM section.
  void log_global_change(bool start);
  void log_sync();

  // Internal (transaction commit): renders the root again; publishes the new view and notifies
  // the listeners if it differs. Called with the topology lock held.
  void update_topology();

 private:
  void publish(std::unique_ptr<FlatView> next);

  MemoryRegion* root_;
  std::string name_;
  std::atomic<const FlatView*> view_{nullptr};
  std::vector<MemoryListener*> listeners_;  // sorted by priority
};

// DMA into guest RAM only: the whole range must be RAM (writable RAM for a write) in the current
// view, else nothing is copied and an error names the first offending address. Writes mark the
// pages dirty (dirty_log.h), as write() and write_buf() do; a host pointer translate() hands out
// for writing does not: its user marks what it wrote (ram_mark_dirty_host).
Status dma_read(const AddressSpace& as, uint64_t addr, void* buf, size_t len);
Status dma_write(const AddressSpace& as, uint64_t addr, const void* buf, size_t len);

// The machine's system memory ("system", 2^64 bytes) and I/O port space ("io", 64 KiB), and
// their address spaces "memory" and "I/O". Created on first use; never destroyed.
MemoryRegion* get_system_memory();
MemoryRegion* get_system_io();
AddressSpace& address_space_memory();
AddressSpace& address_space_io();

// Address spaces in creation order. Call under a MemoryTransaction.
const std::vector<AddressSpace*>& address_spaces();

}  // namespace machina
