// isa-serial: see serial-isa.h.
#include "hw/char/serial-isa.h"

#include "chardev/char.h"
#include "qom/property-types.h"

namespace machina {

namespace {

constexpr uint16_t kIsaSerialIo[kMaxIsaSerialPorts] = {0x3f8, 0x2f8, 0x3e8, 0x2e8};
constexpr uint8_t kIsaSerialIrq[kMaxIsaSerialPorts] = {4, 3, 4, 3};
int g_next_index = 0;  // as QEMU: ports without an index take the next one

}  // namespace

IsaSerial::IsaSerial() : core_([this](int level) { set_gpio_out("", 0, level); }, "isa-serial") {
  init_gpio_out("", 1);
}

Status IsaSerial::do_realize() {
  if (index == 0xffffffff) index = uint32_t(g_next_index);
  if (index >= kMaxIsaSerialPorts) {
    return generic_error("Max. supported number of ISA serial ports is " +
                         std::to_string(kMaxIsaSerialPorts) + ".");
  }
  if (iobase == 0xffffffff) iobase = kIsaSerialIo[index];
  if (isairq == 0xffffffff) isairq = kIsaSerialIrq[index];
  if (iobase > 0xfff8) return generic_error("isa-serial: iobase out of range");
  if (!chardev.empty()) {
    Chardev* chr = chardev_find(chardev);
    if (!chr) {
      return generic_error("Property 'isa-serial.chardev' can't find value '" + chardev + "'");
    }
    if (Status s = core_.attach(chr); !s.ok()) return s;
  }
  MemoryRegionOps ops;
  ops.read = [this](uint64_t addr, unsigned) -> uint64_t { return core_.read(unsigned(addr)); };
  ops.write = [this](uint64_t addr, uint64_t v, unsigned) {
    core_.write(unsigned(addr), uint8_t(v));
  };
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = 1;
  io_.init_io(this, "serial", std::move(ops), 8);
  if (Status s = isa_register_ioport(&io_, uint16_t(iobase)); !s.ok()) {
    core_.detach();
    return s;
  }
  if (!gpio_out("", 0)) isa_connect_gpio_out(0, int(isairq));
  core_.reset();
  ++g_next_index;
  return Status::Ok();
}

void IsaSerial::do_unrealize() {
  core_.detach();
  IsaDevice::do_unrealize();
}

namespace {

TypeRegistration isa_serial_type{TypeInfo{
    .name = kTypeIsaSerial,
    .parent = kTypeIsaDevice,
    .instance_new = [] { return new IsaSerial(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.category = "Input devices";
          dc.description = "16550A UART (COM port)";
          dc.add_property(
              prop::integer<IsaSerial, uint32_t>("index", &IsaSerial::index, 0xffffffff));
          dc.add_property(
              prop::integer<IsaSerial, uint32_t>("iobase", &IsaSerial::iobase, 0xffffffff));
          dc.add_property(
              prop::integer<IsaSerial, uint32_t>("irq", &IsaSerial::isairq, 0xffffffff));
          dc.add_property(prop::string<IsaSerial>("chardev", &IsaSerial::chardev));
        },
}};

}  // namespace

}  // namespace machina
