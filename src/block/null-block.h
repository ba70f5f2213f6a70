// The "null-co" and "null-aio" drivers (QEMU's block/null.c): a protocol node with no storage.
// Writes, flushes, discards and write-zeroes succeed and are forgotten; reads succeed and leave
// the buffer as it was, or fill it with zeroes with read-zeroes=on. Options: size (bytes,
// default 1 GiB), latency-ns (default 0), read-zeroes (default off).
//
// Every request completes on the main loop (never inside the call that started it). With
// latency-ns=N it completes N nanoseconds after it was submitted, on the realtime clock as in
// QEMU, through a block timer: the request stays in flight until then, so drain() waits for it
// (tests use this to hold I/O in flight). In QEMU the two drivers differ only in coroutine vs AIO
// completion; here they behave the same and differ only in their name.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "block/aio-context.h"
#include "block/block-int.h"
#include "block/block-options.h"
#include "qapi/error.h"

namespace machina {

inline constexpr uint64_t kNullDefaultSize = uint64_t(1) << 30;

struct NullOptions {
  uint64_t size = kNullDefaultSize;
  int64_t latency_ns = 0;
  bool read_zeroes = false;
  // The options given, for the json: filename QEMU shows when they are not just latency-ns.
  bool size_given = false;
  std::optional<bool> read_zeroes_given;
};

// Reads the driver's own options (size, latency-ns, read-zeroes, and with -drive the
// "null-co://" filename): QEMU's texts ("latency-ns is invalid", "The only allowed filename for
// this driver is 'null-co://'").
Result<NullOptions> null_read_options(OptReader& r, const std::string& driver);

class NullNode : public BlockDriverState {
 public:
  NullNode(BlockNodeCommon common, NullOptions opts);
  ~NullNode() override;  // drains: requests still waiting for their latency complete first

  // "null-co://" (QEMU's exact filename when only latency-ns was given), else QEMU's
  // json:{...} form of the options.
  std::string filename() const override;
  // Whole sectors, as QEMU rounds every node's length.
  uint64_t length() const override;
  int64_t actual_size() const override { return 0; }
  const NullOptions& options() const { return o_; }

  void preadv(uint64_t offset, std::vector<iovec> iov, Callback cb) override;
  void pwritev(uint64_t offset, std::vector<iovec> iov, Callback cb) override;
  void flush(Callback cb) override;
  void discard(uint64_t offset, uint64_t bytes, Callback cb) override;
  void write_zeroes(uint64_t offset, uint64_t bytes, bool may_unmap, Callback cb) override;

  // Requests waiting for their latency to elapse.
  size_t waiting() const { return waiting_.size(); }

 private:
  struct Waiting {
    int64_t deadline_ns;
    Callback cb;
    int ret;
  };
  // Completes cb with `ret` after the latency (a deferred call when there is none).
  void complete_later(Callback cb, int ret);
  void on_timer();

  NullOptions o_;
  // Same latency for every request: deadlines are in submission order.
  std::deque<Waiting> waiting_;
  BlockAioTimer timer_;
  std::shared_ptr<bool> alive_;
};

}  // namespace machina
