// QMP: chardevs (query-chardev, chardev-add, chardev-remove) and fd passing (getfd, closefd).
#include <unistd.h>

#include "chardev/char.h"
#include "monitor/monitor.h"
#include "monitor/qmp-cmds.h"

namespace machina {

namespace {

void add(QmpCommandRegistry& r, std::string name, std::vector<QmpArg> args, QmpHandler h) {
  (void)r.add(
      QmpCommand{.name = std::move(name), .args = std::move(args), .handler = std::move(h)});
}

std::string str(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return j.get<bool>() ? "on" : "off";
  return j.dump();
}

// ChardevBackend (QAPI) -> -chardev options.
Result<ChardevOptions> backend_options(const std::string& id, const json& backend) {
  if (!backend.is_object() || !backend.contains("type") || !backend["type"].is_string()) {
    return generic_error("Parameter 'backend.type' is missing");
  }
  std::string type = backend["type"].get<std::string>();
  json data = backend.contains("data") ? backend["data"] : json::object();
  if (!data.is_object()) {
    return generic_error("Invalid parameter type for 'backend.data', expected: object");
  }
  ChardevOptions o{{"id", id}, {"backend", type}};
  if (type == "socket") {
    if (!data.contains("addr") || !data["addr"].is_object()) {
      return generic_error("Parameter 'backend.data.addr' is missing");
    }
    const json& addr = data["addr"];
    std::string at = addr.value("type", "");
    json ad = addr.contains("data") ? addr["data"] : addr;
    if (at == "unix") {
      if (!ad.contains("path")) return generic_error("Parameter 'path' is missing");
      o["path"] = str(ad["path"]);
    } else if (at == "inet") {
      if (!ad.contains("host") || !ad.contains("port")) {
        return generic_error("Parameter 'host' is missing");
      }
      o["host"] = str(ad["host"]);
      o["port"] = str(ad["port"]);
    } else if (at == "fd") {
      return generic_error("'fd' addresses are not supported by chardev-add");
    } else {
      return generic_error("Invalid parameter 'addr.type'");
    }
    for (const char* k : {"server", "wait", "reconnect", "nodelay"}) {
      if (data.contains(k)) o[k] = str(data[k]);
    }
  } else if (type == "file") {
    if (!data.contains("out")) return generic_error("Parameter 'out' is missing");
    o["path"] = str(data["out"]);
    if (data.contains("append")) o["append"] = str(data["append"]);
  } else if (type == "pipe") {
    if (!data.contains("device")) return generic_error("Parameter 'device' is missing");
    o["path"] = str(data["device"]);
  } else if (type == "null" || type == "pty" || type == "stdio") {
    if (type == "stdio" && data.contains("signal")) o["signal"] = str(data["signal"]);
  } else {
    return generic_error("'" + type + "' is not a valid char driver name");
  }
  if (data.contains("logfile")) o["logfile"] = str(data["logfile"]);
  if (data.contains("logappend")) o["logappend"] = str(data["logappend"]);
  return o;
}

}  // namespace

void qmp_register_char_commands(QmpCommandRegistry& r) {
  add(r, "query-chardev", {},
      [](const json&, QmpContext&) -> Result<json> { return chardev_query(); });
  add(r, "chardev-add", {{"id", QmpArgType::kString}, {"backend", QmpArgType::kObject}},
      [](const json& a, QmpContext&) -> Result<json> {
        std::string id = a["id"].get<std::string>();
        if (chardev_find(id)) return generic_error("Chardev '" + id + "' already exists");
        auto opts = backend_options(id, a["backend"]);
        if (!opts.ok()) return opts.error();
        // A server socket added at run time never waits for its client.
        if (opts.value()["backend"] == "socket" && !opts.value().count("wait")) {
          opts.value()["wait"] = "off";
        }
        auto c = chardev_new(opts.value());
        if (!c.ok()) return c.error();
        json ret = json::object();
        const std::string& f = c.value()->filename();
        if (f.starts_with("pty:")) ret["pty"] = f.substr(4);
        return ret;
      });
  add(r, "chardev-remove", {{"id", QmpArgType::kString}},
      [](const json& a, QmpContext&) -> Result<json> {
        Status s = chardev_remove(a["id"].get<std::string>());
        if (!s.ok()) return s.error();
        return json::object();
      });
  add(r, "getfd", {{"fdname", QmpArgType::kString}},
      [](const json& a, QmpContext&) -> Result<json> {
        Monitor* m = current_monitor();
        if (!m || m->received_fds.empty()) {
          return generic_error("No file descriptor supplied via SCM_RIGHTS");
        }
        std::string name = a["fdname"].get<std::string>();
        if (!name.empty() && std::isdigit(static_cast<unsigned char>(name[0]))) {
          for (int fd : m->received_fds) ::close(fd);
          m->received_fds.clear();
          return generic_error("Parameter 'fdname' expects a name not starting with a digit");
        }
        int fd = m->received_fds.front();
        m->received_fds.erase(m->received_fds.begin());
        if (auto it = m->fds.find(name); it != m->fds.end()) {
          ::close(it->second);
          it->second = fd;
        } else {
          m->fds[name] = fd;
        }
        return json::object();
      });
  add(r, "closefd", {{"fdname", QmpArgType::kString}},
      [](const json& a, QmpContext&) -> Result<json> {
        Monitor* m = current_monitor();
        std::string name = a["fdname"].get<std::string>();
        auto it = m ? m->fds.find(name) : decltype(m->fds.end()){};
        if (!m || it == m->fds.end()) {
          return generic_error("File descriptor named '" + name + "' not found");
        }
        ::close(it->second);
        m->fds.erase(it);
        return json::object();
      });
}

}  // namespace machina
