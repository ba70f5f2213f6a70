// Translation blocks of the software CPU: runs of decoded instructions from one guest page,
// going on past conditional jumps (left where one is taken), each with its fast-path handlers,
// keyed by the physical address of their first instruction, each with a copy of the bytes it was
// decoded from. A block is used only while memory still holds those bytes, so code that is
// modified (Linux patches its own text: alternatives, static keys, jump labels) or replaced (a
// new process at the same address) is always decoded afresh. The bytes are compared on entry
// whenever guest RAM may have been written where the CPU would not see it
// (system/ram-writes.h); the CPU's own stores into pages with code count as such writes.
//
// Blocks live in one arena; when it is full everything is dropped and decoding starts over (as
// QEMU's tb_flush). The index is direct-mapped: a newer block evicts an older one in its slot.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "target/i386/interp-fast.h"

namespace machina::tcg {

struct TranslationBlock {
  uint64_t paddr = 0;  // of the first instruction
  uint16_t nbytes = 0;
  uint16_t ninsn = 0;
  // ram_writes() when the bytes were last found in memory.
  mutable uint64_t checked_at = ~uint64_t{0};
  // The block that followed this one last time (kept by the execution loop), taken again for
  // the same RIP while the CPU's translations and privilege level are those it was found with;
  // its code page is at host address next_code_page.
  mutable const TranslationBlock* next = nullptr;
  mutable uint64_t next_rip = 0;
  mutable uint64_t next_generation = ~uint64_t{0};
  mutable const uint8_t* next_code_page = nullptr;
  mutable unsigned next_cpl = 0;
  // Followed in the arena by x86::FastInsn[ninsn + 1] (each decoded instruction with its
  // handler; the last entry ends the block), then the nbytes bytes.
  const x86::FastInsn* insns() const { return reinterpret_cast<const x86::FastInsn*>(this + 1); }
  const uint8_t* bytes() const { return reinterpret_cast<const uint8_t*>(insns() + ninsn + 1); }
};

class TbCache {
 public:
  static constexpr unsigned kMaxInsns = 64;
  static constexpr size_t kArenaBytes = size_t{32} << 20;

  TbCache();

  // The block for the code at physical address `paddr`, whose bytes are at `host` with `avail`
  // bytes to the end of the page: a cached one if memory still holds its bytes, else a newly
  // decoded one. nullptr when not even the first instruction decodes within the page (it crosses
  // into the next page, or is invalid): the caller then decodes that one instruction itself.
  // `writes` is ram_writes() read before the call: a cached block already checked at that count
  // is used as it is (*checked false); otherwise its bytes are compared (*checked true).
  const TranslationBlock* get(uint64_t paddr, const uint8_t* host, unsigned avail, uint64_t writes,
                              bool* checked);

  // Whether `tb`, a block of this cache whose code page is now at `host`, still matches memory:
  // as get() for a cached block.
  bool still_valid(const TranslationBlock* tb, const uint8_t* host, uint64_t writes,
                   bool* checked) const;

  void flush();
  uint64_t translations() const { return translations_; }
  uint64_t flushes() const { return flushes_; }

 private:
  static constexpr unsigned kIndexBits = 18;
  static unsigned slot(uint64_t paddr) {
    return unsigned((paddr ^ (paddr >> kIndexBits) ^ (paddr >> (2 * kIndexBits))) &
                    ((1u << kIndexBits) - 1));
  }
  const TranslationBlock* translate(uint64_t paddr, const uint8_t* host, unsigned avail);

  std::unique_ptr<uint64_t[]> arena_;  // 8-byte aligned storage
  size_t used_ = 0;                    // in bytes
  struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
  };
  // calloc'ed: the slots never used stay untouched zero pages.
  std::unique_ptr<const TranslationBlock*[], FreeDeleter> index_;
  uint64_t translations_ = 0, flushes_ = 0;
};

}  // namespace machina::tcg
