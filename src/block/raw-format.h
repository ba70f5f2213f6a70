// The "raw" format driver: the child's bytes as they are, optionally a window (offset, size).
#pragma once

#include <optional>

#include "block/block-int.h"
#include "qapi/error.h"

namespace machina {

struct RawOptions {
  uint64_t offset = 0;
  std::optional<uint64_t> size;
};

class RawNode : public BlockDriverState {
 public:
  // Checks the window against the child: QEMU's texts.
  static Result<std::shared_ptr<RawNode>> open(BlockNodeCommon common, RawOptions opts,
                                               BlockNodePtr file);
  RawNode(BlockNodeCommon common, RawOptions opts, BlockNodePtr file);
  ~RawNode() override;

  std::string filename() const override { return file_->filename(); }
  uint64_t length() const override;
  int64_t actual_size() const override { return file_->actual_size(); }
  BlockDriverState* file_child() const override { return file_.get(); }
  const RawOptions& options() const { return o_; }

  void preadv(uint64_t offset, std::vector<iovec> iov, Callback cb) override;
  void pwritev(uint64_t offset, std::vector<iovec> iov, Callback cb) override;
  void flush(Callback cb) override;
  void discard(uint64_t offset, uint64_t bytes, Callback cb) override;
  void write_zeroes(uint64_t offset, uint64_t bytes, bool may_unmap, Callback cb) override;

 private:
  RawOptions o_;
  BlockNodePtr file_;
};

}  // namespace machina
