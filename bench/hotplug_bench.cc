// PCI Express hot-plug of a virtio disk with the default guest on the software CPU (q35, TCG),
// machina against Debian's qemu-system-x86_64 with the same command line, one boot each:
//   device_add reply; device_add -> the guest sees vda; device_del reply;
//   device_del -> the guest's vda is gone; device_del -> DEVICE_DELETED for the device.
// The guest polls /sys/block every millisecond and prints a line on the serial console when vda
// comes and goes (computed markers, so that the typed command's echo does not match); times are
// host wall clock (DEVICE_DELETED: the event's own timestamp). Both run with the q35 default
// hot-plug (ACPI PCI hot-plug in QEMU 7.2) unless --native, which passes -global
// ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off to both (Linux's pciehp then waits 5 s after
// the attention button by design). Prints medians (ms) and machina/QEMU ratios; --json PATH also
// writes them. Usage: hotplug_bench [--runs N] [--native] [--machina PATH] [--qemu PATH] [--guest
// DIR]
//                      [--json PATH]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "guest/guest_session.h"

namespace {

using namespace std::chrono_literals;
using machina::guest::GuestOptions;
using machina::guest::GuestSession;
using machina::qtest::json;
using machina::qtest::Ms;

const char* kSteps[] = {"device_add reply", "device_add -> guest sees vda", "device_del reply",
                        "device_del -> guest's vda gone", "device_del -> DEVICE_DELETED"};

double wall_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One boot of `binary`, `runs` add/remove cycles; per step, the samples (ms).
std::map<std::string, std::vector<double>> measure(const std::string& binary,
                                                   const std::string& guest_dir, int runs,
                                                   bool native, const std::string& disk) {
  std::map<std::string, std::vector<double>> out;
  GuestOptions o;
  o.binary = binary;
  o.guest_dir = guest_dir;
  o.memory = "256M";
  o.extra = {"-nodefaults", "-device", "pcie-root-port,id=rp1,chassis=1,slot=1"};
  if (native) {
    o.extra.insert(o.extra.end(), {"-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"});
  }
  GuestSession s(o);
  std::string err;
  if (!s.boot(900s, &err)) {
    std::fprintf(stderr, "%s: %s\n", binary.c_str(), err.c_str());
    return out;
  }
  s.type(
      "(while :; do while [ ! -e /sys/block/vda ]; do usleep 1000; done; echo VDA-UP$((6*7)); "
      "while [ -e /sys/block/vda ]; do usleep 1000; done; echo VDA-GONE$((6*7)); done) &");
  json node = {{"driver", "raw"},
               {"node-name", "disk0"},
               {"file", {{"driver", "file"}, {"filename", disk}}}};
  if (s.qmp().execute("blockdev-add", node).contains("error")) return out;
  for (int i = 0; i < runs; ++i) {
    double t0 = wall_ms();
    json r = s.qmp().execute(
        "device_add",
        {{"driver", "virtio-blk-pci"}, {"id", "vblk0"}, {"drive", "disk0"}, {"bus", "rp1"}});
    double t_reply = wall_ms();
    if (r.contains("error")) {
      std::fprintf(stderr, "device_add: %s\n", r.dump().c_str());
      break;
    }
    if (!s.wait_for("VDA-UP42", 120s)) break;
    double t_seen = wall_ms();
    out[kSteps[0]].push_back(t_reply - t0);
    out[kSteps[1]].push_back(t_seen - t0);
    std::this_thread::sleep_for(500ms);  // let the guest settle (udev-less: the driver is done)
    double d0 = wall_ms();
    r = s.qmp().execute("device_del", {{"id", "vblk0"}});
    double d_reply = wall_ms();
    if (r.contains("error")) break;
    if (!s.wait_for("VDA-GONE42", 120s)) break;
    double d_gone = wall_ms();
    // The device's own event (the backend child's comes first).
    std::optional<json> ev;
    for (int k = 0; k < 2; ++k) {
      ev = s.qmp().wait_event("DEVICE_DELETED", Ms(120'000));
      if (!ev || (*ev)["data"].contains("device")) break;
    }
    if (!ev) break;
    double d_event = (*ev)["timestamp"]["seconds"].get<double>() * 1000.0 +
                     (*ev)["timestamp"]["microseconds"].get<double>() / 1000.0;
    out[kSteps[2]].push_back(d_reply - d0);
    out[kSteps[3]].push_back(d_gone - d0);
    out[kSteps[4]].push_back(d_event - d0);
    std::this_thread::sleep_for(500ms);
  }
  s.stop();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  bool native = false;
  std::string machina = MACHINA_BINARY_PATH, qemu = "/usr/bin/qemu-system-x86_64",
              guest = MACHINA_GUEST_DIR, json_path;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--native") native = true;
    if (i + 1 >= argc) continue;
    if (k == "--runs") runs = std::atoi(argv[i + 1]);
    if (k == "--machina") machina = argv[i + 1];
    if (k == "--qemu") qemu = argv[i + 1];
    if (k == "--guest") guest = argv[i + 1];
    if (k == "--json") json_path = argv[i + 1];
  }
  std::string disk = (std::filesystem::temp_directory_path() /
                      ("hotplug-bench-" + std::to_string(getpid()) + ".img"))
                         .string();
  std::ofstream(disk).close();
  std::filesystem::resize_file(disk, 64 << 20);
  auto m = measure(machina, guest, runs, native, disk);
  auto q = measure(qemu, guest, runs, native, disk);
  std::filesystem::remove(disk);
  std::printf("PCIe hot-plug of virtio-blk-pci, q35 TCG, %s hot-plug, %d cycles (medians, ms)\n",
              native ? "native PCIe" : "default (ACPI)", runs);
  std::printf("%-34s %10s %10s %8s\n", "step", "machina", "QEMU", "ratio");
  json j = json::object();
  for (const char* step : kSteps) {
    double a = median(m[step]), b = median(q[step]);
    std::printf("%-34s %10.1f %10.1f %8.2f   (n=%zu/%zu)\n", step, a, b, b > 0 ? a / b : -1,
                m[step].size(), q[step].size());
    j[step] = {{"machina_ms", a},
               {"qemu_ms", b},
               {"n_machina", m[step].size()},
               {"n_qemu", q[step].size()}};
  }
  if (!json_path.empty()) std::ofstream(json_path) << j.dump(2) << "\n";
  return m[kSteps[4]].empty() ? 1 : 0;
}
