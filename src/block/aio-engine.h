// The I/O engines under the file driver: one system call per request (preadv, pwritev,
// fdatasync, fallocate), completed asynchronously through the block AioContext
// (block/aio-context.h). io_uring where the kernel allows it, else a thread pool.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace machina {

enum class IoOp { Read, Write, Flush, Fallocate };

struct IoRequest {
  IoOp op = IoOp::Read;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t len = 0;        // Fallocate
  int fallocate_mode = 0;  // Fallocate: FALLOC_FL_*
  std::vector<iovec> iov;  // Read / Write; must stay valid until the callback
  // The system call's result: bytes transferred (Read/Write), 0, or -errno. Runs on the loop
  // thread (or in block_aio_poll).
  std::function<void(int64_t ret)> cb;
};

enum class AioKind { Threads, IoUring };
const char* aio_kind_name(AioKind k);

class AioEngine {
 public:
  virtual ~AioEngine() = default;
  virtual AioKind kind() const = 0;
  // Loop thread only (BQL held). The callback never runs before submit() returns.
  virtual void submit(IoRequest req) = 0;
  virtual size_t in_flight() const = 0;
};

// The shared engine of that kind, created on first use and destroyed when the last user drops it
// (threads joined, ring closed). IoUring falls back to the thread pool when io_uring_queue_init
// fails. Loop thread only.
std::shared_ptr<AioEngine> aio_engine_get(AioKind kind);

// Tests: makes io_uring set-up fail, as on a kernel that refuses it (aio_engine_get then falls
// back to the thread pool).
void aio_engine_simulate_io_uring_failure(bool on);

// Constructors used by aio_engine_get (nullptr if io_uring cannot be set up).
std::shared_ptr<AioEngine> make_thread_pool_engine();
std::shared_ptr<AioEngine> make_io_uring_engine();

// Runs one request synchronously (the thread pool's worker, and fallbacks).
int64_t aio_do_request(const IoRequest& req);

}  // namespace machina
