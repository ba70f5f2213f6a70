#include "block/raw-format.h"

#include <cerrno>

#include "block/aio-context.h"

namespace machina {

Result<std::shared_ptr<RawNode>> RawNode::open(BlockNodeCommon common, RawOptions opts,
                                               BlockNodePtr file) {
  uint64_t real = file->length();
  if (opts.offset > real) {
    return generic_error("Offset (" + std::to_string(opts.offset) +
                         ") cannot be greater than size of the containing file (" +
                         std::to_string(real) + ")");
  }
  if (opts.size && (*opts.size > real || opts.offset > real - *opts.size)) {
    return generic_error(
        "The sum of offset (" + std::to_string(opts.offset) + ") and size (" +
        std::to_string(*opts.size) +
        ") has to be smaller or equal to the  actual size of the containing file (" +
        std::to_string(real) + ")");
  }
  if (opts.size && *opts.size % 512) {
    return generic_error("Specified size is not multiple of 512");
  }
  return std::make_shared<RawNode>(std::move(common), opts, std::move(file));
}

RawNode::RawNode(BlockNodeCommon common, RawOptions opts, BlockNodePtr file)
    : BlockDriverState(std::move(common)), o_(opts), file_(std::move(file)) {
  file_->add_parent();
}

RawNode::~RawNode() {
  drain();
  file_->remove_parent();
}

uint64_t RawNode::length() const {
  if (o_.size) return *o_.size;
  uint64_t real = file_->length();
  return real > o_.offset ? real - o_.offset : 0;
}

void RawNode::preadv(uint64_t offset, std::vector<iovec> iov, Callback cb) {
  file_->preadv(o_.offset + offset, std::move(iov), track(std::move(cb)));
}

void RawNode::pwritev(uint64_t offset, std::vector<iovec> iov, Callback cb) {
  cb = track(std::move(cb));
  if (c_.read_only) return block_defer_cb(std::move(cb), -EACCES);
  file_->pwritev(o_.offset + offset, std::move(iov), std::move(cb));
}

void RawNode::flush(Callback cb) {
  cb = track(std::move(cb));
  if (c_.cache_no_flush) return block_defer_cb(std::move(cb), 0);
  file_->flush(std::move(cb));
}

void RawNode::discard(uint64_t offset, uint64_t bytes, Callback cb) {
  cb = track(std::move(cb));
  if (c_.read_only) return block_defer_cb(std::move(cb), -EACCES);
  if (c_.discard != BlockdevDiscard::Unmap) return block_defer_cb(std::move(cb), 0);
  file_->discard(o_.offset + offset, bytes, std::move(cb));
}

void RawNode::write_zeroes(uint64_t offset, uint64_t bytes, bool may_unmap, Callback cb) {
  cb = track(std::move(cb));
  if (c_.read_only) return block_defer_cb(std::move(cb), -EACCES);
  file_->write_zeroes(o_.offset + offset, bytes, may_unmap && c_.discard == BlockdevDiscard::Unmap,
                      std::move(cb));
}

}  // namespace machina
