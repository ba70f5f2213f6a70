#include <gtest/gtest.h>

#include <algorithm>

#include "test_types.h"

namespace machina::test {
namespace {

bool listed(const std::vector<const TypeImpl*>& v, std::string_view name) {
  return std::any_of(v.begin(), v.end(), [&](auto* t) { return t->name() == name; });
}

TEST(TypeRegistry, LooksUpTypesAndParents) {
  const TypeImpl* t = type_lookup("test-puppy");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->parent()->name(), "test-dog");
  EXPECT_EQ(t->parent()->parent()->name(), "test-animal");
  EXPECT_EQ(type_lookup("no-such-type"), nullptr);
}

TEST(TypeRegistry, IsAFollowsParentsAndInterfaces) {
  const TypeImpl* t = type_lookup("test-puppy");
  EXPECT_TRUE(t->is_a("test-puppy"));
  EXPECT_TRUE(t->is_a("test-animal"));
  EXPECT_TRUE(t->is_a("object"));
  EXPECT_TRUE(t->is_a("test-barker"));  // inherited interface
  EXPECT_FALSE(t->is_a("container"));
  EXPECT_FALSE(type_lookup("test-animal")->is_a("test-barker"));
}

TEST(TypeRegistry, ListFiltersByImplementsAndAbstract) {
  auto concrete = type_list("test-animal", false);
  EXPECT_TRUE(listed(concrete, "test-dog"));
  EXPECT_TRUE(listed(concrete, "test-puppy"));
  EXPECT_FALSE(listed(concrete, "test-animal"));
  EXPECT_FALSE(listed(concrete, "container"));
  auto all = type_list("test-animal", true);
  EXPECT_TRUE(listed(all, "test-animal"));
  auto barkers = type_list("test-barker", false);
  EXPECT_EQ(barkers.size(), 2u);
  EXPECT_TRUE(listed(type_list("", false), "container"));
}

TEST(TypeRegistry, CreatesObjectsByName) {
  auto r = object_new("test-puppy");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()->type_name(), "test-puppy");
  EXPECT_NE(dynamic_cast<Puppy*>(r.value().get()), nullptr);
}

TEST(TypeRegistry, RefusesAbstractAndUnknownTypes) {
  auto a = object_new("test-animal");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.message(), "Object type 'test-animal' is abstract");
  auto u = object_new("bogus");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.message(), "Invalid object type 'bogus'");
}

TEST(TypeRegistry, CheckedCastByTypeName) {
  auto r = object_new("test-dog");
  Object* o = r.value().get();
  EXPECT_EQ(object_dynamic_cast(o, "test-animal"), o);
  EXPECT_EQ(object_dynamic_cast(o, "test-barker"), o);
  EXPECT_EQ(object_dynamic_cast(o, "test-puppy"), nullptr);
  EXPECT_EQ(object_dynamic_cast(nullptr, "object"), nullptr);
}

TEST(TypeRegistry, SubclassPropertyOverridesDefault) {
  auto dog = object_new("test-dog");
  EXPECT_EQ(dog.value()->property_get("legs").value(), 3);
  // Inherited through test-dog.
  auto puppy = object_new("test-puppy");
  EXPECT_EQ(puppy.value()->property_get("legs").value(), 3);
  EXPECT_EQ(puppy.value()->property_get("temperature").value(), 37);
}

}  // namespace
}  // namespace machina::test
