// "chardev-null": discards output, never produces input.
#include "chardev/char.h"

namespace machina {

namespace {

class NullChardev : public Chardev {
 public:
  Status open(const ChardevOptions&) override {
    set_filename("null");
    be_event(ChardevEvent::Opened);
    return Status::Ok();
  }

 protected:
  size_t write_some(const uint8_t*, size_t len) override { return len; }
};

TypeRegistration null_type{{
    .name = "chardev-null",
    .parent = kTypeChardev,
    .instance_new = [] { return static_cast<Object*>(new NullChardev); },
}};

}  // namespace

}  // namespace machina
