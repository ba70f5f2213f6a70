// x86-64 CPU architectural state shared by the interpreter (and later KVM): registers, lazy flags,
// control registers, and the memory-access interface the CPU uses.
#pragma once

#include <cstdint>
#include <cstring>

#include "target/i386/decode.h"
#include "target/i386/fpu-state.h"
#include "target/i386/topology.h"

namespace machina::x86 {

enum Gpr : uint8_t { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

// RFLAGS bits.
inline constexpr uint64_t kCF = 1u << 0;
inline constexpr uint64_t kPF = 1u << 2;
inline constexpr uint64_t kAF = 1u << 4;
inline constexpr uint64_t kZF = 1u << 6;
inline constexpr uint64_t kSF = 1u << 7;
inline constexpr uint64_t kDF = 1u << 10;
inline constexpr uint64_t kOF = 1u << 11;
inline constexpr uint64_t kTF = 1u << 8;
inline constexpr uint64_t kIF = 1u << 9;
inline constexpr uint64_t kIOPL = 3u << 12;
inline constexpr uint64_t kNT = 1u << 14;
inline constexpr uint64_t kRF = 1u << 16;
inline constexpr uint64_t kVM = 1u << 17;
inline constexpr uint64_t kAC = 1u << 18;
inline constexpr uint64_t kVIF = 1u << 19;
inline constexpr uint64_t kVIP = 1u << 20;
inline constexpr uint64_t kID = 1u << 21;
inline constexpr uint64_t kArithFlags = kCF | kPF | kAF | kZF | kSF | kOF;

// Control register and EFER bits.
inline constexpr uint64_t kCr0PE = 1u << 0, kCr0MP = 1u << 1, kCr0EM = 1u << 2, kCr0TS = 1u << 3,
                          kCr0ET = 1u << 4, kCr0NE = 1u << 5, kCr0WP = 1u << 16, kCr0AM = 1u << 18,
                          kCr0NW = 1u << 29, kCr0CD = 1u << 30, kCr0PG = 1u << 31;
inline constexpr uint64_t kCr4PSE = 1u << 4, kCr4PAE = 1u << 5, kCr4PGE = 1u << 7,
                          kCr4OSFXSR = 1u << 9, kCr4OSXMMEXCPT = 1u << 10;
inline constexpr uint64_t kEferSCE = 1u << 0, kEferLME = 1u << 8, kEferLMA = 1u << 10,
                          kEferNXE = 1u << 11;

// Exception vectors.
enum Exception : uint8_t {
  kExcDE = 0,
  kExcDB = 1,
  kExcNMI = 2,
  kExcBP = 3,
  kExcOF = 4,
  kExcBR = 5,
  kExcUD = 6,
  kExcNM = 7,
  kExcDF = 8,
  kExcTS = 10,
  kExcNP = 11,
  kExcSS = 12,
  kExcGP = 13,
  kExcPF = 14,
  kExcMF = 16,
  kExcAC = 17,
  kExcMC = 18,
  kExcXM = 19,
};

// Segment registers (the order of the ModRM.reg encoding of MOV Sreg).
enum SegReg : uint8_t { ES, CS, SS, DS, FS, GS };

// A segment register: the visible selector and the hidden descriptor cache.
struct SegmentCache {
  uint16_t selector = 0;
  uint64_t base = 0;
  uint32_t limit = 0xffff;
  // Descriptor attribute bits 8..23 of the descriptor's high dword, in place: type (8-11),
  // S (12), DPL (13-14), P (15), AVL (20), L (21), D/B (22), G (23).
  uint32_t flags = 0;
  unsigned dpl() const { return (flags >> 13) & 3; }
  bool present() const { return flags & (1u << 15); }
};
inline constexpr uint32_t kDescP = 1u << 15, kDescS = 1u << 12, kDescL = 1u << 21,
                          kDescDB = 1u << 22, kDescG = 1u << 23;

struct DescriptorTable {
  uint64_t base = 0;
  uint32_t limit = 0xffff;
};

// An exception raised by an instruction or a memory access, waiting to be delivered.
struct PendingException {
  bool pending = false;
  uint8_t vector = 0;
  bool has_error_code = false;
  uint32_t error_code = 0;
};

// The kind of the last flag-setting operation; flags are computed from it on demand.
enum class CcOp : uint8_t {
  Flags,   // aux holds the arithmetic flags already computed
  Logic,   // AND/OR/XOR/TEST: CF=OF=AF=0
  Add,     // a + b (+ aux carry-in)
  Sub,     // a - b (- aux borrow-in)
  Inc,     // a + 1, aux holds the preserved CF
  Dec,     // a - 1, aux holds the preserved CF
  Result,  // ZF, SF and PF from res; CF, OF and AF as computed, in aux (shifts, multiplies)
};

struct LazyFlags {
  CcOp op = CcOp::Flags;
  uint8_t size = 8;  // operand size in bytes
  uint64_t a = 0, b = 0, res = 0, aux = 0;
};

class LocalInterruptController;
struct X86CpuModel;

// A software TLB entry: one 4 KiB linear page in one privilege mode (user or supervisor).
// tag_* hold the page when that access is permitted (kNoTag otherwise); fast_* additionally
// require the page to be RAM (host != nullptr), so the interpreter can access it inline.
struct TlbEntry {
  static constexpr uint64_t kNoTag = ~uint64_t{0};
  uint64_t fast_read = kNoTag, fast_write = kNoTag;
  uint8_t* host = nullptr;  // host address of the page if RAM
  uint64_t tag_read = kNoTag, tag_write = kNoTag, tag_fetch = kNoTag;
  uint64_t paddr = 0;  // physical page
  bool host_writable = false;
  bool global = false;
  bool large = false;  // part of a 2 MiB page (INVLPG anywhere in it drops it)
};

struct CpuTlb {
  static constexpr unsigned kBits = 8;
  static constexpr unsigned kSize = 1u << kBits;
  TlbEntry e[2][kSize];  // [user][index]
  TlbEntry& slot(uint64_t page, bool user) { return e[user][(page >> 12) & (kSize - 1)]; }
};

// Guest memory and I/O as seen by the CPU. Addresses are linear (after segmentation); the
// system implementation (target/i386/mmu.h) translates them through the page tables and its
// TLB, and on a fault records the exception (#PF with CR2) in the CpuState before returning
// false. Implementations that record nothing make the instruction end with MemoryFault.
struct CpuMemory {
  virtual ~CpuMemory() = default;
  // The implementation's TLB, for the interpreter's inline fast path (nullptr: none).
  CpuTlb* tlb = nullptr;
  // Data accesses with the current privilege level's permissions.
  virtual bool read(uint64_t addr, void* buf, unsigned len) = 0;
  virtual bool write(uint64_t addr, const void* buf, unsigned len) = 0;
  // Instruction fetch (execute permission).
  virtual bool fetch(uint64_t addr, void* buf, unsigned len) { return read(addr, buf, len); }
  // Implicit supervisor-mode accesses: descriptor tables, the TSS, the IDT.
  virtual bool read_system(uint64_t addr, void* buf, unsigned len) { return read(addr, buf, len); }
  virtual bool write_system(uint64_t addr, const void* buf, unsigned len) {
    return write(addr, buf, len);
  }
  // Port I/O (size 1, 2 or 4). Without devices, reads float high and writes are dropped.
  virtual void io_read(uint16_t port, unsigned size, uint32_t* value) {
    (void)port;
    *value = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
  }
  virtual void io_write(uint16_t port, unsigned size, uint32_t value) {
    (void)port, (void)size, (void)value;
  }
  // Translation caches: everything (CR3 load without PGE: global = false keeps global pages),
  // or one page (INVLPG).
  virtual void flush_tlb(bool include_global) { (void)include_global; }
  virtual void flush_page(uint64_t addr) { (void)addr; }
};

// A flat buffer mapped at guest address `base` (for tests and simple setups).
class FlatMemory : public CpuMemory {
 public:
  FlatMemory(uint8_t* data, uint64_t size, uint64_t base = 0)
      : data_(data), size_(size), base_(base) {}
  bool read(uint64_t addr, void* buf, unsigned len) override {
    if (!in_range(addr, len)) return false;
    std::memcpy(buf, data_ + (addr - base_), len);
    return true;
  }
  bool write(uint64_t addr, const void* buf, unsigned len) override {
    if (!in_range(addr, len)) return false;
    std::memcpy(data_ + (addr - base_), buf, len);
    return true;
  }

 private:
  bool in_range(uint64_t addr, unsigned len) const {
    return addr >= base_ && addr - base_ <= size_ && len <= size_ - (addr - base_);
  }
  uint8_t* data_;
  uint64_t size_;
  uint64_t base_;
};

struct CpuState {
  uint64_t regs[16] = {};
  uint64_t rip = 0;
  uint64_t flags_other = 0x2;  // RFLAGS bits other than the arithmetic ones (bit 1 always set)
  LazyFlags cc;
  // FS and GS bases (the hidden base of seg[FS] and seg[GS] in 64-bit mode).
  uint64_t fs_base = 0, gs_base = 0;
  uint64_t cr0 = 0x60000010, cr2 = 0, cr3 = 0, cr4 = 0, efer = 0;
  SegmentCache seg[6];
  SegmentCache ldtr, tr;
  DescriptorTable gdtr, idtr;
  uint64_t dr[8] = {0, 0, 0, 0, 0, 0, 0xffff0ff0, 0x400};
  unsigned cpl = 0;
  // System MSRs.
  uint64_t kernel_gs_base = 0, star = 0, lstar = 0, cstar = 0, sfmask = 0;
  uint64_t sysenter_cs = 0, sysenter_esp = 0, sysenter_eip = 0;
  uint64_t pat = 0x0007040600070406ull, misc_enable = 1, tsc_aux = 0;
  uint64_t mtrr_def_type = 0, mtrr_fixed[11] = {}, mtrr_var[16] = {};
  int64_t tsc_offset = 0;
  FpuState fpu;
  PendingException exc;
  // An interrupt shadow (after STI, MOV SS, POP SS) covers the next instruction.
  bool irq_shadow = false;
  bool halted = false;
  // An application processor after power-on or INIT: it runs nothing until a start-up IPI.
  bool wait_sipi = false;
  // PAUSE ran: the guest spins waiting for something, maybe another vCPU (accel/tcg/tcg-turn.h).
  bool spin_hint = false;
  // NMIs are blocked from the delivery of one until the next IRET.
  bool nmi_blocked = false;
  // Stores into guest RAM at host page `code_page_host` (the page the execution loop is running
  // decoded instructions from) set `code_written`, so that the loop decodes again from memory.
  bool code_written = false;
  const uint8_t* code_page_host = nullptr;
  // Why a run of fast-path handlers (interp-fast.h) stopped; rounds a block may still go round
  // itself, and the instructions of the rounds gone round.
  uint8_t fast_exit = 0;
  uint32_t fast_rounds_left = 0;
  uint64_t fast_loop_insns = 0;
  // The local APIC (CR8, IA32_APIC_BASE, interrupt acknowledge); nullptr: none.
  LocalInterruptController* lapic = nullptr;
  // Time base for RDTSC (nanoseconds of the virtual clock); nullptr: a counter in the state.
  uint64_t (*clock_ns)() = nullptr;
  uint64_t fake_tsc = 0;
  uint32_t apic_id = 0;
  X86CpuTopology topo;  // the package this CPU sits in, for CPUID
  // What CPUID reports; nullptr: the default model (qemu64).
  const X86CpuModel* model = nullptr;

  bool long_mode() const { return efer & kEferLMA; }

  // The six arithmetic flags computed from the lazy state.
  uint64_t arith_flags() const;
  uint64_t rflags() const { return flags_other | arith_flags(); }
  void set_rflags(uint64_t v);
  // Replaces the arithmetic flags in `mask` with those of `v`.
  void set_arith_flags(uint64_t v, uint64_t mask);
  // CF alone, without computing the other flags where the lazy state allows.
  bool cf() const {
    const LazyFlags& c = cc;
    uint64_t m = c.size == 8 ? ~0ull : (1ull << (c.size * 8)) - 1;
    switch (c.op) {
      case CcOp::Logic:
        return false;
      case CcOp::Flags:
      case CcOp::Result:
        return c.aux & kCF;
      case CcOp::Add:
        return c.aux ? (c.res & m) <= (c.a & m) : (c.res & m) < (c.a & m);
      case CcOp::Sub:
        return c.aux ? (c.a & m) <= (c.b & m) : (c.a & m) < (c.b & m);
      default:
        return arith_flags() & kCF;
    }
  }
  // Records the last flag-setting operation.
  void set_cc(CcOp op, unsigned size, uint64_t a, uint64_t b, uint64_t r, uint64_t aux_value) {
    cc.op = op;
    cc.size = static_cast<uint8_t>(size);
    cc.a = a;
    cc.b = b;
    cc.res = r;
    cc.aux = aux_value;
  }
};

// The code segment's mode: 64-bit (long mode with CS.L), else CS.D's 32 or 16 bits.
inline CodeMode code_mode(const CpuState& s) {
  if (s.long_mode() && (s.seg[CS].flags & kDescL)) return CodeMode::k64;
  return (s.seg[CS].flags & kDescDB) ? CodeMode::k32 : CodeMode::k16;
}

// Puts a bare CpuState into 64-bit mode at CPL 0 with a flat 64-bit code segment (for tests and
// tools that run 64-bit code on a CpuState of their own; a CPU device gets the full 64-bit entry
// state from X86Cpu::enter_long_mode).
inline void enter_64bit_mode(CpuState& s) {
  s.cr0 |= kCr0PE;
  s.efer |= kEferLME | kEferLMA;
  s.seg[CS].flags = kDescP | kDescS | kDescL | (0xbu << 8);
}

// Whether condition `cc` (the low nibble of Jcc/SETcc/CMOVcc) holds for arithmetic flags `f`.
bool condition_holds(uint64_t f, unsigned cc);

}  // namespace machina::x86
