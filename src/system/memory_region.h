// MemoryRegion: a node of the guest memory map, as QEMU's memory API. Leaves are RAM, ROM and
// I/O (callback) regions; containers hold subregions at offsets with priorities; aliases are
// windows into another region. Address spaces render a tree into a flat view (see flatview.h).
//
// Threading: the tree is changed under the memory topology lock (taken by every mutator, and
// held across a MemoryTransaction); guest accesses never take it (see address_space.h).
//
// Lifetime: a region normally lives inside its owner (the device that created it). While a
// published flat view maps a region, the view holds a reference on the owner, so the owner (and
// the region) outlive every access in flight. A region without owner must outlive the views that
// map it: its destructor unmaps it and waits for them to be freed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "qapi/error.h"

namespace machina {

class Object;
class EventNotifier;
struct RamDirty;

// A write the guest makes to an I/O region that only signals an eventfd (QEMU's
// memory_region_add_eventfd): at `addr` (offset in the region), of `size` bytes (0: any size),
// with `data` (when `match_data`). An accelerator that can catch such writes itself (KVM's
// ioeventfd) learns of them through MemoryListener::eventfd_add; any write that still reaches
// machina's dispatch is turned into set() on the notifier instead of a call to the region's ops,
// so the device sees a kick the same way whoever caught it.
struct MemoryRegionIoeventfd {
  uint64_t addr = 0;
  unsigned size = 0;
  bool match_data = false;
  uint64_t data = 0;
  std::shared_ptr<EventNotifier> notifier;

  bool same(uint64_t a, unsigned sz, bool m, uint64_t d, const EventNotifier* e) const {
    return addr == a && size == sz && match_data == m && (!m || data == d) && notifier.get() == e;
  }
};

// Result of a bus transaction; flags combine as QEMU's MemTxResult.
enum class MemTxResult : uint32_t {
  Ok = 0,
  Error = 1u << 0,        // the device reported an error
  DecodeError = 1u << 1,  // nothing (valid) decodes the address/size
};
inline constexpr MemTxResult operator|(MemTxResult a, MemTxResult b) {
  return static_cast<MemTxResult>(static_cast<uint32_t>(a) | static_cast<uint32_t>(b));
}
inline MemTxResult& operator|=(MemTxResult& a, MemTxResult b) {
  return a = a | b;
}

// Callbacks and access rules of an I/O region. Devices are little-endian.
struct MemoryRegionOps {
  // `addr` is the offset in the region; `size` is 1, 2, 4 or 8.
  std::function<uint64_t(uint64_t addr, unsigned size)> read;
  std::function<void(uint64_t addr, uint64_t data, unsigned size)> write;

  // What the guest may do. max_access_size == 0 means every size is valid (QEMU's rule); an
  // invalid access reads all-ones and is ignored on write, with MemTxResult::DecodeError.
  struct Valid {
    unsigned min_access_size = 0;  // 0: 1
    unsigned max_access_size = 0;  // 0: any (and 4 for splitting buffer accesses)
    bool unaligned = false;
    std::function<bool(uint64_t addr, unsigned size, bool is_write)> accepts;  // optional
  } valid;

  // What the callbacks implement; other sizes are split or widened (QEMU's
  // access_with_adjusted_size). 0 means 1 for min and 4 for max.
  struct Impl {
    unsigned min_access_size = 0;
    unsigned max_access_size = 0;
  } impl;
};

enum class RamBacking { Anonymous, Memfd };

class MemoryRegion {
 public:
  enum class Kind : uint8_t { None, Container, Ram, Io, Alias };

  MemoryRegion() = default;
  ~MemoryRegion();
  MemoryRegion(const MemoryRegion&) = delete;
  MemoryRegion& operator=(const MemoryRegion&) = delete;

  // --- initialisation. `size` UINT64_MAX means the whole 2^64 space (as QEMU). `owner` may be
  // null. Re-initialising a region that is mapped or still in a view aborts (a programming error).
  void init_container(Object* owner, std::string name, uint64_t size);
  // Guest RAM backed by host memory (anonymous mmap or a memfd).
  Status init_ram(Object* owner, std::string name, uint64_t size,
                  RamBacking backing = RamBacking::Anonymous);
  // RAM over memory the caller provides and keeps alive longer than the region.
  void init_ram_ptr(Object* owner, std::string name, uint64_t size, void* host);
  // ROM: read-only to the guest; machina writes it through host_ptr().
  Status init_rom(Object* owner, std::string name, uint64_t size);
  void init_io(Object* owner, std::string name, MemoryRegionOps ops, uint64_t size);
  // A window of `size` bytes into `target` starting at `offset`. If `target` has an owner other
  // than this region's, the alias holds a reference on it.
  void init_alias(Object* owner, std::string name, MemoryRegion* target, uint64_t offset,
                  uint64_t size);

  // --- tree. Among overlapping subregions the higher priority wins; among equal priorities the
  // one added last wins (as QEMU).
  Status add_subregion(uint64_t offset, MemoryRegion* sub, int priority = 0);
  Status del_subregion(MemoryRegion* sub);

  void set_enabled(bool enabled);
  // Moves the region inside its container (re-added: it becomes the newest of its priority).
  void set_address(uint64_t addr);
  void set_size(uint64_t size);
  void set_alias_offset(uint64_t offset);
  void set_readonly(bool readonly);

  // --- ioeventfds (see MemoryRegionIoeventfd): I/O regions only. The address spaces that map
  // the region re-render and tell their listeners. Adding the same one twice adds it once.
  void add_eventfd(uint64_t addr, unsigned size, bool match_data, uint64_t data,
                   std::shared_ptr<EventNotifier> notifier);
  void del_eventfd(uint64_t addr, unsigned size, bool match_data, uint64_t data,
                   const EventNotifier* notifier);
  // Call under a MemoryTransaction.
  const std::vector<MemoryRegionIoeventfd>& ioeventfds() const { return ioeventfds_; }

  // --- properties
  const std::string& name() const { return name_; }
  Object* owner() const { return owner_; }
  Kind kind() const { return kind_; }
  bool is_ram() const { return kind_ == Kind::Ram; }               // RAM or ROM
  bool is_rom() const { return kind_ == Kind::Ram && readonly_; }  // QEMU: RAM + readonly
  bool is_io() const { return kind_ == Kind::Io; }
  bool is_alias() const { return kind_ == Kind::Alias; }
  bool is_container() const { return kind_ == Kind::Container; }
  // Leaves: RAM, ROM and I/O regions (containers and aliases render their content).
  bool terminates() const { return kind_ == Kind::Ram || kind_ == Kind::Io; }
  uint64_t size() const;  // UINT64_MAX for 2^64
  unsigned __int128 size128() const { return size_; }
  uint64_t addr() const { return addr_; }
  int priority() const { return priority_; }
  bool enabled() const { return enabled_; }
  bool readonly() const { return readonly_; }
  MemoryRegion* container() const { return container_; }
  MemoryRegion* alias_target() const { return alias_; }
  uint64_t alias_offset() const { return alias_offset_; }
  // Host memory of a RAM/ROM region (nullptr otherwise); writable by machina even for ROM.
  uint8_t* host_ptr() const { return host_; }
  int ram_fd() const { return fd_; }  // memfd of a Memfd-backed RAM region, else -1
  // The dirty bitmap of a RAM/ROM region (dirty_log.h; nullptr otherwise).
  RamDirty* ram_dirty() const { return ram_dirty_; }
  const MemoryRegionOps& ops() const { return ops_; }
  // Subregions, highest priority (then newest) first. Call under a MemoryTransaction.
  const std::vector<MemoryRegion*>& subregions() const { return subregions_; }
  // QEMU's type word for `info mtree`: "ram", "rom" or "i/o" (aliases: their target's).
  const char* type_word() const;

  // Number of live flat views mapping this region (for lifetime checks and tests).
  uint32_t view_refs() const { return view_refs_.load(std::memory_order_acquire); }

 private:
  friend class FlatView;

  void reset_for_init(Object* owner, std::string name, uint64_t size, Kind kind);
  void release_resources();
  bool contains_in_tree(const MemoryRegion* other) const;
  void insert_sorted(MemoryRegion* sub);

  std::string name_;
  Object* owner_ = nullptr;
  Kind kind_ = Kind::None;
  unsigned __int128 size_ = 0;
  uint64_t addr_ = 0;
  int priority_ = 0;
  bool enabled_ = true;
  bool readonly_ = false;

  MemoryRegion* container_ = nullptr;
  std::vector<MemoryRegion*> subregions_;

  MemoryRegion* alias_ = nullptr;
  uint64_t alias_offset_ = 0;
  Object* alias_owner_ref_ = nullptr;  // reference held on the alias target's owner

  uint8_t* host_ = nullptr;
  size_t mapped_len_ = 0;  // > 0 when host_ is our own mapping
  int fd_ = -1;
  RamDirty* ram_dirty_ = nullptr;

  MemoryRegionOps ops_;
  std::vector<MemoryRegionIoeventfd> ioeventfds_;

  std::atomic<uint32_t> view_refs_{0};
};

// --- transactions: changes inside a transaction are rendered once, at the outermost commit.
// A transaction holds the (recursive) memory topology lock from begin to commit.
void memory_region_transaction_begin();
void memory_region_transaction_commit();

class MemoryTransaction {
 public:
  MemoryTransaction() { memory_region_transaction_begin(); }
  ~MemoryTransaction() { memory_region_transaction_commit(); }
  MemoryTransaction(const MemoryTransaction&) = delete;
  MemoryTransaction& operator=(const MemoryTransaction&) = delete;
};

// Marks the topology as changed: the current transaction's commit re-renders the views.
// Call inside a transaction.
void memory_topology_changed();

}  // namespace machina
