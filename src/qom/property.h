// QOM properties: a named, typed value on an object, read and written as JSON or parsed from a
// command-line string. Declared per class (shared by every instance) or added per instance.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "qapi/error.h"

namespace machina {

class Object;
using json = nlohmann::json;

struct Property {
  std::string name;
  // QOM type name of the value: "bool", "uint32", "int64", "string", "size", "link<TYPE>",
  // "child<TYPE>", or an enum's name.
  std::string type;
  std::string description;
  std::optional<json> default_value;  // shown by help and qom-list-properties; applied at creation

  std::function<Result<json>(Object&)> get;         // empty: write-only
  std::function<Status(Object&, const json&)> set;  // empty: read-only
  // Parses a command-line string (-device x,NAME=VALUE). Empty: the string is set as a JSON string.
  std::function<Status(Object&, std::string_view)> parse;
  std::function<void(Object&)> release;  // when the property is deleted (instance properties)
  // For child<> and link<> properties: the object the property points at (or nullptr).
  std::function<Object*(Object&)> target;

  // qdev: a device's declared properties are frozen once it is realized, unless this is set.
  bool settable_after_realize = false;
  // qdev: declared with the device class (shown by -device TYPE,help).
  bool qdev = false;

  bool is_child() const { return type.starts_with("child<"); }
  bool is_link() const { return type.starts_with("link<"); }
};

}  // namespace machina
