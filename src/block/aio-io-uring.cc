// The io_uring engine: one ring with an eventfd that the block AioContext watches; completions
// are reaped on the loop thread.
#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <deque>
#include <memory>

#include "block/aio-context.h"
#include "block/aio-engine.h"

namespace machina {

namespace {

constexpr unsigned kRingEntries = 128;

class IoUringEngine : public AioEngine {
 public:
  // Fails (ok() false) when the kernel refuses io_uring.
  IoUringEngine() {
    if (io_uring_queue_init(kRingEntries, &ring_, 0) < 0) return;
    ring_ok_ = true;
    efd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd_ < 0 || io_uring_register_eventfd(&ring_, efd_) < 0) return;
    block_aio_init();
    source_ = block_add_source(efd_, [this] { return reap(); });
  }
  ~IoUringEngine() override {
    // The owners waited for their requests; anything left is reaped without callbacks.
    if (source_) block_remove_source(source_);
    for (IoRequest* r : pending_) delete r;
    if (ring_ok_) io_uring_queue_exit(&ring_);
    if (efd_ >= 0) ::close(efd_);
  }
  bool ok() const { return source_ != 0; }

  AioKind kind() const override { return AioKind::IoUring; }

  void submit(IoRequest req) override {
    ++in_flight_;
    auto* r = new IoRequest(std::move(req));
    if (!queue_sqe(r)) pending_.push_back(r);
    io_uring_submit(&ring_);
  }

  size_t in_flight() const override { return in_flight_; }

 private:
  bool queue_sqe(IoRequest* r) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) return false;
    switch (r->op) {
      case IoOp::Read:
        io_uring_prep_readv(sqe, r->fd, r->iov.data(), unsigned(r->iov.size()), r->offset);
        break;
      case IoOp::Write:
        io_uring_prep_writev(sqe, r->fd, r->iov.data(), unsigned(r->iov.size()), r->offset);
        break;
      case IoOp::Flush:
        io_uring_prep_fsync(sqe, r->fd, IORING_FSYNC_DATASYNC);
        break;
      case IoOp::Fallocate:
        io_uring_prep_fallocate(sqe, r->fd, r->fallocate_mode, r->offset, r->len);
        break;
    }
    io_uring_sqe_set_data(sqe, r);
    return true;
  }

  bool reap() {
    uint64_t v;
    (void)!::read(efd_, &v, sizeof v);
    bool progress = false;
    for (;;) {
      io_uring_cqe* cqe = nullptr;
      if (io_uring_peek_cqe(&ring_, &cqe) != 0 || !cqe) break;
      std::unique_ptr<IoRequest> r(static_cast<IoRequest*>(io_uring_cqe_get_data(cqe)));
      int64_t res = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      --in_flight_;
      progress = true;
      // Room in the ring again: queue what waited.
      bool queued = false;
      while (!pending_.empty() && queue_sqe(pending_.front())) {
        pending_.pop_front();
        queued = true;
      }
      if (queued) io_uring_submit(&ring_);
      r->cb(res);
    }
    return progress;
  }

  io_uring ring_{};
  bool ring_ok_ = false;
  int efd_ = -1;
  int source_ = 0;
  size_t in_flight_ = 0;
  std::deque<IoRequest*> pending_;
};

}  // namespace

std::shared_ptr<AioEngine> make_io_uring_engine() {
  auto e = std::make_shared<IoUringEngine>();
  if (!e->ok()) return nullptr;
  return e;
}

}  // namespace machina
