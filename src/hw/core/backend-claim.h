// Backend claims: a device that uses a backend (block node, netdev, chardev, host resource)
// holds a claim on it for as long as it exists. A claimed backend refuses deletion; the claim is
// released when the device is finalized, before DEVICE_DELETED is sent.
#pragma once

#include <mutex>
#include <string>

#include "qapi/error.h"

namespace machina {

class Claimable;

// Move-only handle; releasing (destroying) it frees the backend.
class BackendClaim {
 public:
  BackendClaim() = default;
  BackendClaim(BackendClaim&& o) noexcept : target_(o.target_) { o.target_ = nullptr; }
  BackendClaim& operator=(BackendClaim&& o) noexcept;
  BackendClaim(const BackendClaim&) = delete;
  BackendClaim& operator=(const BackendClaim&) = delete;
  ~BackendClaim() { release(); }
  void release();
  bool held() const { return target_ != nullptr; }

 private:
  friend class Claimable;
  explicit BackendClaim(Claimable* t) : target_(t) {}
  Claimable* target_ = nullptr;
};

class Claimable {
 public:
  virtual ~Claimable() = default;
  // Claims the backend for `holder` (a description such as "device 'vblk0'"). A backend has at
  // most one holder: a second claim fails with in_use_error().
  Result<BackendClaim> claim(std::string holder);
  bool claimed() const;
  std::string holder() const;
  // Ok if the backend may be deleted now; otherwise busy_error().
  Status check_deletable() const;

 protected:
  // The backend's own wording, e.g. "Node 'disk0' is busy: ...".
  virtual Error busy_error(const std::string& holder) const = 0;
  virtual Error in_use_error(const std::string& holder) const { return busy_error(holder); }

 private:
  friend class BackendClaim;
  void unclaim();
  mutable std::mutex mu_;
  std::string holder_;
  bool claimed_ = false;
};

}  // namespace machina
