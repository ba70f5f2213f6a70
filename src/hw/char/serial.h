// The 16550A UART core (QEMU's TYPE_SERIAL), independent of the bus it sits on (isa-serial wraps
// it; see serial-isa.cc).
//
// Registers (offset 0-7; DLAB = LCR bit 7 turns 0/1 into the divisor latch):
//   0 RBR (read) / THR (write)  1 IER  2 IIR (read) / FCR (write)  3 LCR  4 MCR  5 LSR  6 MSR  7
//   SCR
// 16-byte receive and transmit FIFOs (FCR bit 0), receive trigger levels 1/4/8/14, character
// timeout after 4 character times, and the four interrupt sources in the 16550A's priority order:
// line status (OE/PE/FE/BI) > received data / timeout > THR empty > modem status. Loopback (MCR
// bit 4) feeds transmitted bytes back to the receiver and the modem outputs to the modem inputs
// (RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD), with their delta bits. Outside loopback the modem
// inputs read DCD, DSR and CTS asserted (as QEMU for backends without modem lines). Output goes
// to the chardev without blocking: while the backend takes nothing, bytes wait in the transmit
// FIFO (THRE/TEMT stay clear). Input is taken as far as the receiver has room (can_read).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "chardev/char-fe.h"
#include "util/qemu-timer.h"

namespace machina {

class SerialCore {
 public:
  // `set_irq` drives the interrupt output; `log_name` prefixes guest-error messages.
  SerialCore(std::function<void(int)> set_irq, std::string log_name);
  ~SerialCore();
  SerialCore(const SerialCore&) = delete;
  SerialCore& operator=(const SerialCore&) = delete;

  // Attaches the backend (nullptr: none; output is dropped, nothing is received).
  Status attach(Chardev* chr);
  void detach();

  uint8_t read(unsigned addr);
  void write(unsigned addr, uint8_t v);
  void reset();

  CharFrontend& frontend() { return fe_; }

 private:
  static constexpr size_t kFifoSize = 16;

  bool fifo_enabled() const { return fcr_ & 0x01; }
  bool loopback() const { return mcr_ & 0x10; }
  size_t can_receive() const;
  void receive(const uint8_t* buf, size_t len);
  void receive_break();
  void xmit();
  void update_irq();
  void update_char_time();
  void set_modem_inputs(uint8_t lines);  // CTS/DSR/RI/DCD in bits 4-7, with delta bits
  uint8_t modem_inputs_from_mcr() const;
  void write_fcr(uint8_t v);

  std::function<void(int)> set_irq_;
  std::string log_name_;
  CharFrontend fe_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool writable_pending_ = false;

  uint16_t divider_ = 0x0c;
  uint8_t rbr_ = 0, ier_ = 0, iir_ = 0x01, lcr_ = 0, mcr_ = 0, lsr_ = 0x60, msr_ = 0xb0, scr_ = 0,
          fcr_ = 0;
  size_t rx_trigger_ = 1;
  std::deque<uint8_t> rx_fifo_, tx_fifo_;
  uint8_t thr_ = 0;  // the holding register (non-FIFO mode)
  uint8_t tsr_ = 0;
  bool tsr_busy_ = false;
  bool thr_ipending_ = false;
  bool timeout_ipending_ = false;
  int irq_level_ = 0;
  int64_t char_time_ns_ = 0;
  Timer timeout_timer_;
};

}  // namespace machina
