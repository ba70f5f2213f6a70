// isa-debug-exit (as QEMU's): a write of value V to its ports ends the process with exit status
// (V << 1) | 1, so that a test guest can report success or failure. Properties: iobase (0x501),
// iosize (2). Reads return 0 (as QEMU).
#include <unistd.h>

#include <cstdio>

#include "chardev/char-stdio.h"
#include "hw/isa/isa-bus.h"
#include "monitor/monitor.h"
#include "qom/property-types.h"

namespace machina {

namespace {

class DebugExit : public IsaDevice {
 public:
  uint32_t iobase = 0x501;
  uint32_t iosize = 2;

 protected:
  Status do_realize() override {
    if (iosize == 0 || iosize > 0x10000 || iobase + iosize > 0x10000) {
      return generic_error("isa-debug-exit: iobase/iosize out of range");
    }
    MemoryRegionOps ops;
    ops.read = [](uint64_t, unsigned) -> uint64_t { return 0; };
    ops.write = [](uint64_t, uint64_t v, unsigned) {
      // As QEMU's exit(): pending output is written out and the terminal restored first.
      monitor_flush_all();
      stdio_restore_terminal();
      std::fflush(nullptr);
      ::_exit(int(((v << 1) | 1) & 0xff));
    };
    ops.valid.min_access_size = 1;
    ops.valid.max_access_size = 4;
    ops.impl.min_access_size = 1;
    ops.impl.max_access_size = 4;
    io_.init_io(this, "isa-debug-exit", std::move(ops), iosize);
    return isa_register_ioport(&io_, uint16_t(iobase));
  }

 private:
  MemoryRegion io_;
};

TypeRegistration debug_exit_type{TypeInfo{
    .name = "isa-debug-exit",
    .parent = kTypeIsaDevice,
    .instance_new = [] { return new DebugExit(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.category = "Misc devices";
          dc.add_property(prop::integer<DebugExit, uint32_t>("iobase", &DebugExit::iobase, 0x501));
          dc.add_property(prop::integer<DebugExit, uint32_t>("iosize", &DebugExit::iosize, 2));
        },
}};

}  // namespace

}  // namespace machina
