// "chardev-socket": a UNIX or TCP stream socket, as a server (server=on: listens, serves one
// client at a time, wait=on blocks at creation until the first client connects) or a client
// (connects at creation; reconnect=N retries every N seconds instead of failing). While no peer is
// connected, output is dropped. File descriptors passed with the data (SCM_RIGHTS) are kept for
// the frontend (QMP getfd).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "chardev/char-fd.h"

namespace machina {

class Timer;

inline constexpr const char* kTypeChardevSocket = "chardev-socket";

class SocketChardev : public FdChardev {
 public:
  SocketChardev();
  ~SocketChardev() override;

  Status open(const ChardevOptions& opts) override;
  void disconnect() override;
  std::vector<int> take_received_fds() override;

  bool connected() const { return connected_; }
  bool is_server() const { return server_; }
  // The port a TCP listener is bound to (useful with port=0), or -1.
  int local_port() const { return local_port_; }

 protected:
  ssize_t do_read(int fd, uint8_t* buf, size_t len) override;
  ssize_t do_write(int fd, const uint8_t* buf, size_t len) override;
  void on_input_eof() override;
  size_t on_output_error(int err, size_t len) override;
  size_t write_some(const uint8_t* buf, size_t len) override;

 private:
  Status listen_now();
  Status connect_now();
  void accept_client();
  void set_connection(int fd);
  void schedule_reconnect();
  void update_filename();
  std::string address_string() const;  // "unix:PATH" / "tcp:HOST:PORT" as configured
  void close_received_fds();

  bool is_unix_ = true;
  std::string path_, host_, port_;
  int given_fd_ = -1;
  bool server_ = false;
  bool wait_ = true;
  bool nodelay_ = false;
  int64_t reconnect_s_ = 0;
  int listen_fd_ = -1;
  int local_port_ = -1;
  bool connected_ = false;
  std::vector<int> received_fds_;
  std::unique_ptr<Timer> reconnect_timer_;
};

}  // namespace machina
