// Runs one x86-64 instruction natively: a code stub in an executable page loads all GPRs (except
// RSP) and RFLAGS from a struct, executes the instruction, and stores them back.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace machina::x86::test {

struct NativeRegs {
  uint64_t r[16];
  uint64_t flags;
};

class NativeRunner {
 public:
  static constexpr size_t kPageSize = 8192;
  static constexpr size_t kDataOffset = 4096;

  NativeRunner() {
    void* p = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    page_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  }
  ~NativeRunner() {
    if (page_) munmap(page_, kPageSize);
  }
  NativeRunner(const NativeRunner&) = delete;
  NativeRunner& operator=(const NativeRunner&) = delete;

  bool ok() const { return page_ != nullptr; }
  uint8_t* page() { return page_; }
  uint8_t* data() { return page_ + kDataOffset; }
  // Address at which the instruction will be placed by the next build().
  uint64_t insn_addr() const { return reinterpret_cast<uint64_t>(page_) + prologue_len(); }

  // Writes the stub with `insn` into the page.
  void build(const std::vector<uint8_t>& insn) {
    std::vector<uint8_t> c;
    emit_prologue(c);
    c.insert(c.end(), insn.begin(), insn.end());
    emit_epilogue(c);
    std::memcpy(page_, c.data(), c.size());
  }
  void run(NativeRegs* regs) { reinterpret_cast<void (*)(NativeRegs*)>(page_)(regs); }

 private:
  static void mov_load(std::vector<uint8_t>& c, unsigned reg, uint32_t off) {
    c.push_back(0x48 | (reg >= 8 ? 4 : 0));
    c.push_back(0x8b);
    c.push_back(0x80 | ((reg & 7) << 3) | 7);
    for (int i = 0; i < 4; i++) c.push_back((off >> (8 * i)) & 0xff);
  }
  static void mov_store(std::vector<uint8_t>& c, unsigned reg, uint32_t off) {
    c.push_back(0x48 | (reg >= 8 ? 4 : 0));
    c.push_back(0x89);
    c.push_back(0x80 | ((reg & 7) << 3) | 7);
    for (int i = 0; i < 4; i++) c.push_back((off >> (8 * i)) & 0xff);
  }
  static void emit_prologue(std::vector<uint8_t>& c) {
    const uint8_t save[] = {0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57, 0x57};
    c.insert(c.end(), save, save + sizeof(save));
    mov_load(c, 0, 128);  // rax = flags
    c.push_back(0x50);    // push rax
    c.push_back(0x9d);    // popfq
    for (unsigned r = 0; r < 16; r++)
      if (r != 4 && r != 7) mov_load(c, r, r * 8);
    mov_load(c, 7, 56);
  }
  static size_t prologue_len() {
    static const size_t len = [] {
      std::vector<uint8_t> c;
      emit_prologue(c);
      return c.size();
    }();
    return len;
  }
  static void emit_epilogue(std::vector<uint8_t>& c) {
    const uint8_t xchg[] = {0x48, 0x87, 0x3c, 0x24};  // xchg [rsp], rdi
    c.insert(c.end(), xchg, xchg + 4);
    for (unsigned r = 0; r < 16; r++)
      if (r != 4 && r != 7) mov_store(c, r, r * 8);
    c.push_back(0x58);  // pop rax (guest rdi)
    mov_store(c, 0, 56);
    c.push_back(0x9c);  // pushfq
    c.push_back(0x58);  // pop rax
    mov_store(c, 0, 128);
    const uint8_t restore[] = {0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3};
    c.insert(c.end(), restore, restore + sizeof(restore));
  }

  uint8_t* page_ = nullptr;
};

}  // namespace machina::x86::test
