#include "monitor/qmp-session.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

#include "monitor/json-writer.h"

namespace machina {

namespace {

constexpr const char* kNegotiationDesc =
    "Expecting capabilities negotiation with 'qmp_capabilities'";

}  // namespace

QmpTimestamp QmpTimestamp::now() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return QmpTimestamp{us / 1000000, us % 1000000};
}

QmpSession::QmpSession(const QmpCommandRegistry& registry, std::string package, Sink sink,
                       QmpSessionOptions options)
    : registry_(registry),
      sink_(std::move(sink)),
      options_(std::move(options)),
      streamer_([this](Result<json> v) { handle_value(std::move(v)); }, options_.limits) {
  version_.major = options_.version_major;
  version_.minor = options_.version_minor;
  version_.micro = options_.version_micro;
  version_.package = std::move(package);
}

void QmpSession::start() {
  if (started_) return;
  started_ = true;
  std::string line = "{\"QMP\": {\"version\": {\"qemu\": {\"major\": ";
  line += std::to_string(version_.major);
  line += ", \"minor\": ";
  line += std::to_string(version_.minor);
  line += ", \"micro\": ";
  line += std::to_string(version_.micro);
  line += "}, \"package\": ";
  json_write_string(line, version_.package);
  line += "}, \"capabilities\": [";
  if (options_.offer_oob) line += "\"oob\"";
  line += "]}}";
  write_line(std::move(line));
}

void QmpSession::feed(std::string_view bytes) {
  if (!started_) start();
  if (dropped_) return;
  streamer_.feed(bytes);
}

void QmpSession::end_of_input() {
  if (dropped_) return;
  streamer_.flush();
}

void QmpSession::handle_value(Result<json> value) {
  if (dropped_) {
    streamer_.stop();
    return;
  }
  if (!value.ok()) {
    send_error(value.error(), nullptr);
    return;
  }
  dispatch(value.value());
}

void QmpSession::dispatch(const json& request) {
  if (!request.is_object()) {
    send_error(generic_error("QMP input must be a JSON object"), nullptr);
    return;
  }
  auto id_it = request.find("id");
  const json* id = id_it == request.end() ? nullptr : &*id_it;

  const char* exec_key = nullptr;
  for (auto it = request.begin(); it != request.end(); ++it) {
    const std::string& key = it.key();
    if (key == "execute" || (key == "exec-oob" && oob_enabled_)) {
      if (!it->is_string()) {
        send_error(generic_error("QMP input member '" + key + "' must be a string"), id);
        return;
      }
      if (exec_key) {
        send_error(generic_error("QMP input member '" + key + "' clashes with '" + exec_key + "'"),
                   id);
        return;
      }
      exec_key = key == "execute" ? "execute" : "exec-oob";
    } else if (key == "arguments") {
      if (!it->is_object()) {
        send_error(generic_error("QMP input member 'arguments' must be an object"), id);
        return;
      }
    } else if (key != "id") {
      send_error(generic_error("QMP input member '" + key + "' is unexpected"), id);
      return;
    }
  }
  if (!exec_key) {
    send_error(generic_error("QMP input lacks member 'execute'"), id);
    return;
  }
  const bool oob = std::string_view(exec_key) == "exec-oob";
  const std::string& name = request[exec_key].get_ref<const std::string&>();

  auto reply_error = [&](Error err) {
    if (!command_mode_ && err.cls == ErrorClass::CommandNotFound) err.desc = kNegotiationDesc;
    send_error(err, id);
  };

  std::shared_ptr<const QmpCommand> cmd = registry_.find(name);
  if (!cmd || (!command_mode_ && !cmd->negotiation)) {
    reply_error(Error{ErrorClass::CommandNotFound, "The command " + name + " has not been found"});
    return;
  }
  if (oob && !cmd->allow_oob) {
    reply_error(generic_error("The command " + name + " does not support OOB"));
    return;
  }
  static const json kNoArguments = json::object();
  auto args_it = request.find("arguments");
  const json& args = args_it == request.end() ? kNoArguments : *args_it;
  if (Status s = qmp_check_arguments(*cmd, args); !s.ok()) {
    reply_error(s.error());
    return;
  }
  QmpContext ctx{*this, registry_, version_, oob};
  // A handler bug (e.g. a nlohmann type_error) must not take the monitor down.
  Result<json> result = generic_error("internal error");
  try {
    result = cmd->handler(args, ctx);
  } catch (const std::exception& e) {
    result = generic_error(std::string("Internal error in command ") + name + ": " + e.what());
  }
  if (dropped_) return;
  if (!result.ok()) {
    reply_error(result.error());
    return;
  }
  send_return(result.value(), id);
}

Status QmpSession::accept_capabilities(const json& args) {
  if (command_mode_) {
    return Error{ErrorClass::CommandNotFound,
                 "Capabilities negotiation is already complete, command ignored"};
  }
  bool want_oob = false;
  auto it = args.find("enable");
  if (it != args.end()) {
    if (!it->is_array()) {
      return generic_error("Invalid parameter type for 'enable', expected: array");
    }
    for (size_t i = 0; i < it->size(); i++) {
      const json& cap = (*it)[i];
      const std::string where = "enable[" + std::to_string(i) + "]";
      if (!cap.is_string()) {
        return generic_error("Invalid parameter type for '" + where + "', expected: string");
      }
      if (cap.get_ref<const std::string&>() != "oob") {
        return generic_error("Parameter '" + where + "' does not accept value '" +
                             cap.get<std::string>() + "'");
      }
      want_oob = true;
    }
  }
  if (want_oob && !options_.offer_oob) {
    return generic_error("Capability 'oob' not available with this monitor");
  }
  oob_enabled_ = want_oob;
  command_mode_ = true;
  return Status::Ok();
}

void QmpSession::send_event(std::string_view name, const std::optional<json>& data,
                            std::optional<QmpTimestamp> when) {
  if (!command_mode_ || dropped_) return;
  const QmpTimestamp ts = when ? *when : QmpTimestamp::now();
  std::string line = "{\"event\": ";
  json_write_string(line, name);
  if (data) {
    line += ", \"data\": ";
    json_write(line, *data);
  }
  line += ", \"timestamp\": {\"seconds\": ";
  line += std::to_string(ts.seconds);
  line += ", \"microseconds\": ";
  line += std::to_string(ts.microseconds);
  line += "}}";
  write_line(std::move(line));
}

void QmpSession::send_return(const json& value, const json* id) {
  std::string line = "{\"return\": ";
  if (value.is_null()) {
    line += "{}";
  } else {
    json_write(line, value);
  }
  if (id) {
    line += ", \"id\": ";
    json_write(line, *id);
  }
  line += '}';
  write_line(std::move(line));
}

void QmpSession::send_error(const Error& err, const json* id) {
  std::string line = "{\"error\": {\"class\": ";
  json_write_string(line, error_class_name(err.cls));
  line += ", \"desc\": ";
  json_write_string(line, err.desc);
  line += '}';
  if (id) {
    line += ", \"id\": ";
    json_write(line, *id);
  }
  line += '}';
  write_line(std::move(line));
}

void QmpSession::write_line(std::string line) {
  if (dropped_) return;
  line += "\r\n";
  if (pending_output() == 0) {
    queue_ = std::move(line);
    queue_head_ = 0;
  } else {
    queue_ += line;
  }
  flush_output();
  if (pending_output() > options_.max_pending_output) {
    dropped_ = true;
    std::string().swap(queue_);
    queue_head_ = 0;
    streamer_.stop();
    streamer_.reset();
    if (options_.on_drop) options_.on_drop();
  }
}

void QmpSession::flush_output() {
  if (!sink_) return;
  while (pending_output() > 0) {
    size_t n = sink_(std::string_view(queue_).substr(queue_head_));
    if (n == 0) break;
    queue_head_ += std::min(n, pending_output());
  }
  if (queue_head_ == queue_.size()) {
    queue_.clear();
    queue_head_ = 0;
  } else if (queue_head_ > (size_t{1} << 16) && queue_head_ > queue_.size() / 2) {
    queue_.erase(0, queue_head_);
    queue_head_ = 0;
  }
}

std::string QmpSession::take_output() {
  std::string out = queue_.substr(queue_head_);
  queue_.clear();
  queue_head_ = 0;
  return out;
}

}  // namespace machina
