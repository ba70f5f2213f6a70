// The 8259A programmable interrupt controller (QEMU's "isa-i8259") and the PC's master/slave pair.
//
// Registers (iobase: 0x20 master, 0xa0 slave):
//   +0 write: ICW1 (bit 4 set), OCW2 (bits 4,3 = 00: EOI, rotation, priority) or OCW3 (bits 4,3 =
//      01: read IRR/ISR select, poll, special mask); read: IRR or ISR as OCW3 selected, or the poll
//      byte (0x80 | level, or 0 when nothing is pending) after a poll command.
//   +1 write: ICW2 (vector base), ICW3, ICW4 (auto-EOI, special fully nested) during
//      initialization, else OCW1 (the mask register); read: the mask register.
//   elcr_addr (0x4d0 master, 0x4d1 slave): the edge/level control register, 1 = level-triggered;
//      bits outside elcr_mask read 0.
// GPIO: unnamed inputs 0-7 (IR0-IR7), unnamed output 0 (INT). On a PC the slave's INT drives the
// master's IR2 and the master's INT goes to the CPU (its local APIC's LINT0 / ExtINT).
#pragma once

#include <array>
#include <cstdint>

#include "hw/isa/isa-bus.h"

namespace machina {

inline constexpr const char* kTypeI8259 = "isa-i8259";

class I8259 : public IsaDevice {
 public:
  // Properties (as QEMU's).
  uint32_t iobase = 0xffffffff;
  uint32_t elcr_addr = 0xffffffff;
  uint8_t elcr_mask = 0xff;
  bool master = false;

  I8259();

  // The interrupt acknowledge cycle (INTA) on this chip alone: returns the IR level it
  // acknowledges, or -1 when none is pending (spurious).
  int get_irq() const;
  void intack(int irq);
  uint8_t irq_base() const { return irq_base_; }
  // The level of the INT output.
  bool int_output() const { return int_out_; }
  // The chip whose INT drives IR2 of this master (set by i8259_init).
  void set_slave(I8259* slave) { slave_ = slave; }
  I8259* slave() const { return slave_; }

  // Register state, for tests and `info pic`.
  uint8_t irr() const { return irr_; }
  uint8_t isr() const { return isr_; }
  uint8_t imr() const { return imr_; }
  uint8_t elcr() const { return elcr_; }

 protected:
  Status do_realize() override;
  void do_reset() override;

 private:
  void set_irq(int irq, int level);
  void update_irq();
  int priority_of(uint8_t mask) const;
  void init_reset();
  void write_cmd(uint8_t v);
  void write_data(uint8_t v);
  uint8_t read_cmd();
  uint8_t poll_read();

  MemoryRegion io_, elcr_io_;
  I8259* slave_ = nullptr;
  bool int_out_ = false;

  uint8_t last_irr_ = 0;  // input levels, for edge detection
  uint8_t irr_ = 0, imr_ = 0, isr_ = 0;
  uint8_t priority_add_ = 0;  // the level with the highest priority
  uint8_t irq_base_ = 0;
  bool read_isr_ = false;
  bool poll_ = false;
  bool special_mask_ = false;
  int init_state_ = 0;  // 0: ready, 1: expect ICW2, 2: ICW3, 3: ICW4
  bool auto_eoi_ = false;
  bool rotate_on_auto_eoi_ = false;
  bool special_fully_nested_ = false;
  bool init4_ = false;
  bool single_mode_ = false;
  uint8_t elcr_ = 0;
};

// The PC's pair: master at 0x20 (ELCR 0x4d0, mask 0xf8), slave at 0xa0 (ELCR 0x4d1, mask 0xde),
// the slave's INT wired to the master's IR2, the master's INT to `parent_irq` (may be nullptr and
// connected later with master->connect_gpio_out("", 0, line)). They become /machine/NAME_MASTER
// and /machine/NAME_SLAVE.
struct I8259Pair {
  I8259* master = nullptr;
  I8259* slave = nullptr;
  // ISA IRQ n's input: n < 8 the master's IRn, else the slave's IR(n-8).
  std::array<IrqLine*, kIsaNumIrqs> irqs{};
};
Result<I8259Pair> i8259_init(IsaBus& bus, IrqLine* parent_irq, std::string_view name_master,
                             std::string_view name_slave);

// The CPU's interrupt acknowledge (QEMU's pic_read_irq): acknowledges the highest-priority request
// through the cascade and returns its vector. A spurious request gives the vector of IR7 of the
// chip that had nothing to deliver (as the 8259A).
int pic_read_irq(I8259& master);

}  // namespace machina
