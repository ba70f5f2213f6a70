// Runs one x86-64 system test guest (tests/guest/x86/NAME.S) in process on the vCPU thread of
// an accelerator — the software CPU ("tcg") or KVM ("kvm") — through the same Vcpu interface
// the machine uses (system/cpus.h), so that one list of tests runs on both and must give the
// same results. The guest gets 64 MiB of RAM at 0, the debug-exit port 0xf4 and debug console
// 0xe9 of tests/guest/x86/mailbox.h, and the test devices of tests/guest/x86/accel.h: a port
// block, an MMIO block, a ROM, a RAM window the guest can ask to move (a slot change under
// KVM), machina-testdev-gpio at its default ports, and a local APIC model for the CPU at
// 0xfee00000 that the MMIO block can send interrupts to.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "system/memory.h"
#include "target/i386/cpu.h"

namespace machina {
class Device;
class Apic;
class VirtioDevice;
class IoApic;
}  // namespace machina

namespace machina::test {

struct AccelOutcome {
  bool loaded = false;    // the ELF was found and loaded
  bool started = false;   // the guest wrote the mailbox magic
  bool reported = false;  // the guest wrote the debug-exit port
  uint32_t value = 0;     // what it wrote
  std::string stop;       // "port", "triple fault", "timeout", "error"
  uint64_t rip = 0;       // where the CPU stopped
  std::string explanation;
  std::string console;
  std::vector<x86::CpuState> cpu_states;  // each CPU's state once it was stopped
  double seconds = 0;                     // wall time from resume to report
};

class X86AccelRunner {
 public:
  static constexpr uint64_t kRamSize = uint64_t{64} << 20;

  // "" if `accel` can run guests on this host, else why not (KVM: /dev/kvm unusable).
  static std::string unavailable_reason(const std::string& accel);

  explicit X86AccelRunner(std::string accel);
  ~X86AccelRunner();
  X86AccelRunner(const X86AccelRunner&) = delete;
  X86AccelRunner& operator=(const X86AccelRunner&) = delete;

  // Loads and runs `name` until it reports, triple faults or `timeout_ms` passes. Once.
  AccelOutcome run(const std::string& name, const std::string& cmdline = "",
                   int timeout_ms = 60000);

  // How many CPUs run() creates (before run(); default 1). CPU 0 enters the guest; the others
  // wait for INIT and a start-up IPI, as a PC's application processors do.
  void set_cpus(unsigned n) { cpus_ = n; }

  // Adds the q35 PCI host and a virtio-rng-pci set up as accel.h describes (before run()).
  // `ioeventfd`: the device's property (off: every kick is an exit dispatched by machina).
  Status add_virtio_rng(bool ioeventfd = true);
  // The virtio-rng-pci (nullptr without add_virtio_rng) and its virtio backend.
  Device* virtio_pci() const { return virtio_pci_; }
  VirtioDevice* virtio_backend() const;
  // Removes the virtio device (as device_del would, once the guest let it go): unrealized and
  // finalized before this returns.
  void remove_virtio();

  const uint8_t* ram() const { return ram_.host_ptr(); }
  // How many times the guest moved the RAM window.
  unsigned moves() const { return moves_; }
  // Called after each move (on the vCPU thread, with the big lock held; set before run()).
  std::function<void(bool at_b)> after_move;

 private:
  std::string explain(const AccelOutcome& o) const;
  uint64_t mailbox(unsigned offset) const;
  uint64_t port_read(uint64_t addr, unsigned size);
  void port_write(uint64_t addr, uint64_t v, unsigned size);
  uint64_t mmio_read(uint64_t addr, unsigned size);
  void mmio_write(uint64_t addr, uint64_t v, unsigned size);
  void move_window(bool to_b);
  void set_gsi(unsigned gsi, int level);

  std::string accel_;
  MemoryRegion ram_, rom_, window_;
  MemoryRegion debug_exit_, debugcon_, ports_, mmio_;
  Device* gpio_ = nullptr;
  Device* pci_host_ = nullptr;
  Device* virtio_pci_ = nullptr;
  std::vector<Apic*> apics_;  // one per CPU (while run() runs)
  unsigned cpus_ = 1;
  IoApic* ioapic_ = nullptr;  // machina's, when the irqchip is not KVM's
  std::string console_;
  std::string setup_error_;
  bool ran_ = false;
  // Device state (touched on the vCPU thread under the big lock).
  uint32_t port_scratch_ = 0, sink_sum_ = 0, sink_count_ = 0;
  uint64_t mmio_scratch_ = 0, mmio_accesses_ = 0;
  bool window_at_b_ = false;
  unsigned moves_ = 0;
  // The report, written on the vCPU thread.
  std::atomic<bool> reported_{false};
  std::atomic<uint32_t> value_{0};
};

std::string x86_guest_dir();
// kernel-irqchip for the KVM cases: MACHINA_TEST_KVM_IRQCHIP (on or off; default on, as
// -accel kvm's). One VM
// per process, so the test list runs once per mode (two ctest entries).
std::string kvm_irqchip_mode();

}  // namespace machina::test
