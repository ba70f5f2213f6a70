// The "file" driver: a host file or block device, read and written through an AioEngine.
#pragma once

#include <memory>
#include <string>

#include "block/aio-engine.h"
#include "block/block-int.h"
#include "qapi/error.h"

namespace machina {

struct FileOptions {
  std::string filename;
  AioKind aio = AioKind::Threads;  // QEMU's default is threads; "native" counts as io_uring
  std::string aio_name = "threads";
  std::string locking = "auto";  // accepted; no host locks are taken
};

class FileNode : public BlockDriverState {
 public:
  // Opens the file: "Could not open 'F': REASON" on failure (QEMU's text).
  static Result<std::shared_ptr<FileNode>> open(BlockNodeCommon common, FileOptions opts);
  ~FileNode() override;

  std::string filename() const override { return o_.filename; }
  uint64_t length() const override;
  int64_t actual_size() const override;

  void preadv(uint64_t offset, std::vector<iovec> iov, Callback cb) override;
  void pwritev(uint64_t offset, std::vector<iovec> iov, Callback cb) override;
  void flush(Callback cb) override;
  void discard(uint64_t offset, uint64_t bytes, Callback cb) override;
  void write_zeroes(uint64_t offset, uint64_t bytes, bool may_unmap, Callback cb) override;

  int fd() const { return fd_; }
  AioKind engine_kind() const { return engine_->kind(); }
  const FileOptions& options() const { return o_; }
  // O_DIRECT alignment of file offsets/lengths and of buffer addresses (1 without O_DIRECT).
  uint64_t request_alignment() const { return req_align_; }
  uint64_t buffer_alignment() const { return buf_align_; }

  FileNode(BlockNodeCommon common, FileOptions opts, int fd);

 private:
  struct Rw;
  void rw(IoOp op, uint64_t offset, std::vector<iovec> iov, Callback cb);
  void rw_step(std::shared_ptr<Rw> s);
  bool aligned(uint64_t offset, const std::vector<iovec>& iov) const;
  void bounced_read(uint64_t offset, std::vector<iovec> iov, Callback cb);
  void bounced_write(uint64_t offset, std::vector<iovec> iov, Callback cb);
  void fallocate(int mode, uint64_t offset, uint64_t bytes, Callback cb);
  void write_zero_buffers(uint64_t offset, uint64_t bytes, Callback cb);
  uint64_t host_size() const;

  FileOptions o_;
  int fd_ = -1;
  uint64_t req_align_ = 1, buf_align_ = 1;
  std::shared_ptr<AioEngine> engine_;
};

}  // namespace machina
