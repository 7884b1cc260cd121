// The client protocol's codec: every op survives a round trip, every field
// problem is refused with a message that names the field.
#include "rendezvous/protocol.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

using namespace jobset::rdzv;
using nlohmann::json;

namespace {

Request make(Op op, uint64_t id) {
  Request r;
  r.op = op;
  r.id = id;
  return r;
}

std::string parse_error(const std::string& line, ErrorCode* code = nullptr,
                        std::optional<uint64_t>* id = nullptr) {
  ParseInfo info;
  auto r = parse_request(line, Limits{}, &info);
  REQUIRE_FALSE(r.ok());
  if (code) *code = info.code;
  if (id) *id = info.id;
  return r.error().message();
}

}  // namespace

TEST_CASE("protocol: every op survives encode then parse", "[protocol]") {
  std::vector<Request> all;
  Request hello = make(Op::kHello, 1);
  hello.version = 1;
  hello.name = "train-workers-0-3";
  all.push_back(hello);
  Request anonymous = hello;
  anonymous.name = "";
  all.push_back(anonymous);
  Request put = make(Op::kPut, 2);
  put.key = "a/b.c:d-e_f";
  put.value = std::string("line\nwith \"quotes\" and \xc3\xa9");
  put.persistent = true;
  all.push_back(put);
  Request get = make(Op::kGet, 3);
  get.key = "k";
  get.timeout_ms = 86'400'000;
  all.push_back(get);
  Request watch = make(Op::kWatch, 4);
  watch.key = "k";
  watch.version = 7;
  watch.timeout_ms = 5;
  all.push_back(watch);
  Request lookup = make(Op::kLookup, 5);
  lookup.name = "train-workers-0-3.train";
  all.push_back(lookup);
  Request barrier = make(Op::kBarrier, kMaxId);
  barrier.scope = Scope::kReplicatedJob;
  barrier.tag = "epoch-1";
  barrier.value = "blob";
  all.push_back(barrier);
  Request plain_barrier = make(Op::kBarrier, 0);
  plain_barrier.scope = Scope::kJob;
  all.push_back(plain_barrier);
  all.push_back(make(Op::kHosts, 9));

  for (const Request& r : all) {
    std::string line = encode_request(r);
    INFO(line);
    CHECK(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);
    auto back = parse_request(line);
    REQUIRE(back.ok());
    CHECK(*back == r);
  }
}

TEST_CASE("protocol: a request in the contract's own words parses", "[protocol]") {
  auto r = parse_request(
      R"({"id":12,"op":"barrier","scope":"all","tag":"t","timeout_ms":500,"extra":[1]})");
  REQUIRE(r.ok());
  CHECK(r->id == 12);
  CHECK(r->op == Op::kBarrier);
  CHECK(r->scope == Scope::kAll);
  CHECK(r->tag == "t");
  CHECK(r->timeout_ms == 500);
  CHECK_FALSE(r->value.has_value());

  auto put = parse_request("{\"id\":1,\"op\":\"put\",\"key\":\"k\",\"value\":\"\"}\r\n");
  REQUIRE(put.ok());
  CHECK(put->value == std::optional<std::string>(""));
  CHECK_FALSE(put->persistent);
}

TEST_CASE("protocol: each field problem names the field and what was expected", "[protocol]") {
  struct Row {
    const char* line;
    const char* message;
  };
  const Row rows[] = {
      {R"({"op":"hosts"})",
       "field 'id': expected an integer from 0 to 9007199254740992, found nothing"},
      {R"({"id":-1,"op":"hosts"})",
       "field 'id': expected an integer from 0 to 9007199254740992, found -1"},
      {R"({"id":9007199254740993,"op":"hosts"})",
       "field 'id': expected an integer from 0 to 9007199254740992, found 9007199254740993"},
      {R"({"id":1.5,"op":"hosts"})",
       "field 'id': expected an integer from 0 to 9007199254740992, found 1.5"},
      {R"({"id":"1","op":"hosts"})",
       "field 'id': expected an integer from 0 to 9007199254740992, found \"1\""},
      {R"({"id":1,"op":"fly"})",
       "field 'op': expected one of hello, put, get, watch, lookup, barrier, hosts, found \"fly\""},
      {R"({"id":1})",
       "field 'op': expected one of hello, put, get, watch, lookup, barrier, hosts, found nothing"},
      {R"({"id":1,"op":"hello","name":"x"})",
       "field 'version': expected an integer from 1 to 1, found nothing"},
      {R"({"id":1,"op":"hello","version":2,"name":"x"})",
       "field 'version': expected an integer from 1 to 1, found 2"},
      {R"({"id":1,"op":"hello","version":1})",
       "field 'name': expected a string of 0 to 255 bytes, found nothing"},
      {R"({"id":1,"op":"hello","version":1,"name":7})",
       "field 'name': expected a string of 0 to 255 bytes, found 7"},
      {R"({"id":1,"op":"put","value":"v"})",
       "field 'key': expected a string of 1 to 256 bytes of [A-Za-z0-9._/:-], found nothing"},
      {R"({"id":1,"op":"put","key":"","value":"v"})",
       "field 'key': expected a string of 1 to 256 bytes of [A-Za-z0-9._/:-], found \"\""},
      {R"({"id":1,"op":"put","key":"a b","value":"v"})",
       "field 'key': expected a string of 1 to 256 bytes of [A-Za-z0-9._/:-], found \"a b\""},
      {R"({"id":1,"op":"put","key":"k"})",
       "field 'value': expected a string of 0 to 1048576 bytes, found nothing"},
      {R"({"id":1,"op":"put","key":"k","value":3})",
       "field 'value': expected a string of 0 to 1048576 bytes, found 3"},
      {R"({"id":1,"op":"put","key":"k","value":"v","persistent":"yes"})",
       "field 'persistent': expected true or false, found \"yes\""},
      {R"({"id":1,"op":"get","key":"k","timeout_ms":"x"})",
       "field 'timeout_ms': expected an integer from 0 to 86400000, found \"x\""},
      {R"({"id":1,"op":"get","key":"k","timeout_ms":86400001})",
       "field 'timeout_ms': expected an integer from 0 to 86400000, found 86400001"},
      {R"({"id":1,"op":"watch","key":"k","version":-2})",
       "field 'version': expected an integer from 0 to 9007199254740992, found -2"},
      {R"({"id":1,"op":"lookup","name":""})",
       "field 'name': expected a string of 1 to 255 bytes, found \"\""},
      {R"({"id":1,"op":"barrier"})",
       "field 'scope': expected one of \"all\", \"replicated_job\", \"job\", found nothing"},
      {R"({"id":1,"op":"barrier","scope":"world"})",
       "field 'scope': expected one of \"all\", \"replicated_job\", \"job\", found \"world\""},
      {R"({"id":1,"op":"barrier","scope":"all","value":false})",
       "field 'value': expected a string of 0 to 1048576 bytes, found false"},
  };
  for (const Row& row : rows) {
    INFO(row.line);
    CHECK(parse_error(row.line) == row.message);
  }
  std::string long_tag(65, 't');
  CHECK(parse_error(R"({"id":1,"op":"barrier","scope":"all","tag":")" + long_tag + "\"}") ==
        "field 'tag': expected a string of 0 to 64 bytes, found 65 bytes");
  std::string long_key(257, 'k');
  CHECK(parse_error(R"({"id":1,"op":"get","key":")" + long_key + "\"}")
            .starts_with("field 'key': expected a string of 1 to 256 bytes"));
  CHECK(parse_request(R"({"id":1,"op":"get","key":")" + std::string(256, 'k') + "\"}").ok());
}

TEST_CASE("protocol: a failed parse still tells the id and the error code", "[protocol]") {
  ErrorCode code{};
  std::optional<uint64_t> id;
  std::string big(size_t{1} << 20 | 1, 'v');
  std::string message =
      parse_error(R"({"id":42,"op":"put","key":"k","value":")" + big + "\"}", &code, &id);
  CHECK(code == ErrorCode::kTooLarge);
  CHECK(id == std::optional<uint64_t>(42));
  CHECK(message == "field 'value': expected a string of 0 to 1048576 bytes, found 1048577 bytes");

  parse_error(R"({"id":7,"op":"get"})", &code, &id);
  CHECK(code == ErrorCode::kBadRequest);
  CHECK(id == std::optional<uint64_t>(7));

  CHECK(parse_error("{\"id\":7,", &code, &id) == "the line is not valid JSON (UTF-8)");
  CHECK_FALSE(id.has_value());
  CHECK(parse_error("[1,2]") == "expected a JSON object, found [1,2]");
  CHECK(parse_error("{\"id\":1,\"op\":\"put\",\"key\":\"k\",\"value\":\"\xff\"}") ==
        "the line is not valid JSON (UTF-8)");
}

TEST_CASE("protocol: replies are one line with the id and ok first", "[protocol]") {
  std::string ok = ok_reply(5, {{"version", 3}, {"value", "a\nb"}});
  CHECK(ok.starts_with("{\"id\":5,\"ok\":true,"));
  CHECK(ok.back() == '\n');
  CHECK(ok.find('\n') == ok.size() - 1);
  json j = json::parse(ok);
  CHECK(j["version"] == 3);
  CHECK(j["value"] == "a\nb");
  CHECK(ok_reply(1) == "{\"id\":1,\"ok\":true}\n");

  CHECK(error_reply(std::nullopt, ErrorCode::kTooLarge, "too \"long\"") ==
        "{\"id\":null,\"ok\":false,\"error\":\"too_large\",\"message\":\"too \\\"long\\\"\"}\n");
  json e = json::parse(error_reply(9, ErrorCode::kAttemptEnded, "restart"));
  CHECK(e["id"] == 9);
  CHECK(e["ok"] == false);
  CHECK(e["error"] == "attempt_ended");
}

TEST_CASE("protocol: wire names of the enums", "[protocol]") {
  CHECK(std::string(op_name(Op::kBarrier)) == "barrier");
  CHECK(std::string(scope_name(Scope::kReplicatedJob)) == "replicated_job");
  // The contract's list, in the enum's order.
  std::string names;
  for (int c = 0; c <= static_cast<int>(ErrorCode::kUnauthorized); ++c)
    names += std::string(error_name(static_cast<ErrorCode>(c))) + " ";
  CHECK(names ==
        "bad_request not_found timeout too_large limit attempt_ended closed unauthorized ");
}

TEST_CASE("protocol: a reply body encoded once gives the same line for every id; reply_id reads it",
          "[protocol]") {
  using namespace jobset::rdzv;
  nlohmann::json extra = {{"size", 3}, {"values", {{"a", "x\"y"}, {"b", ""}}}};
  std::string body = reply_body(extra);
  for (uint64_t id : {uint64_t{0}, uint64_t{7}, kMaxId}) {
    CHECK(ok_reply_with(id, body) == ok_reply(id, extra));
    CHECK(reply_id(ok_reply_with(id, body)) == id);
    CHECK(reply_id(error_reply(id, ErrorCode::kTimeout, "t")) == id);
  }
  CHECK(ok_reply_with(1, reply_body(nlohmann::json::object())) == "{\"id\":1,\"ok\":true}\n");
  CHECK_FALSE(reply_id(error_reply(std::nullopt, ErrorCode::kTooLarge, "x")).has_value());
  CHECK_FALSE(reply_id("{\"ok\":true,\"id\":3}").has_value());
  CHECK_FALSE(reply_id("").has_value());
}
