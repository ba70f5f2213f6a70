// The abstract "chardev-fd": a chardev over an input and an output file descriptor (which may be
// the same), watched by the main loop. Input is read only while the frontend can take it; output
// is written without blocking, with a writable notification when the descriptor has room again.
#pragma once

#include <sys/types.h>

#include "chardev/char.h"

namespace machina {

inline constexpr const char* kTypeChardevFd = "chardev-fd";

class FdChardev : public Chardev {
 public:
  ~FdChardev() override;

 protected:
  // Starts watching in/out (either may be -1; they may be equal). With own=true they are closed by
  // detach_fds() and the destructor.
  void attach_fds(int in, int out, bool own = true);
  // Stops watching and closes owned descriptors.
  void detach_fds();
  bool has_fds() const { return in_fd_ >= 0 || out_fd_ >= 0; }

  size_t write_some(const uint8_t* buf, size_t len) override;
  void accept_input() override;
  void request_writable() override;

  virtual ssize_t do_read(int fd, uint8_t* buf, size_t len);
  virtual ssize_t do_write(int fd, const uint8_t* buf, size_t len);
  // End of input or a read error. Default: stop reading.
  virtual void on_input_eof();
  // A write failed with err (not EAGAIN). Returns the count to report as accepted; default: all
  // of it (the output is dropped rather than retried forever).
  virtual size_t on_output_error(int err, size_t len);

  int in_fd_ = -1;
  int out_fd_ = -1;

 private:
  void readable();
  void writable_ready();
  void update_read_watch();

  bool own_ = false;
  bool in_watched_ = false;   // in_fd_ is in the main loop (regular files cannot be)
  bool out_watched_ = false;  // out_fd_ can report writability
  bool reading_ = true;       // read interest currently on
  bool input_eof_ = false;
  int prepare_id_ = 0;
};

}  // namespace machina
