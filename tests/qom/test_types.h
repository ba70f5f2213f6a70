// QOM types used by the object-model tests.
#pragma once

#include <string>
#include <vector>

#include "qom/object.h"
#include "qom/property-types.h"

namespace machina::test {

// Records finalizer runs, most derived first.
inline std::vector<std::string>& finalize_log() {
  static std::vector<std::string> log;
  return log;
}

enum class Colour { Red, Green, Blue };

class Animal : public Object {
 public:
  ~Animal() override { finalize_log().push_back("animal"); }
  bool tame = false;
  uint8_t legs = 4;
  int16_t temperature = 37;
  uint64_t weight = 0;
  std::string name;
  Colour colour = Colour::Red;
  Ref<Object> friend_;
};

class Dog : public Animal {
 public:
  ~Dog() override { finalize_log().push_back("dog"); }
};

class Puppy : public Dog {
 public:
  ~Puppy() override { finalize_log().push_back("puppy"); }
};

}  // namespace machina::test
