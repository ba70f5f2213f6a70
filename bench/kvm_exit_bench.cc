// Exit round trips per second under KVM: the test guest tests/guest/x86/exitloop.S writes an
// unassigned I/O port N times from CPL 3 (IOPL 3) or from CPL 0, or an unassigned MMIO address N
// times from CPL 3, each write one exit to the VMM and back (a PVM host, whose KVM does not
// honour IOPL 3 at CPL 3, fails the first row; its CPL 0 is emulated, which the second row pays).
// machina and Debian's qemu-system-x86_64 (-accel kvm) run the same ELF (machina through its 64-bit
// direct boot, QEMU through the ELF's PVH note); each is run with two counts and the rate is (N2 -
// N1) / (t2 - t1), so start-up and firmware time cancel out. Prints start-up (process start to
// the guest's report with no loop: QEMU runs its firmware first, machina starts the guest at its
// 64-bit entry), then exits/s and the ratio machina / QEMU.
//
//   kvm_exit_bench [--exits N] [--qemu PATH] [--json FILE]
#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench-process.h"

using namespace machina::bench;

namespace {

// Runs argv to its exit; seconds taken, or nothing if it failed (exit status must be 33:
// isa-debug-exit with GT_PASS).
std::optional<double> run_once(const std::vector<std::string>& argv) {
  auto t0 = Clock::now();
  Child c = spawn(argv, false);
  if (c.pid <= 0) return std::nullopt;
  int st = 0;
  for (;;) {
    pid_t r = waitpid(c.pid, &st, WNOHANG);
    if (r == c.pid) break;
    if (Clock::now() - t0 > std::chrono::seconds(600)) {
      kill(c.pid, SIGKILL);
      waitpid(c.pid, &st, 0);
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 33) {
    std::fprintf(stderr, "  %s: exit status %d\n", argv[0].c_str(),
                 WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
    return std::nullopt;
  }
  return s;
}

std::optional<double> rate(std::vector<std::string> base, char mode, long n) {
  long n1 = n / 10;
  auto with = [&](long count) {
    auto a = base;
    a.push_back("-append");
    a.push_back(std::string(1, mode) + std::to_string(count));
    return a;
  };
  auto t1 = run_once(with(n1));
  auto t2 = run_once(with(n));
  if (!t1 || !t2 || *t2 <= *t1) return std::nullopt;
  return double(n - n1) / (*t2 - *t1);
}

bool host_has_vmx_or_svm() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("flags", 0) == 0)
      return line.find(" vmx") != std::string::npos || line.find(" svm") != std::string::npos;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  long exits = 200000;
  std::string machina = MACHINA_BINARY_PATH, qemu = "/usr/bin/qemu-system-x86_64", json_path;
  std::string elf = std::string(MACHINA_X86_GUEST_DIR) + "/exitloop.elf";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--exits")) exits = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--qemu")) qemu = argv[i + 1];
    if (!std::strcmp(argv[i], "--json")) json_path = argv[i + 1];
  }
  if (access("/dev/kvm", R_OK | W_OK) != 0) {
    std::printf("SKIPPED: /dev/kvm is unusable (%s)\n", std::strerror(errno));
    return 0;
  }
  std::vector<std::string> m = {machina,
                                "-M",
                                "q35",
                                "-accel",
                                "kvm",
                                "-m",
                                "128M",
                                "-display",
                                "none",
                                "-kernel",
                                elf,
                                "-device",
                                "isa-debug-exit,iobase=0xf4,iosize=0x04"};
  std::vector<std::string> q = {qemu,      "-M",
                                "q35",     "-accel",
                                "kvm",     "-m",
                                "128M",    "-display",
                                "none",    "-nodefaults",
                                "-kernel", elf,
                                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"};
  bool have_qemu = access(qemu.c_str(), X_OK) == 0;
  std::string json = "{";
  bool pvm = !host_has_vmx_or_svm();
  if (pvm)
    std::printf(
        "host without vmx/svm (PVM): port I/O at CPL 3 is not honoured there, and CPL 0 "
        "code is emulated\n");
  {
    auto with0 = [](std::vector<std::string> a) {
      a.push_back("-append");
      a.push_back("P0");
      return a;
    };
    auto sm = run_once(with0(m));
    std::optional<double> sq;
    if (have_qemu) sq = run_once(with0(q));
    std::printf("start-up to the guest's report: machina %.3f s, QEMU %.3f s\n", sm.value_or(0),
                sq.value_or(0));
    json += "\"startup_s\":{\"machina\":" + std::to_string(sm.value_or(0)) +
            ",\"qemu\":" + std::to_string(sq.value_or(0)) + "}";
  }
  std::printf("%-10s %16s %16s %8s\n", "exit", "machina exits/s", "QEMU exits/s", "ratio");
  for (char mode : {'p', 'P', 'm'}) {
    const char* name = mode == 'p' ? "pio-cpl3" : mode == 'P' ? "pio-cpl0" : "mmio-cpl3";
    if (mode == 'p' && pvm) {
      std::printf("%-10s %16s %16s %8s\n", name, "-", "-", "-");
      continue;
    }
    auto rm = rate(m, mode, exits);
    std::optional<double> rq;
    if (have_qemu) rq = rate(q, mode, exits);
    std::printf("%-10s %16.0f %16.0f %8.2f\n", name, rm.value_or(0), rq.value_or(0),
                rm && rq ? *rm / *rq : 0.0);
    json += std::string(json.size() > 1 ? "," : "") + "\"" + name +
            "\":{\"machina\":" + std::to_string(rm.value_or(0)) +
            ",\"qemu\":" + std::to_string(rq.value_or(0)) + "}";
  }
  json += "}\n";
  if (!json_path.empty()) std::ofstream(json_path) << json;
  return 0;
}
