// Entropy backends for virtio-rng (QEMU's backends/rng*.c), created with -object / object-add:
//   rng-builtin                      the host's getrandom()
//   rng-random,filename=/dev/urandom a file or device read without blocking the main loop
// A device asks for up to N bytes with request_entropy(); the callback runs later on the main
// loop with what the backend had (possibly fewer bytes). One request at a time per device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "qom/object-interfaces.h"
#include "qom/object.h"
#include "util/main-loop.h"

namespace machina {

inline constexpr const char* kTypeRngBackend = "rng-backend";
inline constexpr const char* kTypeRngRandom = "rng-random";
inline constexpr const char* kTypeRngBuiltin = "rng-builtin";

class RngBackend : public Object, public UserCreatable {
 public:
  using Receive = std::function<void(const uint8_t* data, size_t len)>;

  // Queues a request for up to `size` bytes; `receive` runs on the main loop.
  void request_entropy(size_t size, Receive receive);
  // Drops every queued request of the backend (the device is going away or resetting).
  void cancel_requests();
  bool opened() const { return opened_; }

  // Devices using the backend; object-del refuses while there is one.
  void add_user() { ++users_; }
  void remove_user() { --users_; }
  Status can_be_deleted() override;

 protected:
  struct Request {
    size_t size;
    Receive receive;
  };
  // Starts serving queued requests (the first one was just queued).
  virtual void kick() = 0;
  std::deque<Request> requests_;
  bool opened_ = false;

 private:
  int users_ = 0;
};

}  // namespace machina
