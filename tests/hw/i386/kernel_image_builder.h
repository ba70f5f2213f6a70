// Synthetic Linux kernel images for the x86 boot tests: a vmlinux-like ELF64 with two PT_LOAD
// segments and a PVH note, compressed with each codec the kernel build uses, wrapped in a fake
// bzImage setup header.
#pragma once

#include <lz4.h>
#include <lz4hc.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "hw/i386/x86-kernel-decompress.h"

namespace machina::test {

using Bytes = std::vector<uint8_t>;

inline void put_le(Bytes& b, size_t off, uint64_t v, size_t n) {
  if (b.size() < off + n) b.resize(off + n);
  for (size_t i = 0; i < n; ++i) b[off + i] = uint8_t(v >> (8 * i));
}

inline uint64_t get_le(const Bytes& b, size_t off, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t(b[off + i]) << (8 * i);
  return v;
}

// Layout of the synthetic vmlinux.
struct FakeElf {
  static constexpr uint64_t kSeg0Paddr = 0x1000000;
  static constexpr uint64_t kSeg0Vaddr = 0xffffffff81000000ull;
  static constexpr uint64_t kSeg0Size = 0x3000;
  static constexpr uint64_t kSeg1Paddr = 0x2000000;
  static constexpr uint64_t kSeg1Vaddr = 0xffffffff82000000ull;
  static constexpr uint64_t kSeg1Filesz = 0x1000;
  static constexpr uint64_t kSeg1Memsz = 0x5000;
  static constexpr uint64_t kPvhEntry = 0x1000180;
  static constexpr size_t kPhoff = 64;
  static constexpr size_t kNoteOff = 0x200;
  static constexpr size_t kSeg0Off = 0x1000;
  static constexpr size_t kSeg1Off = kSeg0Off + kSeg0Size;
};

// Deterministic, moderately compressible bytes.
inline uint8_t pattern_byte(size_t i) {
  uint32_t x = uint32_t(i) * 2654435761u;
  return (i % 64 < 40) ? uint8_t(i / 64) : uint8_t(x >> 24);
}

// An x86-64 ET_EXEC with PT_LOAD segments at physical 0x1000000 and 0x2000000 (the second with
// bss), a PT_NOTE holding XEN_ELFNOTE_PHYS32_ENTRY, entry = `entry` (physical by default, as
// the kernel's vmlinux).
inline Bytes make_fake_vmlinux(uint64_t entry = FakeElf::kSeg0Paddr, bool pvh_note = true) {
  using F = FakeElf;
  Bytes e(F::kSeg1Off + F::kSeg1Filesz, 0);
  e[0] = 0x7f, e[1] = 'E', e[2] = 'L', e[3] = 'F';
  e[4] = 2, e[5] = 1, e[6] = 1;
  put_le(e, 0x10, 2, 2);   // ET_EXEC
  put_le(e, 0x12, 62, 2);  // EM_X86_64
  put_le(e, 0x14, 1, 4);
  put_le(e, 0x18, entry, 8);
  put_le(e, 0x20, F::kPhoff, 8);
  put_le(e, 0x34, 64, 2);
  put_le(e, 0x36, 56, 2);
  put_le(e, 0x38, pvh_note ? 3 : 2, 2);
  auto phdr = [&](size_t i, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
                  uint64_t paddr, uint64_t filesz, uint64_t memsz) {
    size_t p = F::kPhoff + i * 56;
    put_le(e, p, type, 4);
    put_le(e, p + 4, flags, 4);
    put_le(e, p + 8, off, 8);
    put_le(e, p + 0x10, vaddr, 8);
    put_le(e, p + 0x18, paddr, 8);
    put_le(e, p + 0x20, filesz, 8);
    put_le(e, p + 0x28, memsz, 8);
    put_le(e, p + 0x30, 0x1000, 8);
  };
  phdr(0, 1, 5, F::kSeg0Off, F::kSeg0Vaddr, F::kSeg0Paddr, F::kSeg0Size, F::kSeg0Size);
  phdr(1, 1, 6, F::kSeg1Off, F::kSeg1Vaddr, F::kSeg1Paddr, F::kSeg1Filesz, F::kSeg1Memsz);
  if (pvh_note) {
    // A "Linux" note first (skipped), then Xen's PHYS32_ENTRY with an 8-byte value.
    size_t n = F::kNoteOff;
    put_le(e, n, 6, 4), put_le(e, n + 4, 4, 4), put_le(e, n + 8, 1, 4);
    std::memcpy(&e[n + 12], "Linux", 6);
    put_le(e, n + 20, 0x12345678, 4);
    n += 24;
    put_le(e, n, 4, 4), put_le(e, n + 4, 8, 4), put_le(e, n + 8, 18, 4);
    std::memcpy(&e[n + 12], "Xen", 4);
    put_le(e, n + 16, F::kPvhEntry, 8);
    phdr(2, 4, 4, F::kNoteOff, 0, 0, 24 + 24, 24 + 24);
  }
  for (size_t i = 0; i < F::kSeg0Size + F::kSeg1Filesz; ++i) {
    e[F::kSeg0Off + i] = pattern_byte(i);
  }
  return e;
}

inline Bytes compress_gzip(const Bytes& in) {
  z_stream s{};
  deflateInit2(&s, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  Bytes out(deflateBound(&s, uLong(in.size())) + 64);
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = uInt(in.size());
  s.next_out = out.data();
  s.avail_out = uInt(out.size());
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

inline Bytes compress_xz(const Bytes& in) {
  Bytes out(lzma_stream_buffer_bound(in.size()));
  size_t pos = 0;
  lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, nullptr, in.data(), in.size(), out.data(), &pos,
                          out.size());
  out.resize(pos);
  return out;
}

inline Bytes compress_zstd(const Bytes& in) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 19);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  Bytes out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress2(c, out.data(), out.size(), in.data(), in.size());
  ZSTD_freeCCtx(c);
  out.resize(n);
  return out;
}

// The lz4 tool's legacy format as the kernel build uses it; `block` bytes of input per block.
inline Bytes compress_lz4_legacy(const Bytes& in, size_t block = size_t{8} << 20) {
  Bytes out;
  put_le(out, 0, 0x184C2102, 4);
  for (size_t pos = 0; pos < in.size(); pos += block) {
    size_t n = std::min(block, in.size() - pos);
    Bytes tmp(static_cast<size_t>(LZ4_compressBound(static_cast<int>(n))));
    int c = LZ4_compress_HC(reinterpret_cast<const char*>(in.data() + pos),
                            reinterpret_cast<char*>(tmp.data()), int(n), int(tmp.size()), 9);
    size_t at = out.size();
    put_le(out, at, uint32_t(c), 4);
    out.insert(out.end(), tmp.begin(), tmp.begin() + c);
  }
  return out;
}

// Compresses like the kernel build: the stream, then the decompressed size as le32.
inline Bytes kernel_payload(KernelCompression c, const Bytes& vmlinux) {
  Bytes p;
  switch (c) {
    case KernelCompression::Gzip:
      p = compress_gzip(vmlinux);
      break;
    case KernelCompression::Xz:
      p = compress_xz(vmlinux);
      break;
    case KernelCompression::Zstd:
      p = compress_zstd(vmlinux);
      break;
    case KernelCompression::Lz4:
      p = compress_lz4_legacy(vmlinux);
      break;
    default:
      return vmlinux;  // uncompressed: the ELF as is
  }
  put_le(p, p.size(), uint32_t(vmlinux.size()), 4);
  return p;
}

struct FakeBzImage {
  static constexpr uint8_t kSetupSects = 4;
  static constexpr size_t kSetupSize = (kSetupSects + 1) * 512;
  static constexpr uint32_t kPayloadOffset = 0x200;  // after a fake decompressor stub
  static constexpr uint64_t kPrefAddress = 0x1000000;
  static constexpr uint32_t kInitSize = 0x2800000;
  static constexpr uint16_t kVersion = 0x020f;
};

// A bzImage: boot sector + setup header, setup code padding, protected-mode code = stub +
// payload. Header fields as a real 6.1 kernel's.
inline Bytes make_fake_bzimage(const Bytes& payload, uint16_t version = FakeBzImage::kVersion,
                               uint16_t xloadflags = 0x7f) {
  using B = FakeBzImage;
  Bytes f(B::kSetupSize, 0);
  f[B::kSetupSize - 1] = 0xcc;
  f[0x1f1] = B::kSetupSects;
  put_le(f, 0x1fe, 0xaa55, 2);
  f[0x200] = 0xeb;  // jmp
  f[0x201] = 0x6a;  // header ends at 0x26c
  put_le(f, 0x202, 0x53726448, 4);
  put_le(f, 0x206, version, 2);
  f[0x211] = 0x01;                  // LOADED_HIGH
  put_le(f, 0x214, 0x100000, 4);    // code32_start
  put_le(f, 0x22c, 0x7fffffff, 4);  // initrd_addr_max
  put_le(f, 0x230, 0x200000, 4);    // kernel_alignment
  f[0x234] = 1;                     // relocatable
  f[0x235] = 21;                    // min_alignment
  put_le(f, 0x236, xloadflags, 2);
  put_le(f, 0x238, 2047, 4);  // cmdline_size
  put_le(f, 0x248, B::kPayloadOffset, 4);
  put_le(f, 0x24c, uint32_t(payload.size()), 4);
  put_le(f, 0x258, B::kPrefAddress, 8);
  put_le(f, 0x260, B::kInitSize, 4);
  put_le(f, 0x264, 0x190, 4);   // handover_offset
  put_le(f, 0x268, 0x1234, 4);  // kernel_info_offset
  Bytes stub(B::kPayloadOffset, 0x90);
  f.insert(f.end(), stub.begin(), stub.end());
  f.insert(f.end(), payload.begin(), payload.end());
  size_t kernel = f.size() - B::kSetupSize;
  size_t padded = (kernel + 15) / 16 * 16;
  f.resize(B::kSetupSize + padded, 0);
  put_le(f, 0x1f4, padded / 16, 4);  // syssize
  return f;
}

}  // namespace machina::test
