// One x86 CPU under KVM (see kvm-cpu-exec.h).
#include "accel/kvm/kvm-cpu-exec.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "accel/kvm/kvm-internal.h"
#include "system/address_space.h"
#include "target/i386/kvm/kvm-cpu.h"
#include "util/bql.h"
#include "util/log.h"

namespace machina::kvm {

namespace {

// The signal that interrupts a KVM_RUN in progress (QEMU's SIG_IPI). Its handler does nothing:
// being delivered makes KVM_RUN return EINTR.
constexpr int kSigKick = SIGUSR1;

void install_kick_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return
    sigaction(kSigKick, &sa, nullptr);
  });
}

// Write exits per address (tests only look them up; an exit costs far more than this).
struct WriteExits {
  std::mutex lock;
  std::unordered_map<uint64_t, uint64_t> mmio, pio;
};

WriteExits& write_exits() {
  static WriteExits* w = new WriteExits;
  return *w;
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

}  // namespace

uint64_t kvm_mmio_write_exits_at(uint64_t addr) {
  WriteExits& w = write_exits();
  std::lock_guard l(w.lock);
  auto it = w.mmio.find(addr);
  return it == w.mmio.end() ? 0 : it->second;
}

uint64_t kvm_pio_write_exits_at(uint16_t port) {
  WriteExits& w = write_exits();
  std::lock_guard l(w.lock);
  auto it = w.pio.find(port);
  return it == w.pio.end() ? 0 : it->second;
}

Result<std::unique_ptr<KvmCpuExec>> KvmCpuExec::create(x86::X86Cpu& cpu) {
  KvmState* s = kvm_state();
  if (!s) return generic_error("kvm: the accelerator is not initialized");
  install_kick_handler();
  bool reused = false;
  auto fd = kvm_get_vcpu_fd(cpu.apic_id(), &cpu.model(), &reused);
  if (!fd.ok()) return fd.error();
  void* p = ::mmap(nullptr, static_cast<size_t>(s->vcpu_mmap_size), PROT_READ | PROT_WRITE,
                   MAP_SHARED, fd.value(), 0);
  if (p == MAP_FAILED) {
    int err = errno;
    kvm_park_vcpu_fd(cpu.apic_id(), fd.value(), &cpu.model());
    return generic_error(std::string("kvm: mapping the vCPU's kvm_run failed: ") +
                         std::strerror(err));
  }
  std::unique_ptr<KvmCpuExec> e(new KvmCpuExec(cpu, fd.value(), static_cast<kvm_run*>(p),
                                               static_cast<size_t>(s->vcpu_mmap_size)));
  if (reused) return e;  // it keeps the CPUID table of its first CPU object (same model)
  if (Status st = x86::kvm_x86_set_cpuid(e->fd_, cpu.model(), cpu.apic_id(), cpu.state().topo,
                                         s->supported_cpuid, s->irqchip_in_kernel);
      !st.ok())
    return st.error();
  return e;
}

KvmCpuExec::KvmCpuExec(x86::X86Cpu& cpu, int fd, kvm_run* run, size_t run_size)
    : cpu_(cpu), fd_(fd), run_(run), run_size_(run_size) {
  KvmState* s = kvm_state();
  irqchip_in_kernel_ = s && s->irqchip_in_kernel;
  lapic_epoch_ = kvm_irqchip_reset_epoch();
}

KvmCpuExec::~KvmCpuExec() {
  ::munmap(run_, run_size_);
  // KVM frees a vCPU only with its VM: keep the descriptor for the next CPU with this id.
  kvm_park_vcpu_fd(cpu_.apic_id(), fd_, &cpu_.model());
}

void KvmCpuExec::set_thread(bool running) {
  if (running) {
    // The kick signal must reach this thread whatever mask it inherited.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, kSigKick);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  }
  std::lock_guard g(thread_lock_);
  thread_running_ = running;
  if (running) thread_ = pthread_self();
}

void KvmCpuExec::kick() {
  __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
  std::lock_guard g(thread_lock_);
  if (thread_running_ && !pthread_equal(thread_, pthread_self())) pthread_kill(thread_, kSigKick);
}

bool KvmCpuExec::has_work() const {
  uint32_t req = cpu_.interrupt_request();
  if (req & (x86::kCpuIrqExit | x86::kCpuIrqInit)) return true;
  // An application processor waiting for its start-up IPI takes nothing else.
  if (cpu_.state().wait_sipi) return req & x86::kCpuIrqSipi;
  if (req & x86::kCpuIrqNmi) return true;
  return (req & x86::kCpuIrqHard) && if_flag_;
}

Status KvmCpuExec::load_state() {
  uint64_t gen = cpu_.state_generation();
  KvmState* s = kvm_state();
  if (Status st = x86::kvm_x86_put_registers(fd_, cpu_.state(), s->msrs); !st.ok()) return st;
  if (irqchip_in_kernel_) {
    // KVM keeps HLT and the INIT/SIPI states itself: a state loaded from outside (reset, a
    // reused vCPU whose last guest halted) says whether the CPU runs. An application processor
    // after reset waits for INIT and then a start-up IPI, which KVM's local APIC delivers.
    const x86::CpuState& env = cpu_.state();
    kvm_mp_state mp{env.wait_sipi ? uint32_t{KVM_MP_STATE_UNINITIALIZED}
                    : env.halted  ? uint32_t{KVM_MP_STATE_HALTED}
                                  : uint32_t{KVM_MP_STATE_RUNNABLE}};
    int r = kvm_ioctl(fd_, KVM_SET_MP_STATE, &mp);
    if (r < 0) return generic_error(std::string("KVM_SET_MP_STATE failed: ") + std::strerror(-r));
  }
  loaded_gen_ = gen;
  if_flag_ = (cpu_.state().flags_other & x86::kIF) != 0;
  return Status::Ok();
}

Status KvmCpuExec::sync_state_from_kvm() {
  // A state set from outside and not loaded yet (an INIT while waiting for the start-up IPI) is
  // newer than KVM's.
  if (cpu_.state_generation() != loaded_gen_) return Status::Ok();
  KvmState* s = kvm_state();
  if (Status st = x86::kvm_x86_get_registers(fd_, cpu_.state(), s->msrs); !st.ok()) return st;
  if (irqchip_in_kernel_) {
    kvm_mp_state mp{};
    if (kvm_ioctl(fd_, KVM_GET_MP_STATE, &mp) == 0) {
      cpu_.state().halted = mp.mp_state == KVM_MP_STATE_HALTED;
      cpu_.state().wait_sipi =
          mp.mp_state == KVM_MP_STATE_UNINITIALIZED || mp.mp_state == KVM_MP_STATE_INIT_RECEIVED;
    }
  }
  return Status::Ok();
}

KvmExitReason KvmCpuExec::fail(std::string msg) {
  // Where the guest was, as QEMU dumps the registers with an internal error.
  if (sync_state_from_kvm().ok())
    msg += "\nRIP=" + hex(cpu_.state().rip) + " CS=" + hex(cpu_.state().seg[x86::CS].selector) +
           " CR0=" + hex(cpu_.state().cr0);
  error_ = std::move(msg);
  return KvmExitReason::Error;
}

void KvmCpuExec::inject_interrupts(uint32_t req) {
  x86::CpuState& env = cpu_.state();
  if (req & x86::kCpuIrqNmi) {
    cpu_.lower_interrupt(x86::kCpuIrqNmi);
    int r = kvm_ioctl(fd_, KVM_NMI);
    if (r < 0) std::fprintf(stderr, "kvm: injecting an NMI failed: %s\n", std::strerror(-r));
  }
  // With the in-kernel irqchip the local APIC is KVM's: nothing to inject from here.
  if (irqchip_in_kernel_) return;
  if ((req & x86::kCpuIrqHard) && env.lapic && run_->ready_for_interrupt_injection &&
      run_->if_flag) {
    int vector;
    {
      BqlGuard bql;
      vector = env.lapic->acknowledge_interrupt();
    }
    if (vector >= 0) {
      kvm_interrupt irq{static_cast<uint32_t>(vector)};
      int r = kvm_ioctl(fd_, KVM_INTERRUPT, &irq);
      if (r < 0) std::fprintf(stderr, "kvm: KVM_INTERRUPT failed: %s\n", std::strerror(-r));
    }
  }
  // Still something pending: have KVM exit as soon as the guest can take it.
  run_->request_interrupt_window = (cpu_.interrupt_request() & x86::kCpuIrqHard) && env.lapic;
  if (env.lapic) run_->cr8 = env.lapic->cr8();
}

void KvmCpuExec::handle_io() {
  auto& io = run_->io;
  uint8_t* data = reinterpret_cast<uint8_t*>(run_) + io.data_offset;
  io_exits_++;
  if (io.direction == KVM_EXIT_IO_OUT) {
    WriteExits& w = write_exits();
    std::lock_guard l(w.lock);
    w.pio[io.port]++;
  }
  AddressSpace& as = address_space_io();
  BqlGuard bql;
  for (uint32_t i = 0; i < io.count; i++, data += io.size) {
    uint64_t v = 0;
    if (io.direction == KVM_EXIT_IO_OUT) {
      std::memcpy(&v, data, io.size);
      (void)as.write(io.port, io.size, v);
    } else {
      v = ~uint64_t{0};
      (void)as.read(io.port, io.size, &v);
      std::memcpy(data, &v, io.size);
    }
  }
}

void KvmCpuExec::handle_mmio() {
  auto& m = run_->mmio;
  AddressSpace& as = address_space_memory();
  unsigned len = m.len <= 8 ? m.len : 8;
  mmio_exits_++;
  if (m.is_write) {
    WriteExits& w = write_exits();
    std::lock_guard l(w.lock);
    w.mmio[m.phys_addr]++;
  }
  bool pow2 = len == 1 || len == 2 || len == 4 || len == 8;
  BqlGuard bql;
  if (m.is_write) {
    if (pow2) {
      uint64_t v = 0;
      std::memcpy(&v, m.data, len);
      (void)as.write(m.phys_addr, len, v);
    } else {
      (void)as.write_buf(m.phys_addr, m.data, len);
    }
  } else if (pow2) {
    uint64_t v = ~uint64_t{0};
    (void)as.read(m.phys_addr, len, &v);
    std::memcpy(m.data, &v, len);
  } else {
    std::memset(m.data, 0xff, len);
    (void)as.read_buf(m.phys_addr, m.data, len);
  }
}

KvmExitReason KvmCpuExec::run() {
  x86::CpuState& env = cpu_.state();
  for (;;) {
    __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
    uint32_t req = cpu_.interrupt_request();
    if (req & x86::kCpuIrqExit) return KvmExitReason::ExitRequest;
    if (req & x86::kCpuIrqInit) {
      cpu_.lower_interrupt(x86::kCpuIrqInit);
      BqlGuard bql;
      cpu_.reset_state(true);
    }
    if (!irqchip_in_kernel_) {
      // machina's local APICs deliver INIT and start-up IPIs as requests (with KVM's, KVM does).
      if (req & x86::kCpuIrqSipi) {
        cpu_.lower_interrupt(x86::kCpuIrqSipi);
        BqlGuard bql;
        (void)cpu_.start_at_sipi();
      }
      if (env.wait_sipi) return KvmExitReason::Halted;
    }
    if (irqchip_in_kernel_ && kvm_irqchip_reset_epoch() != lapic_epoch_) {
      // The machine was reset: so is KVM's local APIC of this CPU.
      lapic_epoch_ = kvm_irqchip_reset_epoch();
      if (Status st = kvm_lapic_reset(fd_, cpu_.apic_id(), cpu_.apic_id() == 0); !st.ok())
        return fail(st.message());
    }
    if (cpu_.state_generation() != loaded_gen_) {
      if (Status st = load_state(); !st.ok()) return fail(st.message());
    }
    if (env.halted && !irqchip_in_kernel_) {  // with KVM's irqchip, KVM_RUN waits itself
      if (!has_work()) return KvmExitReason::Halted;
      env.halted = false;
    }
    inject_interrupts(req);

    int r = ::ioctl(fd_, KVM_RUN, 0);
    if (r < 0) {
      int err = errno;
      if (err == EINTR || err == EAGAIN) continue;
      return fail(std::string("error: kvm run failed ") + std::strerror(err));
    }
    exits_++;
    if_flag_ = run_->if_flag;
    if (!irqchip_in_kernel_ && env.lapic && run_->cr8 != env.lapic->cr8()) {
      BqlGuard bql;
      env.lapic->set_cr8(static_cast<uint8_t>(run_->cr8));
    }
    switch (run_->exit_reason) {
      case KVM_EXIT_IO:
        handle_io();
        break;
      case KVM_EXIT_MMIO:
        handle_mmio();
        break;
      case KVM_EXIT_IRQ_WINDOW_OPEN:
      case KVM_EXIT_INTR:
        break;
      case KVM_EXIT_HLT:
        env.halted = true;
        break;
      case KVM_EXIT_SHUTDOWN:
        log_mask(LOG_GUEST_ERROR, "kvm: triple fault (KVM_EXIT_SHUTDOWN)\n");
        return KvmExitReason::TripleFault;
      case KVM_EXIT_SYSTEM_EVENT:
        if (run_->system_event.type == KVM_SYSTEM_EVENT_RESET) return KvmExitReason::TripleFault;
        return KvmExitReason::Stop;
      case KVM_EXIT_FAIL_ENTRY:
        return fail("KVM: entry failed, hardware error " +
                    hex(run_->fail_entry.hardware_entry_failure_reason));
      case KVM_EXIT_INTERNAL_ERROR: {
        std::string msg =
            "KVM internal error. Suberror: " + std::to_string(run_->internal.suberror);
        if (run_->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) msg += " (emulation failure)";
        return fail(msg);
      }
      default:
        return fail("KVM: unhandled exit " + std::to_string(run_->exit_reason));
    }
  }
}

}  // namespace machina::kvm
