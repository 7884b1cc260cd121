// Errors as values. A Result<T> holds either a T or an Error; each layer
// that passes an error up adds its own context in front ("hostfile
// nodes.txt:3: slots: expected a positive integer, found 'x'"), so the
// message a user finally reads says where and what. Library code never
// exits the process; main() turns the last Error into an exit code.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace jobset {

class Error {
 public:
  explicit Error(std::string message) : message_(std::move(message)) {}

  const std::string& message() const { return message_; }

  // Returns this error with `context` in front: "context: message".
  Error with_context(const std::string& context) const { return Error(context + ": " + message_); }

 private:
  std::string message_;
};

// E is the error type: Error, or one that carries more (a code, as the
// rendezvous client's Failure).
template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok()
  const E& error() const { return std::get<E>(v_); }

 private:
  std::variant<T, E> v_;
};

// A Result that carries no value: success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  // REQUIRES: !ok()
  const Error& error() const { return error_; }

 private:
  Error error_{""};
  bool ok_ = true;
};

}  // namespace jobset
