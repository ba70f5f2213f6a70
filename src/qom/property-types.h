// Builders for typed properties backed by a member of the object: bool, integers with range
// checks, strings, sizes, enums, links. Each accepts JSON (QMP, qom-set) and command-line strings
// (-device, -object, -global), with QEMU's error texts.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "qom/object.h"
#include "util/cutils.h"

namespace machina::prop {

// "Parameter 'NAME' expects WHAT"
Error expects(std::string_view name, std::string_view what);
// "Invalid parameter type for 'NAME', expected: WHAT"
Error invalid_type(std::string_view name, std::string_view what);
// "Property 'TYPE.NAME' doesn't take value 'VALUE'"
Error bad_value(const Object& o, std::string_view name, std::string_view value);

// QOM's name for an integer type ("uint32") and QAPI's C name used in range errors ("uint32_t").
template <class I>
constexpr const char* int_type_name() {
  if constexpr (std::is_same_v<I, bool>) return "bool";
  if constexpr (std::is_same_v<I, uint8_t>) return "uint8";
  if constexpr (std::is_same_v<I, uint16_t>) return "uint16";
  if constexpr (std::is_same_v<I, uint32_t>) return "uint32";
  if constexpr (std::is_same_v<I, uint64_t>) return "uint64";
  if constexpr (std::is_same_v<I, int8_t>) return "int8";
  if constexpr (std::is_same_v<I, int16_t>) return "int16";
  if constexpr (std::is_same_v<I, int32_t>) return "int32";
  if constexpr (std::is_same_v<I, int64_t>) return "int64";
}

// Converts a JSON number or string to I with range checks.
template <class I>
Result<I> int_from_json(std::string_view name, const json& v) {
  using Lim = std::numeric_limits<I>;
  std::string cname = std::string(int_type_name<I>()) + "_t";
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(Lim::max())) return expects(name, cname);
    return I(u);
  }
  if (v.is_number_integer()) {
    int64_t s = v.get<int64_t>();
    if constexpr (std::is_signed_v<I>) {
      if (s < int64_t(Lim::min()) || s > int64_t(Lim::max())) return expects(name, cname);
    } else {
      if (s < 0 || uint64_t(s) > uint64_t(Lim::max())) return expects(name, cname);
    }
    return I(s);
  }
  return invalid_type(name, "integer");
}

template <class I>
Result<I> int_from_string(std::string_view name, std::string_view s) {
  if constexpr (std::is_signed_v<I>) {
    auto v = parse_int64(s);
    if (!v) return expects(name, "integer");
    return int_from_json<I>(name, json(*v));
  } else {
    auto v = parse_uint64(s);
    if (!v) return expects(name, "integer");
    return int_from_json<I>(name, json(*v));
  }
}

template <class T>
Property boolean(std::string name, bool T::*field, bool def, std::string desc = "") {
  Property p;
  p.name = name;
  p.type = "bool";
  p.description = std::move(desc);
  p.default_value = def;
  p.get = [field](Object& o) -> Result<json> { return json(static_cast<T&>(o).*field); };
  p.set = [field, name](Object& o, const json& v) -> Status {
    if (!v.is_boolean()) return invalid_type(name, "boolean");
    static_cast<T&>(o).*field = v.get<bool>();
    return Status::Ok();
  };
  p.parse = [field, name](Object& o, std::string_view s) -> Status {
    auto b = parse_bool(s);
    if (!b) return expects(name, "'on' or 'off'");
    static_cast<T&>(o).*field = *b;
    return Status::Ok();
  };
  return p;
}

template <class T, class I>
Property integer(std::string name, I T::*field, I def, std::string desc = "") {
  Property p;
  p.name = name;
  p.type = int_type_name<I>();
  p.description = std::move(desc);
  p.default_value = def;
  p.get = [field](Object& o) -> Result<json> { return json(static_cast<T&>(o).*field); };
  p.set = [field, name](Object& o, const json& v) -> Status {
    auto r = int_from_json<I>(name, v);
    if (!r.ok()) return r.error();
    static_cast<T&>(o).*field = r.value();
    return Status::Ok();
  };
  p.parse = [field, name](Object& o, std::string_view s) -> Status {
    auto r = int_from_string<I>(name, s);
    if (!r.ok()) return r.error();
    static_cast<T&>(o).*field = r.value();
    return Status::Ok();
  };
  return p;
}

template <class T>
Property size(std::string name, uint64_t T::*field, uint64_t def, std::string desc = "") {
  Property p;
  p.name = name;
  p.type = "size";
  p.description = std::move(desc);
  p.default_value = def;
  p.get = [field](Object& o) -> Result<json> { return json(static_cast<T&>(o).*field); };
  p.set = [field, name](Object& o, const json& v) -> Status {
    if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0)) {
      static_cast<T&>(o).*field = v.get<uint64_t>();
      return Status::Ok();
    }
    if (v.is_number_integer()) return expects(name, "size");
    return invalid_type(name, "size");
  };
  p.parse = [field, name](Object& o, std::string_view s) -> Status {
    auto v = parse_size(s);
    if (!v) return expects(name, "a non-negative number below 2^64");
    static_cast<T&>(o).*field = *v;
    return Status::Ok();
  };
  return p;
}

template <class T>
Property string(std::string name, std::string T::*field, std::string def = "",
                std::string desc = "", bool has_default = false) {
  Property p;
  p.name = name;
  p.type = "str";
  p.description = std::move(desc);
  if (has_default || !def.empty()) p.default_value = def;
  p.get = [field](Object& o) -> Result<json> { return json(static_cast<T&>(o).*field); };
  p.set = [field, name](Object& o, const json& v) -> Status {
    if (!v.is_string()) return invalid_type(name, "string");
    static_cast<T&>(o).*field = v.get<std::string>();
    return Status::Ok();
  };
  return p;
}

// An enum: the value is one of `names`; the member holds its index.
template <class T, class E>
Property enumeration(std::string name, std::string type_name, E T::*field,
                     std::vector<std::string> names, E def, std::string desc = "") {
  Property p;
  p.name = name;
  p.type = std::move(type_name);
  p.description = std::move(desc);
  p.default_value = names.at(size_t(def));
  p.get = [field, names](Object& o) -> Result<json> {
    return json(names.at(size_t(static_cast<T&>(o).*field)));
  };
  auto from = [field, names, name](Object& o, std::string_view s) -> Status {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == s) {
        static_cast<T&>(o).*field = E(i);
        return Status::Ok();
      }
    }
    return generic_error("Parameter '" + name + "' does not accept value '" + std::string(s) + "'");
  };
  p.set = [from, name](Object& o, const json& v) -> Status {
    if (!v.is_string()) return invalid_type(name, "string");
    return from(o, v.get<std::string>());
  };
  p.parse = from;
  return p;
}

// A link<TYPE> to another object, by QOM path; holds a reference on the target.
template <class T>
Property link(std::string name, std::string target_type, Ref<Object> T::*field,
              std::string desc = "") {
  Property p;
  p.name = name;
  p.type = "link<" + target_type + ">";
  p.description = std::move(desc);
  p.get = [field](Object& o) -> Result<json> {
    auto& r = static_cast<T&>(o).*field;
    return json(r ? r->canonical_path() : std::string());
  };
  p.set = [field, target_type](Object& o, const json& v) -> Status {
    if (!v.is_string()) return invalid_type("link", "string");
    std::string path = v.get<std::string>();
    if (path.empty()) {
      (static_cast<T&>(o).*field).reset();
      return Status::Ok();
    }
    bool ambiguous = false;
    Object* target = object_resolve_path(path, &ambiguous);
    if (!target) {
      if (ambiguous) return generic_error("Path '" + path + "' is ambiguous");
      return Error{ErrorClass::DeviceNotFound, "Device '" + path + "' not found"};
    }
    if (!target->is_a(target_type)) {
      return generic_error("Invalid parameter type for '" + path + "', expected: " + target_type);
    }
    static_cast<T&>(o).*field = Ref<Object>(target);
    return Status::Ok();
  };
  p.target = [field](Object& o) { return (static_cast<T&>(o).*field).get(); };
  return p;
}

}  // namespace machina::prop
