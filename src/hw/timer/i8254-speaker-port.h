// Port 0x61 (QEMU's "isa-pcspk"): the PC speaker port, as far as it is the 8254's counter 2.
//   read:  bit 0 counter 2 GATE, bit 1 speaker data enable, bit 4 refresh toggle (flips on every
//          read, as QEMU), bit 5 counter 2 OUT.
//   write: bit 0 counter 2 GATE, bit 1 speaker data enable.
// No sound is produced.
#pragma once

#include "hw/isa/isa-bus.h"
#include "hw/timer/i8254.h"

namespace machina {

inline constexpr const char* kTypeSpeakerPort = "isa-pcspk";

class SpeakerPort : public IsaDevice {
 public:
  uint32_t iobase = 0x61;
  // The PIT whose counter 2 this port gates and reads (set by the machine before realize).
  void set_pit(I8254* pit) { pit_ = pit; }

 protected:
  Status do_realize() override;
  void do_reset() override {
    data_on_ = false;
    refresh_ = false;
  }

 private:
  MemoryRegion io_;
  I8254* pit_ = nullptr;
  bool data_on_ = false;
  bool refresh_ = false;
};

}  // namespace machina
