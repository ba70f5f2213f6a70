// The virtqueue fuzz target (fuzz/virtqueue_fuzz.cc) run on seeded random guest rings in the
// ordinary test suite (and under ASan/UBSan in its second pass): random descriptor tables,
// available rings and indirect tables must never crash, hang or hand out memory outside RAM.
// Plus the scatter-list helpers the devices use.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "hw/virtio/virtqueue.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace machina {
namespace {

TEST(VirtqueueRandom, RandomRingsNeverEscapeGuestRam) {
  std::mt19937 rng(12345);
  std::vector<uint8_t> buf;
  for (int iter = 0; iter < 3000; ++iter) {
    buf.resize(16 + rng() % 0x3000);
    for (auto& b : buf) b = uint8_t(rng());
    // Bias towards plausible rings: small descriptor indices and lengths, addresses in RAM.
    if (iter % 2) {
      for (size_t d = 2; d + 16 <= std::min<size_t>(buf.size(), 2 + 16 * 64); d += 16) {
        buf[d + 0] = uint8_t(rng());
        buf[d + 1] = uint8_t(rng() % 0x100);
        for (int k = 2; k < 8; ++k) buf[d + size_t(k)] = 0;
        buf[d + 8] = uint8_t(1 + rng() % 64);
        buf[d + 9] = buf[d + 10] = buf[d + 11] = 0;
        buf[d + 12] = uint8_t(rng() % 8);
        buf[d + 13] = 0;
        buf[d + 14] = uint8_t(rng() % 20);
        buf[d + 15] = 0;
      }
    }
    ASSERT_EQ(LLVMFuzzerTestOneInput(buf.data(), buf.size()), 0);
  }
}

TEST(VirtqueueIov, CopiesAcrossScatterLists) {
  uint8_t a[3], b[5];
  std::vector<iovec> iov = {{a, sizeof a}, {b, sizeof b}};
  const uint8_t src[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(iov_from_buf(iov, 2, src, 8), 6u);  // room for 6 from offset 2
  EXPECT_EQ(a[2], 1);
  EXPECT_EQ(b[4], 6);
  uint8_t out[4] = {};
  EXPECT_EQ(iov_to_buf(iov, 2, out, 4), 4u);
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[3], 4);
  auto s = iov_slice(iov, 2, 4);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].iov_base, a + 2);
  EXPECT_EQ(s[0].iov_len, 1u);
  EXPECT_EQ(s[1].iov_len, 3u);
}

}  // namespace
}  // namespace machina
