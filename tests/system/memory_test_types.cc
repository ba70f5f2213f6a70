// Registers the QOM types the memory tests use.
#include "memory_test_util.h"

namespace machina::test {
namespace {

TypeRegistration owner_type{TypeInfo{
    .name = kMemOwnerType, .parent = "object", .instance_new = [] { return new MemOwner; }}};

}  // namespace
}  // namespace machina::test
