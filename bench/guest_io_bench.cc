// Disk and network throughput seen by the default guest (Debian's kernel) on the software CPU,
// machina against Debian's qemu-system-x86_64 with the same command line, one boot each:
//   virtio-blk (cache=none): 256 MiB sequential write and read with O_DIRECT, 1 MiB requests;
//   4 KiB random reads; with the VMM's host CPU time per GiB moved;
//   virtio-net TCP guest→host and host→guest through -netdev user (slirp, hostfwd) and through a
//   tap (vnet_hdr=on) in a network namespace of this process's own (needs root; --no-tap skips).
// The guest side is guest_iobench (bench/guest-tools), a static binary handed to the guest on a
// raw read-only disk; it times each workload with the guest's monotonic clock.
// Usage: guest_io_bench [--mib N] [--rand-ops N] [--net-mib N] [--no-tap] [--machina PATH]
//                       [--qemu PATH] [--guest DIR] [--json PATH]
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "guest/guest_session.h"
#include "guest/net/tap_host_side.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using machina::guest::GuestOptions;
using machina::guest::GuestSession;
using machina::qtest::json;

constexpr const char* kTap = "btap0";
constexpr const char* kTapHostIp = "192.168.78.1";
constexpr const char* kTapGuestIp = "192.168.78.2";
constexpr const char* kUserMac = "52:54:00:00:00:01";
constexpr const char* kTapMac = "52:54:00:00:00:02";
constexpr uint16_t kGuestPort = 7100;

struct Settings {
  int mib = 256, rand_ops = 4000, net_mib = 64;
  bool tap = true;
  std::string guest_dir, tool;
  uint64_t tool_size = 0;
};

// One figure: a rate and, for the disk, the VMM's CPU seconds per GiB.
struct Figure {
  double mb_s = -1, iops = -1, cpu_s_per_gib = -1;
};

double cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t p = s.rfind(')');
  if (p == std::string::npos) return 0;
  std::istringstream in(s.substr(p + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

// A listening TCP socket on ip:port (port 0: any); *port gets the port.
int tcp_listen(const char* ip, uint16_t* port) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(*port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  socklen_t len = sizeof a;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 1) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(s);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return s;
}

// Accepts one connection on `l` and reads it to EOF; the byte count.
uint64_t sink(int l) {
  pollfd p{l, POLLIN, 0};
  if (::poll(&p, 1, 120'000) != 1) return 0;
  int c = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) return 0;
  static char buf[1 << 18];
  uint64_t got = 0;
  for (ssize_t n; (n = ::read(c, buf, sizeof buf)) > 0;) got += uint64_t(n);
  ::close(c);
  return got;
}

// Connects to ip:port (retrying while the guest's listener comes up) and sends `bytes`.
bool source(const char* ip, uint16_t port, uint64_t bytes) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  int s = -1;
  for (int i = 0; i < 300 && s < 0; ++i) {
    s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(s);
      s = -1;
      std::this_thread::sleep_for(100ms);
    }
  }
  if (s < 0) return false;
  static char buf[1 << 18];
  std::memset(buf, 'h', sizeof buf);
  for (uint64_t sent = 0; sent < bytes;) {
    ssize_t n = ::write(s, buf, std::min<uint64_t>(sizeof buf, bytes - sent));
    if (n <= 0) break;
    sent += uint64_t(n);
  }
  ::close(s);
  return true;
}

// Waits for the guest tool's RESULT line for `mode`; {bytes, ops, secs}.
std::optional<std::array<double, 3>> result(GuestSession& s, const std::string& mode) {
  auto m = s.wait_for("RESULT " + mode + " bytes=([0-9]+) ops=([0-9]+) secs=([0-9.]+)", 600s);
  if (!m) return std::nullopt;
  return std::array<double, 3>{std::stod((*m)[1]), std::stod((*m)[2]), std::stod((*m)[3])};
}

std::map<std::string, Figure> measure(const std::string& binary, const Settings& st) {
  std::map<std::string, Figure> out;
  std::string data =
      (fs::temp_directory_path() / ("guest-io-bench-" + std::to_string(getpid()) + ".img"))
          .string();
  std::ofstream(data).close();
  fs::resize_file(data, uint64_t(st.mib + 16) << 20);
  uint16_t fwd_port = 0;
  int fwd_probe = tcp_listen("127.0.0.1", &fwd_port);  // a free port for hostfwd
  ::close(fwd_probe);

  GuestOptions o;
  o.binary = binary;
  o.guest_dir = st.guest_dir;
  o.memory = "512M";
  o.extra = {"-drive",
             "if=none,id=data,format=raw,cache=none,file=" + data,
             "-device",
             "virtio-blk-pci,drive=data,serial=data,addr=4",
             "-drive",
             "if=none,id=tools,format=raw,readonly=on,file=" + st.tool,
             "-device",
             "virtio-blk-pci,drive=tools,serial=tools,addr=5",
             "-netdev",
             "user,id=u0,hostfwd=tcp:127.0.0.1:" + std::to_string(fwd_port) +
                 "-:" + std::to_string(kGuestPort),
             "-device",
             std::string("virtio-net-pci,netdev=u0,addr=6,mac=") + kUserMac};
  if (st.tap) {
    o.extra.insert(
        o.extra.end(),
        {"-netdev",
         std::string("tap,id=t0,ifname=") + kTap + ",script=no,downscript=no,vnet_hdr=on",
         "-device", std::string("virtio-net-pci,netdev=t0,addr=7,mac=") + kTapMac});
  }
  GuestSession s(o);
  std::string err;
  if (!s.boot(900s, &err)) {
    std::fprintf(stderr, "%s: %s\n", binary.c_str(), err.c_str());
    fs::remove(data);
    return out;
  }
  uint64_t tool_size = st.tool_size;
  auto setup = s.run(
      "for b in /sys/block/vd*; do n=${b##*/}; eval dev_$(cat $b/serial)=/dev/$n; done; "
      "head -c " +
          std::to_string(tool_size) +
          " $dev_tools > /tmp/iob && chmod +x /tmp/iob; "
          "for n in /sys/class/net/eth*; do i=${n##*/}; case $(cat $n/address) in " +
          kUserMac + ") ip addr add 10.0.2.15/24 dev $i; ip link set $i up;; " + kTapMac +
          ") ip addr add " + kTapGuestIp +
          "/24 dev $i; ip link set $i up;; esac; done; "
          "echo data=$dev_data",
      120s);
  if (!setup || setup->find("data=/dev/vd") == std::string::npos) {
    std::fprintf(stderr, "%s: guest set-up failed: %s\n", binary.c_str(),
                 setup.value_or("(timeout)").c_str());
    return out;
  }
  if (st.tap) {
    if (std::string e = machina::guest::configure_tap_host_side(kTap, kTapHostIp); !e.empty())
      std::fprintf(stderr, "configuring %s: %s\n", kTap, e.c_str());
  }

  auto disk_cmd = [&](const std::string& name, const std::string& args, bool iops) {
    double c0 = cpu_seconds(s.pid());
    s.type("/tmp/iob " + name + " $dev_data " + args);
    auto r = result(s, name);
    double c1 = cpu_seconds(s.pid());
    if (!r) return;
    Figure f;
    if (iops)
      f.iops = (*r)[1] / (*r)[2];
    else
      f.mb_s = (*r)[0] / (*r)[2] / 1e6;
    f.cpu_s_per_gib = (c1 - c0) / ((*r)[0] / double(1ull << 30));
    out[name] = f;
  };
  disk_cmd("seqwrite", std::to_string(st.mib), false);
  disk_cmd("seqread", std::to_string(st.mib), false);
  disk_cmd("randread", std::to_string(st.mib) + " " + std::to_string(st.rand_ops), true);

  auto net = [&](const std::string& label, const char* host_ip, const char* guest_ip,
                 const char* guest_sees_host, uint16_t host_port_for_guest) {
    // guest → host
    uint16_t port = 0;
    int l = tcp_listen(host_ip, &port);
    if (l < 0) return;
    uint64_t got = 0;
    std::thread t([&] { got = sink(l); });
    double c0 = cpu_seconds(s.pid());
    s.type(std::string("/tmp/iob tcpsend ") + guest_sees_host + " " + std::to_string(port) + " " +
           std::to_string(st.net_mib));
    auto r = result(s, "tcpsend");
    t.join();
    ::close(l);
    double c1 = cpu_seconds(s.pid());
    if (r && got == uint64_t((*r)[0])) {
      out[label + " guest->host"].mb_s = (*r)[0] / (*r)[2] / 1e6;
      out[label + " guest->host"].cpu_s_per_gib = (c1 - c0) / ((*r)[0] / double(1ull << 30));
    }
    // host → guest
    s.type("/tmp/iob tcprecv " + std::to_string(kGuestPort));
    if (!s.wait_for("LISTENING " + std::to_string(kGuestPort), 60s)) return;
    c0 = cpu_seconds(s.pid());
    source(guest_ip, host_port_for_guest, uint64_t(st.net_mib) << 20);
    r = result(s, "tcprecv");
    c1 = cpu_seconds(s.pid());
    if (r && uint64_t((*r)[0]) == uint64_t(st.net_mib) << 20) {
      out[label + " host->guest"].mb_s = (*r)[0] / (*r)[2] / 1e6;
      out[label + " host->guest"].cpu_s_per_gib = (c1 - c0) / ((*r)[0] / double(1ull << 30));
    }
  };
  net("tcp user", "127.0.0.1", "127.0.0.1", "10.0.2.2", fwd_port);
  if (st.tap) net("tcp tap", kTapHostIp, kTapGuestIp, kTapHostIp, kGuestPort);
  s.stop();
  fs::remove(data);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Settings st;
  std::string machina = MACHINA_BINARY_PATH, qemu = "/usr/bin/qemu-system-x86_64", json_path;
  st.guest_dir = MACHINA_GUEST_DIR;
  st.tool = GUEST_IOBENCH_PATH;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--no-tap") st.tap = false;
    if (i + 1 >= argc) continue;
    if (k == "--mib") st.mib = std::atoi(argv[i + 1]);
    if (k == "--rand-ops") st.rand_ops = std::atoi(argv[i + 1]);
    if (k == "--net-mib") st.net_mib = std::atoi(argv[i + 1]);
    if (k == "--machina") machina = argv[i + 1];
    if (k == "--qemu") qemu = argv[i + 1];
    if (k == "--guest") st.guest_dir = argv[i + 1];
    if (k == "--json") json_path = argv[i + 1];
  }
  if (st.tap && unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "no network namespace (%s): tap figures left out\n", std::strerror(errno));
    st.tap = false;
  }
  if (st.tap) {  // a new namespace's loopback is down (slirp's host side)
    if (std::string e = machina::guest::bring_link_up("lo"); !e.empty()) {
      std::fprintf(stderr, "bringing lo up: %s\n", e.c_str());
      return 1;
    }
  }
  // The tool on a disk image of whole sectors (the guest copies the first file_size bytes).
  std::string tool_img =
      (fs::temp_directory_path() / ("guest-iobench-" + std::to_string(getpid()) + ".img")).string();
  fs::copy_file(st.tool, tool_img, fs::copy_options::overwrite_existing);
  uint64_t tool_size = fs::file_size(st.tool);
  fs::resize_file(tool_img, (tool_size + 511) / 512 * 512);
  st.tool_size = tool_size;
  st.tool = tool_img;
  auto m = measure(machina, st);
  auto q = measure(qemu, st);
  fs::remove(tool_img);
  std::printf("default guest, q35 TCG, 512 MiB; disk %d MiB (cache=none, O_DIRECT), net %d MiB\n",
              st.mib, st.net_mib);
  std::printf("%-26s %12s %12s %8s %14s %14s\n", "workload", "machina", "QEMU", "ratio",
              "cpu s/GiB m", "cpu s/GiB q");
  json j = json::object();
  std::vector<std::string> names = {"seqwrite",
                                    "seqread",
                                    "randread",
                                    "tcp user guest->host",
                                    "tcp user host->guest",
                                    "tcp tap guest->host",
                                    "tcp tap host->guest"};
  for (const std::string& n : names) {
    if (!m.count(n) && !q.count(n)) continue;
    Figure a = m[n], b = q[n];
    bool iops = a.iops >= 0 || b.iops >= 0;
    double va = iops ? a.iops : a.mb_s, vb = iops ? b.iops : b.mb_s;
    std::printf("%-26s %9.1f %s %9.1f %s %8.2f %14.2f %14.2f\n", n.c_str(), va,
                iops ? "iop" : "MB/", vb, iops ? "iop" : "MB/", vb > 0 ? va / vb : -1,
                a.cpu_s_per_gib, b.cpu_s_per_gib);
    j[n] = {{"machina", va},
            {"qemu", vb},
            {"unit", iops ? "IOPS" : "MB/s"},
            {"machina_cpu_s_per_gib", a.cpu_s_per_gib},
            {"qemu_cpu_s_per_gib", b.cpu_s_per_gib}};
  }
  if (!json_path.empty()) std::ofstream(json_path) << j.dump(2) << "\n";
  return m.empty() ? 1 : 0;
}
