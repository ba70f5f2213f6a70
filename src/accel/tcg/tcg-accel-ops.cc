// The software CPU's vCPU threads: one thread per CPU running CpuExec, stopped and resumed with
// the VM, woken from HLT by interrupt requests, and kicked out of its loop for pause and exit.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "accel/tcg/tcg-cpu-exec.h"
#include "system/cpus.h"
#include "system/runstate.h"
#include "util/bql.h"

namespace machina::tcg {

namespace {

using x86::X86Cpu;

class TcgVcpu final : public Vcpu {
 public:
  explicit TcgVcpu(X86Cpu& cpu) : cpu_(cpu), exec_(cpu) {
    cpu_.set_kick([this] {
      std::lock_guard g(lock_);
      cv_.notify_all();
    });
    thread_ = std::thread([this] { thread_main(); });
    cpus_register(this);
  }

  ~TcgVcpu() override {
    terminate();
    cpus_unregister(this);
    cpu_.set_kick(nullptr);
  }

  void resume() override {
    std::lock_guard g(lock_);
    run_ = true;
    cv_.notify_all();
  }

  void pause() override {
    {
      std::lock_guard g(lock_);
      run_ = false;
    }
    if (!thread_.joinable() || std::this_thread::get_id() == thread_.get_id()) return;
    cpu_.raise_interrupt(x86::kCpuIrqExit);  // takes lock_ to wake a halted vCPU
    BqlUnlockGuard unlocked;  // the vCPU may be waiting for the big lock to finish an access
    std::unique_lock g(lock_);
    cv_.wait(g, [this] { return parked_ || exited_; });
  }

  void terminate() override {
    {
      std::lock_guard g(lock_);
      quit_ = true;
      cv_.notify_all();
    }
    cpu_.raise_interrupt(x86::kCpuIrqExit);
    if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) {
      BqlUnlockGuard unlocked;
      thread_.join();
    }
  }

 private:
  void thread_main() {
    for (;;) {
      {
        std::unique_lock g(lock_);
        parked_ = true;
        cv_.notify_all();
        cv_.wait(g, [this] { return quit_ || run_; });
        if (quit_) break;
        parked_ = false;
        cpu_.lower_interrupt(x86::kCpuIrqExit);
      }
      ExitReason r = ExitReason::Budget;
      while (r == ExitReason::Budget) r = exec_.run(kSlice);
      switch (r) {
        case ExitReason::Halted: {
          std::unique_lock g(lock_);
          cv_.wait(g, [this] { return quit_ || !run_ || exec_.has_work(); });
          break;
        }
        case ExitReason::TripleFault: {
          std::lock_guard g(lock_);
          run_ = false;  // stays stopped until the reset resumes the vCPUs
          qemu_system_reset_request("guest-reset");
          break;
        }
        default:
          break;
      }
    }
    std::lock_guard g(lock_);
    exited_ = true;
    cv_.notify_all();
  }

  static constexpr uint64_t kSlice = 1 << 20;

  X86Cpu& cpu_;
  CpuExec exec_;
  std::mutex lock_;
  std::condition_variable cv_;
  bool run_ = false, quit_ = false, parked_ = false, exited_ = false;
  std::thread thread_;
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
