#include "chardev/char-fe.h"

namespace machina {

Status CharFrontend::init(Chardev* chr) {
  if (!chr) return generic_error("No chardev given");
  if (chr_ == chr) return Status::Ok();
  deinit();
  auto tag = chr->attach_frontend(this);
  if (!tag.ok()) return tag.error();
  chr_ = chr;
  tag_ = tag.value();
  return Status::Ok();
}

void CharFrontend::deinit() {
  if (!chr_) return;
  Chardev* chr = chr_;
  can_read_ = nullptr;
  read_ = nullptr;
  event_ = nullptr;
  open_ = false;
  writable_.clear();
  chr_ = nullptr;
  chr->detach_frontend(this);
}

void CharFrontend::set_handlers(CanReadFn can_read, ReadFn read, EventFn event, bool set_open) {
  can_read_ = std::move(can_read);
  read_ = std::move(read);
  event_ = std::move(event);
  open_ = set_open && has_handlers();
  if (chr_) chr_->frontend_handlers_changed(this);
}

size_t CharFrontend::write(const uint8_t* buf, size_t len) {
  if (!chr_ || len == 0) return 0;
  return chr_->frontend_write(this, buf, len);
}

void CharFrontend::notify_writable(std::function<void()> cb) {
  if (!chr_ || !cb) return;
  writable_.push_back(std::move(cb));
  chr_->frontend_want_writable(this);
}

void CharFrontend::fire_writable() {
  auto cbs = std::move(writable_);
  writable_.clear();
  for (auto& cb : cbs) cb();
}

void CharFrontend::accept_input() {
  if (chr_) chr_->frontend_accept_input(this);
}

void CharFrontend::disconnect() {
  if (chr_) chr_->disconnect();
}

std::vector<int> CharFrontend::take_received_fds() {
  return chr_ ? chr_->take_received_fds() : std::vector<int>{};
}

}  // namespace machina
