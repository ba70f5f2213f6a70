// QOM: typed, reference-counted objects with properties, arranged in a composition tree.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "qapi/error.h"
#include "qom/property.h"
#include "qom/ref.h"

namespace machina {

class Object;
struct TypeImpl;

// Per-type data shared by all instances: declared properties and, in subclasses, class flags and
// settings. A subtype's class starts as a copy of its parent type's class.
class ObjectClass {
 public:
  virtual ~ObjectClass() = default;
  virtual std::unique_ptr<ObjectClass> clone() const {
    return std::make_unique<ObjectClass>(*this);
  }

  const TypeImpl* type = nullptr;
  const ObjectClass* parent = nullptr;
  std::string description;
  std::vector<Property> properties;  // declared by this type only; lookups walk the parents

  Property& add_property(Property p);
  // This class's property of that name, or an inherited one.
  const Property* find_property(std::string_view name) const;
  const std::string& type_name() const;
};

#define MACHINA_CLASS_CLONE(Self)                       \
  std::unique_ptr<ObjectClass> clone() const override { \
    return std::make_unique<Self>(*this);               \
  }

struct TypeInfo {
  std::string name;
  std::string parent;  // empty only for "object" and "interface"
  bool abstract = false;
  std::vector<std::string> interfaces;
  std::function<Object*()> instance_new;  // empty for abstract types and interfaces
  // Creates this type's class from its parent's; empty: a copy of the parent's class.
  std::function<std::unique_ptr<ObjectClass>(const ObjectClass* parent)> class_new;
  std::function<void(ObjectClass&)> class_init;
};

// Builds a class of type C from a parent class whose C++ type is (derived from) P.
template <class C, class P>
std::function<std::unique_ptr<ObjectClass>(const ObjectClass*)> class_from_parent() {
  return [](const ObjectClass* parent) -> std::unique_ptr<ObjectClass> {
    auto c = std::make_unique<C>();
    if (parent) static_cast<P&>(*c) = static_cast<const P&>(*parent);
    return c;
  };
}

struct TypeImpl {
  TypeInfo info;
  const TypeImpl* parent_type = nullptr;  // resolved lazily
  mutable std::unique_ptr<ObjectClass> cls;

  const std::string& name() const { return info.name; }
  const TypeImpl* parent() const;
  bool is_abstract() const { return info.abstract; }
  bool is_interface() const;
  const ObjectClass& klass() const;  // created on first use
  // True if this type is `type`, derives from it, or implements it (interfaces).
  bool is_a(std::string_view type) const;
};

void type_register(TypeInfo info);
const TypeImpl* type_lookup(std::string_view name);
// Types that implement (or derive from) `implements` (all when empty); abstract ones only if asked.
std::vector<const TypeImpl*> type_list(std::string_view implements, bool include_abstract);

// Registers a type at program start: `static TypeRegistration r{{...}};`
struct TypeRegistration {
  explicit TypeRegistration(TypeInfo info) { type_register(std::move(info)); }
};

// Creates an instance of a concrete type. Errors name the problem as QEMU does.
Result<Ref<Object>> object_new(std::string_view type_name);

class Object {
 public:
  Object();
  virtual ~Object();
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;

  const ObjectClass& object_class() const { return *class_; }
  const std::string& type_name() const;
  bool is_a(std::string_view type) const;

  // --- reference counting: finalize runs exactly when the count reaches zero.
  void ref();
  void unref();
  uint32_t refcount() const { return refs_.load(std::memory_order_relaxed); }

  // --- properties
  Property* find_property(std::string_view name);
  const Property* find_property(std::string_view name) const;
  // Instance properties first (in the order added), then class properties from the most derived.
  std::vector<const Property*> properties() const;
  Status add_property(Property p);
  Status del_property(std::string_view name);
  Result<json> property_get(std::string_view name);
  Status property_set(std::string_view name, const json& value);
  Status property_parse(std::string_view name, std::string_view value);

  // --- composition tree
  // Adds `child` under `name` as a child<TYPE> property; the tree takes one reference. A name
  // ending in "[*]" takes the first free index ("device[*]" -> "device[0]", "device[1]", ...).
  Status add_child(std::string_view name, Object* child);
  // Removes this object from its parent (if any): drops the tree's reference.
  void unparent();
  Object* parent() const { return parent_; }
  const std::string& name_in_parent() const { return name_; }
  Object* child(std::string_view name) const;
  std::vector<Object*> children() const;
  std::string canonical_path() const;

  // Runs `fn` on each child (in the order added); stops early if it returns false.
  void for_each_child(const std::function<bool(Object&)>& fn) const;

 protected:
  // Called while the object is being removed from its parent, before the tree drops its reference.
  virtual void on_unparent() {}
  // Returns work to run once the object has been destroyed (all destructors done).
  virtual std::function<void()> after_finalize() { return {}; }
  // Called once the object is constructed and its declared defaults are applied.
  virtual void post_init() {}
  // Called before a property is written; lets subclasses refuse (e.g. after realize).
  virtual Status check_property_write(const Property&) { return Status::Ok(); }

 private:
  friend Result<Ref<Object>> object_new(std::string_view);
  void apply_defaults();
  void finalize();

  const ObjectClass* class_ = nullptr;
  std::atomic<uint32_t> refs_{1};
  Object* parent_ = nullptr;
  std::string name_;
  std::vector<Property> props_;    // instance properties, in the order added
  std::vector<Object*> children_;  // owned by child<> properties, in the order added
};

// Creates an object of a C++ type and registers its class: for objects built in code.
template <class T>
Ref<T> make_object(std::string_view type_name) {
  auto r = object_new(type_name);
  if (!r.ok()) return {};
  return Ref<T>::adopt(static_cast<T*>(r.value().release()));
}

// Checked cast by type name: nullptr if `obj` is not an instance of `type`.
Object* object_dynamic_cast(Object* obj, std::string_view type);

// --- the tree
Object* object_root();
// The container at `path` below the root, created (as type "container") as needed.
Object* container_get(std::string_view path);
// Absolute ("/machine/peripheral/x") or partial ("x", "peripheral/x") resolution, as QEMU's
// object_resolve_path. A partial path that matches more than one object sets *ambiguous.
Object* object_resolve_path(std::string_view path, bool* ambiguous = nullptr);
Object* object_resolve_path_type(std::string_view path, std::string_view type,
                                 bool* ambiguous = nullptr);

}  // namespace machina
