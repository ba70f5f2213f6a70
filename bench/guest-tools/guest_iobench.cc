// Runs inside the guest (a static x86-64 binary, carried to the guest on a raw disk by
// guest_io_bench): disk and TCP workloads timed with the guest's monotonic clock, one result
// line each ("RESULT <mode> bytes=N ops=N secs=S"). O_DIRECT keeps the guest's page cache out
// of the disk figures, so that they measure the virtio path.
//   guest_iobench seqwrite DEV MIB      sequential 1 MiB writes, then fdatasync
//   guest_iobench seqread DEV MIB       sequential 1 MiB reads
//   guest_iobench randread DEV MIB OPS  OPS 4 KiB reads at random 4 KiB offsets in the first MIB
//   guest_iobench tcpsend IP PORT MIB   connects, sends MIB MiB, waits for the peer to close
//   guest_iobench tcprecv PORT          listens, accepts one connection, reads to EOF
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace {

constexpr size_t kMiB = 1 << 20;

double now() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

void* aligned_buffer(size_t n, int fill) {
  void* p = nullptr;
  if (posix_memalign(&p, 4096, n) != 0) return nullptr;
  std::memset(p, fill, n);
  return p;
}

int fail(const char* what) {
  std::perror(what);
  return 1;
}

void result(const char* mode, uint64_t bytes, uint64_t ops, double secs) {
  std::printf("RESULT %s bytes=%llu ops=%llu secs=%.6f\n", mode, (unsigned long long)bytes,
              (unsigned long long)ops, secs);
}

int seq(const char* dev, uint64_t mib, bool write) {
  int fd = open(dev, (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
  if (fd < 0) return fail(dev);
  void* buf = aligned_buffer(kMiB, 0x5a);
  if (!buf) return fail("posix_memalign");
  double t0 = now();
  for (uint64_t i = 0; i < mib; ++i) {
    ssize_t n =
        write ? pwrite(fd, buf, kMiB, off_t(i * kMiB)) : pread(fd, buf, kMiB, off_t(i * kMiB));
    if (n != ssize_t(kMiB)) return fail(write ? "pwrite" : "pread");
  }
  if (write && fdatasync(fd) != 0) return fail("fdatasync");
  result(write ? "seqwrite" : "seqread", mib * kMiB, mib, now() - t0);
  close(fd);
  return 0;
}

int randread(const char* dev, uint64_t mib, uint64_t ops) {
  int fd = open(dev, O_RDONLY | O_DIRECT);
  if (fd < 0) return fail(dev);
  void* buf = aligned_buffer(4096, 0);
  if (!buf) return fail("posix_memalign");
  uint64_t blocks = mib * kMiB / 4096, x = 88172645463325252ull;
  double t0 = now();
  for (uint64_t i = 0; i < ops; ++i) {
    x ^= x << 13;  // xorshift64
    x ^= x >> 7;
    x ^= x << 17;
    if (pread(fd, buf, 4096, off_t((x % blocks) * 4096)) != 4096) return fail("pread");
  }
  result("randread", ops * 4096, ops, now() - t0);
  close(fd);
  return 0;
}

int tcpsend(const char* ip, int port, uint64_t mib) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) return fail("inet_pton");
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return fail("connect");
  static char buf[256 * 1024];
  std::memset(buf, 'm', sizeof buf);
  uint64_t total = mib * kMiB, sent = 0;
  double t0 = now();
  while (sent < total) {
    size_t want = size_t(total - sent < sizeof buf ? total - sent : sizeof buf);
    ssize_t n = write(s, buf, want);
    if (n <= 0) return fail("write");
    sent += uint64_t(n);
  }
  shutdown(s, SHUT_WR);
  char c;
  while (read(s, &c, 1) > 0) {
  }
  result("tcpsend", sent, 1, now() - t0);
  close(s);
  return 0;
}

int tcprecv(int port) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1) != 0)
    return fail("bind/listen");
  std::printf("LISTENING %d\n", port);
  std::fflush(stdout);
  int s = accept(l, nullptr, nullptr);
  if (s < 0) return fail("accept");
  static char buf[256 * 1024];
  uint64_t got = 0;
  double t0 = now();
  for (;;) {
    ssize_t n = read(s, buf, sizeof buf);
    if (n <= 0) break;
    got += uint64_t(n);
  }
  result("tcprecv", got, 1, now() - t0);
  close(s);
  close(l);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && !std::strcmp(argv[1], "seqwrite"))
    return seq(argv[2], std::atoll(argv[3]), true);
  if (argc >= 4 && !std::strcmp(argv[1], "seqread"))
    return seq(argv[2], std::atoll(argv[3]), false);
  if (argc >= 5 && !std::strcmp(argv[1], "randread"))
    return randread(argv[2], std::atoll(argv[3]), std::atoll(argv[4]));
  if (argc >= 5 && !std::strcmp(argv[1], "tcpsend"))
    return tcpsend(argv[2], std::atoi(argv[3]), std::atoll(argv[4]));
  if (argc >= 3 && !std::strcmp(argv[1], "tcprecv")) return tcprecv(std::atoi(argv[2]));
  std::fprintf(stderr, "usage: see the comment at the top of guest_iobench.cc\n");
  return 2;
}
