// Shared set-up for the PCI tests: the q35 host bridge (with its MCH) and the ICH9 LPC built as
// the machine builds them, GSI lines that record their levels, an MSI sink on pcie.0, and config
// space reached the way a guest reaches it: port I/O at 0xCF8/0xCFC and ECAM MMIO.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hw/core/qdev-monitor.h"
#include "hw/isa/lpc_ich9.h"
#include "hw/pci-host/q35.h"
#include "system/memory.h"
#include "test_pci_device.h"
#include "util/bql.h"

namespace machina::test {

inline constexpr uint64_t kEcamBase = 0xb0000000;

struct MsiRecord {
  uint64_t address;
  uint32_t data;
};

class PciTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = q35_host_create(0x80000000, 0);
    ASSERT_TRUE(h.ok()) << h.message();
    host = h.value();
    bus = host->bus();
    auto l = ich9_lpc_create(*bus, "test-lpc");
    ASSERT_TRUE(l.ok()) << l.message();
    lpc = l.value();
    for (int i = 0; i < kIch9NumGsi; ++i) {
      gsi_lines.push_back(std::make_unique<IrqLine>([this](int n, int l) { gsi[n] = l; }, i));
      lpc->connect_gpio_out(kIch9GpioGsi, i, gsi_lines.back().get());
    }
    bus->set_msi_sink([this](uint64_t a, uint32_t d) { msis.push_back({a, d}); });
  }

  void TearDown() override {
    for (const char* c : {"/machine/peripheral", "/machine/peripheral-anon"}) {
      while (!container_get(c)->children().empty()) container_get(c)->children().back()->unparent();
    }
    if (Object* o = object_resolve_path("/machine/test-lpc")) o->unparent();
    if (Object* o = object_resolve_path("/machine/q35")) o->unparent();
    Object* u = container_get("/machine/unattached");
    for (Object* o : u->children()) {
      if (dynamic_cast<Device*>(o)) o->unparent();
    }
  }

  // --- configuration mechanism #1, as a guest: outl(0xCF8, addr); in/out at 0xCFC + (reg & 3).
  static uint32_t cfg_address(int bus_num, int devfn, unsigned reg) {
    return 0x80000000u | uint32_t(bus_num) << 16 | uint32_t(devfn) << 8 | (reg & 0xfc);
  }
  static uint32_t cf8_read(int devfn, unsigned reg, unsigned len, int bus_num = 0) {
    io_write(0xcf8, 4, cfg_address(bus_num, devfn, reg));
    return uint32_t(io_read(0xcfc + (reg & 3), len));
  }
  static void cf8_write(int devfn, unsigned reg, uint32_t val, unsigned len, int bus_num = 0) {
    io_write(0xcf8, 4, cfg_address(bus_num, devfn, reg));
    io_write(0xcfc + (reg & 3), len, val);
  }
  // --- ECAM, as a guest: MMIO at base + bus << 20 | devfn << 12 | reg.
  static uint32_t ecam_read(int devfn, unsigned reg, unsigned len, int bus_num = 0) {
    return uint32_t(
        mem_read(kEcamBase + (uint64_t(bus_num) << 20 | uint64_t(devfn) << 12 | reg), len));
  }
  static void ecam_write(int devfn, unsigned reg, uint32_t val, unsigned len, int bus_num = 0) {
    mem_write(kEcamBase + (uint64_t(bus_num) << 20 | uint64_t(devfn) << 12 | reg), len, val);
  }
  // Turns ECAM on at 0xb0000000 the way firmware does: PCIEXBAR through 0xCF8.
  static void enable_ecam() {
    cf8_write(0, mch::kPciexbar + 4, 0, 4);
    cf8_write(0, mch::kPciexbar, uint32_t(kEcamBase | 1), 4);
  }

  static uint64_t io_read(uint64_t port, unsigned len) {
    uint64_t v = 0;
    (void)address_space_io().read(port, len, &v);
    return v;
  }
  static void io_write(uint64_t port, unsigned len, uint64_t v) {
    (void)address_space_io().write(port, len, v);
  }
  static uint64_t mem_read(uint64_t addr, unsigned len) {
    uint64_t v = 0;
    (void)address_space_memory().read(addr, len, &v);
    return v;
  }
  static MemTxResult mem_read_result(uint64_t addr, unsigned len, uint64_t* v) {
    return address_space_memory().read(addr, len, v);
  }
  static void mem_write(uint64_t addr, unsigned len, uint64_t v) {
    (void)address_space_memory().write(addr, len, v);
  }

  // -device machina-test-pci[,addr=ADDR][,id=ID], as from the command line (cold plug).
  Result<Device*> add_test_device(std::optional<std::string> addr,
                                  std::optional<std::string> id = std::nullopt,
                                  std::string driver = kTypeTestPci,
                                  std::vector<std::pair<std::string, json>> props = {}) {
    DeviceOptions o;
    o.driver = std::move(driver);
    o.id = std::move(id);
    if (addr) props.insert(props.begin(), {"addr", json(*addr)});
    o.props = std::move(props);
    return qdev_device_add(o);
  }
  TestPciDevice* add_test(const std::string& addr) {
    auto r = add_test_device(addr);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? static_cast<TestPciDevice*>(r.value()) : nullptr;
  }

  BqlGuard bql_;
  Q35PciHost* host = nullptr;
  PciBus* bus = nullptr;
  Ich9Lpc* lpc = nullptr;
  std::vector<std::unique_ptr<IrqLine>> gsi_lines;
  int gsi[kIch9NumGsi] = {};
  std::vector<MsiRecord> msis;
};

}  // namespace machina::test
