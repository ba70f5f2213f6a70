#include <gtest/gtest.h>

#include "qom/object-interfaces.h"
#include "qom/property-types.h"

namespace machina::test {
namespace {

class TestSecret : public Object, public UserCreatable {
 public:
  std::string data;
  bool in_use = false;
  Status complete() override {
    if (data.empty()) return generic_error("secret has no data");
    return Status::Ok();
  }
  Status can_be_deleted() override {
    if (in_use) return generic_error("object 'in use'");
    return Status::Ok();
  }
};

TypeRegistration secret_type{TypeInfo{
    .name = "test-secret",
    .parent = "object",
    .interfaces = {kTypeUserCreatable},
    .instance_new = [] { return new TestSecret(); },
    .class_init =
        [](ObjectClass& c) { c.add_property(prop::string<TestSecret>("data", &TestSecret::data)); },
}};

TEST(UserCreatable, AddsUnderObjectsAndDeletes) {
  auto r = user_creatable_add("test-secret", "sec0", {{"data", "xyz"}});
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.value()->canonical_path(), "/objects/sec0");
  EXPECT_EQ(r.value()->property_get("data").value(), "xyz");
  EXPECT_EQ(user_creatable_add("test-secret", "sec0", {{"data", "x"}}).message(),
            "attempt to add duplicate property 'sec0' to object (type 'container')");
  ASSERT_TRUE(user_creatable_del("sec0").ok());
  EXPECT_EQ(container_get("/objects")->child("sec0"), nullptr);
  EXPECT_EQ(user_creatable_del("sec0").message(), "object 'sec0' not found");
}

TEST(UserCreatable, Errors) {
  EXPECT_EQ(user_creatable_add("nope", "a", {}).message(), "invalid object type: nope");
  EXPECT_EQ(user_creatable_add("container", "a", {}).message(),
            "object type 'container' isn't supported by object-add");
  EXPECT_EQ(user_creatable_add("test-secret", "1a", {}).message(),
            "Parameter 'id' expects an identifier");
  EXPECT_EQ(user_creatable_add("test-secret", "b", {}).message(), "secret has no data");
  EXPECT_EQ(container_get("/objects")->child("b"), nullptr);
}

TEST(UserCreatable, InUseObjectRefusesDeletion) {
  auto r = user_creatable_add("test-secret", "sec1", {{"data", "x"}});
  ASSERT_TRUE(r.ok());
  static_cast<TestSecret*>(r.value())->in_use = true;
  EXPECT_FALSE(user_creatable_del("sec1").ok());
  static_cast<TestSecret*>(r.value())->in_use = false;
  EXPECT_TRUE(user_creatable_del("sec1").ok());
}

TEST(ObjectType, EveryObjectHasTypeProperty) {
  auto r = object_new("test-secret");
  EXPECT_EQ(r.value()->property_get("type").value(), "test-secret");
}

}  // namespace
}  // namespace machina::test
