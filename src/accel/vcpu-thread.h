// The thread side of a vCPU that every accelerator shares: the run / park / quit handshake
// behind the Vcpu interface (system/cpus.h). An accelerator's vCPU derives from VcpuThread,
// starts `thread_` running its own loop (park() at the top of each round, then guest code), and
// calls terminate() in its destructor before its own members go.
#pragma once

#include <unistd.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "system/cpus.h"
#include "target/i386/x86-cpu.h"
#include "util/bql.h"

namespace machina {

class VcpuThread : public Vcpu {
 public:
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
    cpu_.raise_interrupt(x86::kCpuIrqExit);  // kicks it out of guest code or HLT
    BqlUnlockGuard unlocked;  // the vCPU may be waiting for the big lock to finish an access
    std::unique_lock g(lock_);
    cv_.wait(g, [this] { return parked_ || exited_; });
  }

  const Device* cpu_device() const override { return &cpu_; }
  pid_t thread_id() const override {
    std::unique_lock g(lock_);
    cv_.wait(g, [this] { return tid_ != 0; });
    return tid_;
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

 protected:
  explicit VcpuThread(x86::X86Cpu& cpu) : cpu_(cpu) {}

  // Top of the vCPU loop: parked until resumed; false when the thread must end.
  bool park() {
    std::unique_lock g(lock_);
    if (tid_ == 0) tid_ = gettid();
    parked_ = true;
    cv_.notify_all();
    cv_.wait(g, [this] { return quit_ || run_; });
    if (quit_) return false;
    parked_ = false;
    cpu_.lower_interrupt(x86::kCpuIrqExit);
    return true;
  }
  // HLT: sleeps until there is work, a pause or the end.
  void wait_halted(const std::function<bool()>& has_work) {
    std::unique_lock g(lock_);
    cv_.wait(g, [&] { return quit_ || !run_ || has_work(); });
  }
  // The vCPU stops itself (a reset or shutdown request follows; resume() starts it again).
  void stop_self() {
    std::lock_guard g(lock_);
    run_ = false;
  }
  // Wakes the thread if it sleeps in park() or wait_halted() (the CPU's kick).
  void wake() {
    std::lock_guard g(lock_);
    cv_.notify_all();
  }
  // Last thing the thread does.
  void mark_exited() {
    std::lock_guard g(lock_);
    exited_ = true;
    cv_.notify_all();
  }

  x86::X86Cpu& cpu_;
  std::thread thread_;

 private:
  mutable std::mutex lock_;
  mutable std::condition_variable cv_;
  bool run_ = false, quit_ = false, parked_ = false, exited_ = false;
  pid_t tid_ = 0;  // set by the thread when it first parks
};

}  // namespace machina
