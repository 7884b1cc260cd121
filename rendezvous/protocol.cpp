// The rendezvous codec (protocol.hpp).
//
// Each op has one row in kOps: its wire name and the fields it reads. The
// reader checks the fields of the row and nothing else, in a fixed order,
// so that a request with two problems always reports the same one first;
// the writer emits the same fields. Field problems become "field 'f':
// expected <what>, found <the JSON text, shortened>".
#include "rendezvous/protocol.hpp"

#include <array>
#include <string>
#include <utility>

namespace jobset::rdzv {

namespace {

using nlohmann::json;

// The fields an op may carry, as bits.
enum Fields : unsigned {
  kVersion = 1U << 0,
  kName = 1U << 1,
  kKey = 1U << 2,
  kValue = 1U << 3,  // required for put, optional for barrier
  kPersistent = 1U << 4,
  kTimeout = 1U << 5,
  kScope = 1U << 6,
  kTag = 1U << 7,
};

struct OpRow {
  Op op;
  const char* name;
  unsigned fields;
};
constexpr std::array<OpRow, 7> kOps{{
    {Op::kHello, "hello", kVersion | kName},
    {Op::kPut, "put", kKey | kValue | kPersistent},
    {Op::kGet, "get", kKey | kTimeout},
    {Op::kWatch, "watch", kKey | kVersion | kTimeout},
    {Op::kLookup, "lookup", kName | kTimeout},
    {Op::kBarrier, "barrier", kScope | kTag | kTimeout | kValue},
    {Op::kHosts, "hosts", 0},
}};

constexpr std::array<std::pair<Scope, const char*>, 3> kScopes{{
    {Scope::kAll, "all"},
    {Scope::kReplicatedJob, "replicated_job"},
    {Scope::kJob, "job"},
}};

constexpr std::array<std::pair<ErrorCode, const char*>, 8> kErrors{{
    {ErrorCode::kBadRequest, "bad_request"},
    {ErrorCode::kNotFound, "not_found"},
    {ErrorCode::kTimeout, "timeout"},
    {ErrorCode::kTooLarge, "too_large"},
    {ErrorCode::kLimit, "limit"},
    {ErrorCode::kAttemptEnded, "attempt_ended"},
    {ErrorCode::kClosed, "closed"},
    {ErrorCode::kUnauthorized, "unauthorized"},
}};

const OpRow& row_of(Op op) {
  for (const OpRow& row : kOps)
    if (row.op == op) return row;
  return kOps[0];  // unreachable: every Op has a row
}

// JSON text that never throws: bytes that are not UTF-8 become U+FFFD.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The value as the error message shows it: its JSON text, at most ~40 bytes.
std::string shown(const json& j) {
  std::string text = dump(j);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '/' || c == ':' || c == '-';
}

// Reads the fields of one request object; the first problem wins.
class Reader {
 public:
  Reader(const json& j, const Limits& limits, ParseInfo& info)
      : j_(j), limits_(limits), info_(info) {}

  bool failed() const { return error_.has_value(); }
  Error error() const { return error_.value_or(Error("")); }

  // The value of `field`, or nullptr when it is absent (or a problem was
  // already found). A JSON null counts as absent.
  const json* find(const char* field) const {
    if (failed()) return nullptr;
    auto it = j_.find(field);
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  void fail(const char* field, const std::string& expected, const json* found) {
    fail_as(ErrorCode::kBadRequest, field, expected, found ? shown(*found) : "nothing");
  }
  void fail_as(ErrorCode code, const char* field, const std::string& expected,
               const std::string& found) {
    if (failed()) return;
    error_ = Error(std::string("field '") + field + "': expected " + expected + ", found " + found);
    info_.code = code;
  }

  // An integer in [lo, hi]; `out` keeps its default when the field is absent
  // and not required.
  template <typename T>
  void integer(const char* field, uint64_t lo, uint64_t hi, bool required, T& out) {
    const json* v = find(field);
    if (!v) {
      if (required) fail(field, range_text(lo, hi), nullptr);
      return;
    }
    if (!v->is_number_unsigned() || v->get<uint64_t>() < lo || v->get<uint64_t>() > hi)
      return fail(field, range_text(lo, hi), v);
    out = static_cast<T>(v->get<uint64_t>());
  }

  // A string of at most `max` bytes (at least 1 when `nonempty`).
  void string(const char* field, size_t max, bool nonempty, bool required, std::string& out,
              ErrorCode too_long = ErrorCode::kBadRequest) {
    const json* v = find(field);
    std::string what = "a string of " + std::string(nonempty ? "1" : "0") + " to " +
                       std::to_string(max) + " bytes";
    if (!v) {
      if (required) fail(field, what, nullptr);
      return;
    }
    if (!v->is_string()) return fail(field, what, v);
    const auto& s = v->get_ref<const std::string&>();
    if (s.size() > max) return fail_as(too_long, field, what, std::to_string(s.size()) + " bytes");
    if (nonempty && s.empty()) return fail(field, what, v);
    out = s;
  }

  void boolean(const char* field, bool& out) {
    const json* v = find(field);
    if (!v) return;
    if (!v->is_boolean()) return fail(field, "true or false", v);
    out = v->get<bool>();
  }

  void key(std::string& out) {
    const json* v = find("key");
    std::string what =
        "a string of 1 to " + std::to_string(limits_.max_key) + " bytes of [A-Za-z0-9._/:-]";
    if (!v || !v->is_string()) return fail("key", what, v);
    const auto& s = v->get_ref<const std::string&>();
    bool good = !s.empty() && s.size() <= limits_.max_key;
    for (char c : s) good = good && key_char(c);
    if (!good) return fail("key", what, v);
    out = s;
  }

  void scope(Scope& out) {
    const json* v = find("scope");
    const char* what = "one of \"all\", \"replicated_job\", \"job\"";
    if (!v || !v->is_string()) return fail("scope", what, v);
    for (const auto& [scope, name] : kScopes) {
      if (v->get_ref<const std::string&>() == name) {
        out = scope;
        return;
      }
    }
    fail("scope", what, v);
  }

 private:
  static std::string range_text(uint64_t lo, uint64_t hi) {
    return "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  }

  const json& j_;
  const Limits& limits_;
  ParseInfo& info_;
  std::optional<Error> error_;
};

void read_fields(Reader& r, unsigned fields, const Limits& limits, Request& q) {
  if ((fields & kVersion) != 0) {
    if (q.op == Op::kHello) {
      r.integer("version", kProtocolVersion, kProtocolVersion, true, q.version);
    } else {
      r.integer("version", 0, kMaxId, false, q.version);
    }
  }
  if ((fields & kName) != 0) {
    r.string("name", limits.max_name, q.op == Op::kLookup, true, q.name);
  }
  if ((fields & kKey) != 0) r.key(q.key);
  if ((fields & kValue) != 0) {
    bool required = q.op == Op::kPut;
    if (required || r.find("value") != nullptr) {
      std::string value;
      r.string("value", limits.max_value, false, required, value, ErrorCode::kTooLarge);
      if (!r.failed()) q.value = std::move(value);
    }
  }
  if ((fields & kPersistent) != 0) r.boolean("persistent", q.persistent);
  if ((fields & kTimeout) != 0) {
    r.integer("timeout_ms", 0, static_cast<uint64_t>(limits.max_timeout_ms), false, q.timeout_ms);
  }
  if ((fields & kScope) != 0) r.scope(q.scope);
  if ((fields & kTag) != 0) r.string("tag", limits.max_tag, false, false, q.tag);
}

}  // namespace

const char* op_name(Op op) { return row_of(op).name; }

const char* scope_name(Scope scope) {
  for (const auto& [s, name] : kScopes)
    if (s == scope) return name;
  return "?";
}

const char* error_name(ErrorCode code) {
  for (const auto& [c, name] : kErrors)
    if (c == code) return name;
  return "?";
}

Result<Request> parse_request(std::string_view line, const Limits& limits, ParseInfo* info) {
  ParseInfo scratch;
  ParseInfo& out = info ? *info : scratch;
  out = ParseInfo{};
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error("the line is not valid JSON (UTF-8)");
  if (!j.is_object()) return Error("expected a JSON object, found " + shown(j));

  Request q;
  Reader r(j, limits, out);
  r.integer("id", 0, kMaxId, true, q.id);
  if (r.failed()) return r.error();
  out.id = q.id;

  const json* op = r.find("op");
  const OpRow* row = nullptr;
  for (const OpRow& candidate : kOps)
    if (op && op->is_string() && op->get_ref<const std::string&>() == candidate.name)
      row = &candidate;
  if (!row) {
    r.fail("op", "one of hello, put, get, watch, lookup, barrier, hosts", op);
    return r.error();
  }
  q.op = row->op;
  read_fields(r, row->fields, limits, q);
  if (r.failed()) return r.error();
  return q;
}

std::string encode_request(const Request& q) {
  const OpRow& row = row_of(q.op);
  json j = json::object();
  j["id"] = q.id;
  j["op"] = row.name;
  if ((row.fields & kVersion) != 0) j["version"] = q.version;
  if ((row.fields & kName) != 0) j["name"] = q.name;
  if ((row.fields & kKey) != 0) j["key"] = q.key;
  if ((row.fields & kValue) != 0 && q.value) j["value"] = *q.value;
  if ((row.fields & kPersistent) != 0) j["persistent"] = q.persistent;
  if ((row.fields & kTimeout) != 0 && q.timeout_ms != 0) j["timeout_ms"] = q.timeout_ms;
  if ((row.fields & kScope) != 0) j["scope"] = scope_name(q.scope);
  if ((row.fields & kTag) != 0 && !q.tag.empty()) j["tag"] = q.tag;
  return dump(j) + "\n";
}

std::string ok_reply(uint64_t id, const json& extra) {
  return ok_reply_with(id, reply_body(extra));
}

// Written by hand so that "id" and "ok" come first, as a reader expects.
std::string reply_body(const json& extra) {
  std::string body;
  if (extra.is_object()) {
    for (const auto& [k, v] : extra.items()) {
      body += ',';
      body += dump(json(k));
      body += ':';
      body += dump(v);
    }
  }
  return body;
}

std::string ok_reply_with(uint64_t id, std::string_view body) {
  std::string line = "{\"id\":" + std::to_string(id) + ",\"ok\":true";
  line.reserve(line.size() + body.size() + 2);
  line.append(body);
  line += "}\n";
  return line;
}

std::optional<uint64_t> reply_id(std::string_view line) {
  constexpr std::string_view kPrefix = "{\"id\":";
  if (line.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  uint64_t id = 0;
  size_t i = kPrefix.size(), digits = 0;
  for (; i < line.size() && line[i] >= '0' && line[i] <= '9' && digits < 16; ++i, ++digits)
    id = id * 10 + static_cast<uint64_t>(line[i] - '0');
  if (digits == 0 || i >= line.size() || line[i] != ',') return std::nullopt;
  return id;
}

std::string error_reply(std::optional<uint64_t> id, ErrorCode code, std::string_view message) {
  std::string line = "{\"id\":" + (id ? std::to_string(*id) : std::string("null")) +
                     ",\"ok\":false,\"error\":\"" + error_name(code) +
                     "\",\"message\":" + dump(json(std::string(message)));
  return line + "}\n";
}

}  // namespace jobset::rdzv
