// "chardev-mux": several frontends (e.g. a serial port and the monitor with -nographic) share one
// chardev. Input goes to the focused frontend; output from any frontend goes out. The escape
// character Ctrl-a introduces commands, as QEMU: C-a h help, C-a x quit (the quit hook), C-a c
// switch frontend, C-a b send break, C-a t toggle timestamps, C-a s (ignored), C-a C-a sends C-a.
#pragma once

#include <array>
#include <string>

#include "chardev/char-fe.h"
#include "chardev/char.h"

namespace machina {

inline constexpr const char* kTypeChardevMux = "chardev-mux";

class MuxChardev : public Chardev {
 public:
  static constexpr int kMaxFrontends = 4;
  static constexpr uint8_t kEscapeChar = 0x01;  // Ctrl-a

  ~MuxChardev() override;
  Status open(const ChardevOptions& opts) override;

  bool busy() const override;
  bool frontend_open() const override;
  Result<int> attach_frontend(CharFrontend* fe) override;
  void detach_frontend(CharFrontend* fe) override;
  void frontend_handlers_changed(CharFrontend* fe) override;
  size_t frontend_write(CharFrontend* fe, const uint8_t* buf, size_t len) override;
  void frontend_accept_input(CharFrontend* fe) override;
  void frontend_want_writable(CharFrontend* fe) override;

  int focus() const { return focus_; }
  bool timestamps() const { return timestamps_; }

 protected:
  size_t write_some(const uint8_t* buf, size_t len) override { return base_fe_.write(buf, len); }

 private:
  void set_focus(int tag);
  size_t base_can_read();
  void base_read(const uint8_t* buf, size_t len);
  void base_event(ChardevEvent ev);
  void process_byte(uint8_t ch);
  void flush_input();
  void print(std::string_view s);

  CharFrontend base_fe_;
  std::array<CharFrontend*, kMaxFrontends> fes_{};
  std::array<std::string, kMaxFrontends> pending_;  // input the frontend could not take yet
  int count_ = 0;                                   // slots used (QEMU never reuses a slot)
  int focus_ = -1;
  bool got_escape_ = false;
  bool timestamps_ = false;
  int prepare_id_ = 0;
};

}  // namespace machina
