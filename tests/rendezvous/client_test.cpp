// The C++ rendezvous client against a fake daemon (fake_server.hpp): the
// exact requests it sends, how replies become values and codes, replies
// out of order, and that every wait ends (timeouts, dead sockets, a daemon
// that hangs up).
#include "rendezvous/client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <thread>

#include "rendezvous/client_checks.hpp"
#include "tests/rendezvous/fake_server.hpp"

using jobset::rendezvous::Client;
using jobset::rendezvous::Code;
using jobset::rendezvous::Options;
using namespace rdzvtest;

namespace {

// For the tests of timeouts: wait 200 ms past a request's timeout, not 5 s.
Options quick() {
  Options o;
  o.margin_ms = 200;
  return o;
}

Client connect_to(const FakeServer& s, const std::string& name = "demo-workers-0-0",
                  Options o = {}) {
  auto c = Client::connect(s.path(), name, o);
  INFO((c ? "" : c.failure().message));
  REQUIRE(c);
  return std::move(c.value());
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("client: says hello first, then sends one line per request with the contract's fields",
          "[client]") {
  FakeServer s;
  Client c = connect_to(s);
  CHECK(c.identity().run == "demo");
  CHECK(c.identity().fqdn == "x.demo");
  REQUIRE(c.put("k", "v", true));
  REQUIRE(c.get("k", 1500));
  REQUIRE(c.watch("k", 1, 0).code() == Code::kNotFound);
  REQUIRE(c.barrier("job", "t", 2000));
  REQUIRE(c.lookup("demo-workers-0-0", 0));
  REQUIRE(c.hosts());
  std::vector<json> expected = {
      {{"id", 1}, {"op", "hello"}, {"version", 1}, {"name", "demo-workers-0-0"}},
      {{"id", 2}, {"op", "put"}, {"key", "k"}, {"value", "v"}, {"persistent", true}},
      {{"id", 3}, {"op", "get"}, {"key", "k"}, {"timeout_ms", 1500}},
      {{"id", 4}, {"op", "watch"}, {"key", "k"}, {"version", 1}, {"timeout_ms", 0}},
      {{"id", 5}, {"op", "barrier"}, {"scope", "job"}, {"tag", "t"}, {"timeout_ms", 2000}},
      {{"id", 6}, {"op", "lookup"}, {"name", "demo-workers-0-0"}, {"timeout_ms", 0}},
      {{"id", 7}, {"op", "hosts"}},
  };
  CHECK(s.requests() == expected);
  for (const auto& line : s.lines()) CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("client: replies become values, error replies their codes with the message", "[client]") {
  FakeServer s;
  Client c = connect_to(s);
  auto v1 = c.put("a/b", "one", false);
  auto v2 = c.put("a/b", "two", false);
  REQUIRE(v2);
  CHECK(*v1 == 1);
  CHECK(*v2 == 2);
  auto got = c.get("a/b", 0);
  REQUIRE(got);
  CHECK(got->value == "two");
  CHECK(got->version == 2);
  auto missing = c.get("nope", 0);
  CHECK(missing.code() == Code::kNotFound);
  CHECK(missing.failure().message == "get 'nope': no key nope");
  CHECK(c.get("nope", 100).code() == Code::kTimeout);
  auto barrier = c.barrier("all", "never", 100);
  CHECK(barrier.code() == Code::kTimeout);
  CHECK(barrier.failure().message == "barrier all 'never': 3 of 4 members arrived");
  auto look = c.lookup("demo-workers-0-0.demo", 0);
  REQUIRE(look);
  CHECK((*look)["address"] == "127.0.3.2");
  CHECK((*look)["ports"]["http"] == 8080);
  CHECK(!look->contains("id"));
  CHECK(c.lookup("other-0-0", 0).code() == Code::kNotFound);
  auto hosts = c.hosts();
  REQUIRE(hosts);
  CHECK((*hosts)["hosts"].size() == 2);
}

TEST_CASE("client: every error code of the contract maps to its own Code", "[client]") {
  const std::vector<std::pair<std::string, Code>> table = {
      {"bad_request", Code::kBadRequest},
      {"not_found", Code::kNotFound},
      {"timeout", Code::kTimeout},
      {"too_large", Code::kTooLarge},
      {"limit", Code::kLimit},
      {"attempt_ended", Code::kAttemptEnded},
      {"closed", Code::kClosed},
      {"unauthorized", Code::kUnauthorized},
      {"no_such_code", Code::kProto},
  };
  for (const auto& [name, code] : table) {
    FakeServer s([name = name](const json& r) -> Lines {
      if (r["op"] == "hello") return {ok(r)};
      return {error(r, name, "because " + name)};
    });
    Client c = connect_to(s);
    auto r = c.get("k", 0);
    INFO(name);
    CHECK(r.code() == code);
    CHECK(r.failure().message == "get 'k': because " + name);
    CHECK(jobset::rendezvous::code_of(name) == code);
  }
}

TEST_CASE("client: replies out of order are matched to their requests by id", "[client]") {
  // The daemon holds the get back and answers the put first, then the get.
  auto held = std::make_shared<json>();
  FakeServer s([held](const json& r) -> Lines {
    if (r["op"] == "hello") return {ok(r)};
    if (r["op"] == "get") {
      *held = r;
      return {};
    }
    return {ok(r, {{"version", 7}}), ok(*held, {{"value", "late"}, {"version", 1}})};
  });
  Client c = connect_to(s);
  auto get_id = c.send({{"op", "get"}, {"key", "k"}, {"timeout_ms", 1000}}, 1000);
  auto put_id = c.send({{"op", "put"}, {"key", "x"}, {"value", "y"}, {"persistent", false}}, 0);
  REQUIRE(get_id);
  REQUIRE(put_id);
  auto got = c.receive(*get_id);  // reads the put's reply first and keeps it
  REQUIRE(got);
  CHECK((*got)["value"] == "late");
  auto put = c.receive(*put_id);
  REQUIRE(put);
  CHECK((*put)["version"] == 7);
  CHECK(c.receive(*put_id).code() == Code::kBadRequest);  // asked for twice
}

TEST_CASE(
    "client: a daemon that does not answer times out after timeout plus margin, "
    "and a late reply is dropped",
    "[client]") {
  auto late = std::make_shared<json>();
  FakeServer s([late](const json& r) -> Lines {
    if (r["op"] == "hello") return {ok(r)};
    if (r["key"] == "silent") {
      *late = r;
      return {};
    }
    return {ok(*late, {{"value", "too late"}, {"version", 1}}), ok(r, {{"version", 1}})};
  });
  Client c = connect_to(s, "demo-workers-0-0", quick());
  auto start = std::chrono::steady_clock::now();
  auto r = c.get("silent", 300);
  double took = seconds_since(start);
  CHECK(r.code() == Code::kTimeout);
  CHECK(r.failure().message.find("get 'silent': no reply") == 0);
  CHECK(took >= 0.45);  // 300 ms + the 200 ms margin
  CHECK(took < 3);
  auto put = c.put("k", "v", false);  // the late reply to the get comes first
  INFO((put ? "" : put.failure().message));
  CHECK(put);
}

TEST_CASE(
    "client: a barrier with timeout 0 waits as long as the barrier takes, past the margin "
    "(PROTOCOL.md: 0 waits without a limit)",
    "[client]") {
  FakeServer s([](const json& r) -> Lines {
    if (r["op"] == "barrier") std::this_thread::sleep_for(std::chrono::milliseconds(800));
    return {ok(r, {{"size", 4}, {"run", "demo"}})};
  });
  Client c = connect_to(s, "demo-workers-0-0", quick());  // a 200 ms margin
  auto r = c.barrier("all", "", 0);
  INFO((r ? "" : r.failure().message));
  REQUIRE(r);
  CHECK(*r == 4);
  // With a timeout, the margin still bounds the wait.
  auto bounded = c.barrier("all", "t", 100);
  CHECK(bounded.code() == Code::kTimeout);
}

TEST_CASE("client: a hello that is never answered fails within the margin", "[client]") {
  FakeServer s([](const json&) -> Lines { return {}; });
  auto start = std::chrono::steady_clock::now();
  auto c = Client::connect(s.path(), "", quick());
  CHECK(c.code() == Code::kTimeout);
  CHECK(c.failure().message.find("hello to the rendezvous service at " + s.path()) == 0);
  CHECK(seconds_since(start) < 3);
}

TEST_CASE("client: a missing socket, or one nobody listens on, is EIO at once naming the path",
          "[client]") {
  jobset_test::Scratch scratch;
  std::string missing = scratch.path("missing.sock");
  auto start = std::chrono::steady_clock::now();
  auto a = Client::connect(missing, "");
  CHECK(a.code() == Code::kIo);
  CHECK(a.failure().message ==
        "cannot connect to the rendezvous socket " + missing +
            ": No such file or directory (no rendezvous service there: has the run ended?)");

  std::string dead = scratch.path("dead.sock");  // bound, then closed: nobody listens
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, dead.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  close(fd);
  auto b = Client::connect(dead, "");
  CHECK(b.code() == Code::kIo);
  CHECK(b.failure().message.find("Connection refused") != std::string::npos);
  CHECK(seconds_since(start) < 1);  // not the 5 s margin
  CHECK(Client::connect(std::string(200, 'x'), "").failure().message.find("path too long") !=
        std::string::npos);
}

TEST_CASE("client: bad arguments and oversized values are refused before anything is sent",
          "[client]") {
  using jobset::rendezvous::kMaxValue;
  FakeServer s;
  Client c = connect_to(s);
  auto big = c.put("k", std::string(kMaxValue + 1, 'x'), false);
  CHECK(big.code() == Code::kTooLarge);
  CHECK(big.failure().message == "put: value of key 'k': 1048577 bytes, at most 1048576");
  // Within the value bound, but every byte escaped as \u0001: the line is too long.
  CHECK(c.put("k", std::string(kMaxValue, '\x01'), false).code() == Code::kTooLarge);
  auto binary = c.put("k", "ab\xff", false);
  CHECK(binary.code() == Code::kBadRequest);
  CHECK(binary.failure().message ==
        "put: value of key 'k': expected UTF-8 text, but byte 0xff at offset 2 is not UTF-8 "
        "(encode binary data, e.g. base64)");
  CHECK(c.get("a b", 0).failure().message ==
        "get: key 'a b': expected 1 to 256 bytes of A-Z a-z 0-9 . _ / : -, found 0x20 at offset 1");
  CHECK(c.get(std::string(257, 'k'), 0).code() == Code::kBadRequest);
  CHECK(c.get("", 0).code() == Code::kBadRequest);
  CHECK(c.get("k", -1).failure().message ==
        "get: timeout: expected 0 to 86400000 ms (24 h), found -1");
  CHECK(c.watch("k", -1, 0).code() == Code::kBadRequest);
  CHECK(c.barrier("world", "", 0).failure().message ==
        "barrier: scope: expected all, replicated_job or job, found 'world'");
  CHECK(c.barrier("all", std::string(65, 't'), 0).code() == Code::kBadRequest);
  CHECK(c.lookup("", 0).code() == Code::kBadRequest);
  CHECK(s.lines().size() == 1);  // the hello alone

  auto max = c.put("k", std::string(kMaxValue, 'x'), false);  // exactly the bound goes
  CHECK(max);
  CHECK(s.lines().size() == 2);

  Client anonymous = connect_to(s, "");
  auto nameless = anonymous.barrier("all", "", 0);
  CHECK(nameless.code() == Code::kBadRequest);
  CHECK(nameless.failure().message.find("JOBSET_HOSTNAME is not set") != std::string::npos);
}

TEST_CASE("client: values keep NUL bytes and UTF-8 both ways", "[client]") {
  FakeServer s;
  Client c = connect_to(s);
  const std::string value("a\0b \xc3\xa9 \xf0\x9f\x98\x80", 11);
  REQUIRE(c.put("k", value, false));
  CHECK(s.requests().back()["value"] == value);
  auto got = c.get("k", 0);
  REQUIRE(got);
  CHECK(got->value == value);
}

TEST_CASE("client: an error about the connection (id null) fails this and every later call",
          "[client]") {
  FakeServer s([](const json& r) -> Lines {
    if (r["op"] == "hello") return {ok(r)};
    return {R"({"id":null,"ok":false,"error":"limit","message":"64 requests waiting"})", kClose};
  });
  Client c = connect_to(s);
  auto r = c.get("k", 0);
  CHECK(r.code() == Code::kLimit);
  CHECK(r.failure().message ==
        "get 'k': the rendezvous service closed the connection: 64 requests waiting");
  auto later = c.put("k", "v", false);
  CHECK(later.code() == Code::kLimit);
  CHECK(s.lines().size() == 2);  // nothing more was sent
}

TEST_CASE("client: a daemon that hangs up is EIO; a reply that is not the protocol is EPROTO",
          "[client]") {
  FakeServer s([](const json& r) -> Lines {
    if (r["op"] == "hello") return {ok(r)};
    if (r["key"] == "hangup") return {kClose};
    if (r["key"] == "garbage") return {"this is not json"};
    if (r["key"] == "stranger") return {R"({"id":999,"ok":true})"};
    return {ok(r, {{"value", 5}, {"version", 1}})};  // value not a string
  });
  Client a = connect_to(s);
  auto hung = a.get("hangup", 0);
  CHECK(hung.code() == Code::kIo);
  CHECK(hung.failure().message == "get 'hangup': the rendezvous service closed the connection");
  CHECK(a.get("other", 0).code() == Code::kIo);
  Client b = connect_to(s);
  auto garbage = b.get("garbage", 0);
  CHECK(garbage.code() == Code::kProto);
  CHECK(garbage.failure().message.find("this is not json") != std::string::npos);
  Client d = connect_to(s);
  CHECK(d.get("stranger", 0).failure().message ==
        "get 'stranger': a reply with id 999, which no request has");
  Client e = connect_to(s);
  auto typed = e.get("typed", 0);
  CHECK(typed.code() == Code::kProto);
  CHECK(typed.failure().message.find("the reply has no value (expected a string)") !=
        std::string::npos);
}
