#include "qom/property-types.h"

namespace machina::prop {

Error expects(std::string_view name, std::string_view what) {
  return generic_error("Parameter '" + std::string(name) + "' expects " + std::string(what));
}

Error invalid_type(std::string_view name, std::string_view what) {
  return generic_error("Invalid parameter type for '" + std::string(name) +
                       "', expected: " + std::string(what));
}

Error bad_value(const Object& o, std::string_view name, std::string_view value) {
  return generic_error("Property '" + o.type_name() + "." + std::string(name) +
                       "' doesn't take value '" + std::string(value) + "'");
}

}  // namespace machina::prop
