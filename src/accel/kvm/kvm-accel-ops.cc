// The KVM accelerator's vCPU threads (QEMU's kvm-accel-ops.c): one thread per CPU running
// KvmCpuExec, stopped and resumed with the VM through the same Vcpu interface as the software
// CPU (system/cpus.h), woken from HLT by interrupt requests, kicked out of KVM_RUN for pause,
// reset and exit.
#include <atomic>
#include <cstdio>
#include <thread>

#include "accel/kvm/kvm-cpu-exec.h"
#include "accel/vcpu-thread.h"
#include "system/runstate.h"
#include "util/main-loop.h"

namespace machina::kvm {

namespace {

using x86::X86Cpu;

class KvmVcpu final : public VcpuThread {
 public:
  KvmVcpu(X86Cpu& cpu, std::unique_ptr<KvmCpuExec> exec) : VcpuThread(cpu), exec_(std::move(exec)) {
    cpu_.set_kick([this] {
      exec_->kick();
      wake();
    });
    thread_ = std::thread([this] { thread_main(); });
    cpus_register(this);
  }

  ~KvmVcpu() override {
    terminate();
    cpus_unregister(this);
    cpu_.set_kick(nullptr);
  }

  bool failed() const override { return failed_.load(); }

 private:
  // The guest cannot go on: report, and stop the VM as QEMU does (query-status: internal-error).
  void internal_error() {
    std::fprintf(stderr, "%s\n", exec_->error().c_str());
    failed_ = true;
    stop_self();
    run_on_main_loop([] { vm_stop(RunState::InternalError); });
  }

  void thread_main() {
    exec_->set_thread(true);
    // With machina's local APICs, an access to the xAPIC page from this vCPU reaches its own.
    x86::set_current_cpu_interrupt_controller(cpu_.state().lapic);
    while (park()) {
      KvmExitReason r = exec_->run();
      // The CPU object shows what the guest did (info registers, a stopped test guest).
      if (r != KvmExitReason::Error) {
        if (Status st = exec_->sync_state_from_kvm(); !st.ok()) {
          std::fprintf(stderr, "%s\n", st.message().c_str());
        }
      }
      switch (r) {
        case KvmExitReason::Halted:
          wait_halted([this] { return exec_->has_work(); });
          break;
        case KvmExitReason::TripleFault:
          stop_self();  // stays stopped until the reset resumes the vCPUs
          qemu_system_reset_request("guest-reset");
          break;
        case KvmExitReason::Stop:
          stop_self();
          qemu_system_shutdown_request("guest-shutdown", true);
          break;
        case KvmExitReason::Error:
          internal_error();
          break;
        case KvmExitReason::ExitRequest:
          break;
      }
    }
    exec_->set_thread(false);
    mark_exited();
  }

  std::unique_ptr<KvmCpuExec> exec_;
  std::atomic<bool> failed_{false};
};

struct Registration {
  Registration() {
    accel_register_vcpu_factory("kvm", [](Device& dev) -> Result<std::unique_ptr<Vcpu>> {
      auto* cpu = dynamic_cast<X86Cpu*>(&dev);
      if (!cpu) return std::unique_ptr<Vcpu>();
      auto exec = KvmCpuExec::create(*cpu);
      if (!exec.ok()) return exec.error();
      return std::unique_ptr<Vcpu>(std::make_unique<KvmVcpu>(*cpu, std::move(exec.value())));
    });
  }
};

Registration registration;

}  // namespace

}  // namespace machina::kvm
