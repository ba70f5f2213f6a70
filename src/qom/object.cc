// Objects: reference counting, finalization, properties, the composition tree.
#include "qom/object.h"

#include <algorithm>

namespace machina {

namespace {

Object* construct(const TypeImpl* t) {
  Object* o = t->info.instance_new();
  return o;
}

}  // namespace

Result<Ref<Object>> object_new(std::string_view type_name) {
  const TypeImpl* t = type_lookup(type_name);
  if (!t) return generic_error("Invalid object type '" + std::string(type_name) + "'");
  if (t->is_abstract() || !t->info.instance_new) {
    return generic_error("Object type '" + std::string(type_name) + "' is abstract");
  }
  const ObjectClass& cls = t->klass();
  Object* o = construct(t);
  o->class_ = &cls;
  o->apply_defaults();
  o->post_init();
  return Ref<Object>::adopt(o);
}

Object::Object() = default;
Object::~Object() = default;

const std::string& Object::type_name() const {
  return class_->type->name();
}

bool Object::is_a(std::string_view type) const {
  return class_->type->is_a(type);
}

void Object::ref() {
  refs_.fetch_add(1, std::memory_order_relaxed);
}

void Object::unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) finalize();
}

void Object::finalize() {
  // As QEMU's object_finalize: properties go first (children are unparented, links dropped),
  // then the instance finalizers run from the most derived type up (the destructors).
  while (!props_.empty()) {
    Property p = std::move(props_.back());
    props_.pop_back();
    if (p.release) p.release(*this);
  }
  std::function<void()> after = after_finalize();
  delete this;
  if (after) after();
}

void Object::apply_defaults() {
  std::vector<const ObjectClass*> chain;
  for (const ObjectClass* c = class_; c; c = c->parent) chain.push_back(c);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    for (const auto& p : (*it)->properties) {
      if (p.default_value && p.set) {
        // A declared default always fits its own property.
        (void)p.set(*this, *p.default_value);
      }
    }
  }
}

Property* Object::find_property(std::string_view name) {
  for (auto& p : props_) {
    if (p.name == name) return &p;
  }
  return const_cast<Property*>(class_->find_property(name));
}

const Property* Object::find_property(std::string_view name) const {
  return const_cast<Object*>(this)->find_property(name);
}

std::vector<const Property*> Object::properties() const {
  std::vector<const Property*> out;
  for (const auto& p : props_) out.push_back(&p);
  for (const ObjectClass* c = class_; c; c = c->parent) {
    for (const auto& p : c->properties) {
      bool shadowed =
          std::any_of(out.begin(), out.end(), [&](const Property* q) { return q->name == p.name; });
      if (!shadowed) out.push_back(&p);
    }
  }
  return out;
}

Status Object::add_property(Property p) {
  if (find_property(p.name)) {
    return generic_error("attempt to add duplicate property '" + p.name + "' to object (type '" +
                         type_name() + "')");
  }
  props_.push_back(std::move(p));
  return Status::Ok();
}

Status Object::del_property(std::string_view name) {
  auto it = std::find_if(props_.begin(), props_.end(), [&](auto& p) { return p.name == name; });
  if (it == props_.end()) {
    return generic_error("Property '." + std::string(name) + "' not found");
  }
  Property p = std::move(*it);
  props_.erase(it);
  if (p.release) p.release(*this);
  return Status::Ok();
}

namespace {
Error not_found(const Object& o, std::string_view name) {
  return generic_error("Property '" + o.type_name() + "." + std::string(name) + "' not found");
}
}  // namespace

Result<json> Object::property_get(std::string_view name) {
  Property* p = find_property(name);
  if (!p) return not_found(*this, name);
  if (!p->get) return generic_error("Property '" + std::string(name) + "' is not readable");
  return p->get(*this);
}

Status Object::property_set(std::string_view name, const json& value) {
  Property* p = find_property(name);
  if (!p) return not_found(*this, name);
  if (!p->set) return generic_error("Property '" + std::string(name) + "' is not writable");
  if (Status s = check_property_write(*p); !s.ok()) return s;
  return p->set(*this, value);
}

Status Object::property_parse(std::string_view name, std::string_view value) {
  Property* p = find_property(name);
  if (!p) return not_found(*this, name);
  if (!p->set) return generic_error("Property '" + std::string(name) + "' is not writable");
  if (Status s = check_property_write(*p); !s.ok()) return s;
  if (p->parse) return p->parse(*this, value);
  return p->set(*this, json(std::string(value)));
}

// --- composition tree

Status Object::add_child(std::string_view name_in, Object* child) {
  std::string name(name_in);
  if (name.ends_with("[*]")) {
    // QEMU's "name[*]": the first free index.
    std::string base = name.substr(0, name.size() - 3);
    for (int i = 0;; ++i) {
      name = base + "[" + std::to_string(i) + "]";
      if (!find_property(name)) break;
    }
  }
  if (child->parent_) {
    return generic_error("object '" + child->type_name() + "' already has a parent");
  }
  Property p;
  p.name = std::string(name);
  p.type = "child<" + child->type_name() + ">";
  p.get = [child](Object&) -> Result<json> { return json(child->canonical_path()); };
  p.target = [child](Object&) { return child; };
  p.release = [child](Object& self) {
    // Unparent: the child leaves the tree, then the tree's reference goes.
    child->on_unparent();
    auto& ch = self.children_;
    ch.erase(std::remove(ch.begin(), ch.end(), child), ch.end());
    child->parent_ = nullptr;
    child->unref();
  };
  if (Status s = add_property(std::move(p)); !s.ok()) return s;
  child->ref();
  child->parent_ = this;
  child->name_ = std::string(name);
  children_.push_back(child);
  return Status::Ok();
}

void Object::unparent() {
  if (!parent_) return;
  Ref<Object> keep(this);  // the object outlives its own removal from the tree
  (void)parent_->del_property(name_);
}

Object* Object::child(std::string_view name) const {
  for (Object* c : children_) {
    if (c->name_ == name) return c;
  }
  return nullptr;
}

std::vector<Object*> Object::children() const {
  return children_;
}

void Object::for_each_child(const std::function<bool(Object&)>& fn) const {
  auto copy = children_;
  for (Object* c : copy) {
    if (!fn(*c)) return;
  }
}

std::string Object::canonical_path() const {
  if (this == object_root()) return "/";
  if (!parent_) return "";  // not in the tree
  std::string path;
  for (const Object* o = this; o && o != object_root(); o = o->parent_) {
    if (!o->parent_) return "";  // detached subtree
    path = "/" + o->name_ + path;
  }
  return path;
}

Object* object_dynamic_cast(Object* obj, std::string_view type) {
  return obj && obj->is_a(type) ? obj : nullptr;
}

// --- root, containers, path resolution

namespace {

class Container : public Object {};

TypeRegistration container_type{TypeInfo{
    .name = "container", .parent = "object", .instance_new = [] { return new Container(); }}};

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

// Follows one path component: a child<> or link<> property.
Object* step(Object* o, std::string_view part) {
  if (part == "..") return o->parent();
  Property* p = o->find_property(part);
  if (!p || !p->target) return nullptr;
  return p->target(*o);
}

Object* resolve_abs(Object* from, const std::vector<std::string_view>& parts, size_t i) {
  Object* o = from;
  for (; o && i < parts.size(); ++i) o = step(o, parts[i]);
  return o;
}

// QEMU's partial resolution: the path may start at any object of the tree (children only,
// not links), and must match exactly one object of the requested type.
Object* resolve_partial(Object* o, const std::vector<std::string_view>& parts,
                        std::string_view type, bool* ambiguous) {
  Object* found = object_dynamic_cast(resolve_abs(o, parts, 0), type);
  for (Object* c : o->children()) {
    Object* f = resolve_partial(c, parts, type, ambiguous);
    if (*ambiguous) return nullptr;
    if (f) {
      if (found && found != f) {
        *ambiguous = true;
        return nullptr;
      }
      found = f;
    }
  }
  return found;
}

}  // namespace

Object* object_root() {
  static Object* root = [] {
    auto r = object_new("container");
    return r.value().release();
  }();
  return root;
}

Object* container_get(std::string_view path) {
  Object* o = object_root();
  for (auto part : split_path(path)) {
    Object* c = o->child(part);
    if (!c) {
      auto r = object_new("container");
      Ref<Object> n = std::move(r.value());
      (void)o->add_child(part, n.get());
      c = n.get();
    }
    o = c;
  }
  return o;
}

Object* object_resolve_path_type(std::string_view path, std::string_view type, bool* ambiguous) {
  bool amb = false;
  Object* out = nullptr;
  auto parts = split_path(path);
  if (path.starts_with("/")) {
    out = object_dynamic_cast(resolve_abs(object_root(), parts, 0), type);
  } else if (!parts.empty()) {
    out = resolve_partial(object_root(), parts, type, &amb);
  }
  if (ambiguous) *ambiguous = amb;
  return out;
}

Object* object_resolve_path(std::string_view path, bool* ambiguous) {
  return object_resolve_path_type(path, "object", ambiguous);
}

}  // namespace machina
