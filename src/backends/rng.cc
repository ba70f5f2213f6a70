// Entropy backends: see rng.h.
#include "backends/rng.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "qom/property-types.h"

namespace machina {

void RngBackend::request_entropy(size_t size, Receive receive) {
  if (size == 0) return;
  requests_.push_back({size, std::move(receive)});
  kick();
}

void RngBackend::cancel_requests() {
  requests_.clear();
}

Status RngBackend::can_be_deleted() {
  if (users_ > 0) {
    std::string id = parent() ? name_in_parent() : type_name();
    return generic_error("object '" + id + "' is in use, can not be deleted");
  }
  return Status::Ok();
}

namespace {

// rng-builtin: getrandom() never blocks once the kernel pool is initialised; requests are
// served from a bottom half so the device sees the same asynchronous contract as rng-random.
class RngBuiltin : public RngBackend {
 public:
  RngBuiltin() : bh_(main_loop(), [this] { serve(); }) {}
  Status complete() override {
    opened_ = true;
    return Status::Ok();
  }

 protected:
  void kick() override { bh_.schedule(); }

 private:
  void serve() {
    while (!requests_.empty()) {
      Request r = std::move(requests_.front());
      requests_.pop_front();
      std::vector<uint8_t> buf(r.size);
      ssize_t n = getrandom(buf.data(), buf.size(), 0);
      if (n <= 0) continue;
      r.receive(buf.data(), size_t(n));
    }
  }
  BottomHalf bh_;
};

// rng-random: reads `filename` (default /dev/urandom) without blocking; requests wait for the
// descriptor to become readable.
class RngRandom : public RngBackend {
 public:
  RngRandom() : bh_(main_loop(), [this] { on_readable(); }) {}
  ~RngRandom() override { close_fd(); }
  Status complete() override {
    fd_ = ::open(filename_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) {
      return generic_error("Could not open '" + filename_ + "': " + std::strerror(errno));
    }
    opened_ = true;
    return Status::Ok();
  }

  std::string filename_ = "/dev/urandom";

 protected:
  void kick() override {
    if (fd_ < 0) return;
    if (!pollable_) {
      bh_.schedule();
      return;
    }
    if (!reading_) {
      if (main_loop()
              .set_fd_handler(
                  fd_, [this] { on_readable(); }, nullptr)
              .ok()) {
        reading_ = true;
      } else {
        // Files and devices epoll cannot watch (regular files, /dev/urandom on recent
        // kernels) never block: read them from a bottom half.
        pollable_ = false;
        bh_.schedule();
      }
    }
  }

 private:
  void on_readable() {
    while (!requests_.empty()) {
      Request& r = requests_.front();
      std::vector<uint8_t> buf(r.size);
      ssize_t n = ::read(fd_, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) {
        // End of file: no more entropy from here; stop polling (requests stay unanswered).
        if (reading_) main_loop().remove_fd_handler(fd_);
        reading_ = false;
        return;
      }
      if (n < 0) break;  // nothing now (EAGAIN): wait for the next readiness
      Request done = std::move(r);
      requests_.pop_front();
      done.receive(buf.data(), size_t(n));
    }
    if (requests_.empty() && reading_) {
      reading_ = false;
      main_loop().remove_fd_handler(fd_);
    }
  }
  void close_fd() {
    if (fd_ < 0) return;
    if (reading_) main_loop().remove_fd_handler(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
  bool reading_ = false;
  bool pollable_ = true;
  BottomHalf bh_;
};

TypeRegistration rng_backend_type{TypeInfo{
    .name = kTypeRngBackend,
    .parent = "object",
    .abstract = true,
    .interfaces = {kTypeUserCreatable},
}};

TypeRegistration rng_builtin_type{TypeInfo{
    .name = kTypeRngBuiltin,
    .parent = kTypeRngBackend,
    .instance_new = [] { return new RngBuiltin(); },
}};

TypeRegistration rng_random_type{TypeInfo{
    .name = kTypeRngRandom,
    .parent = kTypeRngBackend,
    .instance_new = [] { return new RngRandom(); },
    .class_init =
        [](ObjectClass& c) {
          c.add_property(
              prop::string<RngRandom>("filename", &RngRandom::filename_, "/dev/urandom"));
        },
}};

}  // namespace

}  // namespace machina
