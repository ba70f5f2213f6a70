// The qtest protocol: framing, memory and port commands, clock commands, errors.
#include <string>

#include "qtest_fixture.h"

namespace machina::test {
namespace {

TEST_F(QtestSessionTest, EndiannessAndUnknownCommands) {
  EXPECT_EQ(cmd("endianness"), "OK little\n");
  EXPECT_EQ(cmd("frobnicate 1 2"), "FAIL Unknown command 'frobnicate'\n");
  EXPECT_EQ(cmd(""), "FAIL Unknown command ''\n");
  EXPECT_EQ(cmd(" endianness"), "FAIL Unknown command ''\n");
}

TEST_F(QtestSessionTest, BuffersUntilNewline) {
  out.clear();
  session->feed("endi");
  session->feed("anne");
  EXPECT_EQ(out, "");
  EXPECT_EQ(session->buffered(), 8u);
  session->feed("ss\nendianness\nendian");
  EXPECT_EQ(out, "OK little\nOK little\n");
  out.clear();
  session->feed("ness\r\n");  // a trailing CR is tolerated
  EXPECT_EQ(out, "OK little\n");
  EXPECT_EQ(session->buffered(), 0u);
}

TEST_F(QtestSessionTest, OverlongLineIsDiscardedWithFail) {
  session->set_max_line(64);
  out.clear();
  session->feed(std::string(50, 'x'));
  session->feed(std::string(50, 'x'));  // over the limit: dropped from now on
  EXPECT_LE(session->buffered(), 0u);
  session->feed(std::string(10, 'x') + "\nendianness\n");
  EXPECT_EQ(out, "FAIL command line too long\nOK little\n");
}

TEST_F(QtestSessionTest, MemoryWritesAndReadsAreLittleEndian) {
  EXPECT_EQ(cmd("writeq 0x100000 0x1122334455667788"), "OK\n");
  EXPECT_EQ(cmd("readb 0x100000"), "OK 0x0000000000000088\n");
  EXPECT_EQ(cmd("readw 0x100000"), "OK 0x0000000000007788\n");
  EXPECT_EQ(cmd("readl 0x100004"), "OK 0x0000000011223344\n");
  EXPECT_EQ(cmd("readq 0x100000"), "OK 0x1122334455667788\n");
  EXPECT_EQ(cmd("writeb 0x100001 0xab"), "OK\n");
  EXPECT_EQ(cmd("writew 1048578 0xcdef"), "OK\n");  // decimal address
  EXPECT_EQ(cmd("writel 0x100008 0xdeadbeef"), "OK\n");
  EXPECT_EQ(cmd("readq 0x100000"), "OK 0x11223344cdefab88\n");
  EXPECT_EQ(cmd("readl 0x100008"), "OK 0x00000000deadbeef\n");
  // Values wider than the access are truncated to it.
  EXPECT_EQ(cmd("writeb 0x100010 0x1ff"), "OK\n");
  EXPECT_EQ(cmd("readw 0x100010"), "OK 0x00000000000000ff\n");
}

TEST_F(QtestSessionTest, UnassignedMemoryReadsAllOnes) {
  EXPECT_EQ(cmd("readl 0x80000000"), "OK 0x00000000ffffffff\n");
  EXPECT_EQ(cmd("readq 0x80000000"), "OK 0xffffffffffffffff\n");
  EXPECT_EQ(cmd("writel 0x80000000 5"), "OK\n");
  EXPECT_EQ(cmd("read 0x80000000 2"), "OK 0xffff\n");
}

TEST_F(QtestSessionTest, BulkReadAndWriteInLowercaseHex) {
  EXPECT_EQ(cmd("write 0x100100 4 0xDEADbeef"), "OK\n");
  EXPECT_EQ(cmd("read 0x100100 4"), "OK 0xdeadbeef\n");
  // Missing digits mean zero; extra digits are ignored.
  EXPECT_EQ(cmd("write 0x100100 4 0x12"), "OK\n");
  EXPECT_EQ(cmd("read 0x100100 4"), "OK 0x12000000\n");
  EXPECT_EQ(cmd("write 0x100100 1 0xaabbcc"), "OK\n");
  EXPECT_EQ(cmd("read 0x100100 2"), "OK 0xaa00\n");
  EXPECT_EQ(cmd("read 0x100100 0"), "OK 0x\n");
  EXPECT_EQ(cmd("write 0x100100 4 0x"), "FAIL invalid argument size\n");
  EXPECT_EQ(cmd("write 0x100100 2 1234"), "FAIL data must start with 0x\n");
  EXPECT_EQ(cmd("write 0x100100 2 0x12zz"), "FAIL invalid hex digit in data\n");
}

TEST_F(QtestSessionTest, Base64ReadAndWrite) {
  EXPECT_EQ(cmd("b64write 0x100200 6 Zm9vYmFy"), "OK\n");
  EXPECT_EQ(cmd("read 0x100200 6"), "OK 0x666f6f626172\n");
  EXPECT_EQ(cmd("b64read 0x100200 6"), "OK Zm9vYmFy\n");
  EXPECT_EQ(cmd("b64read 0x100200 4"), "OK Zm9vYg==\n");
  EXPECT_EQ(cmd("b64read 0x100200 0"), "OK \n");
  // A length mismatch writes what both agree on.
  EXPECT_EQ(cmd("b64write 0x100200 2 QUJDRA=="), "OK\n");
  EXPECT_EQ(cmd("read 0x100200 6"), "OK 0x41426f626172\n");
  EXPECT_EQ(cmd("b64write 0x100200 6 QUJD"), "OK\n");
  EXPECT_EQ(cmd("read 0x100200 6"), "OK 0x414243626172\n");
}

TEST_F(QtestSessionTest, Memset) {
  EXPECT_EQ(cmd("memset 0x100300 5 0x5a"), "OK\n");
  EXPECT_EQ(cmd("read 0x1002ff 7"), "OK 0x005a5a5a5a5a00\n");
  EXPECT_EQ(cmd("memset 0x100300 0 0x11"), "OK\n");
  EXPECT_EQ(cmd("read 0x100300 1"), "OK 0x5a\n");
  // The whole RAM, in several chunks, and past its end into unassigned space.
  EXPECT_EQ(cmd("memset 0x100000 0x20000 0xa5"), "OK\n");
  EXPECT_EQ(cmd("read 0x10fffe 2"), "OK 0xa5a5\n");
}

TEST_F(QtestSessionTest, MalformedArgumentsFailWithoutCrashing) {
  EXPECT_EQ(cmd("readb"), "FAIL missing argument: 'readb' takes 1 argument\n");
  EXPECT_EQ(cmd("writel 0x100000"), "FAIL missing argument: 'writel' takes 2 arguments\n");
  EXPECT_EQ(cmd("outb"), "FAIL missing argument: 'outb' takes 2 arguments\n");
  EXPECT_EQ(cmd("write 0 1"), "FAIL missing argument: 'write' takes 3 arguments\n");
  EXPECT_EQ(cmd("memset 0 1"), "FAIL missing argument: 'memset' takes 3 arguments\n");
  EXPECT_EQ(cmd("readb zz"), "FAIL invalid number 'zz'\n");
  EXPECT_EQ(cmd("readb  0x100000"), "FAIL invalid number ''\n");  // two spaces
  EXPECT_EQ(cmd("writeb 0x100000 0x1g"), "FAIL invalid number '0x1g'\n");
  EXPECT_EQ(cmd("readq 0x1000000000000000000"), "FAIL invalid number '0x1000000000000000000'\n");
  EXPECT_EQ(cmd("set_irq_in a b c"), "FAIL missing argument: 'set_irq_in' takes 4 arguments\n");
  EXPECT_EQ(cmd("irq_intercept_in"),
            "FAIL missing argument: 'irq_intercept_in' takes 1 argument\n");
  EXPECT_EQ(cmd("module_load x"), "FAIL missing argument: 'module_load' takes 2 arguments\n");
  EXPECT_EQ(cmd("endianness"), "OK little\n");  // still in step
}

TEST_F(QtestSessionTest, HugeSizesAreRefusedWithoutAllocating) {
  EXPECT_EQ(cmd("read 0 0xffffffffffffffff"),
            "FAIL size 18446744073709551615 too large (at most 67108864)\n");
  EXPECT_EQ(cmd("b64read 0 0x100000000"), "FAIL size 4294967296 too large (at most 67108864)\n");
  EXPECT_EQ(cmd("write 0 0x10000000 0x00"), "FAIL size 268435456 too large (at most 67108864)\n");
  EXPECT_EQ(cmd("b64write 0 0x10000000 AA=="),
            "FAIL size 268435456 too large (at most 67108864)\n");
  EXPECT_EQ(cmd("memset 0 0x200000000 0"), "FAIL size 8589934592 too large (at most 4294967296)\n");
  EXPECT_EQ(cmd("read 0xfffffffffffffff0 0x20"), "FAIL address range wraps around\n");
  EXPECT_EQ(cmd("read 0xfffffffffffffff0 0x10"), "OK 0x" + std::string(32, 'f') + "\n");
}

TEST_F(QtestSessionTest, ModuleLoadFailsAsForAMissingModule) {
  EXPECT_EQ(cmd("module_load block- curl"), "FAIL\n");
}

TEST_F(QtestSessionTest, ClockStepAndSet) {
  EXPECT_EQ(cmd("clock_step 100"), "OK 100\n");
  EXPECT_EQ(cmd("clock_step 0x10"), "OK 116\n");
  EXPECT_EQ(cmd("clock_step"), "OK 116\n");  // no timer armed: no-op
  EXPECT_EQ(cmd("clock_set 1000"), "OK 1000\n");
  EXPECT_EQ(cmd("clock_set 10"), "OK 1000\n");  // already past
  EXPECT_EQ(cmd("clock_step -5"), "OK 1000\n");
  EXPECT_EQ(cmd("clock_step x"), "FAIL invalid number 'x'\n");
  EXPECT_EQ(cmd("clock_set"), "FAIL missing argument: 'clock_set' takes 1 argument\n");
  EXPECT_EQ(clock_get_ns(ClockType::Virtual), 1000);
}

TEST_F(QtestSessionTest, ClockStepRunsTimersInOrder) {
  std::string fired;
  Timer a(ClockType::Virtual,
          [&] { fired += "a@" + std::to_string(clock_get_ns(ClockType::Virtual)) + " "; });
  Timer b(ClockType::Virtual,
          [&] { fired += "b@" + std::to_string(clock_get_ns(ClockType::Virtual)) + " "; });
  a.mod(300);
  b.mod(200);
  EXPECT_EQ(cmd("clock_step"), "OK 200\n");
  EXPECT_EQ(fired, "b@200 ");
  EXPECT_EQ(cmd("clock_step 1000"), "OK 1200\n");
  EXPECT_EQ(fired, "b@200 a@300 ");
}

TEST_F(QtestSessionTest, ClockCommandsOnlyWithTheQtestAccelerator) {
  qtest_set_enabled(false);
  EXPECT_FALSE(qtest_enabled());
  EXPECT_EQ(virtual_clock_mode(), VirtualClockMode::Running);
  EXPECT_EQ(cmd("clock_step 10"), "FAIL Unknown command 'clock_step'\n");
  EXPECT_EQ(cmd("clock_set 10"), "FAIL Unknown command 'clock_set'\n");
  qtest_set_enabled(true);
  EXPECT_EQ(virtual_clock_mode(), VirtualClockMode::Manual);
  EXPECT_EQ(cmd("clock_set 10"), "OK 10\n");
}

}  // namespace
}  // namespace machina::test
