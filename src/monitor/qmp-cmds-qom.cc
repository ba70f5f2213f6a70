// QMP: the object tree (qom-*), devices (device_add, device_del, device-list-properties) and
// user-creatable objects (object-add, object-del).
#include "hw/core/qdev-monitor.h"
#include "monitor/qmp-cmds.h"
#include "qom/object-interfaces.h"
#include "util/qemu-timer.h"

namespace machina {

namespace {

void add(QmpCommandRegistry& r, std::string name, std::vector<QmpArg> args, QmpHandler h,
         bool extra = false) {
  (void)r.add(QmpCommand{.name = std::move(name),
                         .args = std::move(args),
                         .handler = std::move(h),
                         .extra_args = extra});
}

Result<Object*> resolve(const std::string& path) {
  bool ambiguous = false;
  Object* o = object_resolve_path(path, &ambiguous);
  if (o) return o;
  if (ambiguous) return generic_error("Path '" + path + "' is ambiguous");
  return Error{ErrorClass::DeviceNotFound, "Device '" + path + "' not found"};
}

json property_info(const Property& p) {
  json j = {{"name", p.name}, {"type", p.type}};
  if (!p.description.empty()) j["description"] = p.description;
  if (p.default_value) j["default-value"] = *p.default_value;
  return j;
}

// Properties of a type: from a temporary instance when the type is concrete.
Result<json> type_properties(const TypeImpl* t, bool devices_only) {
  json list = json::array();
  auto emit = [&](const Property& p) {
    if (devices_only) {
      static const char* hidden[] = {"type",       "realized",   "hotpluggable",
                                     "hotplugged", "parent_bus", "lifecycle"};
      for (const char* h : hidden) {
        if (p.name == h) return;
      }
    }
    list.push_back(property_info(p));
  };
  if (!t->is_abstract() && t->info.instance_new) {
    auto r = object_new(t->name());
    if (!r.ok()) return r.error();
    for (const Property* p : r.value()->properties()) emit(*p);
    return list;
  }
  for (const ObjectClass* c = &t->klass(); c; c = c->parent) {
    for (const Property& p : c->properties) emit(p);
  }
  return list;
}

std::vector<std::pair<std::string, json>> extra_members(const json& args,
                                                        std::initializer_list<const char*> skip) {
  std::vector<std::pair<std::string, json>> out;
  for (auto& [k, v] : args.items()) {
    bool skipped = false;
    for (const char* s : skip) skipped |= k == s;
    if (!skipped) out.emplace_back(k, v);
  }
  return out;
}

}  // namespace

void qmp_register_qom_commands(QmpCommandRegistry& r) {
  add(r, "qom-list", {{"path", QmpArgType::kString}},
      [](const json& a, QmpContext&) -> Result<json> {
        auto o = resolve(a["path"].get<std::string>());
        if (!o.ok()) return o.error();
        json list = json::array();
        for (const Property* p : o.value()->properties()) {
          json j = {{"name", p->name}, {"type", p->type}};
          if (!p->description.empty()) j["description"] = p->description;
          list.push_back(j);
        }
        return list;
      });
  add(r, "qom-get", {{"path", QmpArgType::kString}, {"property", QmpArgType::kString}},
      [](const json& a, QmpContext&) -> Result<json> {
        auto o = resolve(a["path"].get<std::string>());
        if (!o.ok()) return o.error();
        return o.value()->property_get(a["property"].get<std::string>());
      });
  add(r, "qom-set",
      {{"path", QmpArgType::kString},
       {"property", QmpArgType::kString},
       {"value", QmpArgType::kAny}},
      [](const json& a, QmpContext&) -> Result<json> {
        auto o = resolve(a["path"].get<std::string>());
        if (!o.ok()) return o.error();
        Status s = o.value()->property_set(a["property"].get<std::string>(), a["value"]);
        if (!s.ok()) return s.error();
        return json::object();
      });
  add(r, "qom-list-types",
      {{"implements", QmpArgType::kString, true}, {"abstract", QmpArgType::kBool, true}},
      [](const json& a, QmpContext&) -> Result<json> {
        std::string impl = a.contains("implements") ? a["implements"].get<std::string>() : "";
        bool abstract = a.contains("abstract") && a["abstract"].get<bool>();
        json list = json::array();
        for (const TypeImpl* t : type_list(impl, abstract)) {
          json j = {{"name", t->name()}};
          if (t->is_abstract()) j["abstract"] = true;
          if (t->parent()) j["parent"] = t->parent()->name();
          list.push_back(j);
        }
        return list;
      });
  add(r, "qom-list-properties", {{"typename", QmpArgType::kString}},
      [](const json& a, QmpContext&) -> Result<json> {
        std::string name = a["typename"].get<std::string>();
        const TypeImpl* t = type_lookup(name);
        if (!t) return generic_error("Class '" + name + "' not found");
        return type_properties(t, false);
      });
  add(r, "device-list-properties", {{"typename", QmpArgType::kString}},
      [](const json& a, QmpContext&) -> Result<json> {
        std::string name = a["typename"].get<std::string>();
        const TypeImpl* t = type_lookup(name);
        if (!t) return Error{ErrorClass::DeviceNotFound, "Device '" + name + "' not found"};
        if (!t->is_a(kTypeDevice)) return generic_error("Parameter 'typename' expects device");
        if (t->is_abstract()) {
          return generic_error("Parameter 'typename' expects non-abstract device");
        }
        return type_properties(t, true);
      });
  add(
      r, "device_add",
      {{"driver", QmpArgType::kString},
       {"id", QmpArgType::kString, true},
       {"bus", QmpArgType::kString, true}},
      [](const json& a, QmpContext&) -> Result<json> {
        DeviceOptions o;
        o.driver = a["driver"].get<std::string>();
        if (a.contains("id")) o.id = a["id"].get<std::string>();
        if (a.contains("bus")) o.bus = a["bus"].get<std::string>();
        o.props = extra_members(a, {"driver", "id", "bus"});
        auto d = qdev_device_add(o);
        if (!d.ok()) return d.error();
        return json::object();
      },
      true);
  add(r, "device_del", {{"id", QmpArgType::kString}},
      [](const json& a, QmpContext&) -> Result<json> {
        int64_t now_ms = clock_get_ns(ClockType::Virtual) / 1000000;
        Status s = qdev_device_del(a["id"].get<std::string>(), now_ms);
        if (!s.ok()) return s.error();
        return json::object();
      });
  add(
      r, "object-add", {{"qom-type", QmpArgType::kString}, {"id", QmpArgType::kString}},
      [](const json& a, QmpContext&) -> Result<json> {
        auto o = user_creatable_add(a["qom-type"].get<std::string>(), a["id"].get<std::string>(),
                                    extra_members(a, {"qom-type", "id"}));
        if (!o.ok()) return o.error();
        return json::object();
      },
      true);
  add(r, "object-del", {{"id", QmpArgType::kString}},
      [](const json& a, QmpContext&) -> Result<json> {
        Status s = user_creatable_del(a["id"].get<std::string>());
        if (!s.ok()) return s.error();
        return json::object();
      });
}

}  // namespace machina
