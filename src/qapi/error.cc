#include "qapi/error.h"

namespace machina {

const char* error_class_name(ErrorClass c) {
  switch (c) {
    case ErrorClass::GenericError:
      return "GenericError";
    case ErrorClass::CommandNotFound:
      return "CommandNotFound";
    case ErrorClass::DeviceNotFound:
      return "DeviceNotFound";
    case ErrorClass::DeviceNotActive:
      return "DeviceNotActive";
    case ErrorClass::KVMMissingCap:
      return "KVMMissingCap";
  }
  return "GenericError";
}

}  // namespace machina
