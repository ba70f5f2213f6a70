#include "hw/i386/x86-kernel-decompress.h"

#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace machina {
namespace {

// The kernel's LZ4 framing ("legacy" format of the lz4 tool): a magic, then blocks of
// [le32 compressed size][compressed bytes], each decompressing to at most 8 MiB.
constexpr uint32_t kLz4LegacyMagic = 0x184C2102;
constexpr size_t kLz4LegacyBlockMax = size_t{8} << 20;

uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

bool has_prefix(std::span<const uint8_t> d, std::initializer_list<uint8_t> magic) {
  if (d.size() < magic.size()) return false;
  return std::equal(magic.begin(), magic.end(), d.begin());
}

Error too_large(size_t max_out) {
  return generic_error("decompressed kernel is larger than the limit of " +
                       std::to_string(max_out) + " bytes");
}

Error corrupt(const char* codec, const std::string& why) {
  return generic_error(std::string("corrupt ") + codec + " kernel payload: " + why);
}

Error truncated(const char* codec) {
  return generic_error(std::string("truncated ") + codec +
                       " kernel payload: the compressed stream ends early");
}

// The kernel build appends the decompressed size as le32; use it as a first size guess.
size_t initial_capacity(std::span<const uint8_t> payload, size_t max_out) {
  size_t guess = size_t{1} << 20;
  if (payload.size() >= 8) {
    size_t trailer = le32(payload.data() + payload.size() - 4);
    // Kernel payloads compress well under 64:1; a larger "size" is not a trailer.
    if (trailer > 0 && trailer <= max_out && trailer / 64 <= payload.size()) guess = trailer;
  }
  // One byte more than max_out lets a stream decoder show that the output is too large.
  return std::min(guess + 1, max_out + 1);
}

// Output buffer for the stream decoders: grows by doubling up to max_out + 1 bytes.
class OutBuf {
 public:
  OutBuf(size_t initial, size_t max_out) : max_(max_out) { buf_.resize(initial); }
  // Makes room for more output; false when already at the hard limit.
  bool grow() {
    if (buf_.size() > max_) return false;
    size_t n = std::max(buf_.size() * 2, size_t{4096});
    buf_.resize(std::min(n, max_ + 1));
    return true;
  }
  uint8_t* data() { return buf_.data(); }
  size_t size() const { return buf_.size(); }
  Result<std::vector<uint8_t>> finish(size_t used) {
    if (used > max_) return too_large(max_);
    buf_.resize(used);  // no shrink_to_fit: that would copy the whole kernel
    return std::move(buf_);
  }

 private:
  std::vector<uint8_t> buf_;
  size_t max_;
};

Result<std::vector<uint8_t>> decompress_lz4_legacy(std::span<const uint8_t> in, size_t max_out) {
  if (in.size() < 4 || le32(in.data()) != kLz4LegacyMagic) {
    return corrupt("LZ4", "missing the legacy frame magic");
  }
  std::vector<uint8_t> out;
  size_t trailer_guess = initial_capacity(in, max_out);
  // Room for the whole kernel plus one block's slack, so the output is never reallocated.
  out.reserve(std::min(trailer_guess, max_out) + kLz4LegacyBlockMax);
  size_t pos = 4;
  size_t blocks = 0;
  const size_t max_block = size_t(LZ4_compressBound(int(kLz4LegacyBlockMax)));
  while (pos < in.size()) {
    size_t rem = in.size() - pos;
    if (rem < 4) return truncated("LZ4");
    uint32_t v = le32(in.data() + pos);
    if (v == kLz4LegacyMagic) {  // concatenated frames
      pos += 4;
      continue;
    }
    if (rem == 4 && blocks > 0 && v == out.size()) break;  // the kernel's size trailer
    pos += 4;
    if (v == 0 || v > max_block) {
      return corrupt("LZ4", "block " + std::to_string(blocks) + " has an impossible size " +
                                std::to_string(v));
    }
    if (v > in.size() - pos) return truncated("LZ4");
    size_t old = out.size();
    if (old >= max_out) return too_large(max_out);
    // An LZ4 sequence yields at most 255 output bytes per input byte (plus a little).
    size_t cap = std::min(kLz4LegacyBlockMax, size_t(v) * 255 + 64);
    out.resize(old + cap);
    int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data() + pos),
                                reinterpret_cast<char*>(out.data() + old), int(v), int(cap));
    if (n < 0) {
      return corrupt("LZ4", "block " + std::to_string(blocks) + " does not decompress");
    }
    out.resize(old + size_t(n));
    if (out.size() > max_out) return too_large(max_out);
    pos += v;
    ++blocks;
  }
  if (blocks == 0) return truncated("LZ4");
  return out;
}

Result<std::vector<uint8_t>> decompress_xz(std::span<const uint8_t> in, size_t max_out) {
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&s, uint64_t{1} << 30, 0) != LZMA_OK) {
    return generic_error("cannot initialise the XZ decoder");
  }
  OutBuf out(initial_capacity(in, max_out), max_out);
  s.next_in = in.data();
  s.avail_in = in.size();
  size_t used = 0;
  Error err;
  bool ok = false;
  for (;;) {
    if (used == out.size() && !out.grow()) {
      err = too_large(max_out);
      break;
    }
    s.next_out = out.data() + used;
    s.avail_out = out.size() - used;
    lzma_ret r = lzma_code(&s, LZMA_FINISH);
    used = out.size() - s.avail_out;
    if (r == LZMA_STREAM_END) {
      ok = true;
      break;
    }
    if (r == LZMA_OK) continue;
    if (r == LZMA_BUF_ERROR && s.avail_out != 0) {
      err = truncated("XZ");
    } else if (r == LZMA_BUF_ERROR) {
      continue;
    } else if (r == LZMA_MEM_ERROR || r == LZMA_MEMLIMIT_ERROR) {
      err = generic_error("XZ kernel payload needs too much memory to decompress");
    } else {
      err = corrupt("XZ", "liblzma error " + std::to_string(int(r)));
    }
    break;
  }
  lzma_end(&s);
  if (!ok) return err;
  return out.finish(used);
}

Result<std::vector<uint8_t>> decompress_gzip(std::span<const uint8_t> in, size_t max_out) {
  z_stream s{};
  if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) {
    return generic_error("cannot initialise the gzip decoder");
  }
  OutBuf out(initial_capacity(in, max_out), max_out);
  size_t in_pos = 0;
  size_t used = 0;
  Error err;
  bool ok = false;
  constexpr size_t kChunk = size_t{1} << 30;  // zlib counts in uInt
  for (;;) {
    if (used == out.size() && !out.grow()) {
      err = too_large(max_out);
      break;
    }
    size_t in_now = std::min(in.size() - in_pos, kChunk);
    size_t out_now = std::min(out.size() - used, kChunk);
    s.next_in = const_cast<Bytef*>(in.data() + in_pos);
    s.avail_in = uInt(in_now);
    s.next_out = out.data() + used;
    s.avail_out = uInt(out_now);
    int r = inflate(&s, Z_NO_FLUSH);
    in_pos += in_now - s.avail_in;
    used += out_now - s.avail_out;
    if (r == Z_STREAM_END) {
      ok = true;
      break;
    }
    if (r == Z_OK) continue;
    if (r == Z_BUF_ERROR) {
      if (in_pos == in.size()) {
        err = truncated("gzip");
        break;
      }
      continue;  // output full: grow
    }
    err = corrupt("gzip", s.msg ? s.msg : "zlib error " + std::to_string(r));
    break;
  }
  inflateEnd(&s);
  if (!ok) return err;
  return out.finish(used);
}

Result<std::vector<uint8_t>> decompress_zstd(std::span<const uint8_t> in, size_t max_out) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (!dctx) return generic_error("cannot initialise the zstd decoder");
  OutBuf out(initial_capacity(in, max_out), max_out);
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t used = 0;
  Error err;
  bool ok = false;
  for (;;) {
    if (used == out.size() && !out.grow()) {
      err = too_large(max_out);
      break;
    }
    ZSTD_outBuffer ob{out.data(), out.size(), used};
    size_t r = ZSTD_decompressStream(dctx, &ob, &ib);
    used = ob.pos;
    if (ZSTD_isError(r)) {
      err = corrupt("zstd", ZSTD_getErrorName(r));
      break;
    }
    if (r == 0) {  // a frame is complete; what follows is the size trailer
      ok = true;
      break;
    }
    if (ib.pos == ib.size && ob.pos < ob.size) {
      err = truncated("zstd");
      break;
    }
  }
  ZSTD_freeDCtx(dctx);
  if (!ok) return err;
  return out.finish(used);
}

}  // namespace

const char* kernel_compression_name(KernelCompression c) {
  switch (c) {
    case KernelCompression::None:
      return "none";
    case KernelCompression::Gzip:
      return "gzip";
    case KernelCompression::Bzip2:
      return "bzip2";
    case KernelCompression::Lzma:
      return "lzma";
    case KernelCompression::Xz:
      return "xz";
    case KernelCompression::Lzo:
      return "lzo";
    case KernelCompression::Lz4:
      return "lz4";
    case KernelCompression::Zstd:
      return "zstd";
    case KernelCompression::Unknown:
      return "unknown";
  }
  return "unknown";
}

KernelCompression detect_kernel_compression(std::span<const uint8_t> d) {
  if (has_prefix(d, {0x7f, 'E', 'L', 'F'})) return KernelCompression::None;
  if (has_prefix(d, {0x1f, 0x8b})) return KernelCompression::Gzip;
  if (has_prefix(d, {'B', 'Z', 'h'})) return KernelCompression::Bzip2;
  if (has_prefix(d, {0xfd, '7', 'z', 'X', 'Z', 0x00})) return KernelCompression::Xz;
  if (has_prefix(d, {0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a})) {
    return KernelCompression::Lzo;
  }
  if (has_prefix(d, {0x02, 0x21, 0x4c, 0x18})) return KernelCompression::Lz4;
  if (has_prefix(d, {0x28, 0xb5, 0x2f, 0xfd})) return KernelCompression::Zstd;
  if (has_prefix(d, {0x5d, 0x00, 0x00})) return KernelCompression::Lzma;
  return KernelCompression::Unknown;
}

Result<std::vector<uint8_t>> decompress_kernel_payload(KernelCompression c,
                                                       std::span<const uint8_t> payload,
                                                       size_t max_out) {
  switch (c) {
    case KernelCompression::None:
      if (payload.size() > max_out) return too_large(max_out);
      return std::vector<uint8_t>(payload.begin(), payload.end());
    case KernelCompression::Lz4:
      return decompress_lz4_legacy(payload, max_out);
    case KernelCompression::Xz:
      return decompress_xz(payload, max_out);
    case KernelCompression::Gzip:
      return decompress_gzip(payload, max_out);
    case KernelCompression::Zstd:
      return decompress_zstd(payload, max_out);
    case KernelCompression::Bzip2:
    case KernelCompression::Lzma:
    case KernelCompression::Lzo:
      return generic_error(std::string("unsupported kernel compression '") +
                           kernel_compression_name(c) +
                           "' (supported: lz4, xz, gzip, zstd, uncompressed)");
    case KernelCompression::Unknown:
      break;
  }
  return generic_error(
      "unsupported kernel compression: the payload's magic bytes match no known format");
}

}  // namespace machina
