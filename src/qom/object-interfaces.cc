#include "qom/object-interfaces.h"

#include "util/qemu-option.h"

namespace machina {

namespace {
TypeRegistration user_creatable_type{
    TypeInfo{.name = kTypeUserCreatable, .parent = "interface", .abstract = true}};

}  // namespace

Result<Object*> user_creatable_add(const std::string& type, const std::string& id,
                                   const std::vector<std::pair<std::string, json>>& props) {
  const TypeImpl* t = type_lookup(type);
  if (!t) return generic_error("invalid object type: " + type);
  if (!t->is_a(kTypeUserCreatable)) {
    return generic_error("object type '" + type + "' isn't supported by object-add");
  }
  if (t->is_abstract()) return generic_error("object type '" + type + "' is abstract");
  if (!id_wellformed(id)) return generic_error("Parameter 'id' expects an identifier");
  Object* objects = container_get("/objects");
  if (objects->child(id)) {
    return generic_error("attempt to add duplicate property '" + id +
                         "' to object (type 'container')");
  }
  auto r = object_new(type);
  if (!r.ok()) return r.error();
  Ref<Object> obj = std::move(r.value());
  for (const auto& [name, value] : props) {
    Status s = value.is_string() ? obj->property_parse(name, value.get<std::string>())
                                 : obj->property_set(name, value);
    if (!s.ok()) return s.error();
  }
  // As QEMU: the object is /objects/ID while it completes (an iothread names its thread after
  // the id), and is taken out again when completing fails.
  if (Status s = objects->add_child(id, obj.get()); !s.ok()) return s.error();
  if (auto* uc = dynamic_cast<UserCreatable*>(obj.get())) {
    if (Status s = uc->complete(); !s.ok()) {
      obj->unparent();
      return s.error();
    }
  }
  return obj.get();
}

Status user_creatable_del(const std::string& id) {
  Object* obj = container_get("/objects")->child(id);
  if (!obj) return generic_error("object '" + id + "' not found");
  if (auto* uc = dynamic_cast<UserCreatable*>(obj)) {
    if (Status s = uc->can_be_deleted(); !s.ok()) return s;
  }
  obj->unparent();
  return Status::Ok();
}

}  // namespace machina
