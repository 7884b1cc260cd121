// The rendezvous client protocol, version 1 (PROTOCOL.md): the request and
// reply model and its codec. Pure data plus encoding; the connection logic
// is in session.hpp, the store that answers in store.hpp.
//
// Wire format: one JSON object a line, '\n'-terminated, both ways. Every
// request has an integer "id" and an "op"; every reply repeats the id and
// says "ok": true (with the op's fields) or "ok": false with an "error"
// code and a human "message". Unknown fields of a request are ignored, so
// a newer client may add fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace jobset::rdzv {

inline constexpr int kProtocolVersion = 1;

// The contract's bounds. Defaults are the protocol's; tests shrink them.
struct Limits {
  size_t max_line = (size_t{1} << 20) + 4096;  // one line, with its '\n'
  size_t max_key = 256;                        // bytes of a key
  size_t max_value = size_t{1} << 20;          // bytes of one value
  size_t max_tag = 64;                         // bytes of a barrier tag
  size_t max_name = 255;                       // bytes of a name (a DNS name's bound)
  int64_t max_timeout_ms = int64_t{24} * 3600 * 1000;
  // Per process (per hello name; per connection for the name ""):
  size_t max_keys = 4096;                     // keys put
  size_t max_value_bytes = size_t{16} << 20;  // bytes of the values of those keys
  size_t max_waiting = 64;                    // requests waiting in the store at once
  // Per connection, in the daemon: requests forwarded and not yet answered
  // (the waiting ones plus pipelined quick ones), and bytes read from the
  // socket but not yet fed (the daemon's own bound; Session never sees it).
  size_t max_in_flight = 256;
  size_t max_unread = size_t{4} << 20;
};

enum class Op { kHello, kPut, kGet, kWatch, kLookup, kBarrier, kHosts };
enum class Scope { kAll, kReplicatedJob, kJob };
enum class ErrorCode {
  kBadRequest,
  kNotFound,
  kTimeout,
  kTooLarge,
  kLimit,
  kAttemptEnded,
  kClosed,
  kUnauthorized,
};

// Wire names: "hello", "replicated_job", "attempt_ended", ...
const char* op_name(Op op);
const char* scope_name(Scope scope);
const char* error_name(ErrorCode code);

// One request. Each op uses the fields its comment names; the others keep
// their defaults (and are neither read nor written on the wire).
struct Request {
  uint64_t id = 0;       // 0 .. 2^53 (a JSON number every language reads exactly)
  Op op = Op::kHello;    //
  uint64_t version = 0;  // hello: the protocol version (1); watch: the version seen
  std::string name;      // hello: the caller's name ("" allowed); lookup: a name or FQDN
  std::string key;       // put, get, watch
  std::optional<std::string> value;  // put (required); barrier (optional per-member payload)
  bool persistent = false;           // put
  int64_t timeout_ms = 0;            // get, watch, lookup, barrier; 0 .. max_timeout_ms
  Scope scope = Scope::kAll;         // barrier
  std::string tag;                   // barrier

  bool operator==(const Request&) const = default;
};

inline constexpr uint64_t kMaxId = uint64_t{1} << 53;

// What a failed parse could still tell: the request's id when it was read
// (so the error reply can carry it) and the error code to answer with
// (bad_request, or too_large for a value over max_value).
struct ParseInfo {
  std::optional<uint64_t> id;
  ErrorCode code = ErrorCode::kBadRequest;
};

// Reads one request line (with or without its '\n'); every field is checked
// against `limits`. Errors name the field and what was expected:
// "field 'timeout_ms': expected an integer from 0 to 86400000, found \"x\"".
// `info`, when given, is filled in on failure and on success alike.
Result<Request> parse_request(std::string_view line, const Limits& limits = Limits{},
                              ParseInfo* info = nullptr);

// One '\n'-terminated line; parse_request(encode_request(r)) == r for every
// request that parse_request accepts.
std::string encode_request(const Request& request);

// Replies, each one '\n'-terminated line: {"id":..,"ok":true, ...extra}
// (extra must be a JSON object, possibly empty) and {"id":..|null,
// "ok":false,"error":"<code>","message":".."}.
std::string ok_reply(uint64_t id, const nlohmann::json& extra = nlohmann::json::object());
std::string error_reply(std::optional<uint64_t> id, ErrorCode code, std::string_view message);

// The same reply to many requests (a barrier's, with everyone's values)
// is encoded once: reply_body(extra) is the part after "ok":true, and
// ok_reply_with(id, body) == ok_reply(id, extra).
std::string reply_body(const nlohmann::json& extra);
std::string ok_reply_with(uint64_t id, std::string_view body);

// The id of a reply line made by ok_reply or error_reply, read from its
// start without parsing the rest (a reply may carry megabytes of values);
// nullopt for id null or a line made otherwise.
std::optional<uint64_t> reply_id(std::string_view line);

}  // namespace jobset::rdzv
