// Errors as QMP reports them: a class and a human-readable description.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace machina {

enum class ErrorClass {
  GenericError,
  CommandNotFound,
  DeviceNotFound,
  DeviceNotActive,
  KVMMissingCap
};

const char* error_class_name(ErrorClass c);

struct Error {
  ErrorClass cls = ErrorClass::GenericError;
  std::string desc;
};

inline Error generic_error(std::string desc) {
  return Error{ErrorClass::GenericError, std::move(desc)};
}

// Success or an Error. Must be inspected.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error e) : err_(std::move(e)) {}  // NOLINT: implicit by design
  static Status Ok() { return Status(); }
  bool ok() const { return !err_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *err_; }
  Error& error() { return *err_; }
  const std::string& message() const { return err_->desc; }

 private:
  std::optional<Error> err_;
};

// A value or an Error. Must be inspected.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T v) : v_(std::move(v)) {}               // NOLINT: implicit by design
  Result(Error e) : v_(std::move(e)) {}           // NOLINT: implicit by design
  Result(Status s) : v_(std::move(s.error())) {}  // NOLINT: only from a failed Status
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(v_); }
  const std::string& message() const { return std::get<1>(v_).desc; }
  Status status() const { return ok() ? Status() : Status(error()); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace machina
