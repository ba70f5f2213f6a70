#include "chardev/char-fd.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>

#include "util/main-loop.h"

namespace machina {

namespace {
TypeRegistration fd_type{{
    .name = kTypeChardevFd,
    .parent = kTypeChardev,
    .abstract = true,
}};
}  // namespace

FdChardev::~FdChardev() {
  detach_fds();
}

void FdChardev::attach_fds(int in, int out, bool own) {
  detach_fds();
  in_fd_ = in;
  out_fd_ = out;
  own_ = own;
  input_eof_ = false;
  MainLoop& loop = main_loop();
  if (in >= 0 && in == out) {
    in_watched_ = out_watched_ = loop.set_fd_handler(
                                         in, [this] { readable(); }, [this] { writable_ready(); })
                                     .ok();
    if (out_watched_) loop.enable_fd_write(out, false);
  } else {
    if (in >= 0)
      in_watched_ = loop.set_fd_handler(
                            in, [this] { readable(); }, nullptr)
                        .ok();
    if (out >= 0) {
      out_watched_ = loop.set_fd_handler(out, nullptr, [this] { writable_ready(); }).ok();
      if (out_watched_) loop.enable_fd_write(out, false);
    }
  }
  reading_ = in_watched_;
  if (in_watched_) {
    prepare_id_ = loop.add_prepare_hook([this] { update_read_watch(); });
    update_read_watch();
  }
}

void FdChardev::detach_fds() {
  MainLoop& loop = main_loop();
  if (prepare_id_) loop.remove_prepare_hook(prepare_id_);
  prepare_id_ = 0;
  if (in_watched_) loop.remove_fd_handler(in_fd_);
  if (out_watched_ && out_fd_ != in_fd_) loop.remove_fd_handler(out_fd_);
  if (own_) {
    if (in_fd_ >= 0) close(in_fd_);
    if (out_fd_ >= 0 && out_fd_ != in_fd_) close(out_fd_);
  }
  in_fd_ = out_fd_ = -1;
  in_watched_ = out_watched_ = false;
  own_ = false;
}

void FdChardev::update_read_watch() {
  if (!in_watched_) return;
  bool want = !input_eof_ && be_can_read() > 0;
  if (want == reading_) return;
  reading_ = want;
  main_loop().enable_fd_read(in_fd_, want);
}

void FdChardev::accept_input() {
  update_read_watch();
}

void FdChardev::readable() {
  size_t can = be_can_read();
  if (can == 0) {
    update_read_watch();
    return;
  }
  uint8_t buf[4096];
  ssize_t n = do_read(in_fd_, buf, std::min(can, sizeof(buf)));
  if (n > 0) {
    be_read(buf, size_t(n));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    on_input_eof();
  }
}

void FdChardev::on_input_eof() {
  input_eof_ = true;
  update_read_watch();
}

ssize_t FdChardev::do_read(int fd, uint8_t* buf, size_t len) {
  return ::read(fd, buf, len);
}

ssize_t FdChardev::do_write(int fd, const uint8_t* buf, size_t len) {
  return ::write(fd, buf, len);
}

size_t FdChardev::on_output_error(int, size_t len) {
  return len;
}

size_t FdChardev::write_some(const uint8_t* buf, size_t len) {
  if (out_fd_ < 0) return len;  // nowhere to write: drop
  size_t done = 0;
  while (done < len) {
    ssize_t n = do_write(out_fd_, buf + done, len - done);
    if (n > 0) {
      done += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    return done + on_output_error(n < 0 ? errno : EIO, len - done);
  }
  return done;
}

void FdChardev::request_writable() {
  if (!out_watched_) {
    Chardev::request_writable();
    return;
  }
  main_loop().enable_fd_write(out_fd_, true);
}

void FdChardev::writable_ready() {
  if (out_watched_) main_loop().enable_fd_write(out_fd_, false);
  be_writable();
}

}  // namespace machina
