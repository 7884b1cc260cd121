// What a rendezvous client call returns: a value, or a Failure that
// carries the protocol's error code (so that callers can tell "not found"
// from "timed out" from "the daemon is gone") and a message naming what
// was asked. common/result.hpp's Error has no code; this is its
// counterpart for the one library whose callers branch on the reason.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace jobset::rendezvous {

// The contract's error codes (rdzv-contract.md), then the client's own:
// kIo (no connection, or it broke) and kProto (a reply that is not the
// protocol). The C ABI's jobset_rdzv_code mirrors this order.
enum class Code {
  kOk,
  kBadRequest,
  kNotFound,
  kTimeout,
  kTooLarge,
  kLimit,
  kAttemptEnded,
  kClosed,
  kUnauthorized,
  kIo,
  kProto,
};

// The wire name of a code ("not_found"); "io" and "protocol" for the
// client's own.
const char* code_name(Code code);
// The code of a wire name; kProto for a name the contract does not have.
Code code_of(const std::string& name);

struct Failure {
  Code code;
  std::string message;

  Failure with_context(const std::string& context) const {
    return {code, context + ": " + message};
  }
};

template <typename T>
class [[nodiscard]] Answer {
 public:
  Answer(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Answer(Failure failure) : v_(std::move(failure)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  Code code() const { return ok() ? Code::kOk : failure().code; }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok()
  const Failure& failure() const { return std::get<Failure>(v_); }

 private:
  std::variant<T, Failure> v_;
};

// The value of calls that answer nothing but success.
struct Done {};

}  // namespace jobset::rendezvous
