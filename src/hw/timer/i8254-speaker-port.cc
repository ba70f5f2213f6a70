// Port 0x61: see i8254-speaker-port.h.
#include "hw/timer/i8254-speaker-port.h"

#include "qom/property-types.h"

namespace machina {

Status SpeakerPort::do_realize() {
  if (!pit_) return generic_error("isa-pcspk: no PIT connected");
  MemoryRegionOps ops;
  ops.read = [this](uint64_t, unsigned) -> uint64_t {
    refresh_ = !refresh_;
    return (pit_->gate(2) ? 0x01 : 0) | (data_on_ ? 0x02 : 0) | (refresh_ ? 0x10 : 0) |
           (pit_->out(2) ? 0x20 : 0);
  };
  ops.write = [this](uint64_t, uint64_t v, unsigned) {
    data_on_ = (v >> 1) & 1;
    pit_->set_gate(2, v & 1);
  };
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = 1;
  io_.init_io(this, "pcspk", std::move(ops), 1);
  do_reset();
  return isa_register_ioport(&io_, uint16_t(iobase));
}

namespace {

TypeRegistration speaker_port_type{TypeInfo{
    .name = kTypeSpeakerPort,
    .parent = kTypeIsaDevice,
    .instance_new = [] { return new SpeakerPort(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.user_creatable = false;
          dc.description = "PC speaker port (8254 counter 2 gate and output)";
          dc.add_property(
              prop::integer<SpeakerPort, uint32_t>("iobase", &SpeakerPort::iobase, 0x61));
        },
}};

}  // namespace

}  // namespace machina
