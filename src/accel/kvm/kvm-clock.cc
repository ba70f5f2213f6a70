// The guest's kvmclock across stop and cont (QEMU's hw/i386/kvm/clock.c): KVM's clock goes on
// while the VM is stopped, so a guest resumed after a minute would see a minute pass at once
// (soft-lockup warnings, timers firing late). When the VM stops, KVM_GET_CLOCK saves the guest's
// clock; when it runs again KVM_SET_CLOCK puts it back, so the stopped time is not the guest's.
#include <linux/kvm.h>

#include <cstdio>
#include <cstring>
#include <mutex>

#include "accel/kvm/kvm-internal.h"
#include "system/runstate.h"

namespace machina::kvm {

namespace {

struct SavedClock {
  std::mutex lock;
  bool valid = false;
  uint64_t ns = 0;
};

SavedClock& saved() {
  static auto* s = new SavedClock;
  return *s;
}

void on_vm_change(KvmState& s, bool running) {
  SavedClock& c = saved();
  std::lock_guard l(c.lock);
  if (!running) {
    if (c.valid) return;  // already saved: a second stop reason (paused, then io-error)
    kvm_clock_data d{};
    int r = kvm_ioctl(s.vm_fd, KVM_GET_CLOCK, &d);
    if (r < 0) {
      std::fprintf(stderr, "kvm: KVM_GET_CLOCK failed: %s\n", std::strerror(-r));
      return;
    }
    c.ns = d.clock;
    c.valid = true;
    return;
  }
  if (!c.valid) return;
  kvm_clock_data d{};
  d.clock = c.ns;
  int r = kvm_ioctl(s.vm_fd, KVM_SET_CLOCK, &d);
  if (r < 0) std::fprintf(stderr, "kvm: KVM_SET_CLOCK failed: %s\n", std::strerror(-r));
  c.valid = false;
}

}  // namespace

void kvm_clock_init(KvmState& s) {
  if (kvm_ioctl_value(s.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ADJUST_CLOCK) <= 0) return;
  s.adjust_clock = true;
  add_vm_change_state_handler([&s](bool running, RunState) { on_vm_change(s, running); });
}

Result<uint64_t> kvm_clock_ns() {
  KvmState* s = kvm_state();
  if (!s) return generic_error("KVM is not initialized");
  kvm_clock_data d{};
  int r = kvm_ioctl(s->vm_fd, KVM_GET_CLOCK, &d);
  if (r < 0) return generic_error(std::string("KVM_GET_CLOCK failed: ") + std::strerror(-r));
  return static_cast<uint64_t>(d.clock);
}

}  // namespace machina::kvm
