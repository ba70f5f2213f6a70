// A QMP client for the process-level tests, reading the way QEMU's libqmp does: the byte stream
// is split into complete top-level JSON objects; objects with an "event" member are queued, the
// first other object is the reply. Failures (timeout, end of file, unparsable output) are
// reported with ADD_FAILURE and give an empty optional / null json.
#pragma once

#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "qtest/process.h"
#include "qtest/socket_util.h"

namespace machina::qtest {

using json = nlohmann::json;

inline constexpr Ms kDefaultTimeout{5000};

class QmpClient {
 public:
  explicit QmpClient(Fd fd) : fd_(std::move(fd)) {}
  // Connects to a QMP server socket (retrying until it is there). With NEGOTIATE, reads the
  // greeting and completes capabilities negotiation. nullptr (and a test failure) on error.
  static std::unique_ptr<QmpClient> connect(const std::string& path, bool negotiate = true,
                                            Ms timeout = kDefaultTimeout);

  int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

  // Reads the greeting and sends qmp_capabilities; true on success.
  bool negotiate(Ms timeout = kDefaultTimeout);
  const json& greeting() const { return greeting_; }

  bool send_raw(std::string_view bytes, int pass_fd = -1);
  // The next object in arrival order (event or reply), nullopt on timeout/EOF. With
  // EXPECT_DATA false, a timeout is not a test failure (for "nothing arrives" checks).
  std::optional<json> read_object(Ms timeout = kDefaultTimeout, bool expect_data = true);
  // The next non-event object; events met on the way are queued.
  std::optional<json> read_reply(Ms timeout = kDefaultTimeout);
  // Sends REQ (compact JSON + "\n") and returns the reply (null json on failure).
  json request(const json& req, Ms timeout = kDefaultTimeout, int pass_fd = -1);
  json execute(const std::string& name, const json& args = json(), Ms timeout = kDefaultTimeout);
  // Sends raw text and returns the next reply.
  json execute_raw(std::string_view text, Ms timeout = kDefaultTimeout);

  // The first queued or arriving event named NAME (removed from the queue); nullopt and a test
  // failure on timeout.
  std::optional<json> wait_event(const std::string& name, Ms timeout = kDefaultTimeout);
  // Events queued so far (read_reply queues them); reads what has arrived within GRACE first.
  std::deque<json>& events() { return events_; }
  void drain(Ms grace);

  bool eof() const { return eof_; }
  // Every byte received so far.
  const std::string& received() const { return received_; }

 private:
  // Extracts one complete top-level value from buf_ if present.
  std::optional<std::string> next_value_text();

  Fd fd_;
  std::string buf_, received_;
  std::deque<json> events_;
  json greeting_;
  bool eof_ = false;
};

// The error class of REPLY, or "" when it is not an error reply.
std::string error_class(const json& reply);
std::string error_desc(const json& reply);

}  // namespace machina::qtest
