#include "hw/core/backend-claim.h"

namespace machina {

BackendClaim& BackendClaim::operator=(BackendClaim&& o) noexcept {
  if (this != &o) {
    release();
    target_ = o.target_;
    o.target_ = nullptr;
  }
  return *this;
}

void BackendClaim::release() {
  if (target_) {
    target_->unclaim();
    target_ = nullptr;
  }
}

Result<BackendClaim> Claimable::claim(std::string holder) {
  std::lock_guard lock(mu_);
  if (claimed_) return in_use_error(holder_);
  claimed_ = true;
  holder_ = std::move(holder);
  return BackendClaim(this);
}

bool Claimable::claimed() const {
  std::lock_guard lock(mu_);
  return claimed_;
}

std::string Claimable::holder() const {
  std::lock_guard lock(mu_);
  return holder_;
}

Status Claimable::check_deletable() const {
  std::lock_guard lock(mu_);
  if (claimed_) return busy_error(holder_);
  return Status::Ok();
}

void Claimable::unclaim() {
  std::lock_guard lock(mu_);
  claimed_ = false;
  holder_.clear();
}

}  // namespace machina
