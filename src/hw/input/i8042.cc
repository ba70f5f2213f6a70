// The i8042 keyboard controller: see i8042.h.
#include "hw/input/i8042.h"

#include <cstdio>
#include <tuple>

#include "qom/property-types.h"
#include "system/runstate.h"
#include "util/log.h"
#include "util/main-loop.h"

namespace machina {

namespace {

// Status register
constexpr uint8_t kStatObf = 0x01, kStatSelfTest = 0x04, kStatCmd = 0x08, kStatUnlocked = 0x10,
                  kStatMouseObf = 0x20;
// Command byte
constexpr uint8_t kModeKbdInt = 0x01, kModeMouseInt = 0x02, kModeDisableKbd = 0x10,
                  kModeDisableMouse = 0x20, kModeTranslate = 0x40;
// Output port
constexpr uint8_t kOutReset = 0x01, kOutA20 = 0x02, kOutObf = 0x10, kOutMouseObf = 0x20,
                  kOutOnes = 0xcc;

}  // namespace

I8042::I8042() {
  init_gpio_out("", 2);
  init_gpio_out("a20", 1);
}

Status I8042::do_realize() {
  MemoryRegionOps d;
  d.read = [this](uint64_t, unsigned) -> uint64_t { return read_data(); };
  d.write = [this](uint64_t, uint64_t v, unsigned) { write_data(uint8_t(v)); };
  d.impl.min_access_size = 1;
  d.impl.max_access_size = 1;
  data_io_.init_io(this, "i8042-data", std::move(d), 1);
  MemoryRegionOps c;
  c.read = [this](uint64_t, unsigned) -> uint64_t { return status_; };
  c.write = [this](uint64_t, uint64_t v, unsigned) { write_command(uint8_t(v)); };
  c.impl.min_access_size = 1;
  c.impl.max_access_size = 1;
  cmd_io_.init_io(this, "i8042-cmd", std::move(c), 1);
  if (Status s = isa_register_ioport(&data_io_, 0x60); !s.ok()) return s;
  if (Status s = isa_register_ioport(&cmd_io_, 0x64); !s.ok()) return s;
  if (!gpio_out("", 0)) isa_connect_gpio_out(0, int(kbd_irq));
  if (!gpio_out("", 1)) isa_connect_gpio_out(1, int(mouse_irq));
  do_reset();
  return Status::Ok();
}

void I8042::do_reset() {
  mode_ = kModeKbdInt | kModeMouseInt;
  status_ = kStatCmd | kStatUnlocked;
  outport_ = kOutReset | kOutA20 | kOutOnes;
  write_cmd_ = 0;
  ctrl_queue_.clear();
  out_full_ = false;
  out_aux_ = false;
  kbd_.reset();
  mouse_.reset();
  kbd_level_ = mouse_level_ = -1;
  update_irq();
}

void I8042::queue_ctrl(uint8_t v, bool aux) {
  if (ctrl_queue_.size() < Ps2Device::kQueueSize) ctrl_queue_.emplace_back(v, aux);
  fill_output();
}

// Moves the next pending byte into the output buffer if it is empty: the controller's own replies
// first, then the keyboard's, then the mouse's (each only while its port is enabled).
void I8042::fill_output() {
  if (!out_full_) {
    if (!ctrl_queue_.empty()) {
      std::tie(out_byte_, out_aux_) = ctrl_queue_.front();
      ctrl_queue_.pop_front();
      out_full_ = true;
    } else if (!(mode_ & kModeDisableKbd) && !kbd_.queue().empty()) {
      out_byte_ = kbd_.queue().front();
      kbd_.queue().pop_front();
      out_full_ = true;
      out_aux_ = false;
    } else if (!(mode_ & kModeDisableMouse) && !mouse_.queue().empty()) {
      out_byte_ = mouse_.queue().front();
      mouse_.queue().pop_front();
      out_full_ = true;
      out_aux_ = true;
    }
  }
  update_irq();
}

void I8042::update_irq() {
  status_ &= uint8_t(~(kStatObf | kStatMouseObf));
  outport_ &= uint8_t(~(kOutObf | kOutMouseObf));
  int kbd = 0, mouse = 0;
  if (out_full_) {
    status_ |= kStatObf;
    outport_ |= kOutObf;
    if (out_aux_) {
      status_ |= kStatMouseObf;
      outport_ |= kOutMouseObf;
      mouse = (mode_ & kModeMouseInt) ? 1 : 0;
    } else {
      kbd = ((mode_ & kModeKbdInt) && !(mode_ & kModeDisableKbd)) ? 1 : 0;
    }
  }
  if (kbd != kbd_level_) {
    kbd_level_ = kbd;
    set_gpio_out("", 0, kbd);
  }
  if (mouse != mouse_level_) {
    mouse_level_ = mouse;
    set_gpio_out("", 1, mouse);
  }
}

uint8_t I8042::read_data() {
  // With nothing pending the last byte reads again (as QEMU).
  uint8_t v = out_byte_;
  if (out_full_) {
    out_full_ = false;
    fill_output();
  }
  return v;
}

void I8042::request_reset() {
  // As QEMU's qemu_system_reset_request: the reset happens on the main loop, not inside the
  // port write that asked for it.
  qemu_system_reset_request("guest-reset");
}

void I8042::write_outport(uint8_t v) {
  outport_ = v;
  set_gpio_out("a20", 0, (v & kOutA20) ? 1 : 0);
  if (!(v & kOutReset)) request_reset();
  update_irq();
}

void I8042::write_command(uint8_t v) {
  status_ |= kStatCmd;
  if (v >= 0xf0) {  // pulse output lines whose bit is 0 for 6 us; bit 0 is the CPU reset
    if (!(v & 0x01)) request_reset();
    return;
  }
  switch (v) {
    case 0x20:
      queue_ctrl(mode_, false);
      break;
    case 0x60:
    case 0xd1:
    case 0xd2:
    case 0xd3:
    case 0xd4:
      write_cmd_ = v;
      break;
    case 0xa7:
      mode_ |= kModeDisableMouse;
      fill_output();
      break;
    case 0xa8:
      mode_ &= uint8_t(~kModeDisableMouse);
      fill_output();
      break;
    case 0xa9:  // aux interface test: no error
    case 0xab:  // keyboard interface test: no error
    case 0xe0:  // test inputs
      queue_ctrl(0x00, false);
      break;
    case 0xaa:  // controller self-test
      status_ |= kStatSelfTest;
      outport_ |= kOutReset;
      queue_ctrl(0x55, false);
      break;
    case 0xad:
      mode_ |= kModeDisableKbd;
      fill_output();
      break;
    case 0xae:
      mode_ &= uint8_t(~kModeDisableKbd);
      fill_output();
      break;
    case 0xc0:  // input port: keyboard not inhibited
      queue_ctrl(0x80, false);
      break;
    case 0xd0:
      queue_ctrl(outport_, false);
      break;
    case 0xdd:
      write_outport(outport_ & uint8_t(~kOutA20));
      break;
    case 0xdf:
      write_outport(outport_ | kOutA20);
      break;
    default:
      char msg[64];
      std::snprintf(msg, sizeof msg, "i8042: unsupported controller command 0x%02x", v);
      log_mask(LOG_GUEST_ERROR, msg);
      break;
  }
}

void I8042::write_data(uint8_t v) {
  status_ &= uint8_t(~kStatCmd);
  uint8_t cmd = write_cmd_;
  write_cmd_ = 0;
  switch (cmd) {
    case 0:
      // A byte for the keyboard; sending to it re-enables its port (as QEMU).
      kbd_.write(v, mode_ & kModeTranslate);
      mode_ &= uint8_t(~kModeDisableKbd);
      fill_output();
      break;
    case 0x60:
      mode_ = v;
      fill_output();
      break;
    case 0xd1:
      write_outport(v);
      break;
    case 0xd2:
      queue_ctrl(v, false);
      break;
    case 0xd3:
      queue_ctrl(v, true);
      break;
    case 0xd4:
      mouse_.write(v);
      fill_output();
      break;
  }
}

namespace {

TypeRegistration i8042_type{TypeInfo{
    .name = kTypeI8042,
    .parent = kTypeIsaDevice,
    .instance_new = [] { return new I8042(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.user_creatable = false;
          dc.description = "i8042 PS/2 keyboard controller";
          dc.add_property(prop::integer<I8042, uint32_t>("kbd-irq", &I8042::kbd_irq, 1));
          dc.add_property(prop::integer<I8042, uint32_t>("mouse-irq", &I8042::mouse_irq, 12));
        },
}};

}  // namespace

}  // namespace machina
