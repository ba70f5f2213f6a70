// The x86 CPU device and its models' QOM types.
#include "target/i386/x86-cpu.h"

#include <algorithm>

#include "target/i386/seg.h"
#include "util/qemu-timer.h"

namespace machina::x86 {

std::string x86_cpu_type_name(const std::string& model) {
  return model + "-" + kTypeX86Cpu;
}

namespace {

thread_local LocalInterruptController* t_current_lic = nullptr;

}  // namespace

LocalInterruptController* current_cpu_interrupt_controller() {
  return t_current_lic;
}

void set_current_cpu_interrupt_controller(LocalInterruptController* lic) {
  t_current_lic = lic;
}

namespace {

uint64_t virtual_ns() {
  return static_cast<uint64_t>(clock_get_ns(ClockType::Virtual));
}

}  // namespace

X86Cpu::X86Cpu(const X86CpuModel& model)
    : model_(&model), mmu_(env_, address_space_memory(), address_space_io()) {
  env_.model = model_;
  env_.clock_ns = virtual_ns;
  reset_state(false);
}

X86Cpu::~X86Cpu() = default;

void X86Cpu::raise_interrupt(uint32_t mask) {
  irq_.fetch_or(mask, std::memory_order_acq_rel);
  if (kick_) kick_();
}

void X86Cpu::lower_interrupt(uint32_t mask) {
  irq_.fetch_and(~mask, std::memory_order_acq_rel);
}

void X86Cpu::deliver_sipi(uint8_t vector) {
  sipi_vector_.store(vector, std::memory_order_relaxed);
  raise_interrupt(kCpuIrqSipi);
}

void X86Cpu::reset_state(bool init) {
  CpuState keep = env_;
  env_ = CpuState{};
  env_.model = keep.model;
  env_.clock_ns = keep.clock_ns;
  env_.lapic = keep.lapic;
  env_.apic_id = keep.apic_id;
  env_.topo = keep.topo;
  if (init) {
    // INIT leaves the x87/SSE state, MTRRs and the machine-check registers alone.
    env_.fpu = keep.fpu;
    env_.mtrr_def_type = keep.mtrr_def_type;
    std::copy(std::begin(keep.mtrr_fixed), std::end(keep.mtrr_fixed), env_.mtrr_fixed);
    std::copy(std::begin(keep.mtrr_var), std::end(keep.mtrr_var), env_.mtrr_var);
  }
  // Real mode: CS = F000 with base FFFF0000, IP = FFF0; data segments base 0, limit 64 KiB.
  for (SegmentCache& sc : env_.seg) {
    sc.selector = 0;
    sc.base = 0;
    sc.limit = 0xffff;
    sc.flags = kDescP | kDescS | (0x3u << 8);
  }
  env_.seg[CS].selector = 0xf000;
  env_.seg[CS].base = 0xffff0000;
  env_.seg[CS].flags = kDescP | kDescS | (0xbu << 8);
  env_.rip = 0xfff0;
  env_.regs[RDX] = 0x600 | (model_->family > 15 ? 0xf00 : model_->family << 8) |
                   ((model_->model & 0xf) << 4) | model_->stepping;
  env_.ldtr.flags = kDescP | (0x2u << 8);
  env_.tr.flags = kDescP | (0xbu << 8);
  env_.cpl = 0;
  env_.halted = false;
  mmu_.flush_tlb(true);
  // A start-up IPI that came after the INIT is for the state INIT leaves.
  irq_.fetch_and(init ? kCpuIrqExit | kCpuIrqSipi : kCpuIrqExit, std::memory_order_acq_rel);
  if (env_.lapic) env_.lapic->cpu_reset();
  // Application processors wait for a start-up IPI; the bootstrap processor runs.
  env_.wait_sipi = env_.lapic && !(env_.lapic->apic_base() & kApicBaseBsp);
  state_gen_.fetch_add(1, std::memory_order_acq_rel);
}

bool X86Cpu::start_at_sipi() {
  if (!env_.wait_sipi) return false;
  env_.wait_sipi = false;
  env_.halted = false;
  load_real_mode_segment(env_, CS, static_cast<uint16_t>(sipi_vector() << 8));
  env_.rip = 0;
  state_gen_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

void X86Cpu::enter_long_mode(uint64_t cr3, uint64_t gdt_base, uint16_t gdt_limit, uint64_t rip,
                             uint64_t rsi) {
  env_.cr0 = kCr0PE | kCr0MP | kCr0ET | kCr0NE | kCr0WP | kCr0AM | kCr0PG;
  env_.cr3 = cr3;
  env_.cr4 = kCr4PAE | kCr4PGE;
  env_.efer = kEferLME | kEferLMA | kEferSCE | kEferNXE;
  env_.gdtr = {gdt_base, gdt_limit};
  env_.idtr = {0, 0};
  set_flat_segment(env_.seg[CS], 0x10, true, 0);
  for (unsigned s : {DS, ES, SS, FS, GS}) set_flat_segment(env_.seg[s], 0x18, false, 0);
  env_.fs_base = env_.gs_base = 0;
  env_.tr.selector = 0;
  env_.tr.base = 0;
  env_.tr.limit = 0xffff;
  env_.tr.flags = kDescP | (0xbu << 8);
  env_.cpl = 0;
  env_.set_rflags(2);
  for (uint64_t& r : env_.regs) r = 0;
  env_.regs[RSI] = rsi;
  env_.rip = rip;
  env_.halted = false;
  mmu_.flush_tlb(true);
  state_gen_.fetch_add(1, std::memory_order_acq_rel);
}

namespace {

struct ModelTypes {
  ModelTypes() {
    type_register(TypeInfo{
        .name = kTypeX86Cpu,
        .parent = kTypeDevice,
        .abstract = true,
        .class_init =
            [](ObjectClass& c) {
              auto& dc = static_cast<DeviceClass&>(c);
              dc.user_creatable = false;
              dc.hotpluggable = false;
              dc.category = "CPU";
            },
    });
    for (const X86CpuModel& m : x86_cpu_models()) {
      const X86CpuModel* model = &m;
      type_register(TypeInfo{
          .name = x86_cpu_type_name(m.name),
          .parent = kTypeX86Cpu,
          .instance_new = [model] { return new X86Cpu(*model); },
          .class_init =
              [model](ObjectClass& c) {
                static_cast<DeviceClass&>(c).description = model->description;
              },
      });
    }
  }
};

ModelTypes model_types;

}  // namespace

namespace {

void collect_cpus(Object& o, std::vector<X86Cpu*>& out) {
  if (object_dynamic_cast(&o, kTypeX86Cpu)) out.push_back(static_cast<X86Cpu*>(&o));
  o.for_each_child([&](Object& c) {
    collect_cpus(c, out);
    return true;
  });
}

}  // namespace

std::vector<X86Cpu*> x86_cpu_list() {
  std::vector<X86Cpu*> out;
  collect_cpus(*object_root(), out);
  std::sort(out.begin(), out.end(),
            [](X86Cpu* a, X86Cpu* b) { return a->cpu_index() < b->cpu_index(); });
  return out;
}

}  // namespace machina::x86
