// isa-debugcon (as QEMU's): every byte written to its port goes to the chardev; reads return the
// readback value (0xe9, Bochs' "port e9 hack" detection). Properties: iobase (0xe9), chardev,
// readback (0xe9).
#include <string>

#include "chardev/char-fe.h"
#include "chardev/char.h"
#include "hw/isa/isa-bus.h"
#include "qom/property-types.h"

namespace machina {

namespace {

class DebugCon : public IsaDevice {
 public:
  uint32_t iobase = 0xe9;
  uint32_t readback = 0xe9;
  std::string chardev;

 protected:
  Status do_realize() override {
    if (iobase > 0xffff) return generic_error("isa-debugcon: iobase out of range");
    if (!chardev.empty()) {
      Chardev* chr = chardev_find(chardev);
      if (!chr) {
        return generic_error("Property 'isa-debugcon.chardev' can't find value '" + chardev + "'");
      }
      if (Status s = fe_.init(chr); !s.ok()) return s;
    }
    MemoryRegionOps ops;
    ops.read = [this](uint64_t, unsigned) -> uint64_t { return readback; };
    ops.write = [this](uint64_t, uint64_t v, unsigned) {
      uint8_t ch = uint8_t(v);
      // QEMU writes synchronously; a backend that takes nothing right now loses the byte.
      (void)fe_.write(&ch, 1);
    };
    ops.impl.min_access_size = 1;
    ops.impl.max_access_size = 1;
    io_.init_io(this, "isa-debugcon", std::move(ops), 1);
    return isa_register_ioport(&io_, uint16_t(iobase));
  }

  void do_unrealize() override {
    fe_.deinit();
    IsaDevice::do_unrealize();
  }

 private:
  CharFrontend fe_;
  MemoryRegion io_;
};

TypeRegistration debugcon_type{TypeInfo{
    .name = "isa-debugcon",
    .parent = kTypeIsaDevice,
    .instance_new = [] { return new DebugCon(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.category = "Misc devices";
          dc.add_property(prop::integer<DebugCon, uint32_t>("iobase", &DebugCon::iobase, 0xe9));
          dc.add_property(prop::string<DebugCon>("chardev", &DebugCon::chardev));
          dc.add_property(prop::integer<DebugCon, uint32_t>("readback", &DebugCon::readback, 0xe9));
        },
}};

}  // namespace

}  // namespace machina
