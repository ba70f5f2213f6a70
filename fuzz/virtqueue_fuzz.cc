// libFuzzer target: arbitrary bytes as the guest's half of a split virtqueue — descriptor
// table, available ring, indirect tables and buffer addresses all come from the input, laid into
// a 64 KiB guest RAM at 0 (an I/O region above it, nothing beyond). Every element pop() returns
// must point only into that RAM, with bounded sizes; malformed rings must end in the error
// callback, never in a crash, a hang or an out-of-bounds access.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "hw/virtio/virtqueue.h"
#include "system/address_space.h"
#include "system/memory.h"

namespace {

constexpr uint64_t kRamSize = 0x10000;
uint8_t g_ram[kRamSize];

void setup_once() {
  static bool done = false;
  if (done) return;
  done = true;
  static machina::MemoryRegion ram, io;
  ram.init_ram_ptr(nullptr, "fuzz-ram", kRamSize, g_ram);
  machina::MemoryRegionOps ops;
  ops.read = [](uint64_t, unsigned) -> uint64_t { return 0; };
  ops.write = [](uint64_t, uint64_t, unsigned) {};
  io.init_io(nullptr, "fuzz-io", ops, 0x1000);
  machina::MemoryTransaction tx;
  (void)machina::get_system_memory()->add_subregion(0, &ram);
  (void)machina::get_system_memory()->add_subregion(kRamSize, &io);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  setup_once();
  if (size < 4) return 0;
  uint8_t flags = data[0];
  uint16_t num = uint16_t(1u << (data[1] % 9));  // 1..256
  std::memset(g_ram, 0, sizeof g_ram);
  std::memcpy(g_ram, data + 2, std::min<size_t>(size - 2, kRamSize));
  bool errored = false;
  machina::VirtQueue vq(0, 256, [&](const std::string&) { errored = true; });
  vq.set_size(num);
  // Rings where the input says (sometimes outside RAM), aligned or not.
  uint64_t desc = (flags & 1) ? 0x0 : uint64_t(data[2]) << 8;
  uint64_t avail = (flags & 2) ? 0x2000 : uint64_t(data[3]) << 9;
  uint64_t used = (flags & 4) ? 0x3000 : kRamSize + 0x100;
  vq.set_addresses(desc, avail, used);
  vq.set_features(flags & 8, flags & 16);
  if (!vq.enable()) return 0;
  for (int i = 0; i < 512 && !errored; ++i) {
    auto elem = vq.pop();
    if (!elem) break;
    size_t total = 0;
    for (const auto* sg : {&elem->out_sg, &elem->in_sg}) {
      for (const iovec& v : *sg) {
        auto* b = static_cast<uint8_t*>(v.iov_base);
        if (b < g_ram || b + v.iov_len > g_ram + kRamSize || v.iov_len == 0) std::abort();
        total += v.iov_len;
      }
    }
    if (elem->out_sg.size() + elem->in_sg.size() > 1024) std::abort();
    vq.push(*elem, uint32_t(std::min<size_t>(elem->in_bytes(), total)));
    (void)vq.should_notify();
  }
  return 0;
}
