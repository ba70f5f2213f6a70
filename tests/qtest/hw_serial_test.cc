// The 16550A UART on q35 (COM1 at 0x3f8, IRQ 4; National/TI PC16550D datasheet): reset values, the
// divisor latch, output to and input from the -serial chardev with flow control, loopback, FIFO
// trigger levels, the character timeout, and each interrupt source with its IIR code.
#include <chrono>

#include "qtest/hw_pc_qtest.h"

namespace machina::qtest {
namespace {

constexpr uint16_t kBase = 0x3f8;
constexpr uint16_t kRbr = kBase, kIer = kBase + 1, kIir = kBase + 2, kFcr = kBase + 2,
                   kLcr = kBase + 3, kMcr = kBase + 4, kLsr = kBase + 5, kMsr = kBase + 6,
                   kScr = kBase + 7;
constexpr int kIrq = 4;

class SerialTest : public PcQtest {
 protected:
  void SetUp() override {
    start("-serial unix:" + sock_.str() + ",server=on,wait=off");
    peer_ = connect_unix(sock_.str(), Ms(5000));
    ASSERT_TRUE(peer_.valid());
    intercept_gsi();
  }
  // Reads what the guest sent until `n` bytes arrived (or a timeout).
  std::string receive(size_t n) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + Ms(5000);
    while (out.size() < n && read_some(peer_.get(), out, deadline) == ReadResult::Data) {
    }
    return out;
  }

  TempPath sock_{"serial"};
  Fd peer_;
};

TEST_F(SerialTest, ResetValues) {
  EXPECT_EQ(inb(kIer), 0x00);
  EXPECT_EQ(inb(kIir), 0x01);  // no interrupt pending
  EXPECT_EQ(inb(kLcr), 0x00);
  EXPECT_EQ(inb(kMcr), 0x08);  // OUT2, as QEMU
  EXPECT_EQ(inb(kLsr), 0x60);  // THRE | TEMT
  EXPECT_EQ(inb(kMsr), 0xb0);  // DCD | DSR | CTS
  outb(kScr, 0x5a);
  EXPECT_EQ(inb(kScr), 0x5a);
  EXPECT_EQ(inb(0x2f8 + 5), 0xff) << "only COM1 was asked for";
}

TEST_F(SerialTest, DivisorLatch) {
  outb(kLcr, 0x83);
  EXPECT_EQ(inb(kRbr), 0x0c) << "9600 baud after reset";
  EXPECT_EQ(inb(kIer), 0x00);
  outb(kRbr, 0x01);  // 115200 baud
  outb(kIer, 0x00);
  EXPECT_EQ(inb(kRbr), 0x01);
  outb(kLcr, 0x03);
  outb(kIer, 0x05);
  EXPECT_EQ(inb(kIer), 0x05) << "with DLAB clear, offset 1 is IER again";
  outb(kLcr, 0x83);
  EXPECT_EQ(inb(kRbr), 0x01);
}

TEST_F(SerialTest, TransmitsToTheChardev) {
  for (char c : std::string("hello")) outb(kRbr, uint8_t(c));
  EXPECT_EQ(receive(5), "hello");
  EXPECT_EQ(inb(kLsr) & 0x60, 0x60);
}

TEST_F(SerialTest, ReceivesWithFlowControl) {
  outb(kFcr, 0x07);  // FIFOs on, cleared, trigger level 1
  std::string sent = "0123456789abcdefghijklmnopqrstuvwxyz";
  ASSERT_TRUE(send_all(peer_.get(), sent));
  std::string got;
  for (int i = 0; i < 2000 && got.size() < sent.size(); ++i) {
    uint8_t lsr = inb(kLsr);
    EXPECT_EQ(lsr & 0x02, 0) << "no overrun: input waits while the FIFO is full";
    if (lsr & 0x01) got.push_back(char(inb(kRbr)));
  }
  EXPECT_EQ(got, sent);
}

TEST_F(SerialTest, LoopbackWithoutFifo) {
  outb(kMcr, 0x10);
  outb(kRbr, 0x41);
  EXPECT_EQ(inb(kLsr), 0x61);  // DR | THRE | TEMT
  EXPECT_EQ(inb(kRbr), 0x41);
  EXPECT_EQ(inb(kLsr), 0x60);
  outb(kRbr, 0x42);
  outb(kRbr, 0x43);
  EXPECT_EQ(inb(kLsr), 0x63) << "overrun";
  EXPECT_EQ(inb(kLsr), 0x61) << "reading LSR clears OE";
  EXPECT_EQ(inb(kRbr), 0x43);
  // Nothing went out to the chardev.
  outb(kMcr, 0x00);
  outb(kRbr, 'x');
  EXPECT_EQ(receive(1), "x");
}

TEST_F(SerialTest, FifoTriggerLevelAndTimeout) {
  outb(kLcr, 0x03);  // 8N1: 10 bits per character
  outb(kMcr, 0x10);
  outb(kFcr, 0xc7);  // FIFOs on, trigger level 14
  EXPECT_EQ(inb(kIir), 0xc1);
  outb(kIer, 0x01);  // RDI
  for (int i = 0; i < 13; ++i) outb(kRbr, uint8_t('a' + i));
  EXPECT_EQ(inb(kIir), 0xc1) << "13 bytes: below the trigger level";
  EXPECT_EQ(irq(kIrq), 0);
  outb(kRbr, 'n');
  EXPECT_EQ(irq(kIrq), 1);
  EXPECT_EQ(inb(kIir), 0xc4);
  EXPECT_EQ(inb(kRbr), 'a');
  EXPECT_EQ(irq(kIrq), 0);
  EXPECT_EQ(inb(kIir), 0xc1);
  // 4 character times (10 bits at 9600 baud) without a read: the timeout interrupt.
  int64_t char_ns = 10 * 1000000000LL * 12 / 115200;
  step(4 * char_ns - 1000);
  EXPECT_EQ(irq(kIrq), 0);
  step(1000);
  EXPECT_EQ(irq(kIrq), 1);
  EXPECT_EQ(inb(kIir), 0xcc);
  std::string rest;
  while (inb(kLsr) & 0x01) rest.push_back(char(inb(kRbr)));
  EXPECT_EQ(rest, "bcdefghijklmn");
  EXPECT_EQ(inb(kIir), 0xc1);
  EXPECT_EQ(irq(kIrq), 0);
}

TEST_F(SerialTest, FifoOverrunIsALineStatusInterrupt) {
  outb(kMcr, 0x10);
  outb(kFcr, 0x07);
  outb(kIer, 0x04);  // RLSI
  for (int i = 0; i < 17; ++i) outb(kRbr, uint8_t(i));
  EXPECT_EQ(irq(kIrq), 1);
  EXPECT_EQ(inb(kIir), 0xc6);
  EXPECT_EQ(inb(kLsr) & 0x03, 0x03);
  EXPECT_EQ(irq(kIrq), 0);
  int n = 0;
  while (inb(kLsr) & 0x01) {
    EXPECT_EQ(inb(kRbr), n);
    ++n;
  }
  EXPECT_EQ(n, 16);
}

TEST_F(SerialTest, ThrEmptyInterrupt) {
  outb(kIer, 0x02);
  EXPECT_EQ(irq(kIrq), 1) << "enabling THRI with THR empty raises it";
  EXPECT_EQ(inb(kIir), 0x02);
  EXPECT_EQ(irq(kIrq), 0) << "reading IIR acknowledges THRE";
  EXPECT_EQ(inb(kIir), 0x01);
  outb(kRbr, 'z');
  EXPECT_EQ(irq(kIrq), 1) << "THR empties again once the byte is sent";
  EXPECT_EQ(receive(1), "z");
  outb(kIer, 0x00);
  EXPECT_EQ(irq(kIrq), 0);
}

TEST_F(SerialTest, InterruptPriority) {
  outb(kMcr, 0x10);
  outb(kIer, 0x0f);
  outb(kRbr, 1);
  outb(kRbr, 2);  // overrun: line status
  EXPECT_EQ(inb(kIir), 0x06);
  (void)inb(kLsr);
  EXPECT_EQ(inb(kIir), 0x04) << "then received data";
  (void)inb(kRbr);
  EXPECT_EQ(inb(kIir), 0x02) << "then THR empty";
  EXPECT_EQ(inb(kIir), 0x00) << "then modem status (loopback changed the inputs)";
  (void)inb(kMsr);
  EXPECT_EQ(inb(kIir), 0x01);
  EXPECT_EQ(irq(kIrq), 0);
}

TEST_F(SerialTest, LoopbackModemLinesAndStatusInterrupt) {
  outb(kIer, 0x08);  // MSI
  outb(kMcr, 0x10);  // loopback, all outputs off: CTS, DSR, DCD drop
  EXPECT_EQ(irq(kIrq), 1);
  EXPECT_EQ(inb(kIir), 0x00);
  EXPECT_EQ(inb(kMsr), 0x0b);  // DCTS | DDSR | DDCD
  EXPECT_EQ(irq(kIrq), 0);
  outb(kMcr, 0x12);  // RTS -> CTS
  EXPECT_EQ(inb(kMsr), 0x11);
  outb(kMcr, 0x15);  // DTR -> DSR, OUT1 -> RI; RTS off
  EXPECT_EQ(inb(kMsr), 0x63);
  outb(kMcr, 0x19);  // OUT2 -> DCD; OUT1 off: trailing edge of RI
  EXPECT_EQ(inb(kMsr), 0xa0 | 0x04 | 0x08);
  outb(kMcr, 0x00);  // back to the external lines
  EXPECT_EQ(inb(kMsr) & 0xf0, 0xb0);
}

}  // namespace
}  // namespace machina::qtest
