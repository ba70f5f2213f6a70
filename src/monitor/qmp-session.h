// One QMP connection, independent of the transport: greeting, capabilities negotiation, request
// validation and dispatch, replies, events, and a bound on unsent output.
//
// The transport feeds received bytes with feed() and gets output through the sink. The sink
// returns how many bytes it accepted; the rest stays queued in the session until flush_output()
// (call it when the transport can write again). If the queue grows past
// QmpSessionOptions::max_pending_output (a client that stopped reading), the queue is discarded,
// the session stops, dropped() becomes true and on_drop runs: the transport must close the
// connection. Without a sink, output accumulates (bounded the same way) for take_output().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "monitor/json-streamer.h"
#include "monitor/qmp-commands.h"
#include "qapi/error.h"

namespace machina {

using json = nlohmann::json;

struct QmpTimestamp {
  int64_t seconds = 0;
  int64_t microseconds = 0;
  static QmpTimestamp now();  // wall-clock time
};

struct QmpSessionOptions {
  bool offer_oob = true;                        // greeting's capabilities: ["oob"]
  size_t max_pending_output = size_t{8} << 20;  // bytes of unsent output before dropping
  JsonStreamerLimits limits;                    // per input value
  int version_major = 7, version_minor = 2, version_micro = 0;
  std::function<void()> on_drop;  // the session gave up on a slow reader
};

class QmpSession {
 public:
  // Accepts a piece of output; returns how many bytes it took (all of them if it blocks).
  using Sink = std::function<size_t(std::string_view)>;

  // `package` is the greeting's / query-version's "package" text (e.g. "machina 0.1.0").
  QmpSession(const QmpCommandRegistry& registry, std::string package, Sink sink = nullptr,
             QmpSessionOptions options = {});
  QmpSession(const QmpSession&) = delete;
  QmpSession& operator=(const QmpSession&) = delete;

  // Sends the greeting; the session is then in capabilities-negotiation mode. Once only.
  void start();
  // Input bytes, in any chunking.
  void feed(std::string_view bytes);
  // End of input (the peer closed its side): a pending partial value gets an error reply.
  void end_of_input();

  // Sends an event, only in command mode (otherwise it is dropped). `data` may be absent.
  void send_event(std::string_view name, const std::optional<json>& data = std::nullopt,
                  std::optional<QmpTimestamp> when = std::nullopt);

  // Retries writing queued output to the sink.
  void flush_output();
  size_t pending_output() const { return queue_.size() - queue_head_; }
  // Without a sink: takes the queued output.
  std::string take_output();
  bool dropped() const { return dropped_; }

  bool started() const { return started_; }
  bool in_command_mode() const { return command_mode_; }
  bool oob_enabled() const { return oob_enabled_; }
  const QmpVersionInfo& version() const { return version_; }

  // qmp_capabilities' work (called by its handler): checks `args` ({"enable": [...]}) and enters
  // command mode.
  Status accept_capabilities(const json& args);

 private:
  void handle_value(Result<json> value);
  void dispatch(const json& request);
  void send_return(const json& value, const json* id);
  void send_error(const Error& err, const json* id);
  void write_line(std::string line);

  const QmpCommandRegistry& registry_;
  QmpVersionInfo version_;
  Sink sink_;
  QmpSessionOptions options_;
  JsonStreamer streamer_;
  std::string queue_;  // output not yet accepted by the sink, from queue_head_ on
  size_t queue_head_ = 0;
  bool started_ = false;
  bool command_mode_ = false;
  bool oob_enabled_ = false;
  bool dropped_ = false;
};

}  // namespace machina
