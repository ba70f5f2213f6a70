// Runs one x86-64 instruction natively with its full register state: a code stub in an
// executable page saves the host's x87/SSE state, loads the guest's with FXRSTOR64 (x87/MMX
// registers, FCW/FSW/FTW, MXCSR, XMM0-15), all GPRs but RSP and RFLAGS, executes the
// instruction, stores the GPRs and RFLAGS back, takes the x87/SSE state with FXSAVE64 and
// restores the host's. Data operands live in the pages after the code.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace machina::x86::test {

struct alignas(64) SseNativeState {
  uint8_t fx_in[512];
  uint8_t fx_out[512];
  uint8_t fx_host[512];
  uint64_t r[16];
  uint64_t flags;
};

class SseNativeRunner {
 public:
  static constexpr size_t kCodeSize = 4096;
  static constexpr size_t kDataSize = 8192;
  static constexpr size_t kMapSize = kCodeSize + kDataSize;

  SseNativeRunner() {
    void* p = mmap(nullptr, kMapSize, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    page_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  }
  ~SseNativeRunner() {
    if (page_) munmap(page_, kMapSize);
  }
  SseNativeRunner(const SseNativeRunner&) = delete;
  SseNativeRunner& operator=(const SseNativeRunner&) = delete;

  bool ok() const { return page_ != nullptr; }
  uint8_t* base() { return page_; }
  uint8_t* data() { return page_ + kCodeSize; }
  uint64_t base_addr() const { return reinterpret_cast<uint64_t>(page_); }
  uint64_t data_addr() const { return base_addr() + kCodeSize; }
  // Address of the instruction in the stub.
  uint64_t insn_addr() const { return base_addr() + prologue_len(); }

  void build(const std::vector<uint8_t>& insn) {
    std::vector<uint8_t> c;
    emit_prologue(c);
    c.insert(c.end(), insn.begin(), insn.end());
    emit_epilogue(c);
    std::memcpy(page_, c.data(), c.size());
  }
  void run(SseNativeState* s) { reinterpret_cast<void (*)(SseNativeState*)>(page_)(s); }

 private:
  static constexpr uint32_t kOffOut = offsetof(SseNativeState, fx_out);
  static constexpr uint32_t kOffHost = offsetof(SseNativeState, fx_host);
  static constexpr uint32_t kOffR = offsetof(SseNativeState, r);
  static constexpr uint32_t kOffFlags = offsetof(SseNativeState, flags);

  static void disp32(std::vector<uint8_t>& c, uint32_t off) {
    for (int i = 0; i < 4; i++) c.push_back((off >> (8 * i)) & 0xff);
  }
  // mov reg, [rdi + off] / mov [rdi + off], reg
  static void mov_load(std::vector<uint8_t>& c, unsigned reg, uint32_t off) {
    c.push_back(0x48 | (reg >= 8 ? 4 : 0));
    c.push_back(0x8b);
    c.push_back(0x80 | ((reg & 7) << 3) | 7);
    disp32(c, off);
  }
  static void mov_store(std::vector<uint8_t>& c, unsigned reg, uint32_t off) {
    c.push_back(0x48 | (reg >= 8 ? 4 : 0));
    c.push_back(0x89);
    c.push_back(0x80 | ((reg & 7) << 3) | 7);
    disp32(c, off);
  }
  // fxsave64 / fxrstor64 [rdi + off]
  static void fx(std::vector<uint8_t>& c, bool restore, uint32_t off) {
    c.push_back(0x48);
    c.push_back(0x0f);
    c.push_back(0xae);
    c.push_back(restore ? 0x8f : 0x87);
    disp32(c, off);
  }
  static void emit_prologue(std::vector<uint8_t>& c) {
    const uint8_t save[] = {0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57, 0x57};
    c.insert(c.end(), save, save + sizeof(save));
    fx(c, false, kOffHost);
    fx(c, true, 0);
    mov_load(c, 0, kOffFlags);
    c.push_back(0x50);  // push rax
    c.push_back(0x9d);  // popfq
    for (unsigned r = 0; r < 16; r++)
      if (r != 4 && r != 7) mov_load(c, r, kOffR + r * 8);
    mov_load(c, 7, kOffR + 7 * 8);
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
      if (r != 4 && r != 7) mov_store(c, r, kOffR + r * 8);
    c.push_back(0x58);  // pop rax (guest rdi)
    mov_store(c, 0, kOffR + 7 * 8);
    c.push_back(0x9c);  // pushfq
    c.push_back(0x58);  // pop rax
    mov_store(c, 0, kOffFlags);
    fx(c, false, kOffOut);
    fx(c, true, kOffHost);
    const uint8_t restore[] = {0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3};
    c.insert(c.end(), restore, restore + sizeof(restore));
  }

  uint8_t* page_ = nullptr;
};

}  // namespace machina::x86::test
