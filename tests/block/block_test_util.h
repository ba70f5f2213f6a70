// Helpers for the block layer's unit tests: temporary image files, synchronous I/O through the
// asynchronous API, and a fixture that closes the whole block layer after each test.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "block/aio-context.h"
#include "block/block-backend.h"
#include "block/block.h"

namespace machina::testing {

// A file under TMPDIR (removed at the end) with SIZE bytes of PATTERN(i).
class TempImage {
 public:
  // In DIR (default: TMPDIR or /tmp).
  explicit TempImage(size_t size = 0, int (*pattern)(size_t) = nullptr, std::string dir = "") {
    const char* tmp = std::getenv("TMPDIR");
    if (dir.empty()) dir = tmp && *tmp ? tmp : "/tmp";
    path_ = dir + "/machina-block-XXXXXX";
    int fd = ::mkstemp(path_.data());
    EXPECT_GE(fd, 0);
    std::vector<char> buf(size);
    for (size_t i = 0; i < size; ++i) buf[i] = char(pattern ? pattern(i) : 0);
    if (size) {
      EXPECT_EQ(::write(fd, buf.data(), size), ssize_t(size));
    }
    ::close(fd);
  }
  ~TempImage() { ::unlink(path_.c_str()); }
  TempImage(const TempImage&) = delete;
  TempImage& operator=(const TempImage&) = delete;
  const std::string& path() const { return path_; }

  std::string contents() const {
    std::string s;
    int fd = ::open(path_.c_str(), O_RDONLY);
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, size_t(n));
    ::close(fd);
    return s;
  }
  uint64_t size() const {
    struct stat st;
    return ::stat(path_.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
  }
  uint64_t allocated() const {
    struct stat st;
    return ::stat(path_.c_str(), &st) == 0 ? uint64_t(st.st_blocks) * 512 : 0;
  }

 private:
  std::string path_;
};

inline int byte_pattern(size_t i) {
  return int((i * 7 + 3) & 0xff);
}

// Whether some fd of this process is open on PATH.
inline bool fd_open_on(const std::string& path) {
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(e.path().c_str(), buf, sizeof buf - 1);
    if (n > 0 && std::string(buf, size_t(n)) == path) return true;
  }
  return false;
}

// Runs the completion handling until `done`, at most ~5 s.
template <class Pred>
bool poll_until(Pred done) {
  for (int i = 0; i < 5000 && !done(); ++i) block_aio_poll(true, 1);
  return done();
}

// Starts one request with a callback storing the result, checks the callback did not run
// synchronously, and waits for it.
template <class Start>
int sync_io(Start start) {
  bool done = false;
  int ret = 12345;
  start([&](int r) {
    ret = r;
    done = true;
  });
  EXPECT_FALSE(done) << "the callback ran inside the call";
  EXPECT_TRUE(poll_until([&] { return done; }));
  return ret;
}

class BlockTest : public ::testing::Test {
 protected:
  void TearDown() override { bdrv_close_all(); }
};

}  // namespace machina::testing
