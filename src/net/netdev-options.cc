#include "net/netdev-options.h"

#include <algorithm>

namespace machina {

namespace {

enum class Kind { Str, Bool, Num, Size, List };

struct KeyDesc {
  const char* name;
  Kind kind;
};

// NetdevUserOptions and NetdevTapOptions of QEMU 7.2's qapi/net.json (plus the command line's
// ipv6-net shorthand).
const std::vector<KeyDesc>& user_keys() {
  static const std::vector<KeyDesc> k = {
      {"hostname", Kind::Str},
      {"restrict", Kind::Bool},
      {"ipv4", Kind::Bool},
      {"ipv6", Kind::Bool},
      {"ip", Kind::Str},
      {"net", Kind::Str},
      {"host", Kind::Str},
      {"tftp", Kind::Str},
      {"bootfile", Kind::Str},
      {"dhcpstart", Kind::Str},
      {"dns", Kind::Str},
      {"dnssearch", Kind::List},
      {"domainname", Kind::Str},
      {"ipv6-prefix", Kind::Str},
      {"ipv6-prefixlen", Kind::Num},
      {"ipv6-host", Kind::Str},
      {"ipv6-dns", Kind::Str},
      {"ipv6-net", Kind::Str},
      {"smb", Kind::Str},
      {"smbserver", Kind::Str},
      {"hostfwd", Kind::List},
      {"guestfwd", Kind::List},
      {"tftp-server-name", Kind::Str},
  };
  return k;
}

const std::vector<KeyDesc>& tap_keys() {
  static const std::vector<KeyDesc> k = {
      {"ifname", Kind::Str},      {"fd", Kind::Str},         {"fds", Kind::Str},
      {"script", Kind::Str},      {"downscript", Kind::Str}, {"br", Kind::Str},
      {"helper", Kind::Str},      {"sndbuf", Kind::Size},    {"vnet_hdr", Kind::Bool},
      {"vhost", Kind::Bool},      {"vhostfd", Kind::Str},    {"vhostfds", Kind::Str},
      {"vhostforce", Kind::Bool}, {"queues", Kind::Num},     {"poll-us", Kind::Num},
  };
  return k;
}

// QEMU 7.2's NetClientDriver values; only user and tap are backends here.
bool known_driver(std::string_view t) {
  static const char* const all[] = {
      "none",       "nic",        "user",       "tap",          "l2tpv3",       "socket",
      "stream",     "dgram",      "vde",        "bridge",       "hubport",      "netmap",
      "vhost-user", "vhost-vdpa", "vmnet-host", "vmnet-shared", "vmnet-bridged"};
  return std::any_of(std::begin(all), std::end(all), [t](const char* n) { return t == n; });
}

Result<const std::vector<KeyDesc>*> keys_for(const std::string& type) {
  if (!known_driver(type)) {
    return generic_error("Parameter 'type' does not accept value '" + type + "'");
  }
  if (type == "user") return &user_keys();
  if (type == "tap") return &tap_keys();
  return generic_error("Parameter 'type' expects a netdev backend type");
}

const KeyDesc* find_key(const std::vector<KeyDesc>& keys, std::string_view name) {
  for (const KeyDesc& k : keys) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

}  // namespace

const std::string* NetdevOptions::str(std::string_view key) const {
  auto it = strings.find(key);
  return it == strings.end() ? nullptr : &it->second;
}

std::optional<bool> NetdevOptions::flag(std::string_view key) const {
  auto it = bools.find(key);
  if (it == bools.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> NetdevOptions::list(std::string_view key) const {
  auto it = lists.find(key);
  return it == lists.end() ? std::vector<std::string>{} : it->second;
}

Result<NetdevOptions> netdev_options_from_qemu_opts(const QemuOpts& opts) {
  NetdevOptions o;
  const std::string* type = opts.get("type");
  if (!type) return generic_error("Parameter 'type' is missing");
  o.type = *type;
  auto keys = keys_for(o.type);
  if (!keys.ok()) return keys.error();
  if (opts.id.empty()) return generic_error("Parameter 'id' is missing");
  o.id = opts.id;
  for (const QemuOpt& opt : opts.opts) {
    if (opt.name == "type") continue;
    const KeyDesc* k = find_key(*keys.value(), opt.name);
    if (!k) return generic_error("Invalid parameter '" + opt.name + "'");
    switch (k->kind) {
      case Kind::Str:
        o.strings[opt.name] = opt.value;
        break;
      case Kind::Num: {
        auto n = opts.get_number(opt.name, 0);
        if (!n.ok()) return n.error();
        o.strings[opt.name] = std::to_string(n.value());
        break;
      }
      case Kind::Size: {
        auto n = opts.get_size(opt.name, 0);
        if (!n.ok()) return n.error();
        o.strings[opt.name] = std::to_string(n.value());
        break;
      }
      case Kind::Bool: {
        auto b = opts.get_bool(opt.name, false);
        if (!b.ok()) return b.error();
        o.bools[opt.name] = b.value();
        break;
      }
      case Kind::List:
        o.lists[opt.name].push_back(opt.value);
        break;
    }
  }
  return o;
}

Result<NetdevOptions> netdev_options_from_json(const nlohmann::json& args, bool check_id) {
  auto bad_type = [](const std::string& name, const char* want) {
    return generic_error("Invalid parameter type for '" + name + "', expected: " + want);
  };
  if (!args.is_object()) return generic_error("Invalid parameter type, expected: object");
  NetdevOptions o;
  if (!args.contains("type")) return generic_error("Parameter 'type' is missing");
  if (!args["type"].is_string()) return bad_type("type", "string");
  o.type = args["type"].get<std::string>();
  auto keys = keys_for(o.type);
  if (!keys.ok()) return keys.error();
  if (!args.contains("id")) return generic_error("Parameter 'id' is missing");
  if (!args["id"].is_string()) return bad_type("id", "string");
  o.id = args["id"].get<std::string>();
  if (check_id && !id_wellformed(o.id)) {
    return generic_error("Parameter 'id' expects an identifier");
  }
  for (const auto& [name, v] : args.items()) {
    if (name == "type" || name == "id") continue;
    const KeyDesc* k = find_key(*keys.value(), name);
    if (!k || name == "ipv6-net") return generic_error("Parameter '" + name + "' is unexpected");
    switch (k->kind) {
      case Kind::Str:
        if (!v.is_string()) return bad_type(name, "string");
        o.strings[name] = v.get<std::string>();
        break;
      case Kind::Num:
      case Kind::Size:
        if (!v.is_number_integer()) return bad_type(name, "integer");
        o.strings[name] = v.dump();
        break;
      case Kind::Bool:
        if (!v.is_boolean()) return bad_type(name, "boolean");
        o.bools[name] = v.get<bool>();
        break;
      case Kind::List: {
        if (!v.is_array()) return bad_type(name, "array");
        auto& out = o.lists[name];
        for (size_t i = 0; i < v.size(); ++i) {
          std::string at = name + "[" + std::to_string(i) + "]";
          if (!v[i].is_object()) return bad_type(at, "object");
          if (!v[i].contains("str")) return generic_error("Parameter '" + at + ".str' is missing");
          if (!v[i]["str"].is_string()) return bad_type(at + ".str", "string");
          for (const auto& [member, _] : v[i].items()) {
            if (member != "str") {
              return generic_error("Parameter '" + at + "." + member + "' is unexpected");
            }
          }
          out.push_back(v[i]["str"].get<std::string>());
        }
        break;
      }
    }
  }
  return o;
}

}  // namespace machina
