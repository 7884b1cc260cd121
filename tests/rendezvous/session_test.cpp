// One client connection as the daemon sees it: framing, hello first, the
// barrier rule for anonymous clients, the flood bound, and closing.
#include "rendezvous/session.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

using namespace jobset::rdzv;
using nlohmann::json;
using Kind = Action::Kind;

namespace {

const std::string kHello = R"({"id":1,"op":"hello","version":1,"name":"w-0"})"
                           "\n";

// The one reply among `actions`, as JSON.
json reply_of(const std::vector<Action>& actions) {
  for (const Action& a : actions)
    if (a.kind == Kind::kReply) return json::parse(a.text);
  FAIL("no reply");
  return {};
}

bool closes(const std::vector<Action>& actions) {
  return !actions.empty() && actions.back().kind == Kind::kClose;
}

Session greeted(Limits limits = Limits{}) {
  Session s(limits);
  auto a = s.feed(kHello);
  REQUIRE(a.size() == 1);
  REQUIRE(a[0].kind == Kind::kForward);
  s.answered(1);
  return s;
}

}  // namespace

TEST_CASE("session: the hello is forwarded and the name recorded", "[session]") {
  Session s;
  CHECK_FALSE(s.said_hello());
  auto a = s.feed(kHello);
  REQUIRE(a.size() == 1);
  CHECK(a[0].kind == Kind::kForward);
  CHECK(a[0].request.op == Op::kHello);
  CHECK(a[0].request.name == "w-0");
  CHECK(s.said_hello());
  CHECK(s.name() == "w-0");
  CHECK(s.in_flight() == 1);
  s.answered(1);
  CHECK(s.in_flight() == 0);
}

TEST_CASE("session: lines cut anywhere are put back together", "[session]") {
  Session s;
  std::string bytes = kHello + R"({"id":2,"op":"get","key":"k"})"
                               "\r\n\n"
                               R"({"id":3,"op":"hosts"})"
                               "\n";
  std::vector<Action> all;
  for (char c : bytes) {
    auto a = s.feed(std::string_view(&c, 1));
    all.insert(all.end(), a.begin(), a.end());
  }
  REQUIRE(all.size() == 3);
  CHECK(all[0].request.op == Op::kHello);
  CHECK(all[1].request.op == Op::kGet);
  CHECK(all[1].request.key == "k");
  CHECK(all[2].request.op == Op::kHosts);
  for (const Action& a : all) CHECK(a.kind == Kind::kForward);

  // Several lines in one read, the last one partial.
  Session t = greeted();
  auto a = t.feed(R"({"id":5,"op":"hosts"})"
                  "\n"
                  R"({"id":6,"op":"ho)");
  REQUIRE(a.size() == 1);
  CHECK(a[0].request.id == 5);
  a = t.feed("sts\"}\n");
  REQUIRE(a.size() == 1);
  CHECK(a[0].request.id == 6);
}

TEST_CASE("session: anything before hello is refused and closes", "[session]") {
  Session s;
  auto a = s.feed(R"({"id":4,"op":"hosts"})"
                  "\n" +
                  kHello);
  REQUIRE(a.size() == 2);
  CHECK(closes(a));
  json r = reply_of(a);
  CHECK(r["id"] == 4);
  CHECK(r["error"] == "bad_request");
  CHECK(r["message"] == "the first request must be hello, found hosts");
  CHECK(s.feed(kHello).empty());  // closed: the hello after it is ignored
  CHECK_FALSE(s.said_hello());

  Session garbage;
  a = garbage.feed("not json\n");
  CHECK(closes(a));
  CHECK(reply_of(a)["error"] == "bad_request");
}

TEST_CASE("session: malformed requests after hello are answered, the connection stays",
          "[session]") {
  Session s = greeted();
  auto a = s.feed(R"({"id":8,"op":"get","key":"bad key"})"
                  "\n"
                  "{oops\n"
                  R"({"id":9,"op":"hosts"})"
                  "\n");
  REQUIRE(a.size() == 3);
  json first = json::parse(a[0].text);
  CHECK(first["id"] == 8);
  CHECK(first["error"] == "bad_request");
  CHECK(first["message"].get<std::string>().starts_with("field 'key': expected"));
  json second = json::parse(a[1].text);
  CHECK(second["id"].is_null());
  CHECK(a[2].kind == Kind::kForward);
  CHECK_FALSE(s.closed());

  a = s.feed(kHello);  // a second hello
  REQUIRE(a.size() == 1);
  CHECK(reply_of(a)["message"] == "hello was already said on this connection");
}

TEST_CASE("session: a line over the bound gets too_large and closes", "[session]") {
  Limits limits;
  limits.max_line = 64;
  Session s = greeted(limits);
  std::string ok_line = R"({"id":2,"op":"get","key":")" + std::string(30, 'k') + "\"}\n";
  REQUIRE(ok_line.size() <= 64);
  CHECK(s.feed(ok_line).at(0).kind == Kind::kForward);
  // Closed as soon as the partial line is over the bound, before its end.
  auto a = s.feed(std::string(65, 'x'));
  REQUIRE(closes(a));
  json r = reply_of(a);
  CHECK(r["id"].is_null());
  CHECK(r["error"] == "too_large");
  CHECK(s.closed());
  CHECK(s.feed(ok_line).empty());
}

TEST_CASE("session: a nameless client may not enter a barrier", "[session]") {
  Session s;
  s.feed(R"({"id":1,"op":"hello","version":1,"name":""})"
         "\n");
  CHECK(s.said_hello());
  auto a = s.feed(R"({"id":2,"op":"barrier","scope":"all"})"
                  "\n"
                  R"({"id":3,"op":"hosts"})"
                  "\n");
  REQUIRE(a.size() == 2);
  json r = reply_of(a);
  CHECK(r["id"] == 2);
  CHECK(r["error"] == "bad_request");
  CHECK(a[1].kind == Kind::kForward);

  Session named = greeted();
  a = named.feed(R"({"id":2,"op":"barrier","scope":"all"})"
                 "\n");
  REQUIRE(a.size() == 1);
  CHECK(a[0].kind == Kind::kForward);
}

TEST_CASE("session: too many unanswered requests is a flood and closes", "[session]") {
  Limits limits;
  limits.max_in_flight = 3;
  Session s = greeted(limits);
  std::string get = R"({"id":7,"op":"get","key":"k","timeout_ms":1000})"
                    "\n";
  for (int i = 0; i < 3; ++i) CHECK(s.feed(get).at(0).kind == Kind::kForward);
  s.answered(7);  // one answer frees one place (the same id three times)
  CHECK(s.feed(get).at(0).kind == Kind::kForward);
  s.answered(99);  // never forwarded: ignored
  auto a = s.feed(get);
  REQUIRE(closes(a));
  CHECK(reply_of(a)["error"] == "limit");
}
