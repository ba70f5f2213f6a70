#include "block/aio-engine.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace machina {

const char* aio_kind_name(AioKind k) {
  return k == AioKind::IoUring ? "io_uring" : "threads";
}

namespace {
bool g_simulate_uring_failure = false;
}  // namespace

void aio_engine_simulate_io_uring_failure(bool on) {
  g_simulate_uring_failure = on;
}

std::shared_ptr<AioEngine> aio_engine_get(AioKind kind) {
  static std::weak_ptr<AioEngine> threads, uring;
  if (kind == AioKind::IoUring && !g_simulate_uring_failure) {
    if (auto e = uring.lock()) return e;
    if (auto e = make_io_uring_engine()) {
      uring = e;
      return e;
    }
  }
  if (auto e = threads.lock()) return e;
  auto e = make_thread_pool_engine();
  threads = e;
  return e;
}

int64_t aio_do_request(const IoRequest& req) {
  ssize_t r = 0;
  do {
    switch (req.op) {
      case IoOp::Read:
        r = ::preadv(req.fd, req.iov.data(), int(req.iov.size()), off_t(req.offset));
        break;
      case IoOp::Write:
        r = ::pwritev(req.fd, req.iov.data(), int(req.iov.size()), off_t(req.offset));
        break;
      case IoOp::Flush:
        r = ::fdatasync(req.fd);
        break;
      case IoOp::Fallocate:
        r = ::fallocate(req.fd, req.fallocate_mode, off_t(req.offset), off_t(req.len));
        break;
    }
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -int64_t(errno) : int64_t(r);
}

}  // namespace machina
