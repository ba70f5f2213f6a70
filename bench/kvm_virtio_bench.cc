// virtio notify round trips per second under KVM, in process: the test guest
// tests/guest/x86/virtio.S kicks a virtio-rng-pci queue from CPL 3 N times, each time waiting for
// the used buffer and its MSI-X interrupt (x86_accel_runner: the same devices as the tests). Rows:
// the kick caught in the kernel by an ioeventfd vs taken as an MMIO exit (ioeventfd=off), each
// with machina's own interrupt controllers (kernel-irqchip=off: the interrupt is injected by the
// vCPU thread) and with KVM's (kernel-irqchip=on: the device signals an irqfd). Each irqchip mode
// runs in a child process (one VM per process). The rate is (N2 - N1) / (t2 - t1) over two runs,
// so set-up cancels out; the guest also keeps the fewest TSC ticks one notify write took (the
// kick's own cost to the vCPU: caught in the kernel vs an exit to machina and back).
//
//   kvm_virtio_bench [--rounds N]
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "accel/kvm/kvm-cpu-exec.h"
#include "accel/kvm/x86_accel_runner.h"
#include "guest/x86/accel.h"
#include "guest/x86/mailbox.h"

using machina::test::AccelOutcome;
using machina::test::X86AccelRunner;

namespace {

constexpr uint64_t kKickTsc = 0x604000;  // virtio.S's KICK_TSC

uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return uint64_t(hi) << 32 | lo;
}

// TSC ticks per nanosecond, measured against the monotonic clock.
double tsc_per_ns() {
  auto t0 = std::chrono::steady_clock::now();
  uint64_t c0 = rdtsc();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  uint64_t c1 = rdtsc();
  auto t1 = std::chrono::steady_clock::now();
  return double(c1 - c0) /
         double(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
}

// Seconds for `rounds` kicks, or a negative value on failure; *kick_ticks: the fewest TSC ticks
// one notify write took in the guest.
double run(bool ioeventfd, long rounds, uint64_t* exits, uint64_t* kick_ticks = nullptr) {
  X86AccelRunner r("kvm");
  if (!r.add_virtio_rng(ioeventfd).ok()) return -1;
  uint64_t e0 = machina::kvm::kvm_mmio_write_exits_at(ACC_VIRTIO_NOTIFY);
  AccelOutcome o = r.run("virtio", "n" + std::to_string(rounds), 600000);
  if (o.value != GT_PASS) {
    std::fprintf(stderr, "  guest failed: %s\n", o.explanation.c_str());
    return -1;
  }
  if (exits) *exits = machina::kvm::kvm_mmio_write_exits_at(ACC_VIRTIO_NOTIFY) - e0;
  if (kick_ticks) std::memcpy(kick_ticks, r.ram() + kKickTsc, 8);
  return o.seconds;
}

void rows(const char* irqchip, long n) {
  std::string why = X86AccelRunner::unavailable_reason("kvm");
  if (!why.empty()) {
    std::printf("kernel-irqchip=%s: skipped (%s)\n", irqchip, why.c_str());
    return;
  }
  double per_ns = tsc_per_ns();
  for (bool ioeventfd : {true, false}) {
    long n1 = n / 10;
    uint64_t exits = 0, ticks = 0;
    double t1 = run(ioeventfd, n1, nullptr), t2 = run(ioeventfd, n, &exits, &ticks);
    if (t1 < 0 || t2 <= t1) {
      std::printf("kernel-irqchip=%-3s ioeventfd=%-3s: failed\n", irqchip,
                  ioeventfd ? "on" : "off");
      continue;
    }
    std::printf(
        "kernel-irqchip=%-3s ioeventfd=%-3s: %7.0f kick round trips/s, the kick itself %6.2f us "
        "(fastest; %llu notify exits for %ld kicks)\n",
        irqchip, ioeventfd ? "on" : "off", double(n - n1) / (t2 - t1),
        double(ticks) / per_ns / 1000.0, static_cast<unsigned long long>(exits), n);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  long n = 20000;
  for (int i = 1; i + 1 < argc; i++) {
    if (!std::strcmp(argv[i], "--rounds")) n = std::atol(argv[++i]);
  }
  if (n < 10 || n > 65000) {
    std::fprintf(stderr, "--rounds: 10 to 65000\n");
    return 2;
  }
  for (const char* mode : {"off", "on"}) {
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      setenv("MACHINA_TEST_KVM_IRQCHIP", mode, 1);
      rows(mode, n);
      std::fflush(stdout);
      _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
  }
  return 0;
}
