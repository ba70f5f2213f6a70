// Debian's kernel booted by the real machina binary on the software CPU (q35, direct boot), and
// what Linux sees and does. Label `guest`: fails, not skips, when the guest has not been built
// (scripts/build-guest.sh). The guest's /init runs the command given as machina.test=b64:... and
// prints `MACHINA-TEST-EXIT <n>`, then powers off. A boot takes minutes on the software CPU, so
// the LinuxGuest tests share one boot whose script prints everything they check; the power
// button and reboot tests boot their own.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "guest/guest_accel.h"
#include "qtest/process.h"
#include "qtest/qmp_client.h"
#include "qtest/socket_util.h"

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

// gzip of `in` (the test script travels compressed on the kernel command line, which Linux
// limits to 2047 bytes).
std::string gzip(const std::string& in) {
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return "";
  std::string out(deflateBound(&z, uLong(in.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = uInt(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// machina on the default guest (q35, software CPU, serial on stdio) running `script` as its
// test, with `more_append` added to the kernel command line.
std::vector<std::string> guest_argv(const std::string& script,
                                    const std::string& more_append = "") {
  return {qtest::machina_binary(),
          "-M",
          "q35",
          "-accel",
          test::guest_test_accel(),
          "-m",
          "512M",
          "-display",
          "none",
          "-serial",
          "stdio",
          "-kernel",
          (guest_dir() / "vmlinuz").string(),
          "-initrd",
          (guest_dir() / "initramfs.gz").string(),
          "-append",
          "console=ttyS0 quiet " + more_append + (more_append.empty() ? "" : " ") +
              "machina.test=b64gz:" + base64(gzip(script))};
}

// The kernel's error and warning lines (`dmesg -r` levels 0-4) other than those Linux prints
// when its early clock checks run late because the host is busy (the software CPU then misses
// PIT ticks): an early TSC calibration that did not converge, and the clocksource watchdog
// distrusting the TSC. Both depend on host load, not on the machine model; timekeeping then uses
// the ACPI PM timer (ClockAgreesWithTheHost). Also the local APIC timer's calibration window
// measured a few percent long against the PM timer when the vCPU thread was descheduled in it.
std::string unexpected_kernel_warnings(const std::vector<std::string>& klog) {
  std::regex load_dependent(
      "tsc: Unable to calibrate against PIT|clocksource|Unstable clock detected|"
      "APIC calibration not consistent with PM-Timer|"
      "If you want to keep using the local clock|trace_clock=local|on the kernel command line");
  std::string unexpected;
  for (const auto& l : klog) {
    if (!std::regex_search(l, load_dependent)) unexpected += l + "\n";
  }
  return unexpected;
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
// `on_ready`, if given, runs once the guest has printed MACHINA-GUEST-READY; with it, the script
// is not expected to finish (the exit line is not required).
GuestRun run_guest(const std::string& script, std::vector<std::string> extra = {},
                   const std::function<void()>& on_ready = {},
                   const std::string& more_append = "") {
  GuestRun r;
  fs::path k = guest_dir() / "vmlinuz", i = guest_dir() / "initramfs.gz";
  if (!fs::exists(k) || !fs::exists(i)) {
    ADD_FAILURE() << "guest not built: run scripts/build-guest.sh (" << guest_dir() << ")";
    return r;
  }
  std::vector<std::string> argv = guest_argv(script, more_append);
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
  bool ready = false;
  while (std::chrono::steady_clock::now() - t0 < kBootTimeout) {
    if (auto st = c.wait(200ms)) {
      r.status = *st;
      break;
    }
    std::string out = c.stdout_text();
    if (!ready && out.find("MACHINA-GUEST-READY") != std::string::npos) {
      ready = true;
      if (on_ready) on_ready();
    }
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
  if (r.test_exit < 0 && (!on_ready || !ready))
    ADD_FAILURE() << "no MACHINA-TEST-EXIT after " << r.seconds << " s; machina "
                  << r.status.describe() << "\nconsole:\n"
                  << r.console << "\nstderr:\n"
                  << c.stderr_text();
  return r;
}

// A host command's standard output.
std::string command_output(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

// The text between the ready marker and the exit line: what the test script printed.
std::string test_output(const GuestRun& r) {
  size_t a = r.console.find("MACHINA-GUEST-READY");
  size_t b = r.console.find("MACHINA-TEST-EXIT");
  if (a == std::string::npos || b == std::string::npos || b < a) return "";
  return r.console.substr(a, b - a);
}

// --- One boot, many checks

// What the shared boot's script prints, one marker per check.
constexpr const char* kSharedScript =
    "echo hello-$((6*7))\n"
    "echo cpus=$(grep -c ^processor /proc/cpuinfo)\n"
    "echo memtotal_kb=$(sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo)\n"
    "for d in /sys/bus/pci/devices/*; do\n"
    "  echo pci=${d##*/}:$(cat $d/vendor):$(cat $d/device):$(cat $d/class)\n"
    "done\n"
    "echo clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)\n"
    "echo acpi_tables=$(ls /sys/firmware/acpi/tables | tr '\\n' ,)\n"
    "grep -E '^ *[0-9]+:' /proc/interrupts | sed 's/^/irq=/'\n"
    "dmesg -r | grep '^<[0-4]>' | sed 's/^/klog=/'\n"
    "echo hwrng=$(cat /sys/class/misc/hw_random/rng_current)\n"
    "echo hwrng_bytes=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n')\n"
    "grep virtio /proc/interrupts | sed 's/^/virtio_irq=/'\n"
    "read -t 30 line < /dev/hvc0 && echo \"guest-says-$line\" > /dev/hvc0\n"
    "echo hvc_line=$line\n"
    "echo blk_serial=$(cat /sys/block/vda/serial)\n"
    "echo blk_sectors=$(cat /sys/block/vda/size)\n"
    "mkdir -p /mnt\n"
    "if mkfs.ext4 -q -F /dev/vda && mount -t ext4 /dev/vda /mnt; then\n"
    "  dd if=/dev/urandom of=/mnt/data bs=64k count=32 2>/dev/null\n"
    "  echo blk_sum=$(sha256sum /mnt/data | cut -d' ' -f1)\n"
    "  sync && umount /mnt && echo blk_umount=ok\n"
    "  mount -t ext4 -o ro /dev/vda /mnt && echo blk_readback=$(sha256sum /mnt/data | cut -d' ' "
    "-f1)\n"
    "  umount /mnt\n"
    "fi\n"
    "echo guest_time=$(date +%s)\n";

// The second boot, on the same disk read-only: the data of the first boot is there, writes are
// refused.
constexpr const char* kReadOnlyScript =
    "echo ro_flag=$(cat /sys/block/vda/ro)\n"
    "mkdir -p /mnt\n"
    "mount -t ext4 -o ro /dev/vda /mnt && echo ro_sum=$(sha256sum /mnt/data | cut -d' ' -f1)\n"
    "if dd if=/dev/zero of=/dev/vda bs=512 count=1 2>/dev/null; then echo ro_write=accepted;\n"
    "else echo ro_write=refused; fi\n";

// The shared disk: a sparse raw image the guest formats.
std::string disk_image() {
  return (fs::temp_directory_path() / ("machina-disk-" + std::to_string(getpid()) + ".img"))
      .string();
}

// The devices of the shared boot besides the q35 board: the virtconsole's chardev is a socket
// the test connects to once the guest is up.
std::string console_socket() {
  return (fs::temp_directory_path() / ("machina-hvc-" + std::to_string(getpid()))).string();
}
// The network part of the shared script: DHCP from slirp, a page from the host's TCP server
// through the slirp gateway, and a guest TCP server the host reaches through hostfwd.
std::string net_script(uint16_t http_port) {
  return "ip link set eth0 up\n"
         "printf '#!/bin/sh\\n[ \"$1\" = bound ] && ip addr add $ip/$mask dev $interface && "
         "ip route add default via $router\\nexit 0\\n' > /tmp/dhcp.sh && chmod +x /tmp/dhcp.sh\n"
         "udhcpc -i eth0 -n -q -t 5 -T 2 -s /tmp/dhcp.sh >/dev/null 2>&1\n"
         "echo net_addr=$(ip -4 addr show eth0 | sed -n 's/.*inet \\([0-9.]*\\).*/\\1/p')\n"
         // busybox wget crashes under the software CPU (see issue 4's notes); nc speaks HTTP/1.0.
         "echo net_page=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 20 10.0.2.2 " +
         std::to_string(http_port) +
         " | tail -n 1)\n"
         // The server answers the host's hostfwd connection; the script waits (up to 60 s) for
         // the first answer, not a fixed time: a loaded host may need longer.
         "(for i in 1 2 3; do echo guest-hello | nc -l -p 7777 && touch /tmp/fwd-done; done) &\n"
         "i=0; while [ ! -e /tmp/fwd-done ] && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done\n"
         "echo fwd_done=$([ -e /tmp/fwd-done ] && echo yes || echo no)\n"
         // slirp still has to hand the answer to the host's socket: do not power off at once.
         "sleep 3\n";
}

// A TCP socket on 127.0.0.1 (port 0: any free one).
qtest::Fd tcp_listen(uint16_t* port) {
  qtest::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd.get(), 4) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return qtest::Fd();
  }
  *port = ntohs(a.sin_port);
  return fd;
}

// The host side of the network checks, running while the shared guest boots.
struct HostNet {
  qtest::Fd http;
  uint16_t http_port = 0, fwd_port = 0;
  std::atomic<bool> stop{false};
  std::string fwd_reply;
  int http_served = 0;
  std::thread http_thread, fwd_thread;

  HostNet() {
    http = tcp_listen(&http_port);
    qtest::Fd probe = tcp_listen(&fwd_port);  // a free port for hostfwd
  }
  void start() {
    http_thread = std::thread([this] {
      while (!stop) {
        pollfd p{http.get(), POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        qtest::Fd c(::accept4(http.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!c.valid()) continue;
        std::string req;
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (req.find("\r\n\r\n") == std::string::npos &&
               qtest::read_some(c.get(), req, deadline) == qtest::ReadResult::Data) {
        }
        qtest::send_all(c.get(), "HTTP/1.0 200 OK\r\nContent-Length: 14\r\n\r\nmachina-net-ok");
        ++http_served;
      }
    });
    fwd_thread = std::thread([this] {
      while (!stop && fwd_reply.find("guest-hello") == std::string::npos) {
        qtest::Fd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(fwd_port);
        if (::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
          // Until the guest's answer, its hang-up (no listener yet: slirp closes), or 15 s.
          std::string got;
          auto deadline = std::chrono::steady_clock::now() + 15s;
          while (got.find("guest-hello") == std::string::npos &&
                 qtest::read_some(c.get(), got, deadline) == qtest::ReadResult::Data) {
          }
          if (got.find("guest-hello") != std::string::npos) fwd_reply = got;
        }
        std::this_thread::sleep_for(300ms);
      }
    });
  }
  void finish() {
    stop = true;
    if (http_thread.joinable()) http_thread.join();
    if (fwd_thread.joinable()) fwd_thread.join();
  }
};

// The disk's queue work runs on an I/O thread.
std::vector<std::string> shared_devices(const HostNet& net) {
  return {
      "-device",  "virtio-rng-pci,id=rng0",
      "-chardev", "socket,id=hvc,path=" + console_socket() + ",server=on,wait=off",
      "-device",  "virtio-serial-pci,id=vser0",
      "-device",  "virtconsole,chardev=hvc,name=org.machina.console",
      "-object",  "iothread,id=io0",
      "-drive",   "if=none,id=disk0,format=raw,cache=writeback,file=" + disk_image(),
      "-device",  "virtio-blk-pci,id=vblk0,drive=disk0,serial=MACHINA-DISK0,iothread=io0",
      "-netdev",  "user,id=net0,hostfwd=tcp:127.0.0.1:" + std::to_string(net.fwd_port) + "-:7777",
      "-device",  "virtio-net-pci,id=nic0,netdev=net0,mac=52:54:00:12:34:99"};
}

class LinuxGuest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::remove(disk_image());
    std::ofstream(disk_image()).close();
    fs::resize_file(disk_image(), 64 << 20);
    qtest::Fd hvc;
    HostNet net;
    net.start();
    std::string script = std::string(kSharedScript);
    // The network checks go before the last line (the guest's time).
    script.insert(script.rfind("echo guest_time"), net_script(net.http_port));
    run_ = new GuestRun(run_guest(script, shared_devices(net), [&hvc] {
      hvc = qtest::connect_unix(console_socket(), 5s);
      if (hvc.valid()) qtest::send_all(hvc.get(), "ping\n");
    }));
    hvc_host_ = new std::string;
    if (hvc.valid()) {
      auto deadline = std::chrono::steady_clock::now() + 2s;
      while (qtest::read_some(hvc.get(), *hvc_host_, deadline) == qtest::ReadResult::Data) {
      }
    }
    fs::remove(console_socket());
    net.finish();
    fwd_reply_ = new std::string(net.fwd_reply);
    out_ = new std::string(test_output(*run_));
    std::printf("shared boot to userspace and back: %.1f s\n", run_->seconds);
    // What the host finds in the image the guest wrote.
    host_sum_ = new std::string(
        command_output("debugfs -R 'cat /data' " + disk_image() + " 2>/dev/null | sha256sum"));
    GuestRun ro = run_guest(kReadOnlyScript,
                            {"-drive", "if=virtio,format=raw,readonly=on,file=" + disk_image()});
    ro_out_ = new std::string(test_output(ro));
    std::printf("read-only boot: %.1f s\n", ro.seconds);
    fs::remove(disk_image());
  }
  static void TearDownTestSuite() {
    delete run_;
    delete out_;
    delete hvc_host_;
    delete host_sum_;
    delete fwd_reply_;
    delete ro_out_;
  }
  // Every value printed as `key=value` by the script.
  static std::vector<std::string> values(const std::string& key) {
    std::vector<std::string> v;
    std::regex re("(^|\\n)" + key + "=([^\\r\\n]*)");
    for (auto it = std::sregex_iterator(out_->begin(), out_->end(), re);
         it != std::sregex_iterator(); ++it)
      v.push_back((*it)[2]);
    return v;
  }
  static std::string value(const std::string& key) {
    auto v = values(key);
    return v.empty() ? "" : v.front();
  }
  static GuestRun* run_;
  static std::string* out_;
  static std::string* hvc_host_;   // what the host read from the virtconsole's socket
  static std::string* host_sum_;   // sha256sum of /data as the host reads it from the image
  static std::string* ro_out_;     // the read-only boot's output
  static std::string* fwd_reply_;  // what the host read through hostfwd from the guest's server
  static std::string ro_value(const std::string& key) {
    std::smatch m;
    std::regex re("(^|\\n)" + key + "=([^\\r\\n]*)");
    return std::regex_search(*ro_out_, m, re) ? std::string(m[2]) : "";
  }
};
std::string* LinuxGuest::host_sum_ = nullptr;
std::string* LinuxGuest::ro_out_ = nullptr;
std::string* LinuxGuest::fwd_reply_ = nullptr;
GuestRun* LinuxGuest::run_ = nullptr;
std::string* LinuxGuest::hvc_host_ = nullptr;
std::string* LinuxGuest::out_ = nullptr;

TEST_F(LinuxGuest, BootsToUserspaceAndRunsACommand) {
  EXPECT_EQ(run_->test_exit, 0);
  EXPECT_NE(out_->find("hello-42"), std::string::npos) << run_->console;
}

TEST_F(LinuxGuest, PowerOffEndsMachinaWithStatus0) {
  EXPECT_NE(run_->console.find("reboot: Power down"), std::string::npos) << run_->console;
  EXPECT_TRUE(run_->status.ok()) << run_->status.describe();
}

TEST_F(LinuxGuest, SeesTheConfiguredCpusAndMemory) {
  EXPECT_EQ(value("cpus"), "1") << *out_;
  std::string kb = value("memtotal_kb");
  ASSERT_FALSE(kb.empty()) << *out_;
  // 512 MiB minus what the kernel keeps for itself.
  EXPECT_GT(std::stol(kb), 400 * 1024);
  EXPECT_LE(std::stol(kb), 512 * 1024);
}

TEST_F(LinuxGuest, FindsTheAcpiTablesAndThePciBus) {
  std::string tables = value("acpi_tables");
  for (const char* t : {"APIC,", "DSDT,", "FACP,", "FACS,", "MCFG,"})
    EXPECT_NE(tables.find(t), std::string::npos) << t << " in " << tables;
  auto pci = values("pci");
  std::string all;
  for (const auto& p : pci) all += p + "\n";
  EXPECT_NE(all.find("0000:00:00.0:0x8086:0x29c0:0x060000"), std::string::npos) << all;
  EXPECT_NE(all.find("0000:00:1f.0:0x8086:0x2918:0x060100"), std::string::npos) << all;
}

TEST_F(LinuxGuest, InterruptsComeThroughTheIoApic) {
  std::string timer, serial;
  for (const auto& l : values("irq")) {
    if (l.find(" timer") != std::string::npos) timer = l;
    if (l.find(" ttyS0") != std::string::npos) serial = l;
  }
  EXPECT_NE(timer.find("IO-APIC   2-edge"), std::string::npos) << timer << "\n" << *out_;
  EXPECT_NE(serial.find("IO-APIC   4-edge"), std::string::npos) << serial << "\n" << *out_;
}

TEST_F(LinuxGuest, KernelLogHasNoErrorsOrWarnings) {
  EXPECT_EQ(unexpected_kernel_warnings(values("klog")), "") << *out_;
  EXPECT_FALSE(values("clocksource").empty()) << *out_;
  EXPECT_NE(value("clocksource"), "jiffies") << *out_;
  EXPECT_NE(value("clocksource"), "refined-jiffies") << *out_;
}

TEST_F(LinuxGuest, ClockAgreesWithTheHost) {
  std::string t = value("guest_time");
  ASSERT_FALSE(t.empty()) << *out_;
  // The guest printed its time just before the exit line.
  EXPECT_LE(std::labs(std::stol(t) - long(run_->host_time_at_exit_line)), 2) << *out_;
}

TEST_F(LinuxGuest, VirtioRngFeedsDevHwrng) {
  EXPECT_EQ(value("hwrng").rfind("virtio_rng", 0), 0u) << *out_;
  std::string bytes = value("hwrng_bytes");
  EXPECT_EQ(bytes.size(), 64u) << *out_;
  EXPECT_NE(bytes, std::string(64, '0')) << *out_;
  // Linux's virtio_pci drives it through MSI-X: a vector for its queue, with interrupts taken.
  bool msix_queue_irq = false;
  for (const auto& l : values("virtio_irq")) {
    std::regex re("^ *[0-9]+: *([0-9]+) +PCI-MSI(X-[0-9:.a-f]+)? +[0-9]+-edge +virtio[0-9]+-");
    std::smatch m;
    if (std::regex_search(l, m, re) && l.find("config") == std::string::npos &&
        std::stol(m[1]) > 0) {
      msix_queue_irq = true;
    }
  }
  EXPECT_TRUE(msix_queue_irq) << *out_;
}

TEST_F(LinuxGuest, VirtconsoleIsHvc0BothWays) {
  // The host wrote "ping" on the socket; the guest read it from /dev/hvc0 and answered.
  EXPECT_EQ(value("hvc_line"), "ping") << *out_;
  EXPECT_NE(hvc_host_->find("guest-says-ping"), std::string::npos) << *hvc_host_;
}

TEST_F(LinuxGuest, VirtioDiskOnAnIothreadHoldsAFilesystemTheHostCanRead) {
  EXPECT_EQ(value("blk_serial"), "MACHINA-DISK0") << *out_;
  EXPECT_EQ(value("blk_sectors"), std::to_string((64 << 20) / 512)) << *out_;
  std::string sum = value("blk_sum");
  ASSERT_EQ(sum.size(), 64u) << *out_;
  EXPECT_EQ(value("blk_umount"), "ok") << *out_;
  // Read back by the guest after a remount, and by the host from the image file.
  EXPECT_EQ(value("blk_readback"), sum) << *out_;
  EXPECT_EQ(host_sum_->substr(0, 64), sum) << *host_sum_;
}

TEST_F(LinuxGuest, DataSurvivesIntoTheNextBootAndReadOnlyRefusesWrites) {
  EXPECT_EQ(ro_value("ro_flag"), "1") << *ro_out_;
  EXPECT_EQ(ro_value("ro_sum"), value("blk_sum")) << *ro_out_;
  EXPECT_EQ(ro_value("ro_write"), "refused") << *ro_out_;
}

TEST_F(LinuxGuest, VirtioNetThroughSlirpBothWays) {
  // DHCP from slirp, a page from the host through the gateway, and hostfwd to a guest server.
  EXPECT_EQ(value("net_addr"), "10.0.2.15") << *out_;
  EXPECT_EQ(value("net_page"), "machina-net-ok") << *out_;
  EXPECT_NE(fwd_reply_->find("guest-hello"), std::string::npos) << *fwd_reply_ << "\n" << *out_;
}

// --- Boots of their own

// The legacy virtio-pci interface of transitional devices (on pcie.0), as Linux's virtio_pci
// drives it with virtio_pci.force_legacy=1: a disk written and read back (checked in the image
// file too) and a NIC without mergeable receive buffers (the 10-byte legacy virtio_net_hdr)
// getting a DHCP address and a page from the host. The initramfs loads its modules with insmod,
// which ignores module options on the kernel command line; the script reloads virtio_pci with
// the option from /proc/cmdline, as modprobe would have done at boot.
constexpr const char* kLegacyScript =
    "o=$(sed -n 's/.*virtio_pci\\.\\(force_legacy=[^ ]*\\).*/\\1/p' /proc/cmdline)\n"
    "rmmod virtio_pci && modprobe virtio_pci $o\n"
    "echo force_legacy=$(cat /sys/module/virtio_pci/parameters/force_legacy)\n"
    "i=0; while { [ ! -b /dev/vda ] || [ ! -e /sys/class/net/eth0 ]; } && [ $i -lt 50 ]; do\n"
    "  sleep 0.2; i=$((i+1)); done\n"
    "for d in /sys/bus/virtio/devices/virtio*; do\n"
    "  echo vdev=$(cat $d/device):v1=$(cut -c33 $d/features):$(basename $(readlink $d/driver))\n"
    "done\n"
    "echo legacy_io=$(grep -c virtio-pci-legacy /proc/ioports)\n"
    "printf 'MACHINA-LEGACY-%04d\\n' $(seq 0 255) > /tmp/pattern\n"
    "dd if=/tmp/pattern of=/dev/vda bs=512 seek=100 2>/dev/null && sync && echo blk_write=ok\n"
    "echo 3 > /proc/sys/vm/drop_caches\n"
    "echo blk_pattern=$(sha256sum < /tmp/pattern | cut -d' ' -f1)\n"
    "echo blk_read=$(dd if=/dev/vda bs=512 skip=100 count=10 2>/dev/null | sha256sum | "
    "cut -d' ' -f1)\n";

TEST(LinuxGuestLegacyVirtio, ForceLegacyDiskAndNic) {
  std::string img =
      (fs::temp_directory_path() / ("machina-legacy-disk-" + std::to_string(getpid()) + ".img"))
          .string();
  fs::remove(img);
  std::ofstream(img).close();
  fs::resize_file(img, 8 << 20);
  HostNet net;
  net.start();
  std::string script = std::string(kLegacyScript) + net_script(net.http_port);
  GuestRun r =
      run_guest(script,
                {"-drive", "if=none,id=disk0,format=raw,file=" + img, "-device",
                 "virtio-blk-pci,id=vblk0,drive=disk0", "-netdev",
                 "user,id=net0,hostfwd=tcp:127.0.0.1:" + std::to_string(net.fwd_port) + "-:7777",
                 "-device", "virtio-net-pci,id=nic0,netdev=net0,mrg_rxbuf=off"},
                {}, "virtio_pci.force_legacy=1");
  net.finish();
  std::string out = test_output(r);
  auto value = [&out](const std::string& key) {
    std::smatch m;
    std::regex re("(^|\\n)" + key + "=([^\\r\\n]*)");
    return std::regex_search(out, m, re) ? std::string(m[2]) : std::string();
  };
  std::printf("legacy virtio boot: %.1f s\n", r.seconds);
  EXPECT_EQ(r.test_exit, 0) << r.console;
  EXPECT_EQ(value("force_legacy"), "Y") << out;
  // Both devices bound by their drivers, VERSION_1 (bit 32) not negotiated, BAR 0 claimed by
  // the legacy interface.
  EXPECT_NE(out.find("vdev=0x0002:v1=0:virtio_blk"), std::string::npos) << out;
  EXPECT_NE(out.find("vdev=0x0001:v1=0:virtio_net"), std::string::npos) << out;
  EXPECT_EQ(value("legacy_io"), "2") << out;
  // The disk: written by the guest, read back by it and found in the image by the host.
  EXPECT_EQ(value("blk_write"), "ok") << out;
  ASSERT_EQ(value("blk_pattern").size(), 64u) << out;
  EXPECT_EQ(value("blk_read"), value("blk_pattern")) << out;
  std::string expected;
  char line[32];
  for (int i = 0; i < 256; ++i) {
    std::snprintf(line, sizeof line, "MACHINA-LEGACY-%04d\n", i);
    expected += line;
  }
  std::ifstream f(img, std::ios::binary);
  std::string got(expected.size(), '\0');
  f.seekg(100 * 512);
  f.read(got.data(), std::streamsize(got.size()));
  EXPECT_EQ(got, expected);
  fs::remove(img);
  // The NIC: DHCP from slirp, a page from the host, and hostfwd into the guest.
  EXPECT_EQ(value("net_addr"), "10.0.2.15") << out;
  EXPECT_EQ(value("net_page"), "machina-net-ok") << out;
  EXPECT_NE(net.fwd_reply.find("guest-hello"), std::string::npos) << net.fwd_reply << "\n" << out;
}

// Two CPUs: the second one is started by Linux with INIT and start-up IPIs (its trampoline
// runs in real mode, then protected and compatibility mode), then both run processes and take
// each other's IPIs.
constexpr const char* kSmpScript =
    "echo cpus=$(grep -c ^processor /proc/cpuinfo)\n"
    "echo online=$(cat /sys/devices/system/cpu/online)\n"
    "grep -E '^(physical id|core id|cpu cores|siblings)' /proc/cpuinfo | tr -d '\\t ' | "
    "sed 's/^/topo=/'\n"
    // Two busy processes for 3 s: the scheduler puts them on both CPUs.
    "for i in 1 2; do (e=$(($(date +%s) + 3)); while [ $(date +%s) -lt $e ]; do :; done) & done\n"
    "wait\n"
    "grep '^cpu[0-9]' /proc/stat | sed 's/^/stat=/'\n"
    "grep -E '^ *(LOC|RES|CAL|TLB):' /proc/interrupts | sed 's/^ */ipi=/'\n"
    "dmesg -r | grep '^<[0-4]>' | sed 's/^/klog=/'\n";

TEST(LinuxGuestSmp, TwoCpusStartAndShareTheWork) {
  GuestRun r = run_guest(kSmpScript, {"-smp", "2"});
  std::string out = test_output(r);
  auto values = [&out](const std::string& key) {
    std::vector<std::string> v;
    std::regex re("(^|\\n)" + key + "=([^\\r\\n]*)");
    for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator();
         ++it)
      v.push_back((*it)[2]);
    return v;
  };
  auto value = [&](const std::string& key) {
    auto v = values(key);
    return v.empty() ? std::string() : v.front();
  };
  std::printf("smp 2 boot: %.1f s\n", r.seconds);
  EXPECT_EQ(r.test_exit, 0) << r.console;
  EXPECT_EQ(value("cpus"), "2") << out;
  EXPECT_EQ(value("online"), "0-1") << out;
  // As QEMU 7.2's -smp 2: one package of two cores.
  EXPECT_EQ(values("topo"),
            (std::vector<std::string>{"physicalid:0", "siblings:2", "coreid:0", "cpucores:2",
                                      "physicalid:0", "siblings:2", "coreid:1", "cpucores:2"}))
      << out;
  // Each CPU spent time running processes (user + system, in USER_HZ ticks: 1/100 s).
  std::map<std::string, long> busy;
  for (const auto& l : values("stat")) {
    std::istringstream in(l);
    std::string cpu;
    long user = 0, nice = 0, system = 0;
    in >> cpu >> user >> nice >> system;
    busy[cpu] = user + nice + system;
  }
  EXPECT_GT(busy["cpu0"], 50) << out;
  EXPECT_GT(busy["cpu1"], 50) << out;
  // Local timer interrupts on both CPUs, and IPIs between them (rescheduling, function calls).
  std::map<std::string, std::vector<long>> irqs;
  for (const auto& l : values("ipi")) {
    std::istringstream in(l);
    std::string name;
    long a = 0, b = 0;
    in >> name >> a >> b;
    irqs[name] = {a, b};
  }
  ASSERT_EQ(irqs["LOC:"].size(), 2u) << out;
  EXPECT_GT(irqs["LOC:"][0], 0) << out;
  EXPECT_GT(irqs["LOC:"][1], 0) << out;
  long ipis = 0;
  for (const char* k : {"RES:", "CAL:", "TLB:"})
    for (long n : irqs[k]) ipis += n;
  EXPECT_GT(ipis, 0) << out;
  EXPECT_EQ(unexpected_kernel_warnings(values("klog")), "") << out;
}

// A 32-bit (i386) program under the 64-bit kernel: the CPU runs it in compatibility mode, and
// it enters the kernel with INT 0x80 and with SYSCALL (CSTAR), which returns with SYSRETL or
// IRETQ. It travels in the script, base64-encoded.
TEST(LinuxGuestCompat, Runs32BitProgram) {
  std::ifstream f(MACHINA_HELLO32, std::ios::binary);
  ASSERT_TRUE(f) << MACHINA_HELLO32;
  std::string elf((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string script = "echo '" + base64(elf) +
                       "' | base64 -d > /tmp/hello32 && chmod +x /tmp/hello32\n"
                       "/tmp/hello32; echo hello32_exit=$?\n";
  GuestRun r = run_guest(script);
  std::string out = test_output(r);
  EXPECT_EQ(r.test_exit, 0) << r.console;
  EXPECT_NE(out.find("hello from 32-bit code"), std::string::npos) << out;
  EXPECT_NE(out.find("hello32_exit=42"), std::string::npos) << out;
}

TEST(LinuxGuestPower, SystemPowerdownShutsTheGuestDown) {
  fs::path sock = fs::temp_directory_path() / ("machina-guest-qmp-" + std::to_string(getpid()));
  fs::remove(sock);
  std::unique_ptr<qtest::QmpClient> qmp;
  std::optional<qtest::json> shutdown;
  GuestRun r = run_guest("echo waiting; sleep 600",
                         {"-qmp", "unix:" + sock.string() + ",server=on,wait=off"}, [&] {
                           qmp = qtest::QmpClient::connect(sock.string());
                           if (!qmp) return;
                           qmp->execute("system_powerdown");
                           shutdown = qmp->wait_event("SHUTDOWN", qtest::Ms(120'000));
                         });
  fs::remove(sock);
  ASSERT_TRUE(qmp);
  ASSERT_TRUE(shutdown.has_value()) << r.console;
  EXPECT_EQ((*shutdown)["data"]["reason"], "guest-shutdown");
  EXPECT_NE(r.console.find("power button pressed"), std::string::npos) << r.console;
  EXPECT_TRUE(r.status.ok()) << r.status.describe();
}

// An interactive session on the serial console, as a person would have it: a typed command runs
// and prints; `stop` / `cont` pause the guest (its clock too); `reboot` resets the machine
// (RESET) and the guest boots again; `poweroff` ends machina (SHUTDOWN, exit 0).
TEST(LinuxGuestConsole, TypedCommandsStopContRebootAndPoweroff) {
  fs::path k = guest_dir() / "vmlinuz", i = guest_dir() / "initramfs.gz";
  ASSERT_TRUE(fs::exists(k) && fs::exists(i)) << "guest not built: run scripts/build-guest.sh";
  fs::path sock = fs::temp_directory_path() / ("machina-console-qmp-" + std::to_string(getpid()));
  fs::remove(sock);
  Child c({qtest::machina_binary(), "-M", "q35", "-accel", test::guest_test_accel(), "-m", "512M",
           "-display", "none", "-serial", "stdio", "-kernel", k.string(), "-initrd", i.string(),
           "-append", "console=ttyS0 quiet", "-qmp",
           "unix:" + sock.string() + ",server=on,wait=off"});
  c.use_stdin_pipe();
  std::string err;
  ASSERT_TRUE(c.start(&err)) << err;
  auto t0 = std::chrono::steady_clock::now();
  // Waits for `re` in the console after offset `from`; returns the match (empty on timeout).
  size_t pos = 0;
  std::string out;  // the matches point into it
  auto wait_for = [&](const std::string& re_text, std::chrono::seconds timeout) -> std::smatch {
    std::regex re(re_text);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline && c.running()) {
      out = c.stdout_text();
      std::smatch m;
      if (std::regex_search(out.cbegin() + long(std::min(pos, out.size())), out.cend(), m, re)) {
        pos = size_t(m[0].second - out.cbegin());
        return m;
      }
      std::this_thread::sleep_for(100ms);
    }
    return {};
  };
  auto seconds_since_start = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };

  ASSERT_FALSE(wait_for("MACHINA-GUEST-READY", 600s).empty()) << c.stdout_text();
  auto qmp = qtest::QmpClient::connect(sock.string());
  ASSERT_TRUE(qmp);
  fs::remove(sock);

  ASSERT_TRUE(c.write_stdin("echo typed-$((2+3))\n"));
  EXPECT_FALSE(wait_for("typed-5", 120s).empty()) << c.stdout_text();

  // stop / cont: the guest's uptime does not advance while paused.
  ASSERT_TRUE(c.write_stdin("echo up1=$(cut -d' ' -f1 /proc/uptime)\n"));
  auto m1 = wait_for("up1=([0-9.]+)", 120s);
  ASSERT_FALSE(m1.empty()) << c.stdout_text();
  double guest1 = std::stod(m1[1]), host1 = seconds_since_start();
  qmp->execute("stop");
  EXPECT_EQ(qmp->execute("query-status")["return"]["status"], "paused");
  std::this_thread::sleep_for(3s);
  qmp->execute("cont");
  ASSERT_TRUE(c.write_stdin("echo up2=$(cut -d' ' -f1 /proc/uptime)\n"));
  auto m2 = wait_for("up2=([0-9.]+)", 120s);
  ASSERT_FALSE(m2.empty()) << c.stdout_text();
  double guest_delta = std::stod(m2[1]) - guest1, host_delta = seconds_since_start() - host1;
  EXPECT_GT(guest_delta, host_delta - 4.0) << "guest " << guest_delta << " s, host " << host_delta;
  EXPECT_LT(guest_delta, host_delta - 2.0) << "guest " << guest_delta << " s, host " << host_delta;

  // reboot: RESET, then a second boot.
  ASSERT_TRUE(c.write_stdin("reboot -f\n"));
  auto reset = qmp->wait_event("RESET", qtest::Ms(120'000));
  ASSERT_TRUE(reset.has_value()) << c.stdout_text();
  EXPECT_EQ((*reset)["data"]["guest"], true);
  ASSERT_FALSE(wait_for("MACHINA-GUEST-READY", 600s).empty()) << c.stdout_text();

  // poweroff: SHUTDOWN and exit 0.
  ASSERT_TRUE(c.write_stdin("poweroff -f\n"));
  auto shutdown = qmp->wait_event("SHUTDOWN", qtest::Ms(120'000));
  ASSERT_TRUE(shutdown.has_value()) << c.stdout_text();
  EXPECT_EQ((*shutdown)["data"]["reason"], "guest-shutdown");
  qtest::ExitStatus st = c.wait_or_kill(30s);
  EXPECT_TRUE(st.ok()) << st.describe();
  std::printf("console session with a reboot: %.1f s\n", seconds_since_start());
}

// fw_cfg's Linux boot items for the real kernel, read through the ports as firmware would
// (no boot: the qtest accelerator): sizes match the files, the kernel data starts after the
// bzImage's setup, the command line is there.
TEST(LinuxGuestFwCfg, LinuxBootItemsDescribeTheKernelFiles) {
  fs::path k = guest_dir() / "vmlinuz", i = guest_dir() / "initramfs.gz";
  ASSERT_TRUE(fs::exists(k) && fs::exists(i)) << "guest not built: run scripts/build-guest.sh";
  Child c({qtest::machina_binary(), "-M", "q35", "-accel", "qtest", "-qtest", "stdio", "-display",
           "none", "-kernel", k.string(), "-initrd", i.string(), "-append", "hello"});
  c.use_stdin_pipe();
  std::string err;
  ASSERT_TRUE(c.start(&err)) << err;
  // Each item: select it, then read `n` bytes.
  std::vector<std::pair<uint16_t, int>> items = {
      {0x08, 4}, {0x17, 4}, {0x0b, 4}, {0x15, 6}, {0x11, 4}};
  std::string cmds;
  int replies = 0;
  for (auto [key, n] : items) {
    cmds += "outw 0x510 " + std::to_string(key) + "\n";
    for (int b = 0; b < n; ++b) cmds += "inb 0x511\n";
    replies += 1 + n;
  }
  ASSERT_TRUE(c.write_stdin(cmds));
  std::vector<std::string> lines;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out = c.stdout_text();
    lines.clear();
    std::regex re("OK( 0x[0-9a-f]+)?\\n");
    for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator();
         ++it)
      lines.push_back((*it)[1]);
    if (int(lines.size()) >= replies) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_GE(int(lines.size()), replies) << c.stdout_text() << c.stderr_text();
  size_t pos = 0;
  auto item = [&](int n) {
    std::string bytes;
    ++pos;  // the outw's OK
    for (int b = 0; b < n; ++b) bytes += char(std::stoul(lines[pos++].substr(1), nullptr, 16));
    return bytes;
  };
  auto le32 = [](const std::string& b) {
    return uint32_t(uint8_t(b[0])) | uint32_t(uint8_t(b[1])) << 8 | uint32_t(uint8_t(b[2])) << 16 |
           uint32_t(uint8_t(b[3])) << 24;
  };
  uint32_t kernel_size = le32(item(4)), setup_size = le32(item(4)), initrd_size = le32(item(4));
  EXPECT_EQ(kernel_size + setup_size, fs::file_size(k));
  EXPECT_GT(setup_size, 512u) << "a bzImage has real-mode setup sectors";
  EXPECT_EQ(initrd_size, fs::file_size(i));
  EXPECT_EQ(item(6), std::string("hello\0", 6));
  std::ifstream f(k, std::ios::binary);
  f.seekg(long(setup_size));
  std::string want(4, '\0');
  f.read(want.data(), 4);
  EXPECT_EQ(item(4), want) << "kernel data is the protected-mode part";
  c.send_signal(SIGTERM);
  c.wait_or_kill(10s);
}

// The test writes to machina's stdin; a machina that has ended must not kill the test.
const bool kIgnoreSigpipe = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

}  // namespace
}  // namespace machina

namespace machina {
namespace {

// Linux does not boot with a command line longer than its setup header's cmdline_size (2047 for
// x86-64): machina refuses it with the kernel's limit instead of starting a guest that never
// prints anything.
TEST(LinuxGuestCmdline, LongerThanTheKernelTakesIsRefused) {
  fs::path k = guest_dir() / "vmlinuz";
  ASSERT_TRUE(fs::exists(k)) << "guest not built: run scripts/build-guest.sh";
  Child c({qtest::machina_binary(), "-M", "q35", "-accel", "qtest", "-display", "none", "-kernel",
           k.string(), "-append", std::string(2100, 'a')});
  std::string err;
  ASSERT_TRUE(c.start(&err)) << err;
  auto st = c.wait_or_kill(30s);
  EXPECT_EQ(st.code, 1) << st.describe();
  EXPECT_NE(c.stderr_text().find("kernel command line too long (2100 bytes; this kernel takes at "
                                 "most 2047)"),
            std::string::npos)
      << c.stderr_text();
}

}  // namespace
}  // namespace machina

namespace machina {
namespace {

// ACPI PCI hot-plug (q35's default) with Linux's acpiphp: a virtio disk hot-added behind a
// pcie-root-port appears as /dev/vda; device_del makes the guest eject it (Notify, _EJ0), the
// disk disappears and DEVICE_DELETED arrives.
TEST(LinuxGuestHotplug, AcpiphpAddsAndEjectsAVirtioDiskBehindARootPort) {
  fs::path k = guest_dir() / "vmlinuz", i = guest_dir() / "initramfs.gz";
  ASSERT_TRUE(fs::exists(k) && fs::exists(i)) << "guest not built: run scripts/build-guest.sh";
  fs::path img = fs::temp_directory_path() / ("machina-hp-disk-" + std::to_string(getpid()));
  fs::path sock = fs::temp_directory_path() / ("machina-hp-qmp-" + std::to_string(getpid()));
  std::ofstream(img).close();
  fs::resize_file(img, 16 << 20);
  fs::remove(sock);
  const std::string script =
      // acpiphp's own account of the events (its debug messages), where the kernel has them.
      "mount -t debugfs none /sys/kernel/debug 2>/dev/null\n"
      "if echo 'file acpiphp_glue.c +p' > /sys/kernel/debug/dynamic_debug/control 2>/dev/null; "
      "then echo hp-dyndbg=yes; else echo hp-dyndbg=no; fi\n"
      "echo hp-waiting\n"
      "i=0; while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 1; i=$((i+1)); done\n"
      "echo hp-added=$(cat /sys/block/vda/size 2>/dev/null)\n"
      "i=0; while [ -b /dev/vda ] && [ $i -lt 300 ]; do sleep 1; i=$((i+1)); done\n"
      "if [ -b /dev/vda ]; then echo hp-removed=no; else echo hp-removed=yes; fi\n"
      "dmesg | grep -iE 'acpiphp|hotplug_event|pciehp|_OSC|0000:01:00|virtio_blk|vda' | "
      "sed 's/^/hpklog=/'\n"
      "dmesg -r | grep '^<[0-4]>' | sed 's/^/hpbad=/'\n";
  std::vector<std::string> argv = guest_argv(script);
  argv.insert(argv.end(), {"-qmp", "unix:" + sock.string() + ",server=on,wait=off", "-device",
                           "pcie-root-port,id=rp1,chassis=1,slot=1", "-drive",
                           "if=none,id=hpdisk0,format=raw,file=" + img.string()});
  Child c(argv);
  std::string err;
  ASSERT_TRUE(c.start(&err)) << err;
  auto wait_for = [&](const std::string& re_text, std::chrono::seconds timeout) -> std::string {
    std::regex re(re_text);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline && c.running()) {
      std::string out = c.stdout_text();
      std::smatch m;
      if (std::regex_search(out, m, re)) return m.size() > 1 ? std::string(m[1]) : m.str();
      std::this_thread::sleep_for(100ms);
    }
    return "";
  };
  auto cleanup = [&] {
    c.wait_or_kill(1ms);
    fs::remove(img);
    fs::remove(sock);
  };
  if (wait_for("hp-waiting", 600s).empty()) {
    cleanup();
    FAIL() << "the guest did not start its script\n" << c.stdout_text() << c.stderr_text();
  }
  auto qmp = qtest::QmpClient::connect(sock.string());
  ASSERT_TRUE(qmp);
  qtest::json r = qmp->execute(
      "device_add",
      {{"driver", "virtio-blk-pci"}, {"bus", "rp1"}, {"drive", "hpdisk0"}, {"id", "hpdisk"}});
  EXPECT_EQ(r, (qtest::json{{"return", qtest::json::object()}})) << r.dump();
  std::string sectors = wait_for("hp-added=([0-9]*)", 300s);
  EXPECT_EQ(sectors, "32768") << c.stdout_text();

  auto t0 = std::chrono::steady_clock::now();
  r = qmp->execute("device_del", {{"id", "hpdisk"}});
  EXPECT_EQ(r, (qtest::json{{"return", qtest::json::object()}})) << r.dump();
  std::optional<qtest::json> deleted;
  while (auto ev = qmp->wait_event("DEVICE_DELETED", qtest::Ms(300'000))) {
    if ((*ev)["data"].value("device", "") == "hpdisk") {
      deleted = ev;
      break;
    }
  }
  double del_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(deleted.has_value()) << c.stdout_text() << "\nstderr:\n" << c.stderr_text();
  EXPECT_EQ(wait_for("hp-removed=([a-z]+)", 300s), "yes") << c.stdout_text();
  EXPECT_FALSE(wait_for("MACHINA-TEST-EXIT ([0-9]+)", 300s).empty()) << c.stdout_text();
  std::string out = c.stdout_text();
  std::printf("device_del -> DEVICE_DELETED: %.1f s\n", del_s);
  std::regex klog_re("hpklog=([^\\r\\n]*)");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), klog_re);
       it != std::sregex_iterator(); ++it)
    std::printf("guest: %s\n", std::string((*it)[1]).c_str());
  // acpiphp registered the slot and handled it; pciehp did not bind.
  EXPECT_NE(out.find("acpiphp: Slot [0] registered"), std::string::npos) << out;
  EXPECT_EQ(out.find("pciehp 0000:00"), std::string::npos) << out;
  // No error or warning about ACPI or PCI (the AML, the slot, the resources); the load-dependent
  // clock warnings of a busy host are KernelLogHasNoErrorsOrWarnings' business.
  std::string unexpected;
  std::regex bad_re("hpbad=([^\\r\\n]*)"), about_us("ACPI|acpi|PCI|pci|[Hh]otplug|_OSC|vda|virtio");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), bad_re); it != std::sregex_iterator();
       ++it) {
    std::string line = (*it)[1];
    if (std::regex_search(line, about_us)) unexpected += line + "\n";
  }
  EXPECT_EQ(unexpected, "") << out;
  if (wait_for("hp-dyndbg=([a-z]+)", 1s) == "yes") {
    EXPECT_NE(out.find("Device check in hotplug_event()"), std::string::npos) << out;
    EXPECT_NE(out.find("Eject request in hotplug_event()"), std::string::npos) << out;
  }
  cleanup();
}

}  // namespace
}  // namespace machina
