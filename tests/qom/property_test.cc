#include <gtest/gtest.h>

#include "test_types.h"

namespace machina::test {
namespace {

class PropertyTest : public ::testing::Test {
 protected:
  Ref<Object> dog = std::move(object_new("test-dog").value());
  Animal& a() { return static_cast<Animal&>(*dog); }
};

TEST_F(PropertyTest, BoolFromStringsAcceptsQemuSpellings) {
  for (const char* s : {"on", "yes", "true"}) {
    a().tame = false;
    ASSERT_TRUE(dog->property_parse("tame", s).ok()) << s;
    EXPECT_TRUE(a().tame) << s;
  }
  for (const char* s : {"off", "no", "false"}) {
    a().tame = true;
    ASSERT_TRUE(dog->property_parse("tame", s).ok()) << s;
    EXPECT_FALSE(a().tame) << s;
  }
  Status s = dog->property_parse("tame", "maybe");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "Parameter 'tame' expects 'on' or 'off'");
}

TEST_F(PropertyTest, BoolFromJsonChecksType) {
  ASSERT_TRUE(dog->property_set("tame", true).ok());
  EXPECT_TRUE(a().tame);
  Status s = dog->property_set("tame", "on");
  EXPECT_EQ(s.message(), "Invalid parameter type for 'tame', expected: boolean");
}

TEST_F(PropertyTest, UnsignedRangeChecks) {
  ASSERT_TRUE(dog->property_parse("legs", "255").ok());
  EXPECT_EQ(a().legs, 255);
  ASSERT_TRUE(dog->property_parse("legs", "0x10").ok());
  EXPECT_EQ(a().legs, 16);
  EXPECT_EQ(dog->property_parse("legs", "256").message(), "Parameter 'legs' expects uint8_t");
  EXPECT_EQ(dog->property_parse("legs", "-1").message(), "Parameter 'legs' expects integer");
  EXPECT_EQ(dog->property_parse("legs", "four").message(), "Parameter 'legs' expects integer");
  EXPECT_EQ(dog->property_set("legs", 300).message(), "Parameter 'legs' expects uint8_t");
  EXPECT_EQ(dog->property_set("legs", -3).message(), "Parameter 'legs' expects uint8_t");
  EXPECT_EQ(dog->property_set("legs", "3").message(),
            "Invalid parameter type for 'legs', expected: integer");
  EXPECT_EQ(a().legs, 16);  // failed sets leave the value alone
}

TEST_F(PropertyTest, SignedRangeChecks) {
  ASSERT_TRUE(dog->property_parse("temperature", "-32768").ok());
  EXPECT_EQ(a().temperature, -32768);
  EXPECT_EQ(dog->property_parse("temperature", "32768").message(),
            "Parameter 'temperature' expects int16_t");
  ASSERT_TRUE(dog->property_set("temperature", 32767).ok());
  EXPECT_EQ(dog->property_get("temperature").value(), 32767);
}

TEST_F(PropertyTest, SizesWithSuffixes) {
  struct Case {
    const char* in;
    uint64_t out;
  } cases[] = {{"4k", 4096},
               {"512M", 512ull << 20},
               {"1G", 1ull << 30},
               {"1T", 1ull << 40},
               {"12345", 12345},
               {"1.5G", 3ull << 29},
               {"0", 0}};
  for (auto& c : cases) {
    ASSERT_TRUE(dog->property_parse("weight", c.in).ok()) << c.in;
    EXPECT_EQ(a().weight, c.out) << c.in;
  }
  for (const char* bad : {"", "1Q", "-1", "k", "1.5", "99999999999999999999"}) {
    EXPECT_EQ(dog->property_parse("weight", bad).message(),
              "Parameter 'weight' expects a non-negative number below 2^64")
        << bad;
  }
  ASSERT_TRUE(dog->property_set("weight", 1024).ok());
  EXPECT_EQ(a().weight, 1024u);
}

TEST_F(PropertyTest, Strings) {
  ASSERT_TRUE(dog->property_parse("name", "rex, the dog").ok());
  EXPECT_EQ(dog->property_get("name").value(), "rex, the dog");
  EXPECT_EQ(dog->property_set("name", 5).message(),
            "Invalid parameter type for 'name', expected: string");
}

TEST_F(PropertyTest, Enums) {
  EXPECT_EQ(dog->property_get("colour").value(), "red");
  ASSERT_TRUE(dog->property_parse("colour", "blue").ok());
  EXPECT_EQ(a().colour, Colour::Blue);
  EXPECT_EQ(dog->property_parse("colour", "pink").message(),
            "Parameter 'colour' does not accept value 'pink'");
}

TEST_F(PropertyTest, UnknownPropertyNamesType) {
  EXPECT_EQ(dog->property_set("wings", 2).message(), "Property 'test-dog.wings' not found");
}

TEST_F(PropertyTest, BadValueTextForQdevStyleProperties) {
  EXPECT_EQ(prop::bad_value(*dog, "addr", "zz.1").desc,
            "Property 'test-dog.addr' doesn't take value 'zz.1'");
}

TEST_F(PropertyTest, InstancePropertiesAndDescriptions) {
  int calls = 0;
  Property p;
  p.name = "counter";
  p.type = "int";
  p.get = [&calls](Object&) -> Result<json> { return json(++calls); };
  ASSERT_TRUE(dog->add_property(p).ok());
  EXPECT_EQ(dog->property_get("counter").value(), 1);
  EXPECT_FALSE(dog->add_property(p).ok());  // duplicate
  EXPECT_EQ(dog->property_set("counter", 1).message(), "Property 'counter' is not writable");
  auto props = dog->properties();
  EXPECT_EQ(props.front()->name, "counter");  // instance properties first
  const Property* tame = dog->find_property("tame");
  ASSERT_NE(tame, nullptr);
  EXPECT_EQ(tame->description, "is it tame");
  EXPECT_EQ(*tame->default_value, false);
  ASSERT_TRUE(dog->del_property("counter").ok());
  EXPECT_EQ(dog->find_property("counter"), nullptr);
}

TEST_F(PropertyTest, LinkResolvesPathAndHoldsReference) {
  auto other = object_new("test-puppy");
  Ref<Object> buddy = std::move(other.value());
  ASSERT_TRUE(container_get("/objects")->add_child("buddy", buddy.get()).ok());
  ASSERT_TRUE(dog->property_set("friend", "/objects/buddy").ok());
  EXPECT_EQ(dog->property_get("friend").value(), "/objects/buddy");
  EXPECT_EQ(a().friend_.get(), buddy.get());
  EXPECT_EQ(buddy->refcount(), 3u);  // ours, the tree's, the link's
  Status bad = dog->property_set("friend", "/objects/nothing");
  EXPECT_EQ(bad.error().cls, ErrorClass::DeviceNotFound);
  ASSERT_TRUE(dog->property_set("friend", "").ok());
  EXPECT_EQ(buddy->refcount(), 2u);
  buddy->unparent();
}

TEST_F(PropertyTest, LinkRefusesWrongTargetType) {
  Object* objects = container_get("/objects");
  Status s = dog->property_set("friend", objects->canonical_path());
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace machina::test
