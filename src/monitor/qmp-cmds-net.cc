// QMP: network backends (netdev_add, netdev_del), set_link and query-rx-filter.
#include <cctype>

#include "monitor/monitor.h"
#include "monitor/qmp-cmds.h"
#include "net/net.h"
#include "net/netdev-registry.h"

namespace machina {

namespace {

void add(QmpCommandRegistry& r, QmpCommand c) {
  (void)r.add(std::move(c));
}

// tap's fd= names a descriptor passed with getfd (or is a number): the monitor hands it over.
Status resolve_fd_name(NetdevOptions& o) {
  auto it = o.strings.find("fd");
  if (o.type != "tap" || it == o.strings.end()) return Status::Ok();
  const std::string& name = it->second;
  if (!name.empty() && std::isdigit(static_cast<unsigned char>(name[0]))) return Status::Ok();
  Monitor* m = current_monitor();
  auto fit = m ? m->fds.find(name) : decltype(m->fds.end()){};
  if (!m || fit == m->fds.end()) {
    return generic_error("File descriptor named '" + name + "' has not been found");
  }
  it->second = std::to_string(fit->second);
  m->fds.erase(fit);
  return Status::Ok();
}

}  // namespace

void qmp_register_net_commands(QmpCommandRegistry& r) {
  add(r, QmpCommand{.name = "netdev_add",
                    .args = {{"type", QmpArgType::kString}, {"id", QmpArgType::kString}},
                    .handler = [](const json& a, QmpContext&) -> Result<json> {
                      auto o = netdev_options_from_json(a);
                      if (!o.ok()) return o.error();
                      if (Status s = resolve_fd_name(o.value()); !s.ok()) return s.error();
                      auto nd = netdev_add(o.value());
                      if (!nd.ok()) return nd.error();
                      return json::object();
                    },
                    .extra_args = true});
  add(r, QmpCommand{.name = "netdev_del",
                    .args = {{"id", QmpArgType::kString}},
                    .handler = [](const json& a, QmpContext&) -> Result<json> {
                      Status s = netdev_del(a["id"].get<std::string>());
                      if (!s.ok()) return s.error();
                      return json::object();
                    }});
  add(r, QmpCommand{.name = "set_link",
                    .args = {{"name", QmpArgType::kString}, {"up", QmpArgType::kBool}},
                    .handler = [](const json& a, QmpContext&) -> Result<json> {
                      Status s = net_set_link(a["name"].get<std::string>(), a["up"].get<bool>());
                      if (!s.ok()) return s.error();
                      return json::object();
                    }});
  add(r, QmpCommand{.name = "query-rx-filter",
                    .args = {{.name = "name", .type = QmpArgType::kString, .optional = true}},
                    .handler = [](const json& a, QmpContext&) -> Result<json> {
                      std::string name;
                      if (a.contains("name")) name = a["name"].get<std::string>();
                      return net_query_rx_filter(a.contains("name") ? &name : nullptr);
                    }});
}

}  // namespace machina
