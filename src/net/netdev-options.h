// Options of one netdev (-netdev TYPE,id=ID,... or netdev_add's arguments), checked against the
// keys QEMU 7.2's QAPI schema gives each backend type, with QEMU's error texts for both forms:
//   -netdev (QemuOpts):  "Invalid parameter 'x'", "Parameter 'x' expects 'on' or 'off'"
//   netdev_add (JSON):   "Parameter 'x' is unexpected",
//                        "Invalid parameter type for 'x', expected: boolean"
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qapi/error.h"
#include "util/qemu-option.h"

namespace machina {

struct NetdevOptions {
  std::string type;  // "user", "tap"
  std::string id;
  std::map<std::string, std::string, std::less<>> strings;  // string and number keys
  std::map<std::string, bool, std::less<>> bools;
  std::map<std::string, std::vector<std::string>, std::less<>> lists;  // hostfwd, dnssearch

  const std::string* str(std::string_view key) const;
  std::optional<bool> flag(std::string_view key) const;
  std::vector<std::string> list(std::string_view key) const;
};

// -netdev TYPE,id=ID,... as parsed by the command line (the "type" key holds TYPE).
Result<NetdevOptions> netdev_options_from_qemu_opts(const QemuOpts& opts);
// netdev_add's arguments, or a -netdev given as JSON. `check_id`: QMP checks the id's form.
Result<NetdevOptions> netdev_options_from_json(const nlohmann::json& args, bool check_id = true);

}  // namespace machina
