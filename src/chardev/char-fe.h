// The frontend side of a chardev (QEMU's CharBackend): a device, monitor or qtest attaches to one
// chardev and gets input through callbacks; output is non-blocking with back-pressure.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "chardev/char.h"

namespace machina {

class CharFrontend {
 public:
  using CanReadFn = std::function<size_t()>;  // bytes the frontend can take now
  using ReadFn = std::function<void(const uint8_t* buf, size_t len)>;
  using EventFn = std::function<void(ChardevEvent)>;

  CharFrontend() = default;
  ~CharFrontend() { deinit(); }
  CharFrontend(const CharFrontend&) = delete;
  CharFrontend& operator=(const CharFrontend&) = delete;

  // Attaches to chr. Error "Device 'ID' is in use" if another frontend has it (or, for a mux,
  // "too many uses of multiplexed chardev 'ID' (maximum is 4)").
  Status init(Chardev* chr);
  // Detaches (clears the handlers first). Safe to call when not attached.
  void deinit();
  Chardev* chardev() const { return chr_; }
  bool attached() const { return chr_ != nullptr; }

  // Installs the callbacks; set_open marks the frontend open (query-chardev "frontend-open").
  // If the backend is already open, `event` gets Opened right away.
  void set_handlers(CanReadFn can_read, ReadFn read, EventFn event, bool set_open = true);
  void clear_handlers() { set_handlers(nullptr, nullptr, nullptr, false); }

  // Writes what the backend takes without blocking; returns the count accepted (0 when not
  // attached). When it returns less than len, use notify_writable to learn when to retry.
  size_t write(const uint8_t* buf, size_t len);
  size_t write(std::string_view s) {
    return write(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  // Calls cb once (on the main loop) when the backend can take more output.
  void notify_writable(std::function<void()> cb);
  // The frontend can take more input than it said last time.
  void accept_input();
  // Closes the backend's current connection (socket), as QEMU's qemu_chr_fe_disconnect.
  void disconnect();
  // File descriptors that came with the data read so far (SCM_RIGHTS); the caller owns them.
  std::vector<int> take_received_fds();

  bool is_open() const { return open_; }

  // --- called by the chardev
  size_t can_read() const { return can_read_ ? can_read_() : 0; }
  void deliver(const uint8_t* buf, size_t len) {
    if (read_) read_(buf, len);
  }
  void deliver_event(ChardevEvent ev) {
    if (event_) event_(ev);
  }
  bool has_handlers() const { return can_read_ || read_ || event_; }
  void fire_writable();
  // The chardev is being destroyed under us.
  void forget_chardev() {
    chr_ = nullptr;
    open_ = false;
    writable_.clear();
  }
  int tag() const { return tag_; }

 private:
  Chardev* chr_ = nullptr;
  int tag_ = 0;
  bool open_ = false;
  CanReadFn can_read_;
  ReadFn read_;
  EventFn event_;
  std::vector<std::function<void()>> writable_;
};

}  // namespace machina
