// The QMP command registry: name -> handler plus the command's argument schema, checked with
// QEMU's error texts before the handler runs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "qapi/error.h"

namespace machina {

using json = nlohmann::json;

class QmpSession;
class QmpCommandRegistry;

// The version reported by the greeting and query-version.
struct QmpVersionInfo {
  int major = 7;
  int minor = 2;
  int micro = 0;
  std::string package;
  // {"qemu": {"major": M, "minor": m, "micro": u}, "package": "..."}
  json to_json() const;
};

// What a handler may use while it runs.
struct QmpContext {
  QmpSession& session;
  const QmpCommandRegistry& registry;
  const QmpVersionInfo& version;
  bool out_of_band = false;  // requested with exec-oob
};

enum class QmpArgType {
  kString,  // "string"
  kInt,     // signed 64-bit integer ("integer")
  kUInt,    // unsigned 64-bit integer ("uint64")
  kBool,    // "boolean"
  kNumber,  // integer or float ("number")
  kObject,  // "object"
  kArray,   // "array"
  kAny,     // any JSON value
};

// QEMU's name of a type in "Invalid parameter type for 'x', expected: TYPE".
const char* qmp_arg_type_name(QmpArgType t);

struct QmpArg {
  std::string name;
  QmpArgType type = QmpArgType::kString;
  bool optional = false;
};

// Returns the command's result (null means "nothing": the reply is {}), or an error.
using QmpHandler = std::function<Result<json>(const json& args, QmpContext& ctx)>;

struct QmpCommand {
  std::string name;
  std::vector<QmpArg> args;  // checked in this order
  QmpHandler handler;
  bool extra_args = false;   // members beyond `args` are accepted (device_add, object-add)
  bool allow_oob = false;    // may be run with exec-oob
  bool negotiation = false;  // available in capabilities-negotiation mode (qmp_capabilities)
};

// Checks `args` (a JSON object) against the command's schema: "Parameter 'x' is missing",
// "Invalid parameter type for 'x', expected: TYPE", "Parameter 'x' is unexpected".
Status qmp_check_arguments(const QmpCommand& cmd, const json& args);

class QmpCommandRegistry {
 public:
  QmpCommandRegistry() = default;
  QmpCommandRegistry(const QmpCommandRegistry&) = delete;
  QmpCommandRegistry& operator=(const QmpCommandRegistry&) = delete;

  // Fails if the name is empty, already registered, or the handler is missing.
  Status add(QmpCommand cmd);
  bool remove(std::string_view name);
  // The command stays alive while the returned pointer is held, even if removed meanwhile.
  std::shared_ptr<const QmpCommand> find(std::string_view name) const;
  // Registered names, sorted.
  std::vector<std::string> names() const;

  // The process-wide registry, with the core commands (see below) already registered.
  static QmpCommandRegistry& global();

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const QmpCommand>, std::less<>> commands_;
};

// Registers the core commands: qmp_capabilities (carried out by the session), query-version,
// query-commands.
Status qmp_register_core_commands(QmpCommandRegistry& registry);

}  // namespace machina
