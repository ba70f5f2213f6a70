// GuestSession: see guest_session.h.
#include "guest/guest_session.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "guest/guest_accel.h"

namespace machina::guest {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string default_guest_dir(const std::string& source_dir) {
  if (const char* d = std::getenv("MACHINA_GUEST_DIR")) return d;
  return source_dir + "/build/guest";
}

GuestSession::GuestSession(GuestOptions o) : o_(std::move(o)) {
  static int n = 0;
  qmp_path_ = (fs::temp_directory_path() /
               ("machina-guest-qmp-" + std::to_string(getpid()) + "-" + std::to_string(n++)))
                  .string();
  argv_ = {o_.binary,
           "-M",
           "q35",
           "-accel",
           test::guest_test_accel(),
           "-m",
           o_.memory,
           "-display",
           "none",
           "-serial",
           "stdio",
           "-kernel",
           o_.guest_dir + "/vmlinuz",
           "-initrd",
           o_.guest_dir + "/initramfs.gz",
           "-append",
           o_.append,
           "-qmp",
           "unix:" + qmp_path_ + ",server=on,wait=off"};
  argv_.insert(argv_.end(), o_.extra.begin(), o_.extra.end());
}

GuestSession::~GuestSession() {
  stop();
}

void GuestSession::stop() {
  qmp_.reset();
  if (child_ && child_->running()) {
    ::kill(child_->pid(), SIGTERM);
    child_->wait_or_kill(5s);
  }
  fs::remove(qmp_path_);
}

bool GuestSession::boot(std::chrono::seconds timeout, std::string* error,
                        const std::function<void(qtest::QmpClient&)>& early) {
  fs::remove(qmp_path_);
  child_ = std::make_unique<qtest::Child>(argv_);
  child_->use_stdin_pipe();
  if (!child_->start(error)) return false;
  qmp_ = qtest::QmpClient::connect(qmp_path_);
  if (!qmp_) {
    *error = "no QMP connection; stderr:\n" + stderr_text();
    return false;
  }
  if (early) early(*qmp_);
  if (!wait_for("MACHINA-GUEST-READY", timeout)) {
    *error = "no ready marker; console:\n" + console() + "\nstderr:\n" + stderr_text();
    return false;
  }
  return true;
}

std::optional<std::vector<std::string>> GuestSession::wait_for(const std::string& re_text,
                                                               std::chrono::milliseconds timeout) {
  std::regex re(re_text);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::string out = console();
    std::smatch m;
    if (std::regex_search(out.cbegin() + long(std::min(pos_, out.size())), out.cend(), m, re)) {
      pos_ = size_t(m[0].second - out.cbegin());
      std::vector<std::string> groups;
      for (const auto& g : m) groups.push_back(g.str());
      return groups;
    }
    if (std::chrono::steady_clock::now() >= deadline || !child_->running()) return std::nullopt;
    std::this_thread::sleep_for(1ms);
  }
}

bool GuestSession::type(const std::string& line) {
  return child_ && child_->write_stdin(line + "\n");
}

std::optional<std::string> GuestSession::run(const std::string& cmd,
                                             std::chrono::milliseconds timeout) {
  int n = markers_++;
  // The markers are printed by the shell, not echoed from the typed line: $((...)) expands.
  std::string begin = "MB" + std::to_string(n), end = "ME" + std::to_string(n);
  if (!type("echo M$((0))B" + std::to_string(n) + "; " + cmd + " 2>&1; echo M$((0))E" +
            std::to_string(n)))
    return std::nullopt;
  std::string b = "M0B" + std::to_string(n), e = "M0E" + std::to_string(n);
  auto got = wait_for(b + "\\r?\\n([\\s\\S]*?)" + e + "\\r?\\n", timeout);
  if (!got) return std::nullopt;
  std::string text = (*got)[1];
  text.erase(std::remove(text.begin(), text.end(), '\r'), text.end());
  return text;
}

TempImage::TempImage(const std::string& tag, uint64_t size) {
  path = (fs::temp_directory_path() / ("machina-" + tag + "-" + std::to_string(getpid()) + ".img"))
             .string();
  std::ofstream(path).close();
  fs::resize_file(path, size);
}

TempImage::~TempImage() {
  fs::remove(path);
}

std::string TempImage::read(uint64_t offset, size_t len) const {
  std::ifstream f(path, std::ios::binary);
  f.seekg(std::streamoff(offset));
  std::string s(len, '\0');
  f.read(s.data(), std::streamsize(len));
  return s;
}

}  // namespace machina::guest
