#include <cstring>

#include "block/aio-context.h"
#include "block/block-int.h"

namespace machina {

BlockDriverState::~BlockDriverState() = default;

void BlockDriverState::drain() {
  while (in_flight_ > 0) block_aio_poll(true);
}

BlockDriverState::Callback BlockDriverState::track(Callback cb) {
  ++in_flight_;
  return [this, cb = std::move(cb)](int ret) {
    --in_flight_;
    cb(ret);
  };
}

uint64_t iov_size(const std::vector<iovec>& iov) {
  uint64_t n = 0;
  for (const iovec& v : iov) n += v.iov_len;
  return n;
}

std::vector<iovec> iov_skip(const std::vector<iovec>& iov, uint64_t skip) {
  std::vector<iovec> out;
  for (const iovec& v : iov) {
    if (skip >= v.iov_len) {
      skip -= v.iov_len;
      continue;
    }
    out.push_back(iovec{static_cast<char*>(v.iov_base) + skip, v.iov_len - skip});
    skip = 0;
  }
  return out;
}

bool iov_is_zero(const std::vector<iovec>& iov) {
  for (const iovec& v : iov) {
    const auto* p = static_cast<const unsigned char*>(v.iov_base);
    for (size_t i = 0; i < v.iov_len; ++i) {
      if (p[i]) return false;
    }
  }
  return true;
}

void iov_memset_from(const std::vector<iovec>& iov, uint64_t from, int c) {
  for (const iovec& v : iov_skip(iov, from)) std::memset(v.iov_base, c, v.iov_len);
}

}  // namespace machina
