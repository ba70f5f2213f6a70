// Booting the default guest (Debian's cloud kernel and the project's initramfs, build/guest) on
// the software CPU, machina against Debian's qemu-system-x86_64 run back to back:
//   - wall time from process start until /init prints MACHINA-GUEST-READY on the serial console:
//     machina -M q35 -accel tcg, QEMU -M q35 -accel tcg and QEMU -M microvm (acpi=off)
//   - resident memory outside guest RAM with the guest idle at its shell (q35, 10 s after the
//     marker): VmRSS minus the resident part of the mappings at least as large as guest RAM
// Same command line for both (256 MiB, 1 CPU or --smp N, the default CPU model, -nodefaults,
// serial on stdout). Prints medians and ratios (n = boots that reached the marker,
// machina/QEMU; QEMU gets 2 minutes a boot, machina 15); --json PATH also writes them.
// With --smp N > 1, QEMU runs its vCPUs in parallel threads (MTTCG) while machina's take turns.
// Usage: pc_boot_bench [--runs N] [--smp N] [--guest DIR] [--machina PATH] [--qemu PATH]
//                      [--json PATH]
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench-process.h"

namespace {

using namespace machina::bench;
constexpr uint64_t kGuestRamKib = 256 * 1024;

std::string g_smp = "1";

std::vector<std::string> boot_args(const std::string& bin, const std::string& machine,
                                   const std::string& guest, const std::string& extra_append) {
  return {bin,       "-M",
          machine,   "-accel",
          "tcg",     "-m",
          "256M",    "-smp",
          g_smp,     "-display",
          "none",    "-nodefaults",
          "-serial", "stdio",
          "-kernel", guest + "/vmlinuz",
          "-initrd", guest + "/initramfs.gz",
          "-append", "console=ttyS0 panic=-1 quiet" + extra_append};
}

// Resident KiB outside the mappings of at least guest-RAM size (guest RAM and its alignment).
long rss_outside_guest_ram_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  long total = 0;
  bool big = false;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string key;
    long kib = 0;
    in >> key >> kib;
    if (key == "Size:") big = uint64_t(kib) >= kGuestRamKib;
    if (key == "Rss:" && !big) total += kib;
  }
  return total;
}

struct BootResult {
  double seconds = -1;
  long rss_kib = -1;
};

// Boots (giving up after `timeout`: a run that does not boot counts as missing, n in the
// table); with `measure_rss`, stays at the shell for 10 s and reads the memory figure.
BootResult boot(const std::vector<std::string>& args, bool measure_rss,
                std::chrono::milliseconds timeout) {
  BootResult r;
  auto t0 = Clock::now();
  Child c = spawn(args, true);
  std::string buf;
  if (read_until(c.out, "MACHINA-GUEST-READY", &buf, timeout)) {
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (measure_rss) {
      // Keep draining the console while the guest settles.
      auto until = Clock::now() + std::chrono::seconds(10);
      while (Clock::now() < until)
        read_until(c.out, "\x01never\x01", &buf, std::chrono::seconds(1));
      r.rss_kib = rss_outside_guest_ram_kib(c.pid);
    }
  }
  stop(c);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 3;
  std::string machina = MACHINA_BINARY_PATH, qemu = "/usr/bin/qemu-system-x86_64";
  std::string guest = MACHINA_GUEST_DIR, json_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--runs") runs = std::atoi(argv[i + 1]);
    if (k == "--smp") g_smp = argv[i + 1];
    if (k == "--machina") machina = argv[i + 1];
    if (k == "--qemu") qemu = argv[i + 1];
    if (k == "--guest") guest = argv[i + 1];
    if (k == "--json") json_path = argv[i + 1];
  }
  if (access((guest + "/vmlinuz").c_str(), R_OK) != 0) {
    std::fprintf(stderr, "pc_boot_bench: no guest in %s (run scripts/build-guest.sh)\n",
                 guest.c_str());
    return 1;
  }
  bool have_qemu = access(qemu.c_str(), X_OK) == 0;
  std::vector<double> m_boot, q_boot, qm_boot, m_rss, q_rss;
  for (int r = 0; r < runs; ++r) {
    BootResult m = boot(boot_args(machina, "q35", guest, ""), true, std::chrono::minutes(15));
    if (m.seconds >= 0) m_boot.push_back(m.seconds);
    if (m.rss_kib >= 0) m_rss.push_back(double(m.rss_kib));
    if (!have_qemu) continue;
    BootResult q = boot(boot_args(qemu, "q35", guest, ""), true, std::chrono::minutes(2));
    if (q.seconds >= 0) q_boot.push_back(q.seconds);
    if (q.rss_kib >= 0) q_rss.push_back(double(q.rss_kib));
    BootResult qm =
        boot(boot_args(qemu, "microvm", guest, " acpi=off"), false, std::chrono::minutes(2));
    if (qm.seconds >= 0) qm_boot.push_back(qm.seconds);
  }
  nlohmann::json out = nlohmann::json::array();
  auto row = [&](const char* what, const std::vector<double>& m, const std::vector<double>& q,
                 const char* unit) {
    double mm = median(m), qq = median(q);
    std::printf("%-52s %10.2f %10.2f %8.2f  (%s, n=%zu/%zu of %d)\n", what, mm, qq,
                qq > 0 ? mm / qq : 0.0, unit, m.size(), q.size(), runs);
    out.push_back({{"what", what},
                   {"unit", unit},
                   {"machina", mm},
                   {"qemu", qq},
                   {"ratio", qq > 0 ? mm / qq : 0.0},
                   {"runs_machina", m.size()},
                   {"runs_qemu", q.size()}});
  };
  std::printf("%-52s %10s %10s %8s\n", ("median, -smp " + g_smp).c_str(), "machina", "qemu",
              "ratio");
  row("boot to userspace marker, q35 tcg (QEMU: q35 tcg)", m_boot, q_boot, "s");
  row("boot to userspace marker, q35 tcg (QEMU: microvm tcg)", m_boot, qm_boot, "s");
  row("RSS outside guest RAM, idle at the shell, q35 tcg", m_rss, q_rss, "KiB");
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return 0;
}
