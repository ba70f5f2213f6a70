// Disk images and host limits shared by the virtio-blk qtests.
#pragma once

#include <sys/resource.h>

#include <csignal>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "qtest/harness.h"

namespace machina::qtest {

// Byte i of the pattern image: differs between neighbouring bytes and between sectors.
inline uint8_t image_pattern_byte(size_t i) {
  return uint8_t(i / 512 + i);
}

// Writes a `size`-byte image of image_pattern_byte() to `path`.
inline void write_pattern_image(const std::string& path, size_t size) {
  std::vector<uint8_t> data(size);
  for (size_t i = 0; i < size; ++i) data[i] = image_pattern_byte(i);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), std::streamsize(size));
}

// Starts machina with RLIMIT_FSIZE at `bytes` (and SIGXFSZ ignored, as it is inherited), so that
// its writes past `bytes` in any file fail with EFBIG; this process's own limit is restored once
// the child runs.
inline std::unique_ptr<QTestMachine> start_with_file_size_limit(const std::string& args,
                                                                rlim_t bytes) {
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  rlimit lim = old;
  lim.rlim_cur = bytes;
  setrlimit(RLIMIT_FSIZE, &lim);
  auto prev = ::signal(SIGXFSZ, SIG_IGN);
  auto m = std::make_unique<QTestMachine>(args);
  setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, prev);
  return m;
}

}  // namespace machina::qtest
