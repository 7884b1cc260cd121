// What a rendezvous client call returns: a value, or a Failure that
// carries the protocol's error code (so that callers can tell "not found"
// from "timed out" from "the daemon is gone") and a message naming what
// was asked: common/result.hpp's Result with a Failure for its Error.
#pragma once

#include <string>

#include "common/result.hpp"

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

// A Result whose error is a Failure: failure() and code() name it so.
template <typename T>
class [[nodiscard]] Answer : public Result<T, Failure> {
 public:
  using Result<T, Failure>::Result;

  Code code() const { return this->ok() ? Code::kOk : failure().code; }
  // REQUIRES: !ok()
  const Failure& failure() const { return this->error(); }
};

// The value of calls that answer nothing but success.
struct Done {};

}  // namespace jobset::rendezvous
