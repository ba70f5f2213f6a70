// x86-64 CPU architectural state shared by the interpreter (and later KVM): registers, lazy flags,
// control registers, and the memory-access interface the CPU uses.
#pragma once

#include <cstdint>
#include <cstring>

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
inline constexpr uint64_t kArithFlags = kCF | kPF | kAF | kZF | kSF | kOF;

// The kind of the last flag-setting operation; flags are computed from it on demand.
enum class CcOp : uint8_t {
  Flags,  // aux holds the arithmetic flags already computed
  Logic,  // AND/OR/XOR/TEST: CF=OF=AF=0
  Add,    // a + b (+ aux carry-in)
  Sub,    // a - b (- aux borrow-in)
  Inc,    // a + 1, aux holds the preserved CF
  Dec,    // a - 1, aux holds the preserved CF
};

struct LazyFlags {
  CcOp op = CcOp::Flags;
  uint8_t size = 8;  // operand size in bytes
  uint64_t a = 0, b = 0, res = 0, aux = 0;
};

// Guest memory as seen by the CPU (linear addresses). The memory API / TLB implements this later.
struct CpuMemory {
  virtual ~CpuMemory() = default;
  virtual bool read(uint64_t addr, void* buf, unsigned len) = 0;
  virtual bool write(uint64_t addr, const void* buf, unsigned len) = 0;
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
  uint64_t fs_base = 0, gs_base = 0;
  uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, efer = 0;

  // The six arithmetic flags computed from the lazy state.
  uint64_t arith_flags() const;
  uint64_t rflags() const { return flags_other | arith_flags(); }
  void set_rflags(uint64_t v);
  // Replaces the arithmetic flags in `mask` with those of `v`.
  void set_arith_flags(uint64_t v, uint64_t mask);
  bool cf() const;
};

}  // namespace machina::x86
