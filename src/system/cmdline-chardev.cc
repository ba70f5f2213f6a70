// Chardev option group and the -serial/-monitor/-qmp shorthands (QEMU's qemu_chr_parse_compat).
#include <cctype>

#include "system/cmdline.h"

namespace machina {

const OptsListSpec& chardev_opts_spec() {
  static const OptsListSpec spec = [] {
    OptsListSpec s;
    s.name = "chardev";
    s.implied_key = "backend";
    const char* strings[] = {"backend",   "path",      "host",   "port",      "fd",
                             "localaddr", "localport", "to",     "tls-creds", "tls-authz",
                             "name",      "chardev",   "logfile"};
    const char* bools[] = {"ipv4",      "ipv6",   "wait",      "server",   "delay",  "nodelay",
                           "telnet",    "tn3270", "websocket", "mux",      "signal", "append",
                           "logappend", "mouse",  "clipboard", "abstract", "tight"};
    const char* numbers[] = {"reconnect", "width", "height", "cols", "rows", "debug"};
    for (auto n : strings) s.desc.push_back({n, OptType::String});
    for (auto n : bools) s.desc.push_back({n, OptType::Bool});
    for (auto n : numbers) s.desc.push_back({n, OptType::Number});
    s.desc.push_back({"size", OptType::Size});
    return s;
  }();
  return spec;
}

namespace {

bool starts(std::string_view s, std::string_view prefix, std::string_view* rest) {
  if (!s.starts_with(prefix)) return false;
  *rest = s.substr(prefix.size());
  return true;
}

Error not_a_driver(std::string_view spec) {
  return generic_error("'" + std::string(spec) + "' is not a valid char driver");
}

// "HOST:PORT" then optionally ",OPTIONS" (sscanf "%64[^:]:%32[^,]" or ":%32[^,]").
bool split_host_port(std::string_view p, std::string* host, std::string* port, size_t* consumed) {
  size_t colon = p.find(':');
  if (colon == std::string_view::npos || colon > 64) return false;
  size_t port_end = p.find(',', colon + 1);
  if (port_end == std::string_view::npos) port_end = p.size();
  if (port_end == colon + 1 || port_end - colon - 1 > 32) return false;
  *host = std::string(p.substr(0, colon));
  *port = std::string(p.substr(colon + 1, port_end - colon - 1));
  *consumed = port_end;
  return true;
}

}  // namespace

Result<QemuOpts> parse_chardev_compat(std::string_view label, std::string_view spec,
                                      bool permit_mux_mon) {
  QemuOpts opts;
  opts.id = std::string(label);
  std::string_view p;
  std::string_view filename = spec;
  if (starts(filename, "mon:", &p)) {
    if (!permit_mux_mon) return generic_error("mon: isn't supported in this context");
    filename = p;
    opts.set("mux", "on");
    if (filename == "stdio") opts.set("signal", "off");
  }
  const OptsListSpec& list = chardev_opts_spec();
  for (const char* simple : {"null", "pty", "msmouse", "wctablet", "braille", "testdev", "stdio"}) {
    if (filename == simple) {
      opts.set("backend", filename);
      return opts;
    }
  }
  if (starts(filename, "vc", &p)) {
    opts.set("backend", "vc");
    if (p.empty()) return opts;
    if (p[0] != ':') return not_a_driver(filename);
    p.remove_prefix(1);
    // "WxH" in pixels or "WCxHC" in characters.
    auto number = [&p](std::string* out) {
      size_t i = 0;
      while (i < p.size() && i < 8 && std::isdigit(static_cast<unsigned char>(p[i]))) ++i;
      *out = std::string(p.substr(0, i));
      p.remove_prefix(i);
      return !out->empty();
    };
    std::string w, h;
    if (!number(&w)) return not_a_driver(filename);
    bool chars = !p.empty() && p[0] == 'C';
    if (chars) p.remove_prefix(1);
    if (p.empty() || p[0] != 'x') return not_a_driver(filename);
    p.remove_prefix(1);
    if (!number(&h)) return not_a_driver(filename);
    if (chars) {
      if (p != "C") return not_a_driver(filename);
      opts.set("cols", w);
      opts.set("rows", h);
    } else {
      if (!p.empty()) return not_a_driver(filename);
      opts.set("width", w);
      opts.set("height", h);
    }
    return opts;
  }
  if (filename == "con:") {
    opts.set("backend", "console");
    return opts;
  }
  if (filename.starts_with("COM")) {
    opts.set("backend", "serial");
    opts.set("path", filename);
    return opts;
  }
  if (starts(filename, "file:", &p)) {
    opts.set("backend", "file");
    opts.set("path", p);
    return opts;
  }
  if (starts(filename, "pipe:", &p)) {
    opts.set("backend", "pipe");
    opts.set("path", p);
    return opts;
  }
  for (const char* kind : {"tcp:", "telnet:", "tn3270:", "websocket:"}) {
    if (!starts(filename, kind, &p)) continue;
    std::string host, port;
    size_t used = 0;
    if (!split_host_port(p, &host, &port, &used)) return not_a_driver(filename);
    opts.set("backend", "socket");
    opts.set("host", host);
    opts.set("port", port);
    if (used < p.size() && p[used] == ',') {
      Status st = qemu_opts_do_parse(opts, list, p.substr(used + 1));
      if (!st.ok()) return st.error();
    }
    std::string_view k(kind);
    if (k != "tcp:") opts.set(k.substr(0, k.size() - 1), "on");
    return opts;
  }
  if (starts(filename, "udp:", &p)) {
    // udp:[HOST]:PORT[@[LOCALADDR]:LOCALPORT] or udp:PORT
    std::string_view remote = p, local;
    size_t at = p.find('@');
    if (at != std::string_view::npos) {
      remote = p.substr(0, at);
      local = p.substr(at + 1);
    }
    std::string host, port;
    size_t colon = remote.find(':');
    if (colon == std::string_view::npos) {
      port = std::string(remote);
    } else {
      host = std::string(remote.substr(0, colon));
      port = std::string(remote.substr(colon + 1));
    }
    if (port.empty()) return not_a_driver(filename);
    opts.set("backend", "udp");
    opts.set("host", host);
    opts.set("port", port);
    if (at != std::string_view::npos) {
      size_t c2 = local.find(':');
      if (c2 == std::string_view::npos || c2 + 1 >= local.size()) return not_a_driver(filename);
      opts.set("localaddr", local.substr(0, c2));
      opts.set("localport", local.substr(c2 + 1));
    }
    return opts;
  }
  if (starts(filename, "unix:", &p)) {
    opts.set("backend", "socket");
    Status st = qemu_opts_do_parse(opts, list, p, "path");
    if (!st.ok()) return st.error();
    return opts;
  }
  if (filename.starts_with("/dev/parport") || filename.starts_with("/dev/ppi")) {
    opts.set("backend", "parallel");
    opts.set("path", filename);
    return opts;
  }
  if (filename.starts_with("/dev/")) {
    opts.set("backend", "serial");
    opts.set("path", filename);
    return opts;
  }
  return not_a_driver(filename);
}

}  // namespace machina
