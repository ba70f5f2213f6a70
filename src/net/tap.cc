// -netdev tap: frames through a Linux TAP interface (/dev/net/tun with IFF_TAP | IFF_NO_PI, and
// IFF_VNET_HDR when the kernel offers it, unless vnet_hdr=off). queues=N opens the interface N
// times with IFF_MULTI_QUEUE, one fd per queue of the netdev.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <vector>

#include "net/netdev-registry.h"
#include "util/main-loop.h"

namespace machina {

namespace {

constexpr const char* kTunPath = "/dev/net/tun";
constexpr size_t kVnetHdrLen = 12;  // struct virtio_net_hdr_v1
constexpr int kMaxFramesPerRead = 64;

std::string errno_text(int err) {
  return std::strerror(err);
}

// One tap interface, opened once per queue (queues=N: IFF_MULTI_QUEUE, one fd per queue).
class TapNetdev final : public Netdev {
 public:
  TapNetdev(const std::string& id, std::vector<int> fds, std::string ifname, bool vnet_hdr,
            bool from_fd)
      : Netdev(id, "tap", unsigned(fds.size())),
        fds_(std::move(fds)),
        ifname_(std::move(ifname)),
        vnet_hdr_(vnet_hdr),
        from_fd_(from_fd),
        read_enabled_(fds_.size(), true),
        queue_enabled_(fds_.size(), true) {}
  ~TapNetdev() override { destroy_backend(); }

  Status start() {
    buf_.resize(65536 + kVnetHdrLen + 64);
    for (unsigned q = 0; q < fds_.size(); ++q) {
      Status s = main_loop().set_fd_handler(
          fds_[q], [this, q] { read_frames(q); }, nullptr);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  bool has_vnet_hdr() const override { return vnet_hdr_; }
  bool using_vnet_hdr(bool on) override {
    if (on && !vnet_hdr_) return false;
    using_vnet_hdr_ = on;
    return true;
  }
  void set_offload(bool csum, bool tso4, bool tso6, bool ecn, bool ufo) override {
    if (!vnet_hdr_) return;
    unsigned flags = (csum ? TUN_F_CSUM : 0) | (tso4 ? TUN_F_TSO4 : 0) | (tso6 ? TUN_F_TSO6 : 0) |
                     (ecn ? TUN_F_TSO_ECN : 0);
    for (unsigned q = 0; q < fds_.size(); ++q) {
      // A detached queue takes no ioctls; the offloads are the interface's anyway.
      if (fds_[q] < 0 || !queue_enabled_[q]) continue;
      // As QEMU: a kernel without UFO gets the rest.
      if (ioctl(fds_[q], TUNSETOFFLOAD, flags | (ufo ? TUN_F_UFO : 0)) != 0 && ufo) {
        (void)ioctl(fds_[q], TUNSETOFFLOAD, flags);
      }
    }
  }
  void set_queue_enabled(unsigned q, bool on) override {
    if (q >= fds_.size() || fds_[q] < 0 || queue_enabled_[q] == on) return;
    // Only a multiqueue interface has queues to attach and detach (QEMU's tap_enable/disable).
    if (fds_.size() > 1) {
      ifreq ifr{};
      ifr.ifr_flags = short(on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE);
      if (ioctl(fds_[q], TUNSETQUEUE, &ifr) != 0) return;
    }
    queue_enabled_[q] = on;
    update_read(q);
  }
  std::string info() const override {
    if (from_fd_) return "fd=" + std::to_string(fds_.empty() ? -1 : fds_[0]);
    return "ifname=" + ifname_ + ",script=no,downscript=no";
  }

 protected:
  ssize_t transmit(const iovec* iov, int iovcnt, unsigned q) override {
    if (q >= fds_.size() || fds_[q] < 0 || !queue_enabled_[q] || iovcnt > 1023) return 0;
    // The kernel expects a vnet header in front of each frame once IFF_VNET_HDR is on; a NIC
    // that does not use one gets an empty header (no offloads) added here.
    static const uint8_t zero_hdr[kVnetHdrLen] = {};
    std::vector<iovec> v;
    size_t extra = 0;
    if (vnet_hdr_ && !using_vnet_hdr_) {
      v.push_back({const_cast<uint8_t*>(zero_hdr), kVnetHdrLen});
      extra = kVnetHdrLen;
    }
    v.insert(v.end(), iov, iov + iovcnt);
    ssize_t n;
    do {
      n = ::writev(fds_[q], v.data(), int(v.size()));
    } while (n < 0 && errno == EINTR);
    if (n <= ssize_t(extra)) return 0;  // EAGAIN: the host queue is full; the frame is dropped
    return n - ssize_t(extra);
  }
  void set_read_enabled(unsigned q, bool on) override {
    if (q >= fds_.size()) return;
    read_enabled_[q] = on;
    update_read(q);
  }
  void cleanup() override {
    for (int& fd : fds_) {
      if (fd < 0) continue;
      main_loop().remove_fd_handler(fd);
      ::close(fd);
      fd = -1;
    }
  }

 private:
  void update_read(unsigned q) {
    if (fds_[q] >= 0) main_loop().enable_fd_read(fds_[q], read_enabled_[q] && queue_enabled_[q]);
  }
  void read_frames(unsigned q) {
    for (int i = 0; i < kMaxFramesPerRead && fds_[q] >= 0 && read_enabled_[q] && queue_enabled_[q];
         ++i) {
      ssize_t n = ::read(fds_[q], buf_.data(), buf_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      size_t skip = vnet_hdr_ && !using_vnet_hdr_ ? kVnetHdrLen : 0;
      if (size_t(n) <= skip) continue;
      deliver(buf_.data() + skip, size_t(n) - skip, q);
    }
  }

  std::vector<int> fds_;
  std::string ifname_;
  bool vnet_hdr_;
  bool from_fd_;
  bool using_vnet_hdr_ = false;
  std::vector<bool> read_enabled_;   // flow control from the NIC
  std::vector<bool> queue_enabled_;  // attached (multiqueue: the NIC uses this queue)
  std::vector<uint8_t> buf_;
};

Status check_unsupported(const NetdevOptions& o) {
  for (const char* k : {"fds", "br", "helper", "vhostfd", "vhostfds", "poll-us"}) {
    if (o.str(k)) return generic_error(std::string("Parameter '") + k + "' is not supported");
  }
  if (o.flag("vhost").value_or(false) || o.flag("vhostforce").value_or(false)) {
    return generic_error("vhost-net support is not available");
  }
  for (const char* k : {"script", "downscript"}) {
    const std::string* s = o.str(k);
    if (s && !s->empty() && *s != "no") {
      return generic_error(std::string("tap: network scripts are not supported (") + k + "=" + *s +
                           "); set up the interface beforehand and use " + k + "=no");
    }
  }
  return Status::Ok();
}

Status set_sndbuf(int fd, const NetdevOptions& o) {
  const std::string* s = o.str("sndbuf");
  unsigned long v = s ? std::stoul(*s) : INT_MAX;
  int sndbuf = v > INT_MAX || v == 0 ? INT_MAX : int(v);
  if (ioctl(fd, TUNSETSNDBUF, &sndbuf) != 0 && s) {
    return generic_error("TUNSETSNDBUF ioctl failed: " + errno_text(errno));
  }
  return Status::Ok();
}

Result<int> parse_fd_number(const std::string& id, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end || errno || v < 0 || v > INT_MAX) {
    return generic_error("Invalid file descriptor number '" + text + "'");
  }
  int fd = int(v);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    return generic_error(id + ": Can't use file descriptor " + std::to_string(fd) + ": " +
                         errno_text(errno));
  }
  return fd;
}

// queues=: QEMU's uint32 (0 is taken as 1, as before).
Result<unsigned> parse_queues(const NetdevOptions& o) {
  const std::string* q = o.str("queues");
  if (!q) return 1u;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(q->c_str(), &end, 10);
  if (q->empty() || *end || errno || v < 0 || v > UINT32_MAX) {
    return generic_error("Parameter 'queues' expects uint32_t");
  }
  return v == 0 ? 1u : unsigned(v);
}

// Opens /dev/net/tun and attaches it to interface `name` ("tap%d": a new one), one queue of a
// multiqueue interface when `mq`. `name` becomes the interface's name.
Result<int> open_tap_queue(std::string& name, bool hdr, bool mq, const NetdevOptions& o) {
  int fd = ::open(kTunPath, O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return generic_error(std::string("could not open ") + kTunPath + ": " + errno_text(errno));
  }
  ifreq ifr{};
  ifr.ifr_flags =
      short(IFF_TAP | IFF_NO_PI | (hdr ? IFF_VNET_HDR : 0) | (mq ? IFF_MULTI_QUEUE : 0));
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int err = errno;
    ::close(fd);
    return generic_error(std::string("could not configure ") + kTunPath + " (" + name +
                         "): " + errno_text(err));
  }
  name = ifr.ifr_name;
  if (hdr) {
    int len = int(kVnetHdrLen);
    if (ioctl(fd, TUNSETVNETHDRSZ, &len) != 0) {
      int err = errno;
      ::close(fd);
      return generic_error("TUNSETVNETHDRSZ ioctl failed: " + errno_text(err));
    }
  }
  if (Status s = set_sndbuf(fd, o); !s.ok()) {
    ::close(fd);
    return s.error();
  }
  return fd;
}

}  // namespace

Result<std::shared_ptr<Netdev>> net_init_tap(const NetdevOptions& o) {
  if (Status s = check_unsupported(o); !s.ok()) return s.error();
  std::optional<bool> want_hdr = o.flag("vnet_hdr");
  if (const std::string* fdstr = o.str("fd")) {
    if (o.str("ifname") || o.str("script") || o.str("downscript") || want_hdr || o.str("helper") ||
        o.str("queues") || o.str("fds") || o.str("vhostfds")) {
      return generic_error(
          "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= are "
          "invalid with fd=");
    }
    auto fd = parse_fd_number(o.id, *fdstr);
    if (!fd.ok()) return fd.error();
    ifreq ifr{};
    bool hdr = ioctl(fd.value(), TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR);
    if (hdr) {
      int len = int(kVnetHdrLen);
      if (ioctl(fd.value(), TUNSETVNETHDRSZ, &len) != 0) hdr = false;
    }
    auto nd =
        std::make_shared<TapNetdev>(o.id, std::vector<int>{fd.value()}, ifr.ifr_name, hdr, true);
    if (Status s = nd->start(); !s.ok()) return s.error();
    return std::shared_ptr<Netdev>(nd);
  }

  auto queues = parse_queues(o);
  if (!queues.ok()) return queues.error();
  unsigned features = 0;
  {
    int probe = ::open(kTunPath, O_RDWR | O_CLOEXEC);
    if (probe < 0) {
      return generic_error(std::string("could not open ") + kTunPath + ": " + errno_text(errno));
    }
    if (ioctl(probe, TUNGETFEATURES, &features) != 0) features = 0;
    ::close(probe);
  }
  bool hdr = want_hdr.value_or(true) && (features & IFF_VNET_HDR);
  if (want_hdr.value_or(false) && !hdr) {
    return generic_error("vnet_hdr=1 requested, but no kernel support for IFF_VNET_HDR available");
  }
  bool mq = queues.value() > 1;
  if (mq && !(features & IFF_MULTI_QUEUE)) {
    return generic_error(
        "multiqueue required, but no kernel support for IFF_MULTI_QUEUE available");
  }
  std::string name = o.str("ifname") ? *o.str("ifname") : "tap%d";
  if (name.size() >= IFNAMSIZ) {
    return generic_error("Parameter 'ifname' expects an interface name of at most " +
                         std::to_string(IFNAMSIZ - 1) + " characters");
  }
  // Queue 0 creates (or attaches to) the interface; the others join it by the name it got.
  std::vector<int> fds;
  for (unsigned i = 0; i < queues.value(); ++i) {
    auto fd = open_tap_queue(name, hdr, mq, o);
    if (!fd.ok()) {
      for (int f : fds) ::close(f);
      return fd.error();
    }
    fds.push_back(fd.value());
  }
  auto nd = std::make_shared<TapNetdev>(o.id, std::move(fds), name, hdr, false);
  if (Status s = nd->start(); !s.ok()) return s.error();
  return std::shared_ptr<Netdev>(nd);
}

}  // namespace machina
