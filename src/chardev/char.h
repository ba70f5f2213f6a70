// Character devices (QEMU's chardev layer): the QOM type "chardev" and its registry under
// /chardevs/ID. A chardev is a byte stream backend (stdio, socket, file, pipe, pty, null, mux) that
// one frontend (a serial port, a monitor, qtest: see char-fe.h) reads from and writes to.
//
// All chardev code runs on the main loop thread (util/main-loop.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "qapi/error.h"
#include "qom/object.h"

namespace machina {

class CharFrontend;

inline constexpr const char* kTypeChardev = "chardev";

// Events a backend reports to its frontend (QEMU's QEMUChrEvent).
enum class ChardevEvent { Opened, Closed, Break, MuxIn, MuxOut };

// -chardev BACKEND,id=ID,key=value...: every value as a string. "backend" holds BACKEND.
using ChardevOptions = std::map<std::string, std::string, std::less<>>;

class Chardev : public Object {
 public:
  ~Chardev() override;

  const std::string& label() const { return label_; }
  // As query-chardev reports it, e.g. "unix:/tmp/x,server=on", "stdio", "pty:/dev/pts/3".
  const std::string& filename() const { return filename_; }
  // A frontend is attached and has declared itself open (query-chardev "frontend-open").
  virtual bool frontend_open() const;
  // The backend side is open (a socket has a peer, a file is open...).
  bool backend_open() const { return be_open_; }
  // True while a frontend is attached (chardev-remove refuses: "Chardev 'x' is busy").
  virtual bool busy() const { return fe_ != nullptr; }

  // --- called by CharFrontend (virtual so that mux can route between several frontends).
  // Attaches a frontend; returns its tag. Error: "Device 'ID' is in use".
  virtual Result<int> attach_frontend(CharFrontend* fe);
  virtual void detach_frontend(CharFrontend* fe);
  // The frontend's handlers or open state changed.
  virtual void frontend_handlers_changed(CharFrontend* fe);
  // Writes what can be written without blocking; returns the count accepted. A backend with no
  // peer (disconnected socket) accepts and drops everything.
  virtual size_t frontend_write(CharFrontend* fe, const uint8_t* buf, size_t len);
  // The frontend can take more input now (QEMU's qemu_chr_fe_accept_input).
  virtual void frontend_accept_input(CharFrontend*) { accept_input(); }
  // Calls fe's writable callbacks once output can make progress again.
  virtual void frontend_want_writable(CharFrontend* fe);
  // Closes the current connection, if the backend has one (socket).
  virtual void disconnect() {}
  // File descriptors received along with the data (SCM_RIGHTS), handed over to the caller.
  virtual std::vector<int> take_received_fds() { return {}; }

  // --- called by registry code
  // Parses options and opens the backend. `label` is already set.
  virtual Status open(const ChardevOptions& opts) = 0;
  void set_label(std::string label) { label_ = std::move(label); }
  Status open_log(const ChardevOptions& opts);

 protected:
  // Backend output: write up to len bytes without blocking; returns the count accepted.
  virtual size_t write_some(const uint8_t* buf, size_t len) = 0;
  // The frontend may accept input again: re-check can_read.
  virtual void accept_input() {}
  // Arrange to call be_writable() once output can make progress.
  virtual void request_writable();

  // --- for backends: deliver input and events to the frontend.
  size_t be_can_read();
  void be_read(const uint8_t* buf, size_t len);
  void be_event(ChardevEvent ev);
  void be_writable();
  void set_filename(std::string f) { filename_ = std::move(f); }
  CharFrontend* frontend() const { return fe_; }

 private:
  std::string label_;
  std::string filename_;
  CharFrontend* fe_ = nullptr;
  bool be_open_ = false;
  int log_fd_ = -1;
};

// --- the registry (/chardevs in the QOM tree)

// Creates, opens and registers a chardev from -chardev options ("backend", "id", ...). With
// mux=on, creates ID-base with the backend and ID as a mux on top (as QEMU). Returns the chardev,
// owned by the tree.
Result<Chardev*> chardev_new(const ChardevOptions& opts);
// Parses QEMU's legacy chardev strings (-serial, -monitor, -qtest, -qmp): "stdio", "null",
// "none", "pty", "vc", "file:PATH", "pipe:PATH", "unix:PATH[,opts]", "tcp:HOST:PORT[,opts]",
// "mon:SPEC" (sets mux=on and *monitor=true). The result has "backend" set; add "id" yourself.
Result<ChardevOptions> chardev_parse_legacy(std::string_view spec, bool* monitor = nullptr);
Chardev* chardev_find(std::string_view id);
// chardev-remove: "Chardev 'ID' not found" / "Chardev 'ID' is busy".
Status chardev_remove(std::string_view id);
// query-chardev: [{"label", "filename", "frontend-open"}...].
json chardev_query();
// Removes every chardev (at exit or between tests), busy or not.
void chardev_remove_all();

// What C-a x on a mux calls (default: main_loop().quit()).
void chardev_set_quit_hook(std::function<void()> fn);
void chardev_call_quit_hook();

}  // namespace machina
