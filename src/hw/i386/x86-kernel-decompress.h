// Decompression of a Linux kernel payload (the compressed vmlinux inside a bzImage) on the host,
// with Debian's libraries: liblz4 (the kernel's legacy LZ4 framing, parsed here block by block),
// liblzma (XZ), zlib (gzip) and libzstd. bzip2, LZMA-alone and LZO are recognised and refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "qapi/error.h"

namespace machina {

enum class KernelCompression { None, Gzip, Bzip2, Lzma, Xz, Lzo, Lz4, Zstd, Unknown };

// "gzip", "lz4", ... ("none" for an uncompressed ELF, "unknown" otherwise).
const char* kernel_compression_name(KernelCompression c);

// Recognises the payload by its magic bytes. An ELF ("\x7fELF") is None.
KernelCompression detect_kernel_compression(std::span<const uint8_t> payload);

// Decompresses `payload` (which may end with the kernel build's 4-byte size trailer or other
// padding after the compressed stream). Output larger than `max_out` is an error.
// Errors: unsupported compression, corrupt or truncated data, output too large.
Result<std::vector<uint8_t>> decompress_kernel_payload(KernelCompression c,
                                                       std::span<const uint8_t> payload,
                                                       size_t max_out);

}  // namespace machina
