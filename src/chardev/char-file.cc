// "chardev-file": output to a file, truncated at open unless append=on (QEMU's behaviour); input
// from input-path if given.
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "chardev/char-fd.h"
#include "chardev/char-options.h"

namespace machina {

namespace {

class FileChardev : public FdChardev {
 public:
  Status open(const ChardevOptions& opts) override {
    auto path = opt_string(opts, "path");
    if (!path || path->empty()) return generic_error("chardev: file: no filename given");
    auto append = opt_bool(opts, "append", false);
    if (!append.ok()) return append.status();
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (*append ? O_APPEND : O_TRUNC);
    int out = ::open(path->c_str(), flags, 0666);
    if (out < 0) return generic_error("Could not create '" + *path + "': " + strerror(errno));
    int in = -1;
    if (auto input = opt_string(opts, "input-path")) {
      in = ::open(input->c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
      if (in < 0) {
        int err = errno;
        ::close(out);
        return generic_error("Could not open '" + *input + "': " + strerror(err));
      }
    }
    attach_fds(in, out);
    set_filename("file");
    be_event(ChardevEvent::Opened);
    return Status::Ok();
  }
};

TypeRegistration file_type{{
    .name = "chardev-file",
    .parent = kTypeChardevFd,
    .instance_new = [] { return static_cast<Object*>(new FileChardev); },
}};

}  // namespace

}  // namespace machina
