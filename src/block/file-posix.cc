#include "block/file-posix.h"

#include "block/aio-context.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace machina {

namespace {

constexpr uint64_t kSector = 512;
constexpr uint64_t kMaxZeroChunk = 1 << 20;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using AlignedBuf = std::unique_ptr<char, FreeDeleter>;

AlignedBuf aligned_buffer(uint64_t align, uint64_t size) {
  uint64_t a = std::max<uint64_t>(align, sizeof(void*));
  uint64_t n = (size + a - 1) / a * a;
  auto* p = static_cast<char*>(std::aligned_alloc(a, n));
  if (p) std::memset(p, 0, n);
  return AlignedBuf(p);
}

// Copies between a flat buffer and a scatter list.
void copy_to_iov(const std::vector<iovec>& iov, const char* src) {
  for (const iovec& v : iov) {
    std::memcpy(v.iov_base, src, v.iov_len);
    src += v.iov_len;
  }
}
void copy_from_iov(char* dst, const std::vector<iovec>& iov) {
  for (const iovec& v : iov) {
    std::memcpy(dst, v.iov_base, v.iov_len);
    dst += v.iov_len;
  }
}

bool not_supported(int ret) {
  return ret == -EOPNOTSUPP || ret == -ENOTSUP || ret == -EINVAL || ret == -ENOSYS;
}

}  // namespace

struct FileNode::Rw {
  IoOp op;
  uint64_t offset;
  std::vector<iovec> iov;
  uint64_t total;
  uint64_t done = 0;
  Callback cb;
};

Result<std::shared_ptr<FileNode>> FileNode::open(BlockNodeCommon common, FileOptions opts) {
  int flags = O_CLOEXEC | (common.read_only ? O_RDONLY : O_RDWR);
  if (common.cache_direct) flags |= O_DIRECT;
  int fd = ::open(opts.filename.c_str(), flags);
  if (fd < 0 && !common.read_only && common.auto_read_only && (errno == EACCES || errno == EROFS)) {
    flags = (flags & ~O_RDWR) | O_RDONLY;
    fd = ::open(opts.filename.c_str(), flags);
    if (fd >= 0) common.read_only = true;
  }
  if (fd < 0) {
    return generic_error("Could not open '" + opts.filename + "': " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return generic_error("'" + opts.filename + "' is not a file");
  }
  return std::make_shared<FileNode>(std::move(common), std::move(opts), fd);
}

FileNode::FileNode(BlockNodeCommon common, FileOptions opts, int fd)
    : BlockDriverState(std::move(common)), o_(std::move(opts)), fd_(fd) {
  if (c_.cache_direct) {
    // The kernel says what O_DIRECT needs (statx STATX_DIOALIGN); else a page is always enough.
    req_align_ = buf_align_ = 4096;
    struct statx stx;
    if (::statx(fd_, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
        (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align && stx.stx_dio_mem_align) {
      req_align_ = stx.stx_dio_offset_align;
      buf_align_ = stx.stx_dio_mem_align;
    }
  }
  engine_ = aio_engine_get(o_.aio);
}

FileNode::~FileNode() {
  drain();
  engine_.reset();
  ::close(fd_);
}

uint64_t FileNode::host_size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return 0;
  if (S_ISBLK(st.st_mode)) {
    uint64_t n = 0;
    if (::ioctl(fd_, BLKGETSIZE64, &n) == 0) return n;
    return 0;
  }
  return uint64_t(st.st_size);
}

uint64_t FileNode::length() const {
  // Whole sectors, as QEMU (the tail of the last sector reads as zeroes).
  return (host_size() + kSector - 1) / kSector * kSector;
}

int64_t FileNode::actual_size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return -1;
  return int64_t(st.st_blocks) * 512;
}

bool FileNode::aligned(uint64_t offset, const std::vector<iovec>& iov) const {
  if (!c_.cache_direct) return true;
  if (offset % req_align_ || iov_size(iov) % req_align_) return false;
  for (const iovec& v : iov) {
    if (reinterpret_cast<uintptr_t>(v.iov_base) % buf_align_ || v.iov_len % req_align_) {
      return false;
    }
  }
  return true;
}

void FileNode::rw(IoOp op, uint64_t offset, std::vector<iovec> iov, Callback cb) {
  auto s = std::make_shared<Rw>();
  s->op = op;
  s->offset = offset;
  s->total = iov_size(iov);
  s->iov = std::move(iov);
  s->cb = std::move(cb);
  if (s->total == 0) {
    engine_->submit(
        IoRequest{.op = IoOp::Read, .fd = fd_, .offset = offset, .cb = [s](int64_t) { s->cb(0); }});
    return;
  }
  rw_step(std::move(s));
}

void FileNode::rw_step(std::shared_ptr<Rw> s) {
  IoRequest r;
  r.op = s->op;
  r.fd = fd_;
  r.offset = s->offset + s->done;
  r.iov = iov_skip(s->iov, s->done);
  r.cb = [this, s](int64_t ret) {
    if (ret == -EINTR || ret == -EAGAIN) return rw_step(s);
    if (ret < 0) return s->cb(int(ret));
    if (ret == 0) {
      if (s->op == IoOp::Read) {
        // End of file: the rest reads as zeroes.
        iov_memset_from(s->iov, s->done, 0);
        return s->cb(0);
      }
      return s->cb(-ENOSPC);
    }
    s->done += uint64_t(ret);
    if (s->done >= s->total) return s->cb(0);
    // Short transfer: the rest is submitted again.
    rw_step(s);
  };
  engine_->submit(std::move(r));
}

void FileNode::bounced_read(uint64_t offset, std::vector<iovec> iov, Callback cb) {
  uint64_t bytes = iov_size(iov);
  uint64_t start = offset / req_align_ * req_align_;
  uint64_t end = (offset + bytes + req_align_ - 1) / req_align_ * req_align_;
  auto buf = std::make_shared<AlignedBuf>(aligned_buffer(buf_align_, end - start));
  if (!*buf) return block_defer_cb(std::move(cb), -ENOMEM);
  char* p = buf->get();
  rw(IoOp::Read, start, {iovec{p, end - start}},
     [buf, iov = std::move(iov), skip = offset - start, cb = std::move(cb)](int ret) {
       if (ret == 0) copy_to_iov(iov, buf->get() + skip);
       cb(ret);
     });
}

void FileNode::bounced_write(uint64_t offset, std::vector<iovec> iov, Callback cb) {
  uint64_t bytes = iov_size(iov);
  uint64_t start = offset / req_align_ * req_align_;
  uint64_t end = (offset + bytes + req_align_ - 1) / req_align_ * req_align_;
  auto buf = std::make_shared<AlignedBuf>(aligned_buffer(buf_align_, end - start));
  if (!*buf) return block_defer_cb(std::move(cb), -ENOMEM);
  char* p = buf->get();
  auto write_all = [this, buf, p, start, end, cb](int ret) {
    if (ret < 0) return cb(ret);
    rw(IoOp::Write, start, {iovec{p, end - start}}, [buf, cb](int r) { cb(r); });
  };
  if (start == offset && end == offset + bytes) {
    // Only the memory is misaligned: copy and write.
    copy_from_iov(p, iov);
    return write_all(0);
  }
  // Read-modify-write of the aligned range around the request.
  rw(IoOp::Read, start, {iovec{p, end - start}},
     [p, iov = std::move(iov), skip = offset - start, write_all](int ret) {
       if (ret == 0) copy_from_iov(p + skip, iov);
       write_all(ret);
     });
}

void FileNode::preadv(uint64_t offset, std::vector<iovec> iov, Callback cb) {
  cb = track(std::move(cb));
  if (!aligned(offset, iov)) return bounced_read(offset, std::move(iov), std::move(cb));
  rw(IoOp::Read, offset, std::move(iov), std::move(cb));
}

void FileNode::pwritev(uint64_t offset, std::vector<iovec> iov, Callback cb) {
  cb = track(std::move(cb));
  if (c_.read_only) return block_defer_cb(std::move(cb), -EACCES);
  if (!aligned(offset, iov)) return bounced_write(offset, std::move(iov), std::move(cb));
  rw(IoOp::Write, offset, std::move(iov), std::move(cb));
}

void FileNode::flush(Callback cb) {
  cb = track(std::move(cb));
  if (c_.cache_no_flush) return block_defer_cb(std::move(cb), 0);
  engine_->submit(IoRequest{
      .op = IoOp::Flush, .fd = fd_, .cb = [cb = std::move(cb)](int64_t r) { cb(int(r)); }});
}

void FileNode::fallocate(int mode, uint64_t offset, uint64_t bytes, Callback cb) {
  engine_->submit(IoRequest{.op = IoOp::Fallocate,
                            .fd = fd_,
                            .offset = offset,
                            .len = bytes,
                            .fallocate_mode = mode,
                            .cb = [cb = std::move(cb)](int64_t r) { cb(int(r)); }});
}

void FileNode::discard(uint64_t offset, uint64_t bytes, Callback cb) {
  cb = track(std::move(cb));
  if (c_.read_only) return block_defer_cb(std::move(cb), -EACCES);
  // discard=ignore (the default): nothing to do, as QEMU without BDRV_O_UNMAP.
  if (c_.discard != BlockdevDiscard::Unmap || bytes == 0) return block_defer_cb(std::move(cb), 0);
  fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, bytes, [cb](int ret) {
    // A file system that cannot punch holes just keeps the data (QEMU's -ENOTSUP -> 0).
    cb(not_supported(ret) ? 0 : ret);
  });
}

void FileNode::write_zero_buffers(uint64_t offset, uint64_t bytes, Callback cb) {
  if (bytes == 0) return cb(0);
  uint64_t n = std::min(bytes, kMaxZeroChunk);
  auto buf = std::make_shared<AlignedBuf>(aligned_buffer(std::max<uint64_t>(buf_align_, 8), n));
  if (!*buf) return cb(-ENOMEM);
  std::vector<iovec> iov{iovec{buf->get(), n}};
  auto next = [this, buf, offset, bytes, n, cb](int ret) {
    if (ret < 0) return cb(ret);
    write_zero_buffers(offset + n, bytes - n, cb);
  };
  if (!aligned(offset, iov)) return bounced_write(offset, std::move(iov), std::move(next));
  rw(IoOp::Write, offset, std::move(iov), std::move(next));
}

void FileNode::write_zeroes(uint64_t offset, uint64_t bytes, bool may_unmap, Callback cb) {
  cb = track(std::move(cb));
  if (c_.read_only) return block_defer_cb(std::move(cb), -EACCES);
  if (bytes == 0) return block_defer_cb(std::move(cb), 0);
  auto zero_range = [this, offset, bytes, cb]() {
    fallocate(FALLOC_FL_ZERO_RANGE, offset, bytes, [this, offset, bytes, cb](int ret) {
      if (not_supported(ret)) return write_zero_buffers(offset, bytes, cb);
      cb(ret);
    });
  };
  // Punched holes read as zeroes; only inside the file (punching never extends it).
  if (may_unmap && c_.discard == BlockdevDiscard::Unmap && offset + bytes <= host_size()) {
    fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, bytes, [zero_range, cb](int ret) {
      if (not_supported(ret)) return zero_range();
      cb(ret);
    });
    return;
  }
  zero_range();
}

}  // namespace machina
