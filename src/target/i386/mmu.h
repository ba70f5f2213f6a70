// The software CPU's view of memory: 4-level paging (long mode) with a software TLB over the
// memory API. Guest RAM is reached through host pointers cached in the TLB; everything else
// (MMIO, port I/O) is dispatched to devices under the big lock.
#pragma once

#include <cstdint>
#include <vector>

#include "system/dirty_log.h"
#include "system/memory.h"
#include "target/i386/cpu.h"

namespace machina::x86 {

enum class Access : uint8_t { Read, Write, Fetch };

class X86Mmu final : public CpuMemory {
 public:
  X86Mmu(CpuState& s, AddressSpace& mem, AddressSpace& io);
  ~X86Mmu() override;
  X86Mmu(const X86Mmu&) = delete;
  X86Mmu& operator=(const X86Mmu&) = delete;

  bool read(uint64_t addr, void* buf, unsigned len) override {
    return access(addr, buf, len, Access::Read, s_.cpl == 3);
  }
  bool write(uint64_t addr, const void* buf, unsigned len) override {
    return access(addr, const_cast<void*>(buf), len, Access::Write, s_.cpl == 3);
  }
  bool fetch(uint64_t addr, void* buf, unsigned len) override {
    return access(addr, buf, len, Access::Fetch, s_.cpl == 3);
  }
  bool read_system(uint64_t addr, void* buf, unsigned len) override {
    return access(addr, buf, len, Access::Read, false);
  }
  bool write_system(uint64_t addr, const void* buf, unsigned len) override {
    return access(addr, const_cast<void*>(buf), len, Access::Write, false);
  }
  void io_read(uint16_t port, unsigned size, uint32_t* value) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;
  void flush_tlb(bool include_global) override;
  void flush_page(uint64_t addr) override;

  // Instruction fetch fast path: the host address of `addr` if its page is RAM the CPU may
  // execute, with the bytes to the end of the page in *avail and the physical address in
  // *paddr; nullptr if the page is not RAM (the caller then uses fetch()), or on a fault (with
  // s.exc set; *avail is 0 then).
  const uint8_t* fetch_host(uint64_t addr, unsigned* avail, uint64_t* paddr);

  // Flushes the TLB if the physical memory map changed since the last call (a BAR moved, RAM
  // was added). Called by the execution loop between slices, and between blocks when
  // map_stale() says a device access of this CPU changed the map.
  void check_memory_map();
  bool map_stale() const { return map_stale_; }

  // Linear to physical translation for debuggers and tests (no A/D updates, no faults).
  bool debug_translate(uint64_t addr, uint64_t* paddr);

  // Pages holding code a CPU runs decoded (TbCache): stores to them never take the TLB fast
  // path. The first store into one counts as a RAM write the decoded code must be checked
  // against (note_ram_write()) and lifts the protection until the code is checked again.
  // The set is shared by every CPU, since any CPU's store may change code another one runs: a
  // CPU that protects a page bumps an epoch, and the others drop their fast stores to protected
  // pages (sync_code_protection()) before they run again. The software CPU runs one vCPU at a
  // time (accel/tcg/tcg-turn.h), so that is before any store of theirs.
  void protect_code_page(uint64_t paddr);
  bool is_code_page(uint64_t paddr) const {
    uint64_t pfn = paddr >> 12;
    const std::vector<uint64_t>& bits = code_pages().bits;
    return pfn / 64 < bits.size() && (bits[pfn / 64] >> (pfn % 64)) & 1;
  }
  void sync_code_protection();

  // Dirty-page logging (system/dirty_log.h): while it is on, a store reaches a RAM page through
  // the fast path only once the page is marked dirty. The first store after the page's bit was
  // cleared takes the slow path, which marks the page and lets the next stores through.
  // Drops the fast stores into host memory [host, host + len) (all if host is null); called
  // while this CPU runs no guest code.
  void drop_fast_writes(const uint8_t* host, uint64_t len);

  uint64_t tlb_misses() const { return misses_; }
  // Changes whenever cached translations are dropped (flushes, INVLPG, memory map changes):
  // users that keep a translation of their own revalidate when it moves.
  uint64_t generation() const { return generation_; }

 private:
  static constexpr uint64_t kNoTag = TlbEntry::kNoTag;

  TlbEntry& slot(uint64_t page, bool user) { return tlb_.slot(page, user); }
  static uint64_t tag_of(const TlbEntry& e, Access acc) {
    return acc == Access::Read ? e.tag_read : acc == Access::Write ? e.tag_write : e.tag_fetch;
  }
  // The entry for `addr` permitting `acc`, walking the page tables on a miss; nullptr on a
  // fault (s.exc and CR2 set).
  TlbEntry* lookup(uint64_t addr, Access acc, bool user) {
    uint64_t page = addr & ~uint64_t{0xfff};
    TlbEntry& e = slot(page, user);
    if (tag_of(e, acc) == page) return &e;
    return fill(addr, acc, user);
  }
  TlbEntry* fill(uint64_t addr, Access acc, bool user);
  bool access(uint64_t addr, void* buf, unsigned len, Access acc, bool user);
  bool access_page(TlbEntry& e, uint64_t addr, void* buf, unsigned len, Access acc);
  // A store into a RAM page whose entry does not allow fast stores (a code page, or a page not
  // marked dirty while logging is on): does what the fast path skips and allows them.
  void slow_ram_store(TlbEntry& e);
  // Page walk: the physical address and the permissions; false on a fault (s.exc set).
  bool walk(uint64_t addr, Access acc, bool user, uint64_t* paddr, bool* writable, bool* global,
            bool* user_ok, bool* exec_ok, bool* large);
  void page_fault(uint64_t addr, Access acc, bool user, bool present, bool rsvd);
  // After an access to a device (MMIO, port I/O): if it changed the memory map (the guest moved
  // a BAR), the cached translations must go before the next instruction; the current block ends
  // (code_written) so that the execution loop calls check_memory_map().
  void after_device_access() {
    if (mem_.view() != map_) {
      map_stale_ = true;
      s_.code_written = true;
    }
  }

  CpuState& s_;
  DirtyTlbClient dirty_client_;
  AddressSpace& mem_;
  AddressSpace& io_;
  CpuTlb tlb_;
  struct CodePages {
    std::vector<uint64_t> bits;  // by page frame number
    uint64_t epoch = 0;          // counts protect_code_page() calls
  };
  static CodePages& code_pages() {
    static CodePages* pages = new CodePages;  // lives as long as the process
    return *pages;
  }
  uint64_t code_epoch_seen_ = 0;
  const void* map_ = nullptr;
  bool map_stale_ = false;
  uint64_t misses_ = 0;
  uint64_t generation_ = 0;
  unsigned large_entries_ = 0;  // entries filled from 2 MiB pages since the last full flush
};

}  // namespace machina::x86
