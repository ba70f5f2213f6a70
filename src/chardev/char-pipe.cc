// "chardev-pipe": PATH.in / PATH.out (two FIFOs) if both exist, otherwise PATH for both ways.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "chardev/char-fd.h"
#include "chardev/char-options.h"

namespace machina {

namespace {

class PipeChardev : public FdChardev {
 public:
  Status open(const ChardevOptions& opts) override {
    auto path = opt_string(opts, "path");
    if (!path || path->empty()) return generic_error("chardev: pipe: no filename given");
    // O_RDWR so that opening a FIFO does not wait for the other end.
    int flags = O_RDWR | O_CLOEXEC | O_NONBLOCK;
    int in = ::open((*path + ".in").c_str(), flags);
    int out = ::open((*path + ".out").c_str(), flags);
    if (in < 0 || out < 0) {
      if (in >= 0) ::close(in);
      if (out >= 0) ::close(out);
      in = out = ::open(path->c_str(), flags);
      if (in < 0) return generic_error("Could not open '" + *path + "': " + strerror(errno));
    }
    attach_fds(in, out);
    set_filename("pipe");
    be_event(ChardevEvent::Opened);
    return Status::Ok();
  }
};

TypeRegistration pipe_type{{
    .name = "chardev-pipe",
    .parent = kTypeChardevFd,
    .instance_new = [] { return static_cast<Object*>(new PipeChardev); },
}};

}  // namespace

}  // namespace machina
