// The user-creatable interface (QEMU's TYPE_USER_CREATABLE): objects made with -object and
// object-add, which live at /objects/ID.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "qom/object.h"

namespace machina {

inline constexpr const char* kTypeUserCreatable = "user-creatable";

class UserCreatable {
 public:
  virtual ~UserCreatable() = default;
  // Called once all properties are set (QEMU's complete()).
  virtual Status complete() { return Status::Ok(); }
  // object-del refuses while this returns an error (e.g. a backend still claimed by a device).
  virtual Status can_be_deleted() { return Status::Ok(); }
};

// -object / object-add: creates `type` with `props`, completes it, adds it as /objects/ID.
// String values are parsed as from the command line; others are set as JSON.
Result<Object*> user_creatable_add(const std::string& type, const std::string& id,
                                   const std::vector<std::pair<std::string, json>>& props);
// object-del.
Status user_creatable_del(const std::string& id);

}  // namespace machina
