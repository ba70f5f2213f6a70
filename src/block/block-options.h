// Reading block options the way QEMU's QAPI visitors do, with their error texts. Options arrive
// as a JSON object: from QMP (typed values), or converted from keyval/QemuOpts text (-blockdev,
// -drive), where scalars are strings ("on", "512").
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "qapi/error.h"
#include "util/qemu-option.h"

namespace machina {

using json = nlohmann::json;

// How the options were given: decides how scalars are read and which error texts apply.
enum class OptSyntax {
  Qmp,     // typed JSON (QMP, -blockdev '{...}')
  Keyval,  // strings from -blockdev k=v (QEMU's keyval visitor)
  Legacy,  // strings from -drive (bdrv_open's QDict: "Block format 'raw' does not support ...")
};

// Dotted keys to nested objects: {"file.filename": "x"} -> {"file": {"filename": "x"}}.
// Fails with QEMU's text when a key is both a value and an object.
Result<json> options_to_json(const QemuOpts& opts);

// One object's members, read once each; unread members are errors.
class OptReader {
 public:
  OptReader(const json& obj, std::string prefix, OptSyntax syntax)
      : obj_(obj), prefix_(std::move(prefix)), syntax_(syntax) {}

  std::string full(const std::string& name) const { return prefix_ + name; }
  bool has(const std::string& name) const { return obj_.contains(name); }
  const json* raw(const std::string& name);

  Result<std::optional<std::string>> str(const std::string& name);
  Result<std::optional<bool>> boolean(const std::string& name);
  Result<std::optional<uint64_t>> uint(const std::string& name);
  Result<std::optional<int64_t>> int64(const std::string& name);
  Result<std::optional<uint64_t>> size(const std::string& name);
  // An enum member: "Parameter 'x' does not accept value 'v'".
  Result<std::optional<std::string>> enumeration(const std::string& name,
                                                 std::initializer_list<const char*> values);
  // A nested object (cache): its reader, or nullopt when absent.
  Result<std::optional<OptReader>> object(const std::string& name);
  // Members nobody read: "Parameter 'x' is unexpected" (or the -drive form via `legacy_what`,
  // e.g. "Block format 'raw'").
  Status check_all_read(const std::string& legacy_what = "") const;
  OptSyntax syntax() const { return syntax_; }

 private:
  const json& obj_;
  std::string prefix_;
  OptSyntax syntax_;
  std::set<std::string> read_;
};

}  // namespace machina
