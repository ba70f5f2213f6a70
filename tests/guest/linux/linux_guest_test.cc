// Debian's kernel booted by the real machina binary on the software CPU (q35, direct boot), and
// what Linux sees and does. Label `guest`: fails, not skips, when the guest has not been built
// (scripts/build-guest.sh). Each test boots its own guest; the guest's /init runs the command
// given as machina.test=b64:... and prints `MACHINA-TEST-EXIT <n>`.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "qtest/process.h"

namespace machina {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using qtest::Child;

fs::path guest_dir() {
  if (const char* d = std::getenv("MACHINA_GUEST_DIR")) return d;
  return fs::path(MACHINA_SOURCE_DIR) / "build/guest";
}

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = uint8_t(in[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

// The boot of one guest: its console output and how machina ended.
struct GuestRun {
  std::string console;
  qtest::ExitStatus status;
  double seconds = 0;
  int test_exit = -1;                      // MACHINA-TEST-EXIT n
  std::time_t host_time_at_exit_line = 0;  // when the exit line was seen (within 0.2 s)
};

constexpr auto kBootTimeout = 600s;

// Boots with `script` as the guest's test; returns when machina exits or the test's exit line
// has been printed (then machina is killed if it does not end by itself soon).
GuestRun run_guest(const std::string& script, std::vector<std::string> extra = {}) {
  GuestRun r;
  fs::path k = guest_dir() / "vmlinuz", i = guest_dir() / "initramfs.gz";
  if (!fs::exists(k) || !fs::exists(i)) {
    ADD_FAILURE() << "guest not built: run scripts/build-guest.sh (" << guest_dir() << ")";
    return r;
  }
  std::vector<std::string> argv = {qtest::machina_binary(),
                                   "-M",
                                   "q35",
                                   "-accel",
                                   "tcg",
                                   "-m",
                                   "512M",
                                   "-display",
                                   "none",
                                   "-serial",
                                   "stdio",
                                   "-kernel",
                                   k.string(),
                                   "-initrd",
                                   i.string(),
                                   "-append",
                                   "console=ttyS0 quiet machina.test=b64:" + base64(script)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Child c(argv);
  std::string err;
  auto t0 = std::chrono::steady_clock::now();
  if (!c.start(&err)) {
    ADD_FAILURE() << err;
    return r;
  }
  std::regex exit_re("MACHINA-TEST-EXIT ([0-9]+)");
  std::smatch m;
  while (std::chrono::steady_clock::now() - t0 < kBootTimeout) {
    if (auto st = c.wait(200ms)) {
      r.status = *st;
      break;
    }
    std::string out = c.stdout_text();
    if (std::regex_search(out, m, exit_re)) {
      r.host_time_at_exit_line = std::time(nullptr);
      // The guest powers off next; give machina a moment to exit by itself.
      if (auto st = c.wait(10s)) r.status = *st;
      break;
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r.status.exited && !r.status.signaled) r.status = c.wait_or_kill(1ms);
  r.console = c.stdout_text();
  if (std::regex_search(r.console, m, exit_re)) r.test_exit = std::stoi(m[1]);
  if (r.test_exit < 0)
    ADD_FAILURE() << "no MACHINA-TEST-EXIT after " << r.seconds << " s; machina "
                  << r.status.describe() << "\nconsole:\n"
                  << r.console << "\nstderr:\n"
                  << c.stderr_text();
  return r;
}

// The text between the ready marker and the exit line: what the test script printed.
std::string test_output(const GuestRun& r) {
  size_t a = r.console.find("MACHINA-GUEST-READY");
  size_t b = r.console.find("MACHINA-TEST-EXIT");
  if (a == std::string::npos || b == std::string::npos || b < a) return "";
  return r.console.substr(a, b - a);
}

TEST(LinuxGuest, BootsToUserspaceAndRunsACommand) {
  GuestRun r = run_guest("echo hello-$((6*7))");
  EXPECT_EQ(r.test_exit, 0);
  EXPECT_NE(test_output(r).find("hello-42"), std::string::npos) << r.console;
  std::printf("boot to userspace and back: %.1f s\n", r.seconds);
}

TEST(LinuxGuest, SeesTheConfiguredCpusAndMemory) {
  GuestRun r = run_guest(
      "echo cpus=$(grep -c ^processor /proc/cpuinfo)\n"
      "echo memtotal_kb=$(sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo)\n");
  std::string out = test_output(r);
  EXPECT_NE(out.find("cpus=1"), std::string::npos) << out;
  std::smatch m;
  std::regex re("memtotal_kb=([0-9]+)");
  ASSERT_TRUE(std::regex_search(out, m, re)) << out;
  long kb = std::stol(m[1]);
  // 512 MiB minus what the kernel keeps for itself.
  EXPECT_GT(kb, 400 * 1024);
  EXPECT_LE(kb, 512 * 1024);
}

TEST(LinuxGuest, ClockAgreesWithTheHost) {
  GuestRun r = run_guest("echo guest_time=$(date +%s)");
  std::time_t host_now = r.host_time_at_exit_line;
  std::smatch m;
  std::string out = test_output(r);
  std::regex re("guest_time=([0-9]+)");
  ASSERT_TRUE(std::regex_search(out, m, re)) << out;
  long guest = std::stol(m[1]);
  // The guest printed its time just before the exit line.
  EXPECT_LE(std::labs(guest - long(host_now)), 2) << out;
}

}  // namespace
}  // namespace machina
