#include "test_types.h"

namespace machina::test {
namespace {

TypeRegistration iface{TypeInfo{.name = "test-barker", .parent = "interface", .abstract = true}};

TypeRegistration animal{TypeInfo{
    .name = "test-animal",
    .parent = "object",
    .abstract = true,
    .class_init =
        [](ObjectClass& c) {
          c.add_property(prop::boolean<Animal>("tame", &Animal::tame, false, "is it tame"));
          c.add_property(prop::integer<Animal, uint8_t>("legs", &Animal::legs, 4));
          c.add_property(prop::integer<Animal, int16_t>("temperature", &Animal::temperature, 37));
          c.add_property(prop::size<Animal>("weight", &Animal::weight, 0));
          c.add_property(prop::string<Animal>("name", &Animal::name));
          c.add_property(prop::enumeration<Animal, Colour>("colour", "Colour", &Animal::colour,
                                                           {"red", "green", "blue"}, Colour::Red));
          c.add_property(prop::link<Animal>("friend", "test-animal", &Animal::friend_));
        },
}};

TypeRegistration dog{TypeInfo{
    .name = "test-dog",
    .parent = "test-animal",
    .interfaces = {"test-barker"},
    .instance_new = [] { return new Dog(); },
    .class_init =
        [](ObjectClass& c) {
          c.add_property(prop::integer<Animal, uint8_t>("legs", &Animal::legs, 3));
        },
}};

TypeRegistration puppy{TypeInfo{
    .name = "test-puppy",
    .parent = "test-dog",
    .instance_new = [] { return new Puppy(); },
}};

}  // namespace
}  // namespace machina::test
