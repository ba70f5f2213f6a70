// The x86 CPU device (QEMU's TYPE_X86_CPU, "qemu64-x86_64-cpu"): architectural state, CPU
// model, interrupt lines from the local APIC, and the accelerator that runs it. Both the
// software CPU (accel/tcg) and KVM run this same object; devices never see the difference.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hw/core/qdev.h"
#include "target/i386/cpu-interrupts.h"
#include "target/i386/cpu-models.h"
#include "target/i386/cpu.h"
#include "target/i386/mmu.h"
#include "target/i386/topology.h"

namespace machina::x86 {

inline constexpr const char* kTypeX86Cpu = "x86_64-cpu";
// The QOM type of a model: "qemu64" -> "qemu64-x86_64-cpu".
std::string x86_cpu_type_name(const std::string& model);

class X86Cpu : public Device, public CpuInterruptTarget {
 public:
  explicit X86Cpu(const X86CpuModel& model);
  ~X86Cpu() override;

  CpuState& state() { return env_; }
  X86Mmu& mmu() { return mmu_; }
  const X86CpuModel& model() const { return *model_; }
  void set_apic_id(uint32_t id) { env_.apic_id = id; }
  // CPU `index` of a machine with topology `topo`: its APIC ID and what CPUID reports.
  void set_topology(const X86CpuTopology& topo, unsigned index) {
    env_.topo = topo;
    index_ = index;
    env_.apic_id = x86_apicid_from_index(topo, index);
  }
  unsigned cpu_index() const { return index_; }
  X86CpuPosition position() const { return x86_position_from_index(env_.topo, index_); }
  void set_local_interrupt_controller(LocalInterruptController* lic) { env_.lapic = lic; }

  // --- CpuInterruptTarget (thread-safe)
  void raise_interrupt(uint32_t mask) override;
  void lower_interrupt(uint32_t mask) override;
  void deliver_sipi(uint8_t vector) override;
  uint32_t apic_id() const override { return env_.apic_id; }

  uint32_t interrupt_request() const { return irq_.load(std::memory_order_acquire); }
  uint8_t sipi_vector() const { return sipi_vector_; }
  // The accelerator's way to make the vCPU notice a new request (wakes HLT, leaves the loop).
  void set_kick(std::function<void()> kick) { kick_ = std::move(kick); }

  // Power-on / INIT state (SDM vol. 3, 9.1.1): real mode at F000:FFF0. `init` keeps the MSRs
  // an INIT leaves alone.
  void reset_state(bool init);
  // A processor waiting for a start-up IPI (CpuState::wait_sipi) takes the pending one: it
  // starts in real mode at sipi_vector() * 4096 (CS = vector * 256, IP = 0). Returns false (and
  // changes nothing) when the CPU was not waiting: a start-up IPI is then ignored.
  bool start_at_sipi();

  // Sets up 64-bit long mode as the x86-64 Linux boot protocol expects for its 64-bit entry:
  // paging with the given page-table root, flat 64-bit __BOOT_CS (0x10) / __BOOT_DS (0x18)
  // from a GDT at `gdt_base` (already in guest memory), interrupts off.
  void enter_long_mode(uint64_t cr3, uint64_t gdt_base, uint16_t gdt_limit, uint64_t rip,
                       uint64_t rsi);

  // Counts the times the state was set from outside the accelerator running it (reset, INIT,
  // the direct-boot entry above): an accelerator that keeps the live state elsewhere (KVM)
  // loads CpuState again when this changes. The software CPU runs on CpuState directly.
  uint64_t state_generation() const { return state_gen_.load(std::memory_order_acquire); }

 protected:
  void do_reset() override { reset_state(false); }

 private:
  const X86CpuModel* model_;
  CpuState env_;
  X86Mmu mmu_;
  std::atomic<uint32_t> irq_{0};
  std::atomic<uint8_t> sipi_vector_{0};
  std::function<void()> kick_;
  std::atomic<uint64_t> state_gen_{0};
  unsigned index_ = 0;
};

// The x86 CPUs in the composition tree, by CPU index (QEMU's CPU_FOREACH order).
std::vector<X86Cpu*> x86_cpu_list();

}  // namespace machina::x86
