// The software CPU's vCPU threads: one thread per CPU running CpuExec, stopped and resumed with
// the VM, woken from HLT by interrupt requests, and kicked out of its loop for pause and exit.
// The threads take turns to run guest code (tcg-turn.h).
#include <thread>

#include "accel/tcg/tcg-cpu-exec.h"
#include "accel/tcg/tcg-turn.h"
#include "accel/vcpu-thread.h"
#include "system/dirty_log.h"
#include "system/runstate.h"

namespace machina::tcg {

namespace {

using x86::X86Cpu;

class TcgVcpu final : public VcpuThread {
 public:
  explicit TcgVcpu(X86Cpu& cpu) : VcpuThread(cpu), exec_(cpu) {
    cpu_.set_kick([this] { wake(); });
    dirty_log_set_exclusive(tcg_run_exclusive);  // clearing dirty bits changes every TLB
    thread_ = std::thread([this] { thread_main(); });
    cpus_register(this);
  }

  ~TcgVcpu() override {
    terminate();
    cpus_unregister(this);
    cpu_.set_kick(nullptr);
  }

 private:
  void thread_main() {
    x86::set_current_cpu_interrupt_controller(cpu_.state().lapic);
    while (park()) {
      ExitReason r = ExitReason::Budget;
      while (r == ExitReason::Budget || r == ExitReason::Yield) {
        TcgTurnGuard turn;
        // While another vCPU waits for the turn, hand it on sooner: a guest's CPUs wait for
        // each other (start-up, TLB shootdowns, delay calibration against the other's timer
        // ticks) and a whole slice is milliseconds.
        r = exec_.run(TcgTurn::get().contended() ? kContendedSlice : kSlice);
      }
      switch (r) {
        case ExitReason::Halted:
          wait_halted([this] { return exec_.has_work(); });
          break;
        case ExitReason::TripleFault:
          stop_self();  // stays stopped until the reset resumes the vCPUs
          qemu_system_reset_request("guest-reset");
          break;
        default:
          break;
      }
    }
    mark_exited();
  }

  static constexpr uint64_t kSlice = 1 << 20;
  static constexpr uint64_t kContendedSlice = 1 << 14;

  CpuExec exec_;
};

struct Registration {
  Registration() {
    accel_register_vcpu_factory("tcg", [](Device& dev) -> Result<std::unique_ptr<Vcpu>> {
      auto* cpu = dynamic_cast<X86Cpu*>(&dev);
      if (!cpu) return std::unique_ptr<Vcpu>();
      return std::unique_ptr<Vcpu>(std::make_unique<TcgVcpu>(*cpu));
    });
  }
};

Registration registration;

}  // namespace

}  // namespace machina::tcg
