// The KVM accelerator's vCPU threads (QEMU's kvm-accel-ops.c): one thread per CPU running
// KvmCpuExec, stopped and resumed with the VM through the same Vcpu interface as the software
// CPU (system/cpus.h), woken from HLT by interrupt requests, kicked out of KVM_RUN for pause,
// reset and exit.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "accel/kvm/kvm-cpu-exec.h"
#include "system/cpus.h"
#include "system/runstate.h"
#include "util/bql.h"
#include "util/main-loop.h"

namespace machina::kvm {

namespace {

using x86::X86Cpu;

class KvmVcpu final : public Vcpu {
 public:
  KvmVcpu(X86Cpu& cpu, std::unique_ptr<KvmCpuExec> exec) : cpu_(cpu), exec_(std::move(exec)) {
    cpu_.set_kick([this] {
      exec_->kick();
      std::lock_guard g(lock_);
      cv_.notify_all();
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
    cpu_.raise_interrupt(x86::kCpuIrqExit);
    BqlUnlockGuard unlocked;  // the vCPU may be waiting for the big lock to finish an exit
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
  // The guest cannot go on: report, and stop the VM as QEMU does (query-status: internal-error).
  void internal_error() {
    std::fprintf(stderr, "%s\n", exec_->error().c_str());
    failed_ = true;
    {
      std::lock_guard g(lock_);
      run_ = false;
    }
    run_on_main_loop([] { vm_stop(RunState::InternalError); });
  }

  void thread_main() {
    exec_->set_thread(true);
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
      KvmExitReason r = exec_->run();
      // The CPU object shows what the guest did (info registers, a stopped test guest).
      if (r != KvmExitReason::Error) {
        if (Status st = exec_->sync_state_from_kvm(); !st.ok()) {
          std::fprintf(stderr, "%s\n", st.message().c_str());
        }
      }
      switch (r) {
        case KvmExitReason::Halted: {
          std::unique_lock g(lock_);
          cv_.wait(g, [this] { return quit_ || !run_ || exec_->has_work(); });
          break;
        }
        case KvmExitReason::TripleFault: {
          std::lock_guard g(lock_);
          run_ = false;  // stays stopped until the reset resumes the vCPUs
          qemu_system_reset_request("guest-reset");
          break;
        }
        case KvmExitReason::Stop: {
          std::lock_guard g(lock_);
          run_ = false;
          qemu_system_shutdown_request("guest-shutdown", true);
          break;
        }
        case KvmExitReason::Error:
          internal_error();
          break;
        case KvmExitReason::ExitRequest:
          break;
      }
    }
    exec_->set_thread(false);
    std::lock_guard g(lock_);
    exited_ = true;
    cv_.notify_all();
  }

  X86Cpu& cpu_;
  std::unique_ptr<KvmCpuExec> exec_;
  std::mutex lock_;
  std::condition_variable cv_;
  bool run_ = false, quit_ = false, parked_ = false, exited_ = false;
  std::atomic<bool> failed_{false};
  std::thread thread_;
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
