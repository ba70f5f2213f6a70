// Shared set-up for the interrupt controller tests: a fake CPU recording what its local APIC
// signals, local APICs and I/O APICs created as the machine would, registers reached through the
// system address space, and the virtual clock in manual mode.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "hw/core/sysbus.h"
#include "hw/intc/apic.h"
#include "hw/intc/ioapic.h"
#include "system/memory.h"
#include "target/i386/cpu-interrupts.h"
#include "util/bql.h"
#include "util/qemu-timer.h"

namespace machina::test {

class FakeCpu : public x86::CpuInterruptTarget {
 public:
  explicit FakeCpu(uint32_t id = 0) : id_(id) {}
  void raise_interrupt(uint32_t mask) override {
    pending |= mask;
    for (int i = 0; i < 32; ++i) {
      if (mask & (1u << i)) ++raises[i];
    }
  }
  void lower_interrupt(uint32_t mask) override { pending &= ~mask; }
  void deliver_sipi(uint8_t vector) override { sipis.push_back(vector); }
  uint32_t apic_id() const override { return id_; }

  bool hard() const { return pending & x86::kCpuIrqHard; }
  bool has(uint32_t bit) const { return pending & bit; }
  int raise_count(uint32_t bit) const { return raises[__builtin_ctz(bit)]; }
  // The CPU takes an NMI / INIT / SMI: the edge is consumed.
  void take(uint32_t bit) { pending &= ~bit; }

  uint32_t pending = 0;
  int raises[32] = {};
  std::vector<uint8_t> sipis;

 private:
  uint32_t id_;
};

class IntcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    virtual_clock_reset_for_test();
    virtual_clock_set_mode(VirtualClockMode::Manual);
  }

  void TearDown() override {
    Object* c = container_get("/machine/unattached");
    while (!c->children().empty()) c->children().back()->unparent();
    cpus_.clear();
    virtual_clock_reset_for_test();
  }

  // A local APIC with a fake CPU; `map_at` maps its register page in system memory (0: not).
  Apic* make_apic(uint8_t id, bool bsp = false, uint64_t map_at = kApicDefaultBase) {
    auto o = object_new(kTypeApic);
    EXPECT_TRUE(o.ok());
    auto* apic = static_cast<Apic*>(o.value().get());
    EXPECT_TRUE(apic->property_parse("id", std::to_string(id)).ok());
    apic->set_bsp(bsp);
    cpus_.push_back(std::make_unique<FakeCpu>(id));
    apic->set_cpu(cpus_.back().get());
    Status s = apic->realize();
    EXPECT_TRUE(s.ok()) << s.message();
    if (map_at) {
      EXPECT_TRUE(get_system_memory()->add_subregion(map_at, apic->mmio()).ok());
    }
    return apic;
  }
  FakeCpu& cpu(size_t i) { return *cpus_[i]; }

  IoApic* make_ioapic() {
    auto r = sysbus_create(kTypeIoapic);
    EXPECT_TRUE(r.ok()) << r.message();
    auto* io = static_cast<IoApic*>(r.value());
    EXPECT_TRUE(get_system_memory()->add_subregion(kIoapicDefaultBase, io->mmio()).ok());
    return io;
  }

  // Guest-style register access.
 public:
  static uint32_t rd(uint64_t addr) {
    uint64_t v = 0;
    EXPECT_EQ(address_space_memory().read(addr, 4, &v), MemTxResult::Ok) << std::hex << addr;
    return uint32_t(v);
  }
  static void wr(uint64_t addr, uint32_t v) {
    EXPECT_EQ(address_space_memory().write(addr, 4, v), MemTxResult::Ok) << std::hex << addr;
  }
  static uint32_t lapic_rd(uint32_t reg) { return rd(kApicDefaultBase + reg); }
  static void lapic_wr(uint32_t reg, uint32_t v) { wr(kApicDefaultBase + reg, v); }

  static void ioapic_wr(uint32_t reg, uint32_t v) {
    wr(kIoapicDefaultBase + ioapic_reg::kRegSel, reg);
    wr(kIoapicDefaultBase + ioapic_reg::kWindow, v);
  }
  static uint32_t ioapic_rd(uint32_t reg) {
    wr(kIoapicDefaultBase + ioapic_reg::kRegSel, reg);
    return rd(kIoapicDefaultBase + ioapic_reg::kWindow);
  }
  // Programs redirection entry `pin`.
  static void set_entry(int pin, uint64_t entry) {
    ioapic_wr(ioapic_reg::kRedirectionTable + 2 * pin + 1, uint32_t(entry >> 32));
    ioapic_wr(ioapic_reg::kRedirectionTable + 2 * pin, uint32_t(entry));
  }
  static uint64_t get_entry(int pin) {
    uint64_t lo = ioapic_rd(ioapic_reg::kRedirectionTable + 2 * pin);
    uint64_t hi = ioapic_rd(ioapic_reg::kRedirectionTable + 2 * pin + 1);
    return (hi << 32) | lo;
  }

  // Software-enables the local APIC at the default base (SVR vector 0xff).
  static void sw_enable() { lapic_wr(apic_reg::kSvr, 0x1ff); }

 protected:
  BqlGuard bql_;

 private:
  std::vector<std::unique_ptr<FakeCpu>> cpus_;
};

}  // namespace machina::test
