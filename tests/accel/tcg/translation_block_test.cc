// Translation blocks: where a block ends, reuse while memory holds the same bytes, a new decoding
// when it does not, and the arena being flushed when full.
#include "accel/tcg/translation-block.h"

#include <gtest/gtest.h>

#include <vector>

namespace machina::tcg {
namespace {

// A lookup as the execution loop makes it, with RAM writes having moved since the last one.
const TranslationBlock* get(TbCache& c, uint64_t paddr, const uint8_t* host, unsigned avail) {
  static uint64_t writes = 0;
  bool checked;
  return c.get(paddr, host, avail, ++writes, &checked);
}

// nop; nop; inc %eax; jmp .; (then bytes a block must not include)
const std::vector<uint8_t> kCode = {0x90, 0x90, 0xff, 0xc0, 0xeb, 0xfe, 0x90, 0x90};

TEST(TranslationBlock, EndsAfterAControlTransfer) {
  TbCache c;
  const TranslationBlock* tb = get(c, 0x1000, kCode.data(), 4096);
  ASSERT_NE(tb, nullptr);
  EXPECT_EQ(tb->ninsn, 4);
  EXPECT_EQ(tb->nbytes, 6);
  EXPECT_EQ(tb->insns()[2].d.opcode, 0xff);
  EXPECT_EQ(tb->insns()[3].d.opcode, 0xeb);
}

TEST(TranslationBlock, GoesOnPastConditionalJumpsWithTheirHandlers) {
  // jz +2; inc %eax; jne -4 (rel32); ret; nop
  const std::vector<uint8_t> code = {0x74, 0x02, 0xff, 0xc0, 0x0f, 0x85,
                                     0xfc, 0xff, 0xff, 0xff, 0xc3, 0x90};
  TbCache c;
  const TranslationBlock* tb = get(c, 0x1000, code.data(), 4096);
  ASSERT_NE(tb, nullptr);
  EXPECT_EQ(tb->ninsn, 4);
  EXPECT_EQ(tb->nbytes, 11);
  for (unsigned i = 0; i < tb->ninsn; i++) EXPECT_NE(tb->insns()[i].fn, &x86::fast_fallback) << i;
  EXPECT_EQ(tb->insns()[tb->ninsn].fn, &x86::fast_end_of_block);
  EXPECT_EQ(tb->bytes()[10], 0xc3);
}

TEST(TranslationBlock, EndsAtTheEndOfThePage) {
  TbCache c;
  // Three bytes left in the page: the two NOPs fit, INC (2 bytes) does not.
  const TranslationBlock* tb = get(c, 0x1ffd, kCode.data(), 3);
  ASSERT_NE(tb, nullptr);
  EXPECT_EQ(tb->ninsn, 2);
  // An instruction that does not fit at all: the caller decodes it across the page.
  EXPECT_EQ(get(c, 0x2fff, kCode.data() + 2, 1), nullptr);
}

TEST(TranslationBlock, ReusedWhileTheBytesMatchDecodedAgainWhenTheyChange) {
  TbCache c;
  std::vector<uint8_t> code = kCode;
  const TranslationBlock* a = get(c, 0x1000, code.data(), 4096);
  EXPECT_EQ(get(c, 0x1000, code.data(), 4096), a);
  EXPECT_EQ(c.translations(), 1u);
  code[2] = 0x90;  // inc %eax -> nop; nop
  code[3] = 0x90;
  const TranslationBlock* b = get(c, 0x1000, code.data(), 4096);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(c.translations(), 2u);
  EXPECT_EQ(b->ninsn, 5);
  EXPECT_EQ(b->insns()[2].d.opcode, 0x90);
}

TEST(TranslationBlock, BytesAreComparedOnlyWhenRamWritesMoved) {
  TbCache c;
  std::vector<uint8_t> code = kCode;
  bool checked;
  const TranslationBlock* a = c.get(0x1000, code.data(), 4096, 7, &checked);
  EXPECT_TRUE(checked);
  EXPECT_EQ(c.get(0x1000, code.data(), 4096, 7, &checked), a);
  EXPECT_FALSE(checked);
  code[2] = 0x90;  // a write the count does not know about is not looked for
  code[3] = 0x90;
  EXPECT_EQ(c.get(0x1000, code.data(), 4096, 7, &checked), a);
  EXPECT_FALSE(checked);
  const TranslationBlock* b = c.get(0x1000, code.data(), 4096, 8, &checked);
  EXPECT_TRUE(checked);
  EXPECT_EQ(c.translations(), 2u);
  EXPECT_EQ(b->ninsn, 5);
  EXPECT_EQ(c.get(0x1000, code.data(), 4096, 9, &checked), b);  // same bytes: kept
  EXPECT_TRUE(checked);
  EXPECT_EQ(c.translations(), 2u);
}

TEST(TranslationBlock, FullArenaIsFlushedAndBlocksStayCorrect) {
  TbCache c;
  std::vector<uint8_t> code = kCode;
  uint64_t addr = 0;
  while (c.flushes() == 0) {
    ASSERT_NE(get(c, addr, code.data(), 4096), nullptr);
    addr += 0x10;
    ASSERT_LT(addr, uint64_t{1} << 40);
  }
  const TranslationBlock* tb = get(c, 0x5000, code.data(), 4096);
  ASSERT_NE(tb, nullptr);
  EXPECT_EQ(tb->paddr, 0x5000u);
  EXPECT_EQ(tb->ninsn, 4);
}

}  // namespace
}  // namespace machina::tcg
