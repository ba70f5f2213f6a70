// The virtio-blk device path alone, independent of any guest CPU: machina and Debian's QEMU are
// each started with the qtest accelerator and a virtio-blk-pci disk, and this program plays the
// guest driver over the qtest protocol — it lays out BATCH requests once (4 KiB reads at random
// sectors, through indirect descriptors), then repeatedly publishes them all with one avail-index
// write and one notify, and waits for the used index to catch up. Both emulators serve the same
// requests from the same image (cache=writeback: the host page cache, so the figure is the device
// and block layer path, not the disk).
//
// Reported per emulator: requests per second, and host CPU time (user + system of the emulator
// process, /proc/PID/stat) per request; then the ratios.
// Usage: virtio_blk_bench [--seconds S] [--batch N] [--machina PATH] [--qemu PATH] [--json PATH]
#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench-process.h"

namespace {

using namespace machina::bench;

class Qtest {
 public:
  explicit Qtest(Child& c) : c_(c) {}
  std::string cmd(const std::string& line) {
    std::string r = exchange(line);
    if (std::getenv("VIRTIO_BLK_BENCH_TRACE"))
      std::fprintf(stderr, "%s -> %s\n", line.c_str(), r.c_str());
    return r;
  }
  std::string exchange(const std::string& line) {
    std::string s = line + "\n";
    if (write(c_.in, s.data(), s.size()) < 0) return "";
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string r = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (r.rfind("IRQ", 0) == 0) continue;
        return r;
      }
      if (!read_until(c_.out, "\n", &buf_, std::chrono::seconds(10))) return "";
    }
  }
  uint64_t value(const std::string& line) {
    std::string r = cmd(line);
    return r.size() > 3 ? std::strtoull(r.c_str() + 3, nullptr, 0) : 0;
  }
  static std::string hex(uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "0x%" PRIx64, v);
    return b;
  }
  void w(int size, uint64_t addr, uint64_t v) {
    const char* op = size == 1 ? "writeb" : size == 2 ? "writew" : size == 4 ? "writel" : "writeq";
    cmd(std::string(op) + " " + hex(addr) + " " + hex(v));
  }
  uint64_t r(int size, uint64_t addr) {
    const char* op = size == 1 ? "readb" : size == 2 ? "readw" : size == 4 ? "readl" : "readq";
    return value(std::string(op) + " " + hex(addr));
  }
  uint32_t cfg_read(int devfn, unsigned off) {
    cmd("outl 0xcf8 " + hex(0x80000000u | unsigned(devfn) << 8 | (off & 0xfc)));
    return uint32_t(value("inl 0xcfc"));
  }
  void cfg_write(int devfn, unsigned off, uint32_t v) {
    cmd("outl 0xcf8 " + hex(0x80000000u | unsigned(devfn) << 8 | (off & 0xfc)));
    cmd("outl 0xcfc " + hex(v));
  }

 private:
  Child& c_;
  std::string buf_;
};

double cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  size_t p = s.rfind(')');
  if (p == std::string::npos) return -1;
  std::istringstream in(s.substr(p + 2));
  std::string tok;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> tok; ++i) {
    if (i == 14) utime = std::stoul(tok);
    if (i == 15) stime = std::stoul(tok);
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

struct Result {
  double req_per_s = -1, cpu_us_per_req = -1;
  uint64_t requests = 0;
};

Result run(const std::string& bin, const std::string& image, double seconds, unsigned batch) {
  constexpr int kDevfn = 4 << 3;
  constexpr uint64_t kBar4 = 0xe0000000, kRam = 0x100000;
  Child c = spawn({bin, "-M", "q35", "-qtest", "stdio", "-display", "none", "-nodefaults", "-m",
                   "256M", "-drive", "if=none,id=d0,format=raw,cache=writeback,file=" + image,
                   "-device", "virtio-blk-pci,addr=4,drive=d0,queue-size=256"},
                  true);
  Qtest q(c);
  Result res;
  if (q.cmd("endianness").rfind("OK", 0) != 0) {
    stop(c);
    return res;
  }
  // BAR 4 (the modern registers) mapped, memory decoding and bus mastering on.
  q.cfg_write(kDevfn, 0x20, uint32_t(kBar4));
  q.cfg_write(kDevfn, 0x24, 0);
  q.cfg_write(kDevfn, 0x04, 0x6);
  uint64_t common = 0, notify = 0;
  uint32_t mult = 0;
  for (unsigned cap = q.cfg_read(kDevfn, 0x34) & 0xff; cap;
       cap = (q.cfg_read(kDevfn, cap) >> 8) & 0xff) {
    uint32_t h = q.cfg_read(kDevfn, cap);
    if ((h & 0xff) != 0x09) continue;
    unsigned type = (h >> 24) & 0xff, bar = q.cfg_read(kDevfn, cap + 4) & 0xff;
    uint32_t off = q.cfg_read(kDevfn, cap + 8);
    if (bar != 4) continue;
    if (type == 1) common = kBar4 + off;
    if (type == 2) {
      notify = kBar4 + off;
      mult = q.cfg_read(kDevfn, cap + 16);
    }
  }
  if (!common || !notify) {
    stop(c);
    return res;
  }
  // Features: VERSION_1 and INDIRECT_DESC.
  q.w(1, common + 0x14, 0);
  q.w(1, common + 0x14, 3);
  q.w(4, common + 0x08, 0);
  q.w(4, common + 0x0c, 1u << 28);
  q.w(4, common + 0x08, 1);
  q.w(4, common + 0x0c, 1);
  q.w(1, common + 0x14, 3 | 8);
  uint16_t qsize = 256;
  q.w(2, common + 0x16, 0);
  q.w(2, common + 0x18, qsize);
  uint64_t desc = kRam, avail = desc + 16 * qsize, used = avail + 0x1000;
  uint64_t bufs = used + 0x2000;
  q.cmd("memset " + Qtest::hex(kRam) + " 0x10000 0");
  q.w(4, common + 0x20, uint32_t(desc));
  q.w(4, common + 0x24, 0);
  q.w(4, common + 0x28, uint32_t(avail));
  q.w(4, common + 0x2c, 0);
  q.w(4, common + 0x30, uint32_t(used));
  q.w(4, common + 0x34, 0);
  q.w(2, common + 0x1c, 1);
  q.w(1, common + 0x14, 3 | 8 | 4);
  // BATCH requests, each an indirect table of header / 4 KiB data / status.
  std::mt19937_64 rng(42);
  uint64_t sectors = 64ull * 1024 * 1024 / 512;
  for (unsigned i = 0; i < batch; ++i) {
    uint64_t base = bufs + uint64_t(i) * 0x2000;
    uint64_t table = base, hdr = base + 0x40, status = base + 0x60, data = base + 0x1000;
    q.w(4, hdr, 0);  // VIRTIO_BLK_T_IN
    q.w(8, hdr + 8, (rng() % (sectors / 8)) * 8);
    auto put = [&](unsigned n, uint64_t a, uint32_t len, uint16_t flags) {
      q.w(8, table + 16 * n, a);
      q.w(4, table + 16 * n + 8, len);
      q.w(2, table + 16 * n + 12, flags);
      q.w(2, table + 16 * n + 14, uint16_t(n + 1));
    };
    put(0, hdr, 16, 1);
    put(1, data, 4096, 1 | 2);
    put(2, status, 1, 2);
    q.w(8, desc + 16 * i, table);
    q.w(4, desc + 16 * i + 8, 48);
    q.w(2, desc + 16 * i + 12, 4);
    // The avail ring holds the heads at every position they will be published from.
    for (unsigned pos = i; pos < qsize; pos += batch) q.w(2, avail + 4 + 2 * pos, i);
  }
  uint16_t idx = 0;
  auto one_round = [&] {
    idx = uint16_t(idx + batch);
    q.w(2, avail + 2, idx);
    q.w(2, notify, 0);
    (void)mult;
    auto deadline = Clock::now() + std::chrono::seconds(10);
    // As libqos waits for a used element: step the virtual clock a little between looks.
    while (uint16_t(q.r(2, used + 2)) != idx) {
      if (Clock::now() > deadline) return false;
      q.cmd("clock_step 100");
    }
    return true;
  };
  for (int i = 0; i < 20; ++i) {  // warm-up: page cache, first-touch
    if (!one_round()) {
      std::fprintf(stderr, "%s: requests not completed\n", bin.c_str());
      stop(c);
      return res;
    }
  }
  double cpu0 = cpu_seconds(c.pid);
  auto t0 = Clock::now();
  uint64_t n = 0;
  while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
    if (!one_round()) break;
    n += batch;
  }
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = cpu_seconds(c.pid) - cpu0;
  res.requests = n;
  res.req_per_s = double(n) / wall;
  res.cpu_us_per_req = cpu * 1e6 / double(n);
  stop(c);
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  unsigned batch = 128;
  std::string machina = MACHINA_BINARY_PATH, qemu = "/usr/bin/qemu-system-x86_64", json_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--seconds") seconds = std::atof(argv[i + 1]);
    if (k == "--batch") batch = unsigned(std::atoi(argv[i + 1]));
    if (k == "--machina") machina = argv[i + 1];
    if (k == "--qemu") qemu = argv[i + 1];
    if (k == "--json") json_path = argv[i + 1];
  }
  if (batch == 0 || batch > 128) batch = 128;
  std::string image = std::string(MACHINA_BUILD_DIR) + "/virtio-blk-bench.img";
  {
    std::vector<char> block(1 << 20);
    std::mt19937 rng(1);
    std::ofstream f(image, std::ios::binary | std::ios::trunc);
    for (int mb = 0; mb < 64; ++mb) {
      for (auto& b : block) b = char(rng());
      f.write(block.data(), std::streamsize(block.size()));
    }
  }
  bool have_qemu = access(qemu.c_str(), X_OK) == 0;
  Result m = run(machina, image, seconds, batch);
  Result q = have_qemu ? run(qemu, image, seconds, batch) : Result{};
  unlink(image.c_str());
  std::printf("virtio-blk device path, 4 KiB random reads, %u per notify (qtest-driven)\n", batch);
  std::printf("%-10s %14s %18s\n", "", "requests/s", "host CPU us/req");
  std::printf("%-10s %14.0f %18.2f\n", "machina", m.req_per_s, m.cpu_us_per_req);
  if (have_qemu) {
    std::printf("%-10s %14.0f %18.2f\n", "qemu", q.req_per_s, q.cpu_us_per_req);
    if (m.req_per_s > 0 && q.req_per_s > 0) {
      std::printf("ratio (machina/qemu): throughput %.2fx, CPU per request %.2fx\n",
                  m.req_per_s / q.req_per_s, m.cpu_us_per_req / q.cpu_us_per_req);
    }
  }
  if (!json_path.empty()) {
    nlohmann::json j = {
        {"machina", {{"req_per_s", m.req_per_s}, {"cpu_us_per_req", m.cpu_us_per_req}}},
        {"qemu", {{"req_per_s", q.req_per_s}, {"cpu_us_per_req", q.cpu_us_per_req}}}};
    std::ofstream(json_path) << j.dump(2) << "\n";
  }
  return m.req_per_s > 0 ? 0 : 1;
}
