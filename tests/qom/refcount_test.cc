#include <gtest/gtest.h>

#include <thread>

#include "test_types.h"

namespace machina::test {
namespace {

TEST(Refcount, FinalizeRunsAtZeroMostDerivedFirst) {
  finalize_log().clear();
  Object* o = object_new("test-puppy").value().release();
  EXPECT_EQ(o->refcount(), 1u);
  o->ref();
  o->unref();
  EXPECT_TRUE(finalize_log().empty());
  o->unref();
  EXPECT_EQ(finalize_log(), (std::vector<std::string>{"puppy", "dog", "animal"}));
}

TEST(Refcount, TreeHoldsOneReferenceAndUnparentDropsIt) {
  finalize_log().clear();
  Ref<Object> dog = std::move(object_new("test-dog").value());
  ASSERT_TRUE(container_get("/machine")->add_child("ref-dog", dog.get()).ok());
  EXPECT_EQ(dog->refcount(), 2u);
  Object* raw = dog.get();
  dog.reset();
  EXPECT_TRUE(finalize_log().empty());  // the tree still holds it
  EXPECT_EQ(raw->refcount(), 1u);
  raw->unparent();
  EXPECT_EQ(finalize_log(), (std::vector<std::string>{"dog", "animal"}));
  EXPECT_EQ(container_get("/machine")->child("ref-dog"), nullptr);
}

TEST(Refcount, NeverFinalizedWhileAReferenceExists) {
  finalize_log().clear();
  Ref<Object> dog = std::move(object_new("test-dog").value());
  ASSERT_TRUE(container_get("/machine")->add_child("ref-dog2", dog.get()).ok());
  Ref<Object> extra = dog;  // e.g. an in-flight request
  dog->unparent();
  dog.reset();
  EXPECT_TRUE(finalize_log().empty());
  EXPECT_EQ(extra->parent(), nullptr);
  extra.reset();
  EXPECT_EQ(finalize_log().size(), 2u);
}

TEST(Refcount, ChildrenReleasedBeforeParentFinalizers) {
  finalize_log().clear();
  Ref<Object> parent = std::move(object_new("test-dog").value());
  Ref<Object> child = std::move(object_new("test-puppy").value());
  ASSERT_TRUE(parent->add_child("pup", child.get()).ok());
  child.reset();
  parent.reset();
  EXPECT_EQ(finalize_log(), (std::vector<std::string>{"puppy", "dog", "animal", "dog", "animal"}));
}

TEST(Refcount, ConcurrentRefUnrefIsExact) {
  finalize_log().clear();
  Object* o = object_new("test-dog").value().release();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([o] {
      for (int i = 0; i < 100000; ++i) {
        o->ref();
        o->unref();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(finalize_log().empty());
  EXPECT_EQ(o->refcount(), 1u);
  o->unref();
  EXPECT_EQ(finalize_log().size(), 2u);
}

}  // namespace
}  // namespace machina::test
