// x86 CPUs, local APICs and the I/O APIC of the PC.
#include "hw/i386/x86-cpus.h"

#include "hw/core/sysbus.h"
#include "hw/i386/pc-gsi.h"
#include "hw/i386/pc.h"
#include "system/accel-irq.h"
#include "system/cpus.h"
#include "target/i386/cpu-models.h"

namespace machina {

X86Cpus::~X86Cpus() {
  for (auto& v : vcpus_) v->terminate();
}

Status X86Cpus::init(PcMachine& machine, const CpuTopology& smp, const std::string& model_name) {
  unsigned count = smp.cpus;
  const x86::X86CpuModel* model = &x86::x86_default_cpu_model();
  if (!model_name.empty()) {
    model = x86::x86_cpu_model_find(model_name);
    if (!model) return generic_error("unable to find CPU model '" + model_name + "'");
  }
  if (count == 0 || count > 254) return generic_error("Invalid SMP CPUs " + std::to_string(count));
  const x86::X86CpuTopology topo{smp.dies, smp.cores, smp.threads};
  // xAPIC IDs are 8 bits, 0xff the broadcast: without x2APIC the highest must stay below.
  if (x86::x86_apicid_from_index(topo, smp.max_cpus - 1) > 254)
    return generic_error("-smp: the topology needs APIC IDs above 254 (x2APIC is not supported)");
  if (model->host && current_accel() != "kvm")
    return generic_error("CPU model '" + model->name + "' requires KVM or HVF");

  Object* unattached = container_get("/machine/unattached");
  for (unsigned i = 0; i < count; i++) {
    auto cpu_obj = object_new(x86::x86_cpu_type_name(model->name));
    if (!cpu_obj.ok()) return cpu_obj.error();
    auto* cpu = static_cast<x86::X86Cpu*>(cpu_obj.value().get());
    if (Status s = unattached->add_child("device[*]", cpu); !s.ok()) return s;
    cpu->set_topology(topo, i);

    auto apic_obj = object_new(kTypeApic);
    if (!apic_obj.ok()) return apic_obj.error();
    auto* apic = static_cast<Apic*>(apic_obj.value().get());
    apic->initial_id = static_cast<uint8_t>(cpu->apic_id());
    if (Status s = cpu->add_child("lapic", apic); !s.ok()) return s;
    apic->set_cpu(cpu);
    apic->set_bsp(i == 0);
    apic->set_phys_addr_bits(static_cast<int>(model->phys_bits));
    if (Status s = apic->realize(); !s.ok()) return s;
    cpu->set_local_interrupt_controller(apic);
    if (Status s = cpu->realize(); !s.ok()) return s;
    cpu->reset_state(false);
    cpus_.push_back(cpu);
    apics_.push_back(apic);
  }
  // The xAPIC page at its default base: the boot CPU's region, through which every CPU reaches
  // its own APIC (Apic::accessing_apic).
  if (Status s = get_system_memory()->add_subregion(0xfee00000, apics_.front()->mmio(), 0x1000);
      !s.ok())
    return s;

  if (accel_kernel_irqchip()) {
    // KVM's I/O APIC and local APICs (the local APIC models stay for the CPUs' APIC base and
    // IDs, unreached: KVM handles their page and the APIC bus goes to KVM_SIGNAL_MSI). The GSI
    // fan-out's I/O APIC pins 16-23 are GSI 16-23 (0-15 go through its 8259 outputs, pc_q35.cc).
    for (int n = kIsaNumIrqs; n < kIoapicPins; n++) {
      accel_gsi_lines_.push_back(std::make_unique<IrqLine>(
          [](int g, int level) { accel_set_gsi(unsigned(g), level); }, n));
      machine.gsi().connect_gpio_out(kGsiOutIoapic, n, accel_gsi_lines_.back().get());
    }
  } else {
    // The 8259's INT goes to the boot CPU's LINT0; its acknowledge gives ExtINT vectors.
    I8259* pic = &machine.pic_master();
    Apic* bsp_apic = apics_.front();
    bsp_apic->set_extint_acknowledge([pic] { return pic_read_irq(*pic); });
    pic->connect_gpio_out("", 0, bsp_apic->gpio_in("", 0));  // LINT0

    auto io = sysbus_create(kTypeIoapic, "ioapic");
    if (!io.ok()) return io.error();
    ioapic_ = static_cast<IoApic*>(io.value());
    if (Status s = get_system_memory()->add_subregion(kIoapicDefaultBase, ioapic_->mmio()); !s.ok())
      return s;
    for (int n = 0; n < kIoapicPins; n++)
      machine.gsi().connect_gpio_out(kGsiOutIoapic, n, ioapic_->gpio_in("", n));
  }

  for (x86::X86Cpu* cpu : cpus_) {
    auto v = accel_create_vcpu(*cpu);
    if (!v.ok()) return v.error();
    if (v.value()) vcpus_.push_back(std::move(v.value()));
  }
  return Status::Ok();
}

}  // namespace machina
