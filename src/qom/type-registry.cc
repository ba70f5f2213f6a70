// The QOM type registry: registration at start-up, lazy class creation, type queries.
#include <map>
#include <mutex>

#include "qom/object.h"

namespace machina {

namespace {

std::map<std::string, std::unique_ptr<TypeImpl>, std::less<>>& registry() {
  static auto* r = new std::map<std::string, std::unique_ptr<TypeImpl>, std::less<>>();
  return *r;
}

std::recursive_mutex& class_mutex() {
  static auto* m = new std::recursive_mutex();
  return *m;
}

}  // namespace

void type_register(TypeInfo info) {
  auto name = info.name;
  auto t = std::make_unique<TypeImpl>();
  t->info = std::move(info);
  registry()[name] = std::move(t);
}

const TypeImpl* type_lookup(std::string_view name) {
  auto& r = registry();
  auto it = r.find(name);
  return it == r.end() ? nullptr : it->second.get();
}

const TypeImpl* TypeImpl::parent() const {
  if (!parent_type && !info.parent.empty()) {
    const_cast<TypeImpl*>(this)->parent_type = type_lookup(info.parent);
  }
  return parent_type;
}

bool TypeImpl::is_interface() const {
  for (const TypeImpl* t = this; t; t = t->parent()) {
    if (t->name() == "interface") return true;
  }
  return false;
}

const ObjectClass& TypeImpl::klass() const {
  std::lock_guard lock(class_mutex());
  if (cls) return *cls;
  const TypeImpl* p = parent();
  const ObjectClass* pc = p ? &p->klass() : nullptr;
  std::unique_ptr<ObjectClass> c;
  if (info.class_new) {
    c = info.class_new(pc);
  } else if (pc) {
    c = pc->clone();
  } else {
    c = std::make_unique<ObjectClass>();
  }
  c->properties.clear();
  c->description.clear();
  c->type = this;
  c->parent = pc;
  if (info.class_init) info.class_init(*c);
  cls = std::move(c);
  return *cls;
}

bool TypeImpl::is_a(std::string_view type) const {
  for (const TypeImpl* t = this; t; t = t->parent()) {
    if (t->name() == type) return true;
    for (const auto& iface : t->info.interfaces) {
      if (const TypeImpl* it = type_lookup(iface); it && it->is_a(type)) return true;
    }
  }
  return false;
}

std::vector<const TypeImpl*> type_list(std::string_view implements, bool include_abstract) {
  std::vector<const TypeImpl*> out;
  for (auto& [name, t] : registry()) {
    if (!include_abstract && t->is_abstract()) continue;
    if (!implements.empty() && !t->is_a(implements)) continue;
    out.push_back(t.get());
  }
  return out;
}

Property& ObjectClass::add_property(Property p) {
  properties.push_back(std::move(p));
  return properties.back();
}

const Property* ObjectClass::find_property(std::string_view name) const {
  for (const ObjectClass* c = this; c; c = c->parent) {
    for (const auto& p : c->properties) {
      if (p.name == name) return &p;
    }
  }
  return nullptr;
}

const std::string& ObjectClass::type_name() const {
  return type->name();
}

namespace {
// The root types every other type derives from.
// Every object has a read-only "type" property, as in QEMU.
TypeRegistration object_type{TypeInfo{
    .name = "object",
    .abstract = true,
    .class_init =
        [](ObjectClass& c) {
          Property p;
          p.name = "type";
          p.type = "string";
          p.get = [](Object& o) -> Result<json> { return json(o.type_name()); };
          c.add_property(std::move(p));
        },
}};
TypeRegistration interface_type{TypeInfo{.name = "interface", .abstract = true}};
}  // namespace

}  // namespace machina
