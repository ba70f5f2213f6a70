#include <gtest/gtest.h>

#include "test_types.h"

namespace machina::test {
namespace {

class TreeTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const char* n : {"tree-a", "tree-b"}) {
      if (Object* o = container_get("/machine")->child(n)) o->unparent();
    }
  }
  Ref<Object> make(const char* type = "test-dog") { return std::move(object_new(type).value()); }
};

TEST_F(TreeTest, CanonicalPathsAndContainers) {
  EXPECT_EQ(object_root()->canonical_path(), "/");
  Object* periph = container_get("/machine/peripheral");
  EXPECT_EQ(periph->canonical_path(), "/machine/peripheral");
  EXPECT_EQ(periph->type_name(), "container");
  EXPECT_EQ(container_get("machine/peripheral"), periph);  // created once
  auto a = make();
  ASSERT_TRUE(container_get("/machine")->add_child("tree-a", a.get()).ok());
  EXPECT_EQ(a->canonical_path(), "/machine/tree-a");
  EXPECT_EQ(a->parent(), container_get("/machine"));
  auto loose = make();
  EXPECT_EQ(loose->canonical_path(), "");
}

TEST_F(TreeTest, ChildPropertyDescribesChild) {
  auto a = make("test-puppy");
  ASSERT_TRUE(container_get("/machine")->add_child("tree-a", a.get()).ok());
  const Property* p = container_get("/machine")->find_property("tree-a");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->type, "child<test-puppy>");
  EXPECT_EQ(container_get("/machine")->property_get("tree-a").value(), "/machine/tree-a");
}

TEST_F(TreeTest, StarNamesTakeFirstFreeIndex) {
  auto a = make();
  auto b = make();
  auto c = make();
  ASSERT_TRUE(container_get("/machine")->add_child("tree-a", a.get()).ok());
  ASSERT_TRUE(a->add_child("dev[*]", b.get()).ok());
  ASSERT_TRUE(a->add_child("dev[*]", c.get()).ok());
  EXPECT_EQ(b->name_in_parent(), "dev[0]");
  EXPECT_EQ(c->name_in_parent(), "dev[1]");
  b->unparent();
  auto d = make();
  ASSERT_TRUE(a->add_child("dev[*]", d.get()).ok());
  EXPECT_EQ(d->name_in_parent(), "dev[0]");
}

TEST_F(TreeTest, DuplicateChildNameAndSecondParentRefused) {
  auto a = make();
  auto b = make();
  ASSERT_TRUE(container_get("/machine")->add_child("tree-a", a.get()).ok());
  EXPECT_FALSE(container_get("/machine")->add_child("tree-a", b.get()).ok());
  EXPECT_FALSE(container_get("/machine")->add_child("tree-b", a.get()).ok());
}

TEST_F(TreeTest, AbsoluteAndPartialResolution) {
  auto a = make("test-dog");
  auto b = make("test-puppy");
  ASSERT_TRUE(container_get("/machine")->add_child("tree-a", a.get()).ok());
  ASSERT_TRUE(a->add_child("pup", b.get()).ok());
  EXPECT_EQ(object_resolve_path("/machine/tree-a/pup"), b.get());
  EXPECT_EQ(object_resolve_path("/machine/tree-a/pup/.."), a.get());
  EXPECT_EQ(object_resolve_path("/machine/none"), nullptr);
  bool amb = true;
  EXPECT_EQ(object_resolve_path("pup", &amb), b.get());
  EXPECT_FALSE(amb);
  EXPECT_EQ(object_resolve_path("tree-a/pup"), b.get());
  // Typed partial lookup: the only test-puppy in the tree.
  EXPECT_EQ(object_resolve_path_type("", "test-puppy"), nullptr);
  EXPECT_EQ(object_resolve_path_type("pup", "test-puppy"), b.get());
  EXPECT_EQ(object_resolve_path_type("pup", "container"), nullptr);
}

TEST_F(TreeTest, AmbiguousPartialPath) {
  auto a = make();
  auto b = make();
  auto p1 = make("test-puppy");
  auto p2 = make("test-puppy");
  ASSERT_TRUE(container_get("/machine")->add_child("tree-a", a.get()).ok());
  ASSERT_TRUE(container_get("/machine")->add_child("tree-b", b.get()).ok());
  ASSERT_TRUE(a->add_child("pup", p1.get()).ok());
  ASSERT_TRUE(b->add_child("pup", p2.get()).ok());
  bool amb = false;
  EXPECT_EQ(object_resolve_path("pup", &amb), nullptr);
  EXPECT_TRUE(amb);
  EXPECT_EQ(object_resolve_path("tree-b/pup", &amb), p2.get());
  EXPECT_FALSE(amb);
}

TEST_F(TreeTest, LinksAreFollowedInAbsolutePathsOnly) {
  auto a = make();
  auto b = make("test-puppy");
  ASSERT_TRUE(container_get("/machine")->add_child("tree-a", a.get()).ok());
  ASSERT_TRUE(container_get("/machine")->add_child("tree-b", b.get()).ok());
  ASSERT_TRUE(a->property_set("friend", "/machine/tree-b").ok());
  EXPECT_EQ(object_resolve_path("/machine/tree-a/friend"), b.get());
  // Partial matching walks children, not links: only one match for "tree-b".
  bool amb = false;
  EXPECT_EQ(object_resolve_path("tree-b", &amb), b.get());
  EXPECT_FALSE(amb);
  ASSERT_TRUE(a->property_set("friend", "").ok());
}

}  // namespace
}  // namespace machina::test
