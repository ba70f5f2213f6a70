#include "monitor/qmp-commands.h"

#include <cstdint>
#include <limits>
#include <utility>

#include "monitor/qmp-session.h"

namespace machina {

json QmpVersionInfo::to_json() const {
  json qemu = json::object();
  qemu["major"] = major;
  qemu["minor"] = minor;
  qemu["micro"] = micro;
  json v = json::object();
  v["qemu"] = std::move(qemu);
  v["package"] = package;
  return v;
}

const char* qmp_arg_type_name(QmpArgType t) {
  switch (t) {
    case QmpArgType::kString:
      return "string";
    case QmpArgType::kInt:
      return "integer";
    case QmpArgType::kUInt:
      return "uint64";
    case QmpArgType::kBool:
      return "boolean";
    case QmpArgType::kNumber:
      return "number";
    case QmpArgType::kObject:
      return "object";
    case QmpArgType::kArray:
      return "array";
    case QmpArgType::kAny:
      return "any";
  }
  return "any";
}

namespace {

bool type_matches(QmpArgType t, const json& v) {
  switch (t) {
    case QmpArgType::kString:
      return v.is_string();
    case QmpArgType::kInt:
      return v.is_number_integer() &&
             (!v.is_number_unsigned() ||
              v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
    case QmpArgType::kUInt:
      return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
    case QmpArgType::kBool:
      return v.is_boolean();
    case QmpArgType::kNumber:
      return v.is_number();
    case QmpArgType::kObject:
      return v.is_object();
    case QmpArgType::kArray:
      return v.is_array();
    case QmpArgType::kAny:
      return true;
  }
  return false;
}

}  // namespace

Status qmp_check_arguments(const QmpCommand& cmd, const json& args) {
  if (!args.is_object()) return generic_error("QMP input member 'arguments' must be an object");
  for (const QmpArg& a : cmd.args) {
    auto it = args.find(a.name);
    if (it == args.end()) {
      if (a.optional) continue;
      return generic_error("Parameter '" + a.name + "' is missing");
    }
    if (!type_matches(a.type, *it)) {
      return generic_error("Invalid parameter type for '" + a.name +
                           "', expected: " + qmp_arg_type_name(a.type));
    }
  }
  if (cmd.extra_args) return Status::Ok();
  for (auto it = args.begin(); it != args.end(); ++it) {
    bool known = false;
    for (const QmpArg& a : cmd.args) {
      if (a.name == it.key()) {
        known = true;
        break;
      }
    }
    if (!known) return generic_error("Parameter '" + it.key() + "' is unexpected");
  }
  return Status::Ok();
}

Status QmpCommandRegistry::add(QmpCommand cmd) {
  if (cmd.name.empty()) return generic_error("QMP command name must not be empty");
  if (!cmd.handler) return generic_error("QMP command '" + cmd.name + "' has no handler");
  std::lock_guard<std::mutex> lock(mu_);
  if (commands_.count(cmd.name)) {
    return generic_error("QMP command '" + cmd.name + "' is already registered");
  }
  std::string name = cmd.name;
  commands_.emplace(std::move(name), std::make_shared<const QmpCommand>(std::move(cmd)));
  return Status::Ok();
}

bool QmpCommandRegistry::remove(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = commands_.find(name);
  if (it == commands_.end()) return false;
  commands_.erase(it);
  return true;
}

std::shared_ptr<const QmpCommand> QmpCommandRegistry::find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = commands_.find(name);
  return it == commands_.end() ? nullptr : it->second;
}

std::vector<std::string> QmpCommandRegistry::names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.reserve(commands_.size());
  for (const auto& [name, cmd] : commands_) out.push_back(name);
  return out;
}

QmpCommandRegistry& QmpCommandRegistry::global() {
  static QmpCommandRegistry* registry = [] {
    auto* r = new QmpCommandRegistry();
    (void)qmp_register_core_commands(*r).ok();
    return r;
  }();
  return *registry;
}

Status qmp_register_core_commands(QmpCommandRegistry& registry) {
  QmpCommand caps;
  caps.name = "qmp_capabilities";
  caps.args = {{"enable", QmpArgType::kArray, true}};
  caps.negotiation = true;
  caps.handler = [](const json& args, QmpContext& ctx) -> Result<json> {
    Status s = ctx.session.accept_capabilities(args);
    if (!s.ok()) return s.error();
    return json::object();
  };
  if (Status s = registry.add(std::move(caps)); !s.ok()) return s;

  QmpCommand version;
  version.name = "query-version";
  version.handler = [](const json&, QmpContext& ctx) -> Result<json> {
    return ctx.version.to_json();
  };
  if (Status s = registry.add(std::move(version)); !s.ok()) return s;

  QmpCommand commands;
  commands.name = "query-commands";
  commands.handler = [](const json&, QmpContext& ctx) -> Result<json> {
    json list = json::array();
    for (const std::string& name : ctx.registry.names()) {
      json entry = json::object();
      entry["name"] = name;
      list.push_back(std::move(entry));
    }
    return list;
  };
  return registry.add(std::move(commands));
}

}  // namespace machina
