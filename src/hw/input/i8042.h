// The i8042 keyboard controller (QEMU's "i8042") at 0x60 (data) and 0x64 (status / command),
// with a PS/2 keyboard and mouse behind it.
//
// Controller commands: 0x20 read / 0x60 write the command byte; 0xa7/0xa8 disable/enable the aux
// port, 0xa9 test it (0x00); 0xaa self-test (0x55, sets the system flag); 0xab test the keyboard
// port (0x00); 0xad/0xae disable/enable the keyboard port; 0xc0 read the input port; 0xd0/0xd1
// read/write the output port (bit 0 low resets the CPU, bit 1 is A20); 0xd2/0xd3 write to the
// keyboard / aux output buffer (loopback); 0xd4 send to the mouse; 0xdd/0xdf A20 off/on; 0xe0
// read test inputs; 0xf0-0xff pulse output lines (bit 0 low, 0xfe: reset the CPU).
// A CPU reset is a guest reset request: on the main loop, every device is reset and RESET is sent
// with reason "guest-reset".
// GPIO: unnamed outputs 0 (keyboard, ISA IRQ 1) and 1 (mouse, ISA IRQ 12), connected at realize;
// named output "a20" (the A20 gate).
#pragma once

#include <cstdint>
#include <deque>
#include <utility>

#include "hw/input/i8042-ps2.h"
#include "hw/isa/isa-bus.h"

namespace machina {

inline constexpr const char* kTypeI8042 = "i8042";

class I8042 : public IsaDevice {
 public:
  uint32_t kbd_irq = 1;
  uint32_t mouse_irq = 12;

  I8042();

  uint8_t mode() const { return mode_; }
  uint8_t outport() const { return outport_; }

 protected:
  Status do_realize() override;
  void do_reset() override;

 private:
  uint8_t read_data();
  void write_data(uint8_t v);
  void write_command(uint8_t v);
  void queue_ctrl(uint8_t v, bool aux);
  void fill_output();
  void update_irq();
  void write_outport(uint8_t v);
  void request_reset();

  MemoryRegion data_io_, cmd_io_;
  Ps2Keyboard kbd_;
  Ps2Mouse mouse_;
  std::deque<std::pair<uint8_t, bool>> ctrl_queue_;  // controller replies (byte, from aux)
  uint8_t mode_ = 0, status_ = 0, outport_ = 0;
  uint8_t write_cmd_ = 0;  // a command waiting for its data byte
  uint8_t out_byte_ = 0;
  bool out_full_ = false, out_aux_ = false;
  int kbd_level_ = -1, mouse_level_ = -1;
};

}  // namespace machina
