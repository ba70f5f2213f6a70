// PS/2 keyboard and mouse command protocols: see i8042-ps2.h.
#include "hw/input/i8042-ps2.h"

namespace machina {

namespace {
constexpr uint8_t kAck = 0xfa, kResend = 0xfe, kSelfTestOk = 0xaa;
}  // namespace

void Ps2Keyboard::reset() {
  pending_ = 0;
  scancode_set_ = 2;
  scanning_ = true;
  leds_ = 0;
  queue_.clear();
}

void Ps2Keyboard::write(uint8_t v, bool translate) {
  if (pending_) {
    uint8_t cmd = pending_;
    pending_ = 0;
    switch (cmd) {
      case 0xed:  // set LEDs
        leds_ = v & 0x07;
        reply(kAck);
        return;
      case 0xf3:  // set typematic rate/delay
        reply(kAck);
        return;
      case 0xf0:  // get/set scan code set
        if (v == 0) {
          reply(kAck);
          // Through the controller's translation, sets 1-3 read as 0x43, 0x41, 0x3f.
          static constexpr uint8_t kTranslated[4] = {0xff, 0x43, 0x41, 0x3f};
          reply(translate ? kTranslated[scancode_set_] : uint8_t(scancode_set_));
        } else if (v >= 1 && v <= 3) {
          scancode_set_ = v;
          reply(kAck);
        } else {
          reply(kResend);
        }
        return;
    }
  }
  switch (v) {
    case 0xed:
    case 0xf3:
    case 0xf0:
      pending_ = v;
      reply(kAck);
      break;
    case 0xee:  // echo
      reply(0xee);
      break;
    case 0xf2:  // identify: MF2 keyboard
      reply(kAck);
      reply(0xab);
      reply(translate ? 0x41 : 0x83);
      break;
    case 0xf4:  // enable scanning
      scanning_ = true;
      reply(kAck);
      break;
    case 0xf5:  // disable scanning, defaults
      scanning_ = false;
      scancode_set_ = 2;
      leds_ = 0;
      reply(kAck);
      break;
    case 0xf6:  // defaults
      scancode_set_ = 2;
      leds_ = 0;
      reply(kAck);
      break;
    case 0xff:  // reset and self-test
      reset();
      reply(kAck);
      reply(kSelfTestOk);
      break;
    default:
      reply(kResend);
      break;
  }
}

void Ps2Mouse::reset() {
  pending_ = 0;
  enabled_ = false;
  wrap_ = false;
  remote_ = false;
  scaling_2to1_ = false;
  resolution_ = 2;
  sample_rate_ = 100;
  queue_.clear();
}

void Ps2Mouse::write(uint8_t v) {
  if (wrap_ && v != 0xec && v != 0xff) {
    reply(v);  // wrap mode echoes everything but "reset wrap" and "reset"
    return;
  }
  if (pending_) {
    uint8_t cmd = pending_;
    pending_ = 0;
    if (cmd == 0xe8) {
      resolution_ = v & 3;
    } else {
      sample_rate_ = v;
    }
    reply(kAck);
    return;
  }
  switch (v) {
    case 0xe6:
      scaling_2to1_ = false;
      reply(kAck);
      break;
    case 0xe7:
      scaling_2to1_ = true;
      reply(kAck);
      break;
    case 0xe8:  // set resolution
    case 0xf3:  // set sample rate
      pending_ = v;
      reply(kAck);
      break;
    case 0xe9:  // status request
      reply(kAck);
      reply(uint8_t((remote_ ? 0x40 : 0) | (enabled_ ? 0x20 : 0) | (scaling_2to1_ ? 0x10 : 0)));
      reply(resolution_);
      reply(sample_rate_);
      break;
    case 0xea:  // stream mode
      remote_ = false;
      reply(kAck);
      break;
    case 0xec:  // reset wrap mode
      wrap_ = false;
      reply(kAck);
      break;
    case 0xee:  // wrap mode
      wrap_ = true;
      reply(kAck);
      break;
    case 0xf0:  // remote mode
      remote_ = true;
      reply(kAck);
      break;
    case 0xf2:  // identify: standard PS/2 mouse
      reply(kAck);
      reply(0x00);
      break;
    case 0xf4:
      enabled_ = true;
      reply(kAck);
      break;
    case 0xf5:
      enabled_ = false;
      reply(kAck);
      break;
    case 0xf6:  // defaults
      resolution_ = 2;
      sample_rate_ = 100;
      scaling_2to1_ = false;
      reply(kAck);
      break;
    case 0xff:  // reset and self-test
      reset();
      reply(kAck);
      reply(kSelfTestOk);
      reply(0x00);
      break;
    default:
      reply(kResend);
      break;
  }
}

}  // namespace machina
