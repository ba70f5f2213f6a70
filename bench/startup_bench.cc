// Start-up time and idle memory of machina against Debian's qemu-system-x86_64, run side by side
// (interleaved) on the same machine:
//   - start until the QMP greeting is read and qmp_capabilities answered (-M none)
//   - start until the first qtest command is answered (-M none -qtest stdio)
//   - resident memory (VmRSS) of an idle -M none with a QMP socket
//   - start until QMP is ready with the q35 machine built (-M q35 -S -m 256M)
// Usage: startup_bench [--runs N] [--machina PATH] [--qemu PATH] [--json PATH]
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench-process.h"

namespace {

using namespace machina::bench;

double qtest_ready(const std::string& bin) {
  auto t0 = Clock::now();
  Child c = spawn({bin, "-M", "none", "-display", "none", "-nodefaults", "-qtest", "stdio"}, true);
  std::string cmd = "endianness\n", buf;
  if (write(c.in, cmd.data(), cmd.size()) < 0) return -1;
  bool ok = read_until(c.out, "\n", &buf);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  stop(c);
  return ok ? ms : -1;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 15;
  std::string machina = MACHINA_BINARY_PATH, qemu = "/usr/bin/qemu-system-x86_64", json_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--runs") runs = std::atoi(argv[i + 1]);
    if (k == "--machina") machina = argv[i + 1];
    if (k == "--qemu") qemu = argv[i + 1];
    if (k == "--json") json_path = argv[i + 1];
  }
  bool have_qemu = access(qemu.c_str(), X_OK) == 0;
  std::vector<std::string> bins = {machina};
  if (have_qemu) bins.push_back(qemu);
  std::vector<std::vector<double>> qmp(2), qt(2), rss(2), q35(2);
  std::string sock = "/tmp/machina-startup-bench-" + std::to_string(getpid()) + ".sock";
  for (int r = 0; r < runs; ++r) {
    for (size_t b = 0; b < bins.size(); ++b) {
      Child c;
      double ms = qmp_ready(bins[b], {"-M", "none", "-display", "none", "-nodefaults"}, sock, &c);
      if (ms >= 0) qmp[b].push_back(ms);
      usleep(200 * 1000);  // idle
      long k = rss_kib(c.pid);
      if (k > 0) rss[b].push_back(double(k));
      stop(c);
      double q = qtest_ready(bins[b]);
      if (q >= 0) qt[b].push_back(q);
      ms = qmp_ready(bins[b], {"-M", "q35", "-S", "-m", "256M", "-display", "none", "-nodefaults"},
                     sock, &c);
      if (ms >= 0) q35[b].push_back(ms);
      stop(c);
    }
  }
  unlink(sock.c_str());
  nlohmann::json out = nlohmann::json::array();
  auto row = [&](const char* what, std::vector<std::vector<double>>& v, const char* unit) {
    double m = median(v[0]), q = have_qemu ? median(v[1]) : -1;
    out.push_back({{"what", what},
                   {"unit", unit},
                   {"machina", m},
                   {"qemu", q},
                   {"ratio", q > 0 ? m / q : 0.0},
                   {"runs", v[0].size()}});
    std::printf("%-44s %10.2f %10.2f %8.3f  (%s, n=%zu)\n", what, m, q, q > 0 ? m / q : 0.0, unit,
                v[0].size());
  };
  std::printf("%-44s %10s %10s %8s\n", "median", "machina", "qemu", "ratio");
  row("QMP ready (greeting + qmp_capabilities)", qmp, "ms");
  row("first qtest reply (-qtest stdio)", qt, "ms");
  row("idle RSS, -M none + QMP socket", rss, "KiB");
  row("QMP ready, -M q35 -S -m 256M", q35, "ms");
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return 0;
}
