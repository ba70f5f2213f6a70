// The 16550A UART core: see serial.h.
#include "hw/char/serial.h"

#include "util/log.h"

namespace machina {

namespace {

// IER bits
constexpr uint8_t kIerRdi = 0x01, kIerThri = 0x02, kIerRlsi = 0x04, kIerMsi = 0x08;
// IIR interrupt identification
constexpr uint8_t kIirNone = 0x01, kIirMsi = 0x00, kIirThri = 0x02, kIirRdi = 0x04, kIirRlsi = 0x06,
                  kIirCti = 0x0c, kIirFifo = 0xc0;
// LSR bits
constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrPe = 0x04, kLsrFe = 0x08, kLsrBi = 0x10,
                  kLsrThre = 0x20, kLsrTemt = 0x40, kLsrErrors = kLsrOe | kLsrPe | kLsrFe | kLsrBi;
// MSR: deltas in bits 0-3, lines in 4-7
constexpr uint8_t kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;
constexpr uint8_t kMsrDcts = 0x01, kMsrDdsr = 0x02, kMsrTeri = 0x04, kMsrDdcd = 0x08;
// What the modem inputs read outside loopback.
constexpr uint8_t kExternalLines = kMsrDcd | kMsrDsr | kMsrCts;

}  // namespace

SerialCore::SerialCore(std::function<void(int)> set_irq, std::string log_name)
    : set_irq_(std::move(set_irq)),
      log_name_(std::move(log_name)),
      timeout_timer_(ClockType::Virtual, [this] {
        if (!rx_fifo_.empty()) {
          timeout_ipending_ = true;
          update_irq();
        }
      }) {
  update_char_time();
}

SerialCore::~SerialCore() {
  *alive_ = false;
  detach();
}

Status SerialCore::attach(Chardev* chr) {
  if (!chr) return Status::Ok();
  if (Status s = fe_.init(chr); !s.ok()) return s;
  fe_.set_handlers([this] { return can_receive(); },
                   [this](const uint8_t* buf, size_t len) { receive(buf, len); },
                   [this](ChardevEvent ev) {
                     if (ev == ChardevEvent::Break) receive_break();
                   });
  return Status::Ok();
}

void SerialCore::detach() {
  fe_.deinit();
}

void SerialCore::reset() {
  divider_ = 0x0c;  // 9600 baud
  rbr_ = 0;
  ier_ = 0;
  iir_ = kIirNone;
  lcr_ = 0;
  mcr_ = 0x08;  // OUT2, as QEMU
  lsr_ = kLsrThre | kLsrTemt;
  msr_ = kExternalLines;
  scr_ = 0;
  fcr_ = 0;
  rx_trigger_ = 1;
  rx_fifo_.clear();
  tx_fifo_.clear();
  tsr_busy_ = false;
  thr_ipending_ = false;
  timeout_ipending_ = false;
  timeout_timer_.del();
  update_char_time();
  irq_level_ = -1;
  update_irq();
  fe_.accept_input();
}

void SerialCore::update_char_time() {
  int data_bits = 5 + (lcr_ & 0x03);
  int half_bits = 2 * (1 + data_bits) + ((lcr_ & 0x08) ? 2 : 0);  // start + data + parity
  if (lcr_ & 0x04) {
    half_bits += data_bits == 5 ? 3 : 4;  // 1.5 or 2 stop bits
  } else {
    half_bits += 2;
  }
  uint32_t div = divider_ ? divider_ : 1;
  char_time_ns_ = int64_t(half_bits) * kNsPerSec / 2 * div / 115200;
}

void SerialCore::update_irq() {
  uint8_t id = kIirNone;
  if ((ier_ & kIerRlsi) && (lsr_ & kLsrErrors)) {
    id = kIirRlsi;
  } else if ((ier_ & kIerRdi) && timeout_ipending_) {
    id = kIirCti;
  } else if ((ier_ & kIerRdi) && (lsr_ & kLsrDr) &&
             (!fifo_enabled() || rx_fifo_.size() >= rx_trigger_)) {
    id = kIirRdi;
  } else if ((ier_ & kIerThri) && thr_ipending_) {
    id = kIirThri;
  } else if ((ier_ & kIerMsi) && (msr_ & 0x0f)) {
    id = kIirMsi;
  }
  iir_ = uint8_t(id | (fifo_enabled() ? kIirFifo : 0));
  int level = id != kIirNone ? 1 : 0;
  if (level != irq_level_) {
    irq_level_ = level;
    set_irq_(level);
  }
}

size_t SerialCore::can_receive() const {
  if (loopback()) return 0;  // the receiver hears only the transmitter
  if (fifo_enabled()) return kFifoSize - rx_fifo_.size();
  return (lsr_ & kLsrDr) ? 0 : 1;
}

void SerialCore::receive(const uint8_t* buf, size_t len) {
  if (len == 0) return;
  if (fifo_enabled()) {
    for (size_t i = 0; i < len; ++i) {
      if (rx_fifo_.size() >= kFifoSize) {
        lsr_ |= kLsrOe;  // the character is lost
      } else {
        rx_fifo_.push_back(buf[i]);
      }
    }
    lsr_ |= kLsrDr;
    timeout_ipending_ = false;
    timeout_timer_.mod(clock_get_ns(ClockType::Virtual) + 4 * char_time_ns_);
  } else {
    for (size_t i = 0; i < len; ++i) {
      if (lsr_ & kLsrDr) lsr_ |= kLsrOe;  // the previous character is overwritten
      rbr_ = buf[i];
      lsr_ |= kLsrDr;
    }
  }
  update_irq();
}

void SerialCore::receive_break() {
  uint8_t zero = 0;
  receive(&zero, 1);
  lsr_ |= kLsrBi | kLsrDr;
  update_irq();
}

void SerialCore::xmit() {
  for (;;) {
    if (!tsr_busy_) {
      if (fifo_enabled()) {
        if (tx_fifo_.empty()) break;
        tsr_ = tx_fifo_.front();
        tx_fifo_.pop_front();
      } else {
        if (lsr_ & kLsrThre) break;
        tsr_ = thr_;
      }
      tsr_busy_ = true;
      bool empty = fifo_enabled() ? tx_fifo_.empty() : true;
      if (empty) {
        lsr_ |= kLsrThre;
        thr_ipending_ = true;
        update_irq();
      }
    }
    if (loopback()) {
      receive(&tsr_, 1);
    } else if (fe_.attached()) {
      if (fe_.write(&tsr_, 1) == 0) {
        if (!writable_pending_) {
          writable_pending_ = true;
          std::weak_ptr<bool> alive = alive_;
          fe_.notify_writable([this, alive] {
            auto a = alive.lock();
            if (!a || !*a) return;
            writable_pending_ = false;
            xmit();
          });
        }
        return;  // TEMT stays clear until the backend takes the byte
      }
    }
    tsr_busy_ = false;
  }
  if (!tsr_busy_ && (lsr_ & kLsrThre)) lsr_ |= kLsrTemt;
}

uint8_t SerialCore::modem_inputs_from_mcr() const {
  uint8_t lines = 0;
  if (mcr_ & 0x02) lines |= kMsrCts;  // RTS
  if (mcr_ & 0x01) lines |= kMsrDsr;  // DTR
  if (mcr_ & 0x04) lines |= kMsrRi;   // OUT1
  if (mcr_ & 0x08) lines |= kMsrDcd;  // OUT2
  return lines;
}

void SerialCore::set_modem_inputs(uint8_t lines) {
  uint8_t old = msr_ & 0xf0;
  uint8_t changed = old ^ lines;
  uint8_t delta = msr_ & 0x0f;
  if (changed & kMsrCts) delta |= kMsrDcts;
  if (changed & kMsrDsr) delta |= kMsrDdsr;
  if ((old & kMsrRi) && !(lines & kMsrRi)) delta |= kMsrTeri;  // trailing edge of RI
  if (changed & kMsrDcd) delta |= kMsrDdcd;
  msr_ = uint8_t(lines | delta);
}

void SerialCore::write_fcr(uint8_t v) {
  if ((v ^ fcr_) & 0x01) v |= 0x06;  // enabling or disabling the FIFOs clears them
  if (v & 0x02) {
    rx_fifo_.clear();
    lsr_ &= uint8_t(~(kLsrDr | kLsrBi));
    timeout_timer_.del();
    timeout_ipending_ = false;
  }
  if (v & 0x04) {
    tx_fifo_.clear();
    if (!tsr_busy_) lsr_ |= kLsrTemt;
    lsr_ |= kLsrThre;
    thr_ipending_ = true;
  }
  fcr_ = v & 0xc9;
  static constexpr size_t kTrigger[4] = {1, 4, 8, 14};
  rx_trigger_ = kTrigger[fcr_ >> 6];
  update_irq();
  fe_.accept_input();
}

uint8_t SerialCore::read(unsigned addr) {
  switch (addr & 7) {
    case 0: {
      if (lcr_ & 0x80) return uint8_t(divider_);
      uint8_t v;
      if (fifo_enabled()) {
        v = 0;
        if (!rx_fifo_.empty()) {
          v = rx_fifo_.front();
          rx_fifo_.pop_front();
        }
        if (rx_fifo_.empty()) {
          lsr_ &= uint8_t(~(kLsrDr | kLsrBi));
          timeout_timer_.del();
        } else {
          timeout_timer_.mod(clock_get_ns(ClockType::Virtual) + 4 * char_time_ns_);
        }
        timeout_ipending_ = false;
      } else {
        v = rbr_;
        lsr_ &= uint8_t(~(kLsrDr | kLsrBi));
      }
      update_irq();
      fe_.accept_input();
      return v;
    }
    case 1:
      return (lcr_ & 0x80) ? uint8_t(divider_ >> 8) : ier_;
    case 2: {
      uint8_t v = iir_;
      if ((v & 0x0f) == kIirThri) {
        thr_ipending_ = false;  // reading IIR acknowledges THRE
        update_irq();
      }
      return v;
    }
    case 3:
      return lcr_;
    case 4:
      return mcr_;
    case 5: {
      uint8_t v = lsr_;
      if (lsr_ & kLsrErrors) {
        lsr_ &= uint8_t(~kLsrErrors);
        update_irq();
      }
      return v;
    }
    case 6: {
      uint8_t v = msr_;
      if (msr_ & 0x0f) {
        msr_ &= 0xf0;
        update_irq();
      }
      return v;
    }
    default:
      return scr_;
  }
}

void SerialCore::write(unsigned addr, uint8_t v) {
  switch (addr & 7) {
    case 0:
      if (lcr_ & 0x80) {
        divider_ = uint16_t((divider_ & 0xff00) | v);
        update_char_time();
        return;
      }
      if (fifo_enabled()) {
        if (tx_fifo_.size() >= kFifoSize) {
          log_mask(LOG_GUEST_ERROR, log_name_ + ": transmit FIFO overrun, byte dropped");
          return;
        }
        tx_fifo_.push_back(v);
      } else {
        if (!(lsr_ & kLsrThre)) {
          log_mask(LOG_GUEST_ERROR, log_name_ + ": THR written while full, byte dropped");
          return;
        }
        thr_ = v;
      }
      thr_ipending_ = false;
      lsr_ &= uint8_t(~(kLsrThre | kLsrTemt));
      update_irq();
      xmit();
      return;
    case 1:
      if (lcr_ & 0x80) {
        divider_ = uint16_t((divider_ & 0x00ff) | (v << 8));
        update_char_time();
        return;
      }
      {
        uint8_t changed = (ier_ ^ v) & 0x0f;
        ier_ = v & 0x0f;
        // As QEMU (and Windows relies on it): enabling THRI while THR is empty raises it.
        if (changed & kIerThri) thr_ipending_ = (ier_ & kIerThri) && (lsr_ & kLsrThre);
        update_irq();
      }
      return;
    case 2:
      write_fcr(v);
      return;
    case 3:
      lcr_ = v;
      update_char_time();
      return;
    case 4: {
      bool was_loop = loopback();
      mcr_ = v & 0x1f;
      if (loopback()) {
        set_modem_inputs(modem_inputs_from_mcr());
      } else if (was_loop) {
        set_modem_inputs(kExternalLines);
        fe_.accept_input();
      }
      update_irq();
      return;
    }
    case 5:
    case 6:
      return;  // LSR and MSR are read-only (factory test writes are ignored)
    default:
      scr_ = v;
      return;
  }
}

}  // namespace machina
