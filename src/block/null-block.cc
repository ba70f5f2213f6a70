#include "block/null-block.h"

#include <cerrno>
#include <limits>

namespace machina {

namespace {

constexpr uint64_t kSector = 512;

}  // namespace

Result<NullOptions> null_read_options(OptReader& r, const std::string& driver) {
  NullOptions o;
  auto size = r.size("size");
  if (!size.ok()) return size.error();
  if (size.value()) {
    // QEMU counts lengths in 512-byte sectors in an int64_t.
    if (*size.value() > uint64_t(std::numeric_limits<int64_t>::max()) / kSector * kSector) {
      return generic_error("Parameter '" + r.full("size") + "' is too large");
    }
    o.size = *size.value();
    o.size_given = true;
  }
  if (r.syntax() == OptSyntax::Qmp) {
    auto latency = r.uint("latency-ns");
    if (!latency.ok()) return latency.error();
    if (latency.value()) {
      if (*latency.value() > uint64_t(std::numeric_limits<int64_t>::max())) {
        return generic_error("latency-ns is invalid");
      }
      o.latency_ns = int64_t(*latency.value());
    }
  } else {
    // From text, QEMU reads an unsigned number that wraps: "-1" is as invalid as 2^63.
    auto latency = r.int64("latency-ns");
    if (!latency.ok()) return latency.error();
    if (latency.value()) {
      if (*latency.value() < 0) return generic_error("latency-ns is invalid");
      o.latency_ns = *latency.value();
    }
  }
  auto zeroes = r.boolean("read-zeroes");
  if (!zeroes.ok()) return zeroes.error();
  if (zeroes.value()) {
    o.read_zeroes = *zeroes.value();
    o.read_zeroes_given = *zeroes.value();
  }
  // -drive file=null-co:// hands the filename down; nothing else may be named.
  if (r.syntax() == OptSyntax::Legacy) {
    auto filename = r.str("filename");
    if (!filename.ok()) return filename.error();
    if (filename.value() && *filename.value() != driver + "://") {
      return generic_error("The only allowed filename for this driver is '" + driver + "://'");
    }
  }
  return o;
}

NullNode::NullNode(BlockNodeCommon common, NullOptions opts)
    : BlockDriverState(std::move(common)),
      o_(opts),
      timer_(ClockType::Realtime, [this] { on_timer(); }),
      alive_(std::make_shared<bool>(true)) {}

NullNode::~NullNode() {
  drain();
}

uint64_t NullNode::length() const {
  return (o_.size + kSector - 1) / kSector * kSector;
}

std::string NullNode::filename() const {
  if (!o_.size_given && !o_.read_zeroes_given) return c_.driver + "://";
  // QEMU's json: filename from the options that change what the node is (not latency-ns).
  std::string s = "json:{\"driver\": \"" + c_.driver + "\"";
  if (o_.read_zeroes_given) {
    s += std::string(", \"read-zeroes\": ") + (*o_.read_zeroes_given ? "true" : "false");
  }
  if (o_.size_given) s += ", \"size\": " + std::to_string(o_.size);
  return s + "}";
}

void NullNode::complete_later(Callback cb, int ret) {
  if (o_.latency_ns == 0) return block_defer_cb(std::move(cb), ret);
  int64_t now = clock_get_ns(ClockType::Realtime);
  int64_t deadline = o_.latency_ns > std::numeric_limits<int64_t>::max() - now
                         ? std::numeric_limits<int64_t>::max()
                         : now + o_.latency_ns;
  waiting_.push_back(Waiting{deadline, std::move(cb), ret});
  if (waiting_.size() == 1) timer_.mod(deadline);
}

void NullNode::on_timer() {
  std::weak_ptr<bool> alive = alive_;
  int64_t now = clock_get_ns(ClockType::Realtime);
  while (!waiting_.empty() && waiting_.front().deadline_ns <= now) {
    Waiting w = std::move(waiting_.front());
    waiting_.pop_front();
    // Armed for the next one before the callback runs: a drain inside it must see that timer.
    if (!waiting_.empty()) timer_.mod(waiting_.front().deadline_ns);
    w.cb(w.ret);
    if (alive.expired()) return;  // the callback dropped the last reference to this node
  }
  if (!waiting_.empty() && !timer_.pending()) timer_.mod(waiting_.front().deadline_ns);
}

void NullNode::preadv(uint64_t, std::vector<iovec> iov, Callback cb) {
  cb = track(std::move(cb));
  // QEMU fills the buffer when the request runs; it is the guest's memory until completion.
  if (o_.read_zeroes) iov_memset_from(iov, 0, 0);
  complete_later(std::move(cb), 0);
}

void NullNode::pwritev(uint64_t, std::vector<iovec>, Callback cb) {
  cb = track(std::move(cb));
  complete_later(std::move(cb), c_.read_only ? -EACCES : 0);
}

void NullNode::flush(Callback cb) {
  complete_later(track(std::move(cb)), 0);
}

void NullNode::discard(uint64_t, uint64_t, Callback cb) {
  cb = track(std::move(cb));
  complete_later(std::move(cb), c_.read_only ? -EACCES : 0);
}

void NullNode::write_zeroes(uint64_t, uint64_t, bool, Callback cb) {
  cb = track(std::move(cb));
  complete_later(std::move(cb), c_.read_only ? -EACCES : 0);
}

}  // namespace machina
