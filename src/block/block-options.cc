#include "block/block-options.h"

#include <cerrno>
#include <cstdlib>

#include "util/cutils.h"

namespace machina {

Result<json> options_to_json(const QemuOpts& opts) {
  json out = json::object();
  for (const QemuOpt& o : opts.opts) {
    json* cur = &out;
    std::string key = o.name;
    std::string path;
    size_t dot;
    while ((dot = key.find('.')) != std::string::npos) {
      std::string part = key.substr(0, dot);
      path += part;
      json& next = (*cur)[part];
      if (next.is_null()) next = json::object();
      if (!next.is_object()) {
        return generic_error("Parameters '" + path + ".*' used inconsistently");
      }
      cur = &next;
      path += ".";
      key = key.substr(dot + 1);
    }
    if (cur->contains(key) && (*cur)[key].is_object()) {
      return generic_error("Parameters '" + path + key + ".*' used inconsistently");
    }
    (*cur)[key] = o.value;
  }
  if (!opts.id.empty()) out["id"] = opts.id;
  return out;
}

const json* OptReader::raw(const std::string& name) {
  read_.insert(name);
  auto it = obj_.find(name);
  if (it == obj_.end()) return nullptr;
  return &*it;
}

Result<std::optional<std::string>> OptReader::str(const std::string& name) {
  const json* v = raw(name);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) {
    return generic_error("Invalid parameter type for '" + full(name) + "', expected: string");
  }
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::optional<bool>> OptReader::boolean(const std::string& name) {
  const json* v = raw(name);
  if (!v) return std::optional<bool>();
  if (v->is_boolean()) return std::optional<bool>(v->get<bool>());
  if (syntax_ != OptSyntax::Qmp && v->is_string()) {
    std::string s = v->get<std::string>();
    if (s == "on" || s == "yes" || s == "true" || s == "y") return std::optional<bool>(true);
    if (s == "off" || s == "no" || s == "false" || s == "n") return std::optional<bool>(false);
    return generic_error("Parameter '" + full(name) + "' expects 'on' or 'off'");
  }
  return generic_error("Invalid parameter type for '" + full(name) + "', expected: boolean");
}

Result<std::optional<uint64_t>> OptReader::uint(const std::string& name) {
  const json* v = raw(name);
  if (!v) return std::optional<uint64_t>();
  if (v->is_number_unsigned()) return std::optional<uint64_t>(v->get<uint64_t>());
  if (v->is_number_integer()) {
    if (v->get<int64_t>() >= 0) return std::optional<uint64_t>(uint64_t(v->get<int64_t>()));
    return generic_error("Parameter '" + full(name) + "' expects uint64");
  }
  if (syntax_ != OptSyntax::Qmp && v->is_string()) {
    std::string s = v->get<std::string>();
    errno = 0;
    char* end = nullptr;
    unsigned long long n = std::strtoull(s.c_str(), &end, 0);
    if (s.empty() || *end || errno || s[0] == '-') {
      return generic_error("Parameter '" + full(name) + "' expects integer");
    }
    return std::optional<uint64_t>(uint64_t(n));
  }
  return generic_error("Invalid parameter type for '" + full(name) + "', expected: integer");
}

Result<std::optional<int64_t>> OptReader::int64(const std::string& name) {
  const json* v = raw(name);
  if (!v) return std::optional<int64_t>();
  if (v->is_number_integer()) return std::optional<int64_t>(v->get<int64_t>());
  if (syntax_ != OptSyntax::Qmp && v->is_string()) {
    std::string s = v->get<std::string>();
    errno = 0;
    char* end = nullptr;
    long long n = std::strtoll(s.c_str(), &end, 0);
    if (s.empty() || *end || errno) {
      return generic_error("Parameter '" + full(name) + "' expects integer");
    }
    return std::optional<int64_t>(int64_t(n));
  }
  return generic_error("Invalid parameter type for '" + full(name) + "', expected: integer");
}

Result<std::optional<uint64_t>> OptReader::size(const std::string& name) {
  const json* v = raw(name);
  if (!v) return std::optional<uint64_t>();
  if (v->is_number_unsigned()) return std::optional<uint64_t>(v->get<uint64_t>());
  if (v->is_number_integer() && v->get<int64_t>() >= 0) {
    return std::optional<uint64_t>(uint64_t(v->get<int64_t>()));
  }
  if (syntax_ != OptSyntax::Qmp && v->is_string()) {
    QemuOpts tmp;
    tmp.set(name, v->get<std::string>());
    auto r = tmp.get_size(name, 0);
    if (!r.ok()) return generic_error("Parameter '" + full(name) + "' expects a non-negative size");
    return std::optional<uint64_t>(r.value());
  }
  return generic_error("Invalid parameter type for '" + full(name) + "', expected: integer");
}

Result<std::optional<std::string>> OptReader::enumeration(
    const std::string& name, std::initializer_list<const char*> values) {
  auto s = str(name);
  if (!s.ok() || !s.value()) return s;
  for (const char* v : values) {
    if (*s.value() == v) return s;
  }
  return generic_error("Parameter '" + full(name) + "' does not accept value '" + *s.value() + "'");
}

Result<std::optional<OptReader>> OptReader::object(const std::string& name) {
  const json* v = raw(name);
  if (!v) return std::optional<OptReader>();
  if (!v->is_object()) {
    return generic_error("Invalid parameter type for '" + full(name) + "', expected: object");
  }
  return std::optional<OptReader>(OptReader(*v, full(name) + ".", syntax_));
}

Status OptReader::check_all_read(const std::string& legacy_what) const {
  for (auto it = obj_.begin(); it != obj_.end(); ++it) {
    if (read_.count(it.key())) continue;
    if (syntax_ == OptSyntax::Legacy && !legacy_what.empty()) {
      return generic_error(legacy_what + " does not support the option '" + full(it.key()) + "'");
    }
    return generic_error("Parameter '" + full(it.key()) + "' is unexpected");
  }
  return Status::Ok();
}

}  // namespace machina
