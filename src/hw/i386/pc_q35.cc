// The q35 machine (QEMU's "pc-q35-7.2", alias "q35"): RAM split around the PCI hole, the PCIe
// host bridge, the ICH9 LPC bridge with its ACPI PM block and the legacy PC devices on its ISA
// bus. See pc.h; CPUs, fw_cfg, ACPI tables and boot are in pc-platform.h.
#include <string>

#include "chardev/char.h"
#include "hw/char/serial-isa.h"
#include "hw/core/sysbus.h"
#include "hw/i386/pc-gsi.h"
#include "hw/i386/pc-platform.h"
#include "hw/i386/pc.h"
#include "hw/pci-host/q35-firmware.h"
#include "hw/pci-host/q35.h"
#include "hw/rtc/mc146818rtc-pc-cmos.h"
#include "hw/timer/i8254-speaker-port.h"
#include "hw/timer/i8254.h"
#include "system/accel-irq.h"
#include "system/cpus.h"
#include "system/runstate.h"

namespace machina {

namespace {

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t k4GiB = 4 * kGiB;

}  // namespace

PcRamLayout pc_q35_ram_layout(uint64_t ram_size) {
  // As QEMU's pc_q35_init: the low memory ends at 2 GiB (big machines) or 2.75 GiB.
  uint64_t lowmem = ram_size >= 0xb0000000 ? 0x80000000 : 0xb0000000;
  PcRamLayout l;
  if (ram_size >= lowmem) {
    l.below_4g = lowmem;
    l.above_4g = ram_size - lowmem;
  } else {
    l.below_4g = ram_size;
  }
  return l;
}

PcMachine* pc_machine() {
  return dynamic_cast<PcMachine*>(object_resolve_path("/machine"));
}

Status PcMachine::init(const MachineParams& params) {
  params_ = params;
  if (Status s = init_ram(params.ram_size); !s.ok()) return s;
  if (Status s = init_chipset(); !s.ok()) return s;
  if (Status s = init_isa_devices(params); !s.ok()) return s;
  if (Status s = init_dummy_ports(); !s.ok()) return s;
  if (Status s = init_firmware_state(); !s.ok()) return s;
  return pc_platform_init(*this, params);
}

Status PcMachine::init_ram(uint64_t ram_size) {
  layout_ = pc_q35_ram_layout(ram_size);
  if (ram_size == 0) return Status::Ok();
  if (Status s = ram_.init_ram(this, machine_class().default_ram_id, ram_size); !s.ok()) return s;
  MemoryTransaction tx;
  ram_below_4g_.init_alias(this, "ram-below-4g", &ram_, 0, layout_.below_4g);
  if (Status s = get_system_memory()->add_subregion(0, &ram_below_4g_); !s.ok()) return s;
  if (layout_.above_4g) {
    ram_above_4g_.init_alias(this, "ram-above-4g", &ram_, layout_.below_4g, layout_.above_4g);
    if (Status s = get_system_memory()->add_subregion(k4GiB, &ram_above_4g_); !s.ok()) return s;
  }
  return Status::Ok();
}

Status PcMachine::machine_done() {
  // The command line's root ports exist now: number the buses ACPI hot-plug serves before the
  // DSDT describes them.
  if (AcpiPciHp* hp = pm_->pci_hotplug()) hp->assign_bus_selectors(*host_->bus());
  return pc_platform_machine_done(*this);
}

HotplugHandler* PcMachine::hotplug_handler_for(Device& dev) {
  if (pm_) {
    if (AcpiPciHp* hp = pm_->pci_hotplug()) {
      if (HotplugHandler* h = hp->handler_for(dev)) return h;
    }
  }
  return Machine::hotplug_handler_for(dev);
}

Status PcMachine::init_chipset() {
  auto g = sysbus_create(kTypePcGsi, "gsi");
  if (!g.ok()) return g.error();
  gsi_ = g.value();

  auto host = q35_host_create(layout_.below_4g, layout_.above_4g);
  if (!host.ok()) return host.error();
  host_ = host.value();
  PciBus* root = host_->bus();
  auto lpc = ich9_lpc_create(*root);
  if (!lpc.ok()) return lpc.error();
  lpc_ = lpc.value();
  for (int i = 0; i < kIch9NumGsi; ++i) lpc_->connect_gpio_out(kIch9GpioGsi, i, gsi_line(i));

  auto pm = sysbus_create(kTypeIch9Pm, "ich9-pm");
  if (!pm.ok()) return pm.error();
  pm_ = static_cast<Ich9Pm*>(pm.value());
  pm_->connect_gpio_out("", 0, lpc_->gpio_in(kIch9GpioSci, 0));
  lpc_->set_pm_mapper(pm_);
  if (lpc_->acpi_pci_hotplug_with_bridge_support) {
    if (Status s = pm_->enable_pci_hotplug(); !s.ok()) return s;
  }

  isa_bus_ = lpc_->isa_bus();
  if (!isa_bus_) return generic_error("q35: the LPC bridge has no ISA bus");
  for (int i = 0; i < kIsaNumIrqs; ++i) isa_bus_->set_irq(i, gsi_line(i));
  return Status::Ok();
}

Status PcMachine::init_firmware_state() {
  // What firmware would have done to the chipset (and the 8259's ELCR), now and after each reset.
  PciBus* root = host_->bus();
  if (Status s = q35_firmware_init(*root); !s.ok()) return s;
  qemu_register_reset([root] { (void)q35_firmware_init(*root); });
  return Status::Ok();
}

Status PcMachine::init_isa_devices(const MachineParams& params) {
  if (accel_kernel_irqchip()) {
    // KVM's 8259 pair and PIT (with port 0x61): GSI n < 16 goes to KVM_IRQ_LINE n, whose routes
    // reach the 8259 pins and the I/O APIC's (GSI 0 on pin 2); GSI 16-23 in x86-cpus.cc.
    for (int i = 0; i < kIsaNumIrqs; ++i) {
      accel_gsi_lines_.push_back(std::make_unique<IrqLine>(
          [](int n, int level) { accel_set_gsi(unsigned(n), level); }, i));
      gsi_->connect_gpio_out(kGsiOutI8259, i, accel_gsi_lines_.back().get());
    }
  } else {
    // The master's INT goes to the CPU once there is one.
    auto pics = i8259_init(*isa_bus_, nullptr, "pic-master", "pic-slave");
    if (!pics.ok()) return pics.error();
    pics_ = pics.value();
    for (int i = 0; i < kIsaNumIrqs; ++i) gsi_->connect_gpio_out(kGsiOutI8259, i, pics_.irqs[i]);

    auto pit = isa_create_simple(*isa_bus_, kTypeI8254, {}, "pit", [this](Device& d) {
      d.connect_gpio_out("", 0, isa_bus_->irq(0));
    });
    if (!pit.ok()) return pit.error();
    auto* pit_dev = static_cast<I8254*>(pit.value());
    auto spk = isa_create_simple(*isa_bus_, kTypeSpeakerPort, {}, "pcspk", [pit_dev](Device& d) {
      static_cast<SpeakerPort&>(d).set_pit(pit_dev);
    });
    if (!spk.ok()) return spk.error();
  }

  auto rtc = isa_create_simple(*isa_bus_, kTypeMc146818Rtc, {}, "rtc");
  if (!rtc.ok()) return rtc.error();
  rtc_ = static_cast<Mc146818Rtc*>(rtc.value());
  pc_cmos_set_memory(*rtc_, layout_.below_4g, layout_.above_4g);
  pc_cmos_set_cpus(*rtc_, params.smp.cpus);

  auto kbd = isa_create_simple(*isa_bus_, "i8042", {}, "i8042");
  if (!kbd.ok()) return kbd.error();

  // COM1-COM4 for the -serial options (their chardevs are "serial0".."serial3", as QEMU's
  // serial_hd()).
  for (int i = 0; i < kMaxIsaSerialPorts; ++i) {
    std::string label = "serial" + std::to_string(i);
    if (!chardev_find(label)) continue;
    auto s = isa_create_simple(*isa_bus_, kTypeIsaSerial,
                               {{"index", std::to_string(i)}, {"chardev", label}}, label);
    if (!s.ok()) return s.error();
  }
  return Status::Ok();
}

Status PcMachine::init_dummy_ports() {
  auto dummy = [this](MemoryRegion& mr, const char* name, uint16_t port) {
    MemoryRegionOps ops;
    ops.read = [](uint64_t, unsigned) -> uint64_t { return 0xff; };
    ops.write = [](uint64_t, uint64_t, unsigned) {};
    ops.impl.min_access_size = 1;
    ops.impl.max_access_size = 1;
    mr.init_io(this, name, std::move(ops), 1);
    return get_system_io()->add_subregion(port, &mr);
  };
  if (Status s = dummy(port80_, "ioport80", 0x80); !s.ok()) return s;
  if (Status s = dummy(port_ed_, "ioportED", 0xed); !s.ok()) return s;
  return dummy(port_f0_, "ioportF0", 0xf0);
}

namespace {

TypeRegistration q35_machine_type{TypeInfo{
    .name = kTypePcQ35Machine,
    .parent = kTypeMachine,
    .instance_new = [] { return new PcMachine(); },
    .class_init =
        [](ObjectClass& c) {
          auto& mc = static_cast<MachineClass&>(c);
          mc.name = "pc-q35-7.2";
          mc.alias = "q35";
          mc.desc = "Standard PC (Q35 + ICH9, 2009)";
          mc.is_default = true;
          mc.max_cpus = 288;
          mc.default_ram_id = "pc.ram";
          mc.default_ram_size = 128ull << 20;
        },
}};

}  // namespace

}  // namespace machina
