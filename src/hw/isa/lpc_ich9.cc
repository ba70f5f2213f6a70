// ICH9-LPC: see lpc_ich9.h.
#include "hw/isa/lpc_ich9.h"

#include "hw/isa/isa-bus.h"
#include "hw/pci/pci-host.h"
#include "qom/property-types.h"
#include "system/runstate.h"
#include "util/log.h"

namespace machina {

namespace {

bool ranges_overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen) {
  return a < b + blen && b < a + alen;
}

unsigned pirq_reg(int n) {
  return n < 4 ? ich9::kPirqaRout + unsigned(n) : ich9::kPirqeRout + unsigned(n - 4);
}

TypeRegistration ich9_lpc_type{TypeInfo{
    .name = kTypeIch9Lpc,
    .parent = kTypePciDevice,
    .interfaces = {kInterfaceConventionalPciDevice},
    .instance_new = [] { return new Ich9Lpc(); },
    .class_init =
        [](ObjectClass& c) {
          auto& pc = static_cast<PciDeviceClass&>(c);
          // Part of the ICH9 south bridge: the board wires it (QEMU's pc_q35_init).
          pc.user_creatable = false;
          pc.hotpluggable = false;
          pc.description = "ICH9 LPC bridge";
          pc.category = "Bridge devices";
          pc.vendor_id = 0x8086;
          pc.device_id = 0x2918;
          pc.revision = 0x02;  // ICH9 A2
          pc.class_id = 0x0601;
          pc.add_property(prop::integer<Ich9Lpc, uint8_t>("disable_s3", &Ich9Lpc::disable_s3, 0));
          pc.add_property(prop::integer<Ich9Lpc, uint8_t>("disable_s4", &Ich9Lpc::disable_s4, 0));
          pc.add_property(prop::integer<Ich9Lpc, uint8_t>("s4_val", &Ich9Lpc::s4_val, 2));
          pc.add_property(prop::boolean<Ich9Lpc>("acpi-pci-hotplug-with-bridge-support",
                                                 &Ich9Lpc::acpi_pci_hotplug_with_bridge_support,
                                                 true));
          pc.add_property(prop::boolean<Ich9Lpc>("noreboot", &Ich9Lpc::noreboot, false));
        },
}};

}  // namespace

Ich9Lpc::Ich9Lpc() {
  init_gpio_out(kIch9GpioGsi, kIch9NumGsi);
  init_gpio_in(kIch9GpioPirq, kIch9NumPirqs, [this](int n, int level) {
    pirq_level_[n] = level ? 1 : 0;
    update_irqs();
  });
  init_gpio_in(kIch9GpioSci, 1, [this](int, int level) {
    sci_level_ = level ? 1 : 0;
    update_irqs();
  });
  MemoryRegionOps ops;
  ops.read = [this](uint64_t, unsigned) -> uint64_t { return rst_cnt_; };
  ops.write = [this](uint64_t, uint64_t val, unsigned) {
    if (val & ich9::kRstCntRstCpu) {
      qemu_system_reset_request("guest-reset");
      return;
    }
    rst_cnt_ = uint8_t(val & (ich9::kRstCntFullRst | ich9::kRstCntSysRst));
  };
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = 1;
  rst_cnt_mem_.init_io(this, "lpc-reset-control", std::move(ops), 1);
}

void Ich9Lpc::post_init() {
  // QEMU's ACPI_PM_PROP_SCI_INT, an object property the ACPI tables read.
  Property sci;
  sci.name = "sci_int";
  sci.type = "uint32";
  sci.get = [](Object& o) -> Result<json> {
    return json(uint32_t(static_cast<Ich9Lpc&>(o).sci_irq()));
  };
  (void)add_property(std::move(sci));
  PciDevice::post_init();
}

int Ich9Lpc::sci_irq() const {
  if (config_size() == 0) return 9;
  switch (get_byte(ich9::kAcpiCntl) & ich9::kAcpiCntlSciMask) {
    case 0:
      return 9;
    case 1:
      return 10;
    case 2:
      return 11;
    case 4:
      return 20;
    case 5:
      return 21;
    case 6:
      return 22;
    case 7:
      return 23;
    default:
      return -1;
  }
}

int Ich9Lpc::pirq_route(int n) const {
  if (n < 0 || n >= kIch9NumPirqs || config_size() == 0) return -1;
  uint8_t r = get_byte(pirq_reg(n));
  return (r & ich9::kPirqRoutIrqen) ? -1 : (r & ich9::kPirqRoutMask);
}

Status Ich9Lpc::pci_realize() {
  set_wmask(ich9::kPmBase, ich9::kPmBaseMask, 4);
  wmask()[ich9::kAcpiCntl] = ich9::kAcpiCntlAcpiEn | ich9::kAcpiCntlSciMask;
  for (int n = 0; n < kIch9NumPirqs; ++n) {
    wmask()[pirq_reg(n)] = ich9::kPirqRoutIrqen | ich9::kPirqRoutMask;
  }
  set_wmask(ich9::kRcba, ich9::kRcbaWmask, 4);

  if (child_buses().empty()) {
    auto isa = isa_bus_new(this, "isa.0");
    if (!isa.ok()) return isa.error();
  }

  PciBus* bus = pci_bus();
  if (bus->is_root()) {
    std::vector<IrqLine*> lines;
    for (int n = 0; n < kIch9NumPirqs; ++n) lines.push_back(gpio_in(kIch9GpioPirq, n));
    bus->set_irq_routing(
        [](const PciDevice& dev, int pin) { return ich9_pirq_for(dev.slot(), pin); },
        std::move(lines));
  }
  if (auto* host = dynamic_cast<PciHostBridge*>(bus->root_bus()->parent_device())) {
    host->set_conf_side_port(kIch9RstCntPort & 3, &rst_cnt_mem_);
  } else {
    if (Status s = get_system_io()->add_subregion(kIch9RstCntPort, &rst_cnt_mem_, 1); !s.ok()) {
      return s;
    }
    rst_cnt_mapped_ = true;
  }
  pci_reset();
  return Status::Ok();
}

IsaBus* Ich9Lpc::isa_bus() const {
  for (Bus* b : child_buses()) {
    if (auto* isa = dynamic_cast<IsaBus*>(b)) return isa;
  }
  return nullptr;
}

void Ich9Lpc::pci_unrealize() {
  PciBus* bus = pci_bus();
  if (bus && bus->is_root()) bus->set_irq_routing({}, {});
  if (bus) {
    if (auto* host = dynamic_cast<PciHostBridge*>(bus->root_bus()->parent_device())) {
      host->set_conf_side_port(0, nullptr);
    }
  }
  if (rst_cnt_mapped_) {
    (void)get_system_io()->del_subregion(&rst_cnt_mem_);
    rst_cnt_mapped_ = false;
  }
  if (pm_mapper_ && pm_mapped_base_) pm_mapper_->unmap();
  pm_mapped_base_ = 0;
  for (int g = 0; g < kIch9NumGsi; ++g) {
    if (driven_[g]) set_gpio_out(kIch9GpioGsi, g, 0);
    driven_[g] = 0;
  }
}

void Ich9Lpc::pci_reset() {
  for (int n = 0; n < kIch9NumPirqs; ++n) set_byte(pirq_reg(n), ich9::kPirqRoutDefault);
  set_byte(ich9::kAcpiCntl, 0);
  set_long(ich9::kPmBase, ich9::kPmBaseRte);
  set_long(ich9::kRcba, 0);
  sci_level_ = 0;
  rst_cnt_ = 0;
  update_pm();
  update_irqs();
}

void Ich9Lpc::config_write(uint32_t addr, uint32_t val, unsigned len) {
  default_config_write(addr, val, len);
  bool pm =
      ranges_overlap(addr, len, ich9::kPmBase, 4) || ranges_overlap(addr, len, ich9::kAcpiCntl, 1);
  if (pm) update_pm();
  if (pm || ranges_overlap(addr, len, ich9::kPirqaRout, 4) ||
      ranges_overlap(addr, len, ich9::kPirqeRout, 4)) {
    if (ranges_overlap(addr, len, ich9::kAcpiCntl, 1) && sci_irq() < 0) {
      log_mask(LOG_GUEST_ERROR, "ICH9 LPC: SCI IRQ SEL #" +
                                    std::to_string(get_byte(ich9::kAcpiCntl) & 7) + " is reserved");
    }
    update_irqs();
  }
}

void Ich9Lpc::set_pm_mapper(Ich9PmMapper* mapper) {
  if (pm_mapper_ && pm_mapped_base_) pm_mapper_->unmap();
  pm_mapper_ = mapper;
  pm_mapped_base_ = 0;
  if (config_size()) update_pm();
}

void Ich9Lpc::update_pm() {
  uint16_t base = 0;
  if (get_byte(ich9::kAcpiCntl) & ich9::kAcpiCntlAcpiEn) {
    base = uint16_t(get_long(ich9::kPmBase) & ich9::kPmBaseMask);
  }
  if (base == pm_mapped_base_) return;
  if (pm_mapper_ && pm_mapped_base_) pm_mapper_->unmap();
  pm_mapped_base_ = 0;
  if (base && pm_mapper_) {
    pm_mapper_->map(base);
    pm_mapped_base_ = base;
  }
}

void Ich9Lpc::update_irqs() {
  if (config_size() == 0) return;
  int level[kIch9NumGsi] = {};
  for (int n = 0; n < kIch9NumPirqs; ++n) {
    level[16 + n] |= pirq_level_[n];  // APIC mode: PIRQA-H are GSI 16-23
    int irq = pirq_route(n);
    if (irq >= 0) level[irq] |= pirq_level_[n];
  }
  int sci = sci_irq();
  if (sci >= 0) level[sci] |= sci_level_;
  for (int g = 0; g < kIch9NumGsi; ++g) {
    if (level[g] == driven_[g]) continue;
    driven_[g] = level[g];
    set_gpio_out(kIch9GpioGsi, g, level[g]);
  }
}

Result<Ich9Lpc*> ich9_lpc_create(PciBus& bus, std::string_view name_in_machine) {
  auto r = pci_create_simple(bus, pci_devfn(kIch9LpcSlot, kIch9LpcFunc), true, kTypeIch9Lpc,
                             name_in_machine);
  if (!r.ok()) return r.error();
  return static_cast<Ich9Lpc*>(r.value());
}

}  // namespace machina
