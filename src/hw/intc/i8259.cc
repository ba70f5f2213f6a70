// The 8259A PIC: see i8259.h. Priorities follow the datasheet: with rotation, the level after the
// last one serviced becomes the highest (priority_add_ holds it).
#include "hw/intc/i8259.h"

#include "qom/property-types.h"
#include "util/log.h"

namespace machina {

I8259::I8259() {
  init_gpio_in("", 8, [this](int n, int level) { set_irq(n, level); });
  init_gpio_out("", 1);
}

Status I8259::do_realize() {
  if (iobase > 0xffff) return generic_error("isa-i8259: property 'iobase' is not set");
  MemoryRegionOps ops;
  ops.read = [this](uint64_t addr, unsigned) -> uint64_t {
    if (poll_) {
      poll_ = false;
      return poll_read();
    }
    return addr == 0 ? read_cmd() : imr_;
  };
  ops.write = [this](uint64_t addr, uint64_t v, unsigned) {
    if (addr == 0) {
      write_cmd(uint8_t(v));
    } else {
      write_data(uint8_t(v));
    }
  };
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = 1;
  io_.init_io(this, "pic", std::move(ops), 2);
  if (Status s = isa_register_ioport(&io_, uint16_t(iobase)); !s.ok()) return s;

  if (elcr_addr <= 0xffff) {
    MemoryRegionOps e;
    e.read = [this](uint64_t, unsigned) -> uint64_t { return elcr_; };
    e.write = [this](uint64_t, uint64_t v, unsigned) {
      elcr_ = uint8_t(v) & elcr_mask;
      update_irq();
    };
    e.impl.min_access_size = 1;
    e.impl.max_access_size = 1;
    elcr_io_.init_io(this, "elcr", std::move(e), 1);
    if (Status s = isa_register_ioport(&elcr_io_, uint16_t(elcr_addr)); !s.ok()) return s;
  }
  do_reset();
  return Status::Ok();
}

void I8259::do_reset() {
  elcr_ = 0;
  init_reset();
  int_out_ = false;
  set_gpio_out("", 0, 0);
}

void I8259::init_reset() {
  last_irr_ = 0;
  irr_ &= elcr_;  // level-triggered requests stay
  imr_ = 0;
  isr_ = 0;
  priority_add_ = 0;
  irq_base_ = 0;
  read_isr_ = false;
  poll_ = false;
  special_mask_ = false;
  init_state_ = 0;
  auto_eoi_ = false;
  rotate_on_auto_eoi_ = false;
  special_fully_nested_ = false;
  init4_ = false;
  single_mode_ = false;
  update_irq();
}

void I8259::set_irq(int irq, int level) {
  uint8_t bit = uint8_t(1u << irq);
  if (elcr_ & bit) {
    if (level) {
      irr_ |= bit;
      last_irr_ |= bit;
    } else {
      irr_ &= uint8_t(~bit);
      last_irr_ &= uint8_t(~bit);
    }
  } else if (level) {
    if (!(last_irr_ & bit)) irr_ |= bit;  // rising edge
    last_irr_ |= bit;
  } else {
    last_irr_ &= uint8_t(~bit);
  }
  update_irq();
}

int I8259::priority_of(uint8_t mask) const {
  if (mask == 0) return 8;
  int p = 0;
  while (!(mask & (1u << ((p + priority_add_) & 7)))) ++p;
  return p;
}

int I8259::get_irq() const {
  int p = priority_of(irr_ & uint8_t(~imr_));
  if (p == 8) return -1;
  uint8_t in_service = isr_;
  if (special_mask_) in_service &= uint8_t(~imr_);
  // Special fully nested mode: a request from the slave may interrupt the slave's own service.
  if (special_fully_nested_ && master) in_service &= uint8_t(~(1u << 2));
  if (p < priority_of(in_service)) return (p + priority_add_) & 7;
  return -1;
}

void I8259::update_irq() {
  bool level = get_irq() >= 0;
  if (level == int_out_) return;
  int_out_ = level;
  set_gpio_out("", 0, level ? 1 : 0);
}

void I8259::intack(int irq) {
  uint8_t bit = uint8_t(1u << irq);
  if (auto_eoi_) {
    if (rotate_on_auto_eoi_) priority_add_ = uint8_t((irq + 1) & 7);
  } else {
    isr_ |= bit;
  }
  if (!(elcr_ & bit)) irr_ &= uint8_t(~bit);  // an edge request is consumed
  update_irq();
}

uint8_t I8259::poll_read() {
  int irq = get_irq();
  if (irq < 0) return 0;
  intack(irq);
  return uint8_t(0x80 | irq);
}

uint8_t I8259::read_cmd() {
  return read_isr_ ? isr_ : irr_;
}

void I8259::write_cmd(uint8_t v) {
  if (v & 0x10) {  // ICW1
    init_reset();
    init_state_ = 1;
    init4_ = v & 0x01;
    single_mode_ = v & 0x02;
    if (v & 0x08) log_mask(LOG_UNIMP, "i8259: level sensitive irq not supported");
    return;
  }
  if (v & 0x08) {  // OCW3
    if (v & 0x04) poll_ = true;
    if (v & 0x02) read_isr_ = v & 0x01;
    if (v & 0x40) special_mask_ = (v >> 5) & 1;
    update_irq();
    return;
  }
  // OCW2
  int cmd = v >> 5;
  switch (cmd) {
    case 0:  // rotate in automatic EOI mode: clear
    case 4:  // set
      rotate_on_auto_eoi_ = cmd == 4;
      break;
    case 1:    // non-specific EOI
    case 5: {  // rotate on non-specific EOI
      int p = priority_of(isr_);
      if (p != 8) {
        int irq = (p + priority_add_) & 7;
        isr_ &= uint8_t(~(1u << irq));
        if (cmd == 5) priority_add_ = uint8_t((irq + 1) & 7);
        update_irq();
      }
      break;
    }
    case 3:  // specific EOI
      isr_ &= uint8_t(~(1u << (v & 7)));
      update_irq();
      break;
    case 6:  // set priority: level v&7 becomes the lowest
      priority_add_ = uint8_t((v + 1) & 7);
      update_irq();
      break;
    case 7:  // rotate on specific EOI
      isr_ &= uint8_t(~(1u << (v & 7)));
      priority_add_ = uint8_t(((v & 7) + 1) & 7);
      update_irq();
      break;
    default:  // 2: no operation
      break;
  }
}

void I8259::write_data(uint8_t v) {
  switch (init_state_) {
    case 0:  // OCW1
      imr_ = v;
      update_irq();
      break;
    case 1:  // ICW2
      irq_base_ = v & 0xf8;
      init_state_ = single_mode_ ? (init4_ ? 3 : 0) : 2;
      break;
    case 2:  // ICW3 (cascade wiring is fixed by the board)
      init_state_ = init4_ ? 3 : 0;
      break;
    case 3:  // ICW4
      if (!(v & 0x01)) log_mask(LOG_UNIMP, "i8259: MCS-80/85 mode not supported");
      special_fully_nested_ = (v >> 4) & 1;
      auto_eoi_ = (v >> 1) & 1;
      init_state_ = 0;
      break;
  }
}

int pic_read_irq(I8259& master) {
  int irq = master.get_irq();
  if (irq < 0) return master.irq_base() + 7;  // spurious on the master
  int intno;
  I8259* slave = master.slave();
  if (irq == 2 && slave) {
    int irq2 = slave->get_irq();
    if (irq2 >= 0) {
      slave->intack(irq2);
    } else {
      irq2 = 7;  // spurious on the slave
    }
    intno = slave->irq_base() + irq2;
  } else {
    intno = master.irq_base() + irq;
  }
  master.intack(irq);
  return intno;
}

Result<I8259Pair> i8259_init(IsaBus& bus, IrqLine* parent_irq, std::string_view name_master,
                             std::string_view name_slave) {
  auto m = isa_create_simple(
      bus, kTypeI8259,
      {{"iobase", "0x20"}, {"elcr_addr", "0x4d0"}, {"elcr_mask", "0xf8"}, {"master", "on"}},
      name_master);
  if (!m.ok()) return m.error();
  auto s = isa_create_simple(bus, kTypeI8259,
                             {{"iobase", "0xa0"}, {"elcr_addr", "0x4d1"}, {"elcr_mask", "0xde"}},
                             name_slave);
  if (!s.ok()) return s.error();
  I8259Pair pair;
  pair.master = static_cast<I8259*>(m.value());
  pair.slave = static_cast<I8259*>(s.value());
  pair.master->connect_gpio_out("", 0, parent_irq);
  pair.slave->connect_gpio_out("", 0, pair.master->gpio_in("", 2));
  pair.master->set_slave(pair.slave);
  for (int i = 0; i < 8; ++i) {
    pair.irqs[size_t(i)] = pair.master->gpio_in("", i);
    pair.irqs[size_t(i + 8)] = pair.slave->gpio_in("", i);
  }
  return pair;
}

namespace {

TypeRegistration i8259_type{TypeInfo{
    .name = kTypeI8259,
    .parent = kTypeIsaDevice,
    .instance_new = [] { return new I8259(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.user_creatable = false;
          dc.description = "ISA 8259 programmable interrupt controller";
          dc.add_property(prop::integer<I8259, uint32_t>("iobase", &I8259::iobase, 0xffffffff));
          dc.add_property(
              prop::integer<I8259, uint32_t>("elcr_addr", &I8259::elcr_addr, 0xffffffff));
          dc.add_property(prop::integer<I8259, uint8_t>("elcr_mask", &I8259::elcr_mask, 0xff));
          dc.add_property(prop::boolean<I8259>("master", &I8259::master, false));
        },
}};

}  // namespace

}  // namespace machina
