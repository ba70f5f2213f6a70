#include "chardev/char-options.h"

#include <array>

#include "util/cutils.h"

namespace machina {

namespace {

// Keys of QEMU's -chardev option list (shared by all backends).
constexpr std::array<std::string_view, 39> kKnownKeys = {
    "backend",    "id",        "path",     "host",      "port",      "fd",        "local_addr",
    "local_port", "to",        "ipv4",     "ipv6",      "wait",      "server",    "delay",
    "nodelay",    "reconnect", "telnet",   "tn3270",    "tls-creds", "tls-authz", "websocket",
    "width",      "height",    "cols",     "rows",      "mux",       "signal",    "name",
    "debug",      "size",      "chardev",  "append",    "logfile",   "logappend", "mouse",
    "clipboard",  "tight",     "abstract", "input-path"};

// Known keys whose feature machina does not implement: refused rather than ignored.
constexpr std::array<std::string_view, 5> kUnsupported = {"telnet", "tn3270", "tls-creds",
                                                          "tls-authz", "websocket"};

}  // namespace

Result<bool> opt_bool(const ChardevOptions& opts, std::string_view key, bool dflt) {
  auto it = opts.find(key);
  if (it == opts.end()) return dflt;
  auto v = parse_bool(it->second);
  if (!v) return generic_error("Parameter '" + std::string(key) + "' expects 'on' or 'off'");
  return *v;
}

Result<int64_t> opt_number(const ChardevOptions& opts, std::string_view key, int64_t dflt) {
  auto it = opts.find(key);
  if (it == opts.end()) return dflt;
  auto v = parse_uint64(it->second);
  if (!v || *v > uint64_t(INT64_MAX)) {
    return generic_error("Parameter '" + std::string(key) + "' expects a number");
  }
  return int64_t(*v);
}

std::optional<std::string> opt_string(const ChardevOptions& opts, std::string_view key) {
  auto it = opts.find(key);
  if (it == opts.end()) return std::nullopt;
  return it->second;
}

Status check_chardev_options(const ChardevOptions& opts) {
  for (const auto& [key, value] : opts) {
    bool known = false;
    for (auto k : kKnownKeys) known |= k == key;
    if (!known) return generic_error("Invalid parameter '" + key + "'");
    for (auto k : kUnsupported) {
      if (k != key) continue;
      auto on = parse_bool(value);
      if (k == "tls-creds" || k == "tls-authz" || !on || *on) {
        return generic_error("'" + key + "' is not supported");
      }
    }
  }
  return Status::Ok();
}

Result<ChardevOptions> chardev_parse_legacy(std::string_view spec, bool* monitor) {
  ChardevOptions o;
  if (monitor) *monitor = false;
  if (spec.starts_with("mon:")) {
    spec.remove_prefix(4);
    o["mux"] = "on";
    if (monitor) *monitor = true;
  }
  for (std::string_view simple : {"null", "stdio", "pty", "vc", "msmouse", "braille"}) {
    if (spec == simple) {
      o["backend"] = std::string(simple);
      return o;
    }
  }
  auto rest_opts = [&](std::string_view rest) -> Status {
    // ",server,nowait,key=value..." after the address
    while (!rest.empty()) {
      if (rest[0] == ',') rest.remove_prefix(1);
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma);
      if (item.empty()) continue;
      size_t eq = item.find('=');
      if (eq != std::string_view::npos) {
        o[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
      } else if (item == "nowait") {
        o["wait"] = "off";
      } else if (item == "nodelay" || item == "server" || item == "wait" || item == "ipv4" ||
                 item == "ipv6" || item == "telnet") {
        o[std::string(item)] = "on";
      } else {
        return generic_error("Invalid parameter '" + std::string(item) + "'");
      }
    }
    return Status::Ok();
  };
  if (spec.starts_with("file:")) {
    o["backend"] = "file";
    o["path"] = std::string(spec.substr(5));
    return o;
  }
  if (spec.starts_with("pipe:")) {
    o["backend"] = "pipe";
    o["path"] = std::string(spec.substr(5));
    return o;
  }
  if (spec.starts_with("unix:")) {
    spec.remove_prefix(5);
    size_t comma = spec.find(',');
    o["backend"] = "socket";
    o["path"] = std::string(spec.substr(0, comma));
    if (comma != std::string_view::npos) {
      if (Status s = rest_opts(spec.substr(comma)); !s.ok()) return s.error();
    }
    return o;
  }
  if (spec.starts_with("tcp:") || spec.starts_with("telnet:")) {
    bool telnet = spec.starts_with("telnet:");
    spec.remove_prefix(telnet ? 7 : 4);
    o["backend"] = "socket";
    if (telnet) o["telnet"] = "on";
    size_t comma = spec.find(',');
    std::string_view addr = spec.substr(0, comma);
    size_t colon = addr.rfind(':');
    if (colon == std::string_view::npos) {
      return generic_error("chardev: socket: no port given");
    }
    std::string_view host = addr.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    o["host"] = std::string(host);
    o["port"] = std::string(addr.substr(colon + 1));
    if (comma != std::string_view::npos) {
      if (Status s = rest_opts(spec.substr(comma)); !s.ok()) return s.error();
    }
    return o;
  }
  return generic_error("'" + std::string(spec) + "' is not a valid char driver name");
}

}  // namespace machina
