// Paging (SDM vol. 3, ch. 4.5: 4-level paging) and the software TLB.
#include "target/i386/mmu.h"

#include <cstring>

#include "system/memory_epoch.h"
#include "system/ram-writes.h"
#include "target/i386/msr.h"
#include "util/bql.h"

namespace machina::x86 {

namespace {

constexpr uint64_t kPteP = 1, kPteRW = 2, kPteUS = 4, kPteA = 1u << 5, kPteD = 1u << 6,
                   kPtePS = 1u << 7, kPteG = 1u << 8, kPteNX = 1ull << 63;
constexpr unsigned kPhysBits = 40;
constexpr uint64_t kAddrMask = ((uint64_t{1} << kPhysBits) - 1) & ~uint64_t{0xfff};
// Bits 51:MAXPHYADDR must be zero in every paging-structure entry.
constexpr uint64_t kRsvdHigh = ((uint64_t{1} << 52) - 1) & ~((uint64_t{1} << kPhysBits) - 1);

}  // namespace

X86Mmu::X86Mmu(CpuState& s, AddressSpace& mem, AddressSpace& io) : s_(s), mem_(mem), io_(io) {
  tlb = &tlb_;
  flush_tlb(true);
  dirty_client_.reset = [this](const uint8_t* host, uint64_t len) { drop_fast_writes(host, len); };
  dirty_log_add_tlb_client(&dirty_client_);
}

X86Mmu::~X86Mmu() {
  dirty_log_remove_tlb_client(&dirty_client_);
}

void X86Mmu::drop_fast_writes(const uint8_t* host, uint64_t len) {
  auto lo = reinterpret_cast<uintptr_t>(host);
  for (auto& bank : tlb_.e) {
    for (TlbEntry& e : bank) {
      if (e.fast_write == kNoTag) continue;
      auto p = reinterpret_cast<uintptr_t>(e.host);
      if (!host || (p + 4096 > lo && p - lo < len)) e.fast_write = kNoTag;
    }
  }
}

void X86Mmu::flush_tlb(bool include_global) {
  generation_++;
  if (include_global) large_entries_ = 0;
  for (auto& bank : tlb_.e)
    for (TlbEntry& e : bank)
      if (include_global || !e.global) e = TlbEntry{};
}

void X86Mmu::protect_code_page(uint64_t paddr) {
  CodePages& cp = code_pages();
  uint64_t pfn = paddr >> 12;
  if (pfn / 64 >= cp.bits.size()) cp.bits.resize(pfn / 64 + 1);
  cp.bits[pfn / 64] |= uint64_t{1} << (pfn % 64);
  cp.epoch++;
  code_epoch_seen_++;
  uint64_t page = paddr & ~uint64_t{0xfff};
  for (auto& bank : tlb_.e) {
    for (TlbEntry& e : bank) {
      if (e.paddr == page) e.fast_write = kNoTag;
    }
  }
}

void X86Mmu::sync_code_protection() {
  uint64_t epoch = code_pages().epoch;
  if (epoch == code_epoch_seen_) return;
  code_epoch_seen_ = epoch;
  for (auto& bank : tlb_.e) {
    for (TlbEntry& e : bank) {
      if (e.fast_write != kNoTag && is_code_page(e.paddr)) e.fast_write = kNoTag;
    }
  }
}

void X86Mmu::flush_page(uint64_t addr) {
  generation_++;
  uint64_t page = addr & ~uint64_t{0xfff};
  for (int u = 0; u < 2; u++) {
    TlbEntry& e = slot(page, u);
    if (e.tag_read == page || e.tag_write == page || e.tag_fetch == page) e = TlbEntry{};
  }
  if (large_entries_) {
    // The whole 2 MiB page goes, whichever of its 4 KiB parts are cached.
    const uint64_t large_mask = ~uint64_t{0x1fffff};
    for (auto& bank : tlb_.e)
      for (TlbEntry& e : bank)
        if (e.large && e.tag_read != kNoTag && (e.tag_read & large_mask) == (addr & large_mask))
          e = TlbEntry{};
  }
}

void X86Mmu::check_memory_map() {
  EpochGuard g;
  const void* v = mem_.view();
  map_stale_ = false;
  if (v != map_) {
    map_ = v;
    flush_tlb(true);
  }
}

void X86Mmu::page_fault(uint64_t addr, Access acc, bool user, bool present, bool rsvd) {
  uint32_t err = (present ? 1u : 0) | (acc == Access::Write ? 2u : 0) | (user ? 4u : 0) |
                 (rsvd ? 8u : 0) | (acc == Access::Fetch && (s_.efer & kEferNXE) ? 16u : 0);
  s_.cr2 = addr;
  s_.exc = {true, kExcPF, true, err};
}

bool X86Mmu::walk(uint64_t addr, Access acc, bool user, uint64_t* paddr, bool* writable,
                  bool* global, bool* user_ok, bool* exec_ok, bool* large) {
  *large = false;
  if (!(s_.cr0 & kCr0PG)) {
    *paddr = addr & ~uint64_t{0xfff};
    *writable = *user_ok = *exec_ok = true;
    *global = false;
    return true;
  }
  if (!s_.long_mode()) {
    // 32-bit and PAE paging outside long mode are not implemented: Linux enters in long mode.
    s_.exc = {true, kExcGP, true, 0};
    return false;
  }
  if (!is_canonical(addr)) {
    s_.exc = {true, kExcGP, true, 0};
    return false;
  }
  uint64_t rsvd_nx = (s_.efer & kEferNXE) ? 0 : kPteNX;
  uint64_t table = s_.cr3 & kAddrMask;
  bool rw = true, us = true, nx = false;
  uint64_t entry = 0;
  uint64_t page_mask = 0xfff;
  EpochGuard g;
  for (int level = 4; level >= 1; level--) {
    unsigned shift = 12 + 9 * (level - 1);
    uint64_t ea = table + ((addr >> shift) & 511) * 8;
    MemoryTranslation t = mem_.translate(ea, false);
    uint64_t* host = t.host && t.len >= 8 ? reinterpret_cast<uint64_t*>(t.host) : nullptr;
    if (host) {
      entry = __atomic_load_n(host, __ATOMIC_RELAXED);
    } else {
      entry = ~uint64_t{0};
      (void)mem_.read(ea, 8, &entry);
    }
    if (!(entry & kPteP)) {
      page_fault(addr, acc, user, false, false);
      return false;
    }
    bool leaf = level == 1 || (level == 2 && (entry & kPtePS));
    uint64_t rsvd = kRsvdHigh | rsvd_nx;
    if (level == 4 || level == 3) rsvd |= kPtePS;  // no 1 GiB pages (PDPE1GB not advertised)
    if (level == 2 && (entry & kPtePS)) rsvd |= 0x1fe000;  // bits 20:13 of a 2 MiB PDE
    if (entry & rsvd) {
      page_fault(addr, acc, user, true, true);
      return false;
    }
    rw = rw && (entry & kPteRW);
    us = us && (entry & kPteUS);
    nx = nx || ((entry & kPteNX) && (s_.efer & kEferNXE));
    if (!(entry & kPteA) && host) {
      __atomic_fetch_or(host, kPteA, __ATOMIC_RELAXED);
      ram_mark_dirty_host(host, 8);
    }
    if (leaf) {
      page_mask = (uint64_t{1} << shift) - 1;
      // Permission checks for this access.
      bool ok = true;
      if (user && !us) ok = false;
      if (acc == Access::Write && !rw && (user || (s_.cr0 & kCr0WP))) ok = false;
      if (acc == Access::Fetch && nx) ok = false;
      if (!ok) {
        page_fault(addr, acc, user, true, false);
        return false;
      }
      if (acc == Access::Write && !(entry & kPteD) && host) {
        __atomic_fetch_or(host, kPteD, __ATOMIC_RELAXED);
        ram_mark_dirty_host(host, 8);
      }
      uint64_t base = entry & kAddrMask & ~page_mask;
      *paddr = (base | (addr & page_mask)) & ~uint64_t{0xfff};
      // Writes through this entry are fast only once D is set.
      *writable =
          (user ? rw : (rw || !(s_.cr0 & kCr0WP))) && ((entry & kPteD) || acc == Access::Write);
      *global = (entry & kPteG) && (s_.cr4 & kCr4PGE);
      *user_ok = us;
      *exec_ok = !nx;
      *large = level == 2;
      return true;
    }
    table = entry & kAddrMask;
  }
  return false;  // not reached
}

TlbEntry* X86Mmu::fill(uint64_t addr, Access acc, bool user) {
  misses_++;
  uint64_t page = addr & ~uint64_t{0xfff};
  uint64_t paddr;
  bool writable, global, user_ok, exec_ok, large;
  if (!walk(addr, acc, user, &paddr, &writable, &global, &user_ok, &exec_ok, &large))
    return nullptr;
  TlbEntry& e = slot(page, user);
  if (e.paddr != paddr || (e.tag_read != page && e.tag_write != page && e.tag_fetch != page)) {
    e = TlbEntry{};
  }
  e.paddr = paddr;
  e.global = global;
  e.large = large;
  if (large) large_entries_++;
  bool logged_clean = false;  // logging is on and the page is not marked yet
  {
    EpochGuard g;
    MemoryTranslation t = mem_.translate(paddr, false);
    e.host = t.host && t.len >= 4096 ? t.host : nullptr;
    e.host_writable = e.host && !t.readonly;
    if (e.host_writable && memory_global_dirty_log_active()) {
      logged_clean = !memory_region_get_dirty(*t.mr, t.offset_in_region, 1) ||
                     !memory_region_get_dirty(*t.mr, t.offset_in_region + 4095, 1);
    }
  }
  e.tag_read = page;  // a walk that succeeded for any access allows reads in this mode
  e.tag_write = writable ? page : kNoTag;
  e.tag_fetch = exec_ok ? page : kNoTag;
  e.fast_read = e.host ? page : kNoTag;
  e.fast_write = e.host && e.host_writable && writable && !is_code_page(paddr) && !logged_clean
                     ? page
                     : kNoTag;
  (void)user_ok;  // a successful walk in user mode already required U/S at every level
  return &e;
}

bool X86Mmu::access_page(TlbEntry& e, uint64_t addr, void* buf, unsigned len, Access acc) {
  uint64_t off = addr & 0xfff;
  if (e.host && (acc != Access::Write || e.host_writable)) {
    if (acc == Access::Write) {
      if (e.host == s_.code_page_host) s_.code_written = true;
      if (e.fast_write == kNoTag) slow_ram_store(e);
      std::memcpy(e.host + off, buf, len);
    } else {
      std::memcpy(buf, e.host + off, len);
    }
    return true;
  }
  uint64_t pa = e.paddr | off;
  BqlGuard bql;
  if (acc == Access::Write) {
    (void)mem_.write_buf(pa, buf, len);  // writes to ROM are ignored
  } else {
    std::memset(buf, 0xff, len);
    (void)mem_.read_buf(pa, buf, len);
  }
  after_device_access();
  return true;
}

void X86Mmu::slow_ram_store(TlbEntry& e) {
  if (is_code_page(e.paddr)) {
    note_ram_write();
    uint64_t pfn = e.paddr >> 12;
    code_pages().bits[pfn / 64] &= ~(uint64_t{1} << (pfn % 64));
  }
  ram_mark_dirty_host(e.host, 4096);
  e.fast_write = e.tag_write;
}

bool X86Mmu::access(uint64_t addr, void* buf, unsigned len, Access acc, bool user) {
  uint64_t off = addr & 0xfff;
  if (off + len <= 4096) {
    TlbEntry* e = lookup(addr, acc, user);
    return e && access_page(*e, addr, buf, len, acc);
  }
  // Crossing a page boundary: both pages must be accessible before either is touched.
  unsigned first = static_cast<unsigned>(4096 - off);
  TlbEntry* a = lookup(addr, acc, user);
  if (!a) return false;
  TlbEntry ca = *a;  // the second lookup may evict the first entry
  TlbEntry* b = lookup(addr + first, acc, user);
  if (!b) return false;
  uint8_t* p = static_cast<uint8_t*>(buf);
  return access_page(ca, addr, p, first, acc) &&
         access_page(*b, addr + first, p + first, len - first, acc);
}

const uint8_t* X86Mmu::fetch_host(uint64_t addr, unsigned* avail, uint64_t* paddr) {
  TlbEntry* e = lookup(addr, Access::Fetch, s_.cpl == 3);
  if (!e) {
    *avail = 0;
    return nullptr;
  }
  uint64_t off = addr & 0xfff;
  *paddr = e->paddr | off;
  *avail = static_cast<unsigned>(4096 - off);
  return e->host ? e->host + off : nullptr;
}

bool X86Mmu::debug_translate(uint64_t addr, uint64_t* paddr) {
  if (!(s_.cr0 & kCr0PG)) {
    *paddr = addr;
    return true;
  }
  if (!s_.long_mode() || !is_canonical(addr)) return false;
  uint64_t table = s_.cr3 & kAddrMask;
  EpochGuard g;
  for (int level = 4; level >= 1; level--) {
    unsigned shift = 12 + 9 * (level - 1);
    uint64_t entry = 0;
    if (mem_.read(table + ((addr >> shift) & 511) * 8, 8, &entry) != MemTxResult::Ok) return false;
    if (!(entry & kPteP)) return false;
    if (level == 1 || (level == 2 && (entry & kPtePS))) {
      uint64_t mask = (uint64_t{1} << shift) - 1;
      *paddr = (entry & kAddrMask & ~mask) | (addr & mask);
      return true;
    }
    table = entry & kAddrMask;
  }
  return false;
}

void X86Mmu::io_read(uint16_t port, unsigned size, uint32_t* value) {
  uint64_t v = ~uint64_t{0};
  {
    BqlGuard bql;
    (void)io_.read(port, size, &v);
  }
  *value = static_cast<uint32_t>(v);
  after_device_access();
}

void X86Mmu::io_write(uint16_t port, unsigned size, uint32_t value) {
  BqlGuard bql;
  (void)io_.write(port, size, value);
  after_device_access();
}

}  // namespace machina::x86
