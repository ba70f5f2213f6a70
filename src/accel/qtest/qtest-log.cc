#include "accel/qtest/qtest-log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/cutils.h"

namespace machina {

QtestLog::QtestLog(std::FILE* fp) : fp_(fp) {
  if (fp_) std::setvbuf(fp_, nullptr, _IOLBF, 0);
}

QtestLog::~QtestLog() {
  if (fp_) std::fclose(fp_);
}

Result<std::unique_ptr<QtestLog>> QtestLog::open(const std::string& path) {
  if (path == "none") return std::unique_ptr<QtestLog>();
  int fd = -1;
  std::string_view p = path;
  std::optional<uint64_t> inherited;
  if (p == "/dev/stderr") {
    inherited = 2;
  } else if (p == "/dev/stdout") {
    inherited = 1;
  } else if (p.starts_with("/dev/fd/")) {
    inherited = parse_uint64(p.substr(8));
  }
  if (inherited && *inherited <= 1024) {
    fd = ::fcntl(int(*inherited), F_DUPFD_CLOEXEC, 3);
  }
  if (fd < 0) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  }
  if (fd < 0) {
    return generic_error("Could not open '" + path + "': " + std::strerror(errno));
  }
  std::FILE* fp = ::fdopen(fd, "w");
  if (!fp) {
    ::close(fd);
    return generic_error("Could not open '" + path + "': " + std::strerror(errno));
  }
  return std::make_unique<QtestLog>(fp);
}

double QtestLog::elapsed() const {
  if (!started_) return 0.0;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void QtestLog::opened() {
  start_ = std::chrono::steady_clock::now();
  started_ = true;
  std::fprintf(fp_, "[I %.06f] OPENED\n", elapsed());
}

void QtestLog::closed() {
  std::fprintf(fp_, "[I +%.06f] CLOSED\n", elapsed());
  started_ = false;
}

void QtestLog::received(std::string_view line) {
  std::fprintf(fp_, "[R +%.06f] %.*s\n", elapsed(), int(line.size()), line.data());
}

void QtestLog::send_prefix() {
  std::fprintf(fp_, "[S +%.06f] ", elapsed());
}

void QtestLog::sent_text(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), fp_);
}

void QtestLog::diagnostic(std::string_view text) {
  std::fprintf(fp_, "[D +%.06f] %.*s\n", elapsed(), int(text.size()), text.data());
}

}  // namespace machina
