// The launcher's store: key-value with blocking reads, names, barriers,
// attempts and bounds, driven by a fake clock.
#include "rendezvous/store.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

using namespace jobset::rdzv;
using nlohmann::json;

namespace {

// Run "train": replicated job "workers" (2 jobs of 2 pods) and "driver" (1 of 1).
std::vector<Member> members() {
  std::vector<Member> all;
  auto add = [&](const std::string& rjob, int job, int pod, int node) {
    std::string name = "train-" + rjob + "-" + std::to_string(job) + "-" + std::to_string(pod);
    all.push_back(Member{name,
                         name + ".train",
                         rjob,
                         job,
                         "node" + std::to_string(node),
                         "127.0.3." + std::to_string(all.size() + 1),
                         {{"http", 8080}}});
  };
  add("workers", 0, 0, 0);
  add("workers", 0, 1, 0);
  add("workers", 1, 0, 1);
  add("workers", 1, 1, 1);
  add("driver", 0, 0, 1);
  return all;
}

struct Reply {
  Origin to;
  json body;
};

// A store whose replies are collected, with one client per member name.
class Fixture {
 public:
  Fixture(Limits limits = Limits{})
      : store_(
            "train",
            [this](const Origin& o, std::string line) {
              REQUIRE(line.back() == '\n');
              replies_.push_back({o, json::parse(line)});
            },
            limits) {
    store_.begin_attempt(0, members());
  }

  // Sends a request line from `o`; returns the replies it caused.
  std::vector<Reply> send(Origin o, const std::string& line, int64_t now = 0) {
    auto q = parse_request(line);
    REQUIRE(q.ok());
    store_.handle(o, *q, now);
    return take();
  }
  // A hello from a new client number `client` on node 0.
  Origin hello(const std::string& name, uint64_t client) {
    Origin o{0, client};
    auto r = send(o, R"({"id":0,"op":"hello","version":1,"name":")" + name + "\"}");
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].body["ok"] == true);
    return o;
  }
  std::vector<Reply> take() { return std::exchange(replies_, {}); }

  Store& store() { return store_; }

 private:
  std::vector<Reply> replies_;
  Store store_;
};

std::string put(int id, const std::string& key, const std::string& value, bool persistent = false) {
  return R"({"id":)" + std::to_string(id) + R"(,"op":"put","key":")" + key + R"(","value":")" +
         value + R"(","persistent":)" + (persistent ? "true" : "false") + "}";
}

std::string get(int id, const std::string& key, int timeout = 0) {
  return R"({"id":)" + std::to_string(id) + R"(,"op":"get","key":")" + key + R"(","timeout_ms":)" +
         std::to_string(timeout) + "}";
}

std::string barrier(int id, const std::string& scope, const std::string& extra = "") {
  return R"({"id":)" + std::to_string(id) + R"(,"op":"barrier","scope":")" + scope + "\"" + extra +
         "}";
}

json only(const std::vector<Reply>& replies) {
  REQUIRE(replies.size() == 1);
  return replies[0].body;
}

}  // namespace

TEST_CASE("store: hello answers with the run, the attempt and the FQDN", "[store]") {
  Fixture f;
  auto r = f.send({0, 1}, R"({"id":3,"op":"hello","version":1,"name":"train-workers-1-0"})");
  json body = only(r);
  CHECK(body["id"] == 3);
  CHECK(body["run"] == "train");
  CHECK(body["attempt"] == 0);
  CHECK(body["fqdn"] == "train-workers-1-0.train");

  CHECK(only(f.send({0, 2}, R"({"id":1,"op":"hello","version":1,"name":""})"))["fqdn"] == "");
  json stranger = only(f.send({0, 3}, R"({"id":1,"op":"hello","version":1,"name":"nobody"})"));
  CHECK(stranger["error"] == "not_found");
  // A connection whose hello failed is not a caller.
  CHECK(only(f.send({0, 3}, get(2, "k")))["error"] == "bad_request");
}

TEST_CASE("store: put counts versions and get reads them", "[store]") {
  Fixture f;
  Origin a = f.hello("train-workers-0-0", 1);
  CHECK(only(f.send(a, get(1, "k")))["error"] == "not_found");
  CHECK(only(f.send(a, put(2, "k", "v1")))["version"] == 1);
  CHECK(only(f.send(a, put(3, "k", "v2")))["version"] == 2);
  json g = only(f.send(a, get(4, "k")));
  CHECK(g["value"] == "v2");
  CHECK(g["version"] == 2);
}

TEST_CASE("store: a blocking get is woken by a put, and others' requests are not held up",
          "[store]") {
  Fixture f;
  Origin a = f.hello("train-workers-0-0", 1);
  Origin b = f.hello("", 2);
  CHECK(f.send(a, get(5, "addr", 1000), 0).empty());
  CHECK(f.store().next_deadline() == std::optional<int64_t>(1000));
  auto r = f.send(b, put(6, "addr", "10.0.0.1:29500"), 10);
  REQUIRE(r.size() == 2);
  CHECK(r[0].to == b);
  CHECK(r[0].body["id"] == 6);
  CHECK(r[1].to == a);
  CHECK(r[1].body["id"] == 5);
  CHECK(r[1].body["value"] == "10.0.0.1:29500");
  CHECK_FALSE(f.store().next_deadline().has_value());
  f.store().tick(5000);
  CHECK(f.take().empty());  // answered once only
}

TEST_CASE("store: waiters whose time passed get timeout from tick", "[store]") {
  Fixture f;
  Origin a = f.hello("train-workers-0-0", 1);
  CHECK(f.send(a, get(1, "k", 100), 1000).empty());
  CHECK(f.send(a, get(2, "k", 50), 1000).empty());
  CHECK(f.store().next_deadline() == std::optional<int64_t>(1050));
  f.store().tick(1049);
  CHECK(f.take().empty());
  f.store().tick(1050);
  json first = only(f.take());
  CHECK(first["id"] == 2);
  CHECK(first["error"] == "timeout");
  f.store().tick(2000);
  CHECK(only(f.take())["id"] == 1);
  f.send(a, put(3, "k", "late"));
  CHECK(f.take().empty());
}

TEST_CASE("store: watch answers only a version past the one seen", "[store]") {
  Fixture f;
  Origin a = f.hello("train-workers-0-0", 1);
  f.send(a, put(1, "k", "one"));
  auto watch = [](int id, int version, int timeout) {
    return R"({"id":)" + std::to_string(id) + R"(,"op":"watch","key":"k","version":)" +
           std::to_string(version) + R"(,"timeout_ms":)" + std::to_string(timeout) + "}";
  };
  json now = only(f.send(a, watch(2, 0, 100)));  // already past 0
  CHECK(now["value"] == "one");
  CHECK(only(f.send(a, watch(3, 1, 0)))["error"] == "timeout");  // poll: not past 1
  CHECK(f.send(a, watch(4, 1, 100)).empty());
  CHECK(f.send(a, watch(5, 2, 100)).empty());
  auto r = f.send(a, put(6, "k", "two"));
  REQUIRE(r.size() == 2);  // the put's reply and watch 4; watch 5 waits for version 3
  CHECK(r[1].body["id"] == 4);
  CHECK(r[1].body["version"] == 2);
  r = f.send(a, put(7, "k", "three"));
  REQUIRE(r.size() == 2);
  CHECK(r[1].body["id"] == 5);
  CHECK(r[1].body["value"] == "three");
}

TEST_CASE("store: lookup by name or FQDN waits for registration; unknown names fail at once",
          "[store]") {
  Fixture f;
  Origin a = f.hello("", 1);
  CHECK(only(f.send(
            a, R"({"id":1,"op":"lookup","name":"train-ghost-0-0","timeout_ms":500})"))["error"] ==
        "not_found");
  CHECK(only(f.send(a, R"({"id":2,"op":"lookup","name":"train-workers-1-1"})"))["error"] ==
        "not_found");  // known, not started, no wait asked
  CHECK(f.send(a, R"({"id":3,"op":"lookup","name":"train-workers-1-1.train","timeout_ms":500})")
            .empty());
  f.store().set_registered("train-workers-1-1", true);
  json found = only(f.take());
  CHECK(found["id"] == 3);
  CHECK(found["name"] == "train-workers-1-1");
  CHECK(found["fqdn"] == "train-workers-1-1.train");
  CHECK(found["node"] == "node1");
  CHECK(found["address"] == "127.0.3.4");
  CHECK(found["ports"]["http"] == 8080);

  f.store().move("train-workers-1-1", "node7", "127.0.9.9");
  json moved = only(f.send(a, R"({"id":4,"op":"lookup","name":"train-workers-1-1"})"));
  CHECK(moved["node"] == "node7");
  CHECK(moved["address"] == "127.0.9.9");

  f.store().set_registered("train-workers-1-1", false);
  CHECK(f.send(a, R"({"id":5,"op":"lookup","name":"train-workers-1-1","timeout_ms":500})").empty());
}

TEST_CASE("store: hosts lists every member with its registration", "[store]") {
  Fixture f;
  Origin a = f.hello("", 1);
  f.store().set_registered("train-driver-0-0", true);
  json h = only(f.send(a, R"({"id":1,"op":"hosts"})"));
  REQUIRE(h["hosts"].size() == 5);
  CHECK(h["hosts"][4]["name"] == "train-driver-0-0");
  CHECK(h["hosts"][4]["registered"] == true);
  CHECK(h["hosts"][0]["registered"] == false);
  CHECK(h["hosts"][0]["address"] == "127.0.3.1");
}

TEST_CASE("store: a barrier of all completes when every process entered", "[store]") {
  Fixture f;
  std::vector<Origin> clients;
  for (const Member& m : members()) clients.push_back(f.hello(m.name, clients.size() + 1));
  for (size_t i = 0; i + 1 < clients.size(); ++i)
    CHECK(f.send(clients[i], barrier(static_cast<int>(i), "all")).empty());
  auto r = f.send(clients.back(), barrier(99, "all"));
  REQUIRE(r.size() == 5);
  for (const Reply& reply : r) {
    CHECK(reply.body["ok"] == true);
    CHECK(reply.body["size"] == 5);
    CHECK_FALSE(reply.body.contains("values"));
  }
  // The same tag again is a new barrier.
  CHECK(f.send(clients[0], barrier(100, "all")).empty());
}

TEST_CASE("store: replicated_job and job barriers count the caller's own group", "[store]") {
  Fixture f;
  Origin w00 = f.hello("train-workers-0-0", 1);
  Origin w01 = f.hello("train-workers-0-1", 2);
  Origin w10 = f.hello("train-workers-1-0", 3);
  Origin w11 = f.hello("train-workers-1-1", 4);
  Origin d = f.hello("train-driver-0-0", 5);

  CHECK(only(f.send(d, barrier(1, "replicated_job")))["size"] == 1);  // alone in its group
  CHECK(f.send(w00, barrier(2, "job")).empty());
  CHECK(f.send(w10, barrier(3, "job")).empty());  // another job: another barrier
  auto r = f.send(w01, barrier(4, "job"));
  REQUIRE(r.size() == 2);
  CHECK(r[0].body["size"] == 2);

  CHECK(f.send(w00, barrier(5, "replicated_job")).empty());
  CHECK(f.send(w01, barrier(6, "replicated_job")).empty());
  CHECK(f.send(w10, barrier(7, "replicated_job")).empty());
  CHECK(f.send(w10, barrier(8, "replicated_job", R"(,"tag":"other")")).empty());
  r = f.send(w11, barrier(9, "replicated_job"));
  REQUIRE(r.size() == 4);
  for (const Reply& reply : r) CHECK(reply.body["size"] == 4);
}

TEST_CASE("store: entering a barrier twice is a bad request", "[store]") {
  Fixture f;
  Origin a = f.hello("train-workers-0-0", 1);
  Origin again = f.hello("train-workers-0-0", 2);  // the same process on a second connection
  CHECK(f.send(a, barrier(1, "job", R"(,"tag":"t")")).empty());
  json twice = only(f.send(again, barrier(2, "job", R"(,"tag":"t")")));
  CHECK(twice["error"] == "bad_request");
  CHECK(twice["message"] == "'train-workers-0-0' already entered barrier job 't'");
}

TEST_CASE("store: barrier values come back to every member as a map", "[store]") {
  Fixture f;
  Origin a = f.hello("train-workers-0-0", 1);
  Origin b = f.hello("train-workers-0-1", 2);
  CHECK(f.send(a, barrier(1, "job", R"(,"value":"blob-a")")).empty());
  auto r = f.send(b, barrier(2, "job", R"(,"value":"blob-b")"));
  REQUIRE(r.size() == 2);
  for (const Reply& reply : r) {
    CHECK(reply.body["values"] ==
          json{{"train-workers-0-0", "blob-a"}, {"train-workers-0-1", "blob-b"}});
  }
}

TEST_CASE("store: a barrier member that times out leaves; one that disconnects stays", "[store]") {
  Fixture f;
  Origin a = f.hello("train-workers-0-0", 1);
  Origin b = f.hello("train-workers-0-1", 2);
  CHECK(f.send(a, barrier(1, "job", R"(,"timeout_ms":100)"), 0).empty());
  f.store().tick(100);
  CHECK(only(f.take())["error"] == "timeout");
  CHECK(f.send(b, barrier(2, "job"), 200).empty());  // a left: b waits

  // a enters, then its connection drops: it stays entered, and its
  // reconnected self takes the entry over instead of entering twice.
  Fixture g;
  a = g.hello("train-workers-0-0", 1);
  b = g.hello("train-workers-0-1", 2);
  CHECK(g.send(a, barrier(1, "job")).empty());
  g.store().drop(a);
  Origin a2 = g.hello("train-workers-0-0", 3);
  CHECK(g.send(a2, barrier(2, "job")).empty());
  auto r = g.send(b, barrier(3, "job"));
  REQUIRE(r.size() == 2);
  CHECK(r[0].to == a2);
  CHECK(r[1].to == b);

  // Without a reconnection, the others complete without it.
  Fixture h;
  a = h.hello("train-workers-0-0", 1);
  b = h.hello("train-workers-0-1", 2);
  CHECK(h.send(a, barrier(1, "job")).empty());
  h.store().drop_node(0);
  b = h.hello("train-workers-0-1", 3);
  json done = only(h.send(b, barrier(2, "job")));
  CHECK(done["size"] == 2);
}

TEST_CASE("store: a new attempt keeps persistent keys and ends every waiter", "[store]") {
  Fixture f;
  Origin a = f.hello("train-workers-0-0", 1);
  Origin b = f.hello("train-workers-0-1", 2);
  f.send(a, put(1, "ckpt", "step-100", true));
  f.send(a, put(2, "addr", "10.0.0.1"));
  CHECK(f.send(b, get(3, "never", 10'000)).empty());
  CHECK(f.send(b, barrier(4, "all", R"(,"timeout_ms":10000)")).empty());
  f.store().set_registered("train-workers-0-0", true);

  f.store().begin_attempt(1, members());
  auto ended = f.take();
  REQUIRE(ended.size() == 2);
  for (const Reply& r : ended) {
    CHECK(r.to == b);
    CHECK(r.body["error"] == "attempt_ended");
  }
  CHECK_FALSE(f.store().next_deadline().has_value());
  CHECK(f.store().attempt() == 1);
  CHECK(only(f.send(a, get(5, "ckpt")))["value"] == "step-100");
  CHECK(only(f.send(a, get(6, "addr")))["error"] == "not_found");
  CHECK(only(f.send(a, put(7, "addr", "10.0.0.2")))["version"] == 1);  // counted afresh
  // Registrations belong to the attempt, and barriers start empty.
  CHECK(f.store().members()[0].registered == false);
  CHECK(f.send(a, barrier(8, "job")).empty());
  CHECK(only(f.send(a, R"({"id":9,"op":"hello","version":1,"name":""})"))["attempt"] == 1);
}

TEST_CASE("store: close answers every waiter and every later request", "[store]") {
  Fixture f;
  Origin a = f.hello("train-workers-0-0", 1);
  CHECK(f.send(a, get(1, "k", 1000)).empty());
  f.store().close("the run is ending");
  json r = only(f.take());
  CHECK(r["error"] == "closed");
  CHECK(r["message"] == "the run is ending");
  CHECK(only(f.send(a, put(2, "k", "v")))["error"] == "closed");
}

TEST_CASE("store: per-process bounds on keys, bytes and waiting requests", "[store]") {
  Limits limits;
  limits.max_keys = 2;
  limits.max_value_bytes = 10;
  limits.max_waiting = 2;
  Fixture f(limits);
  Origin a = f.hello("train-workers-0-0", 1);
  Origin a_again = f.hello("train-workers-0-0", 2);  // the same process: the same bounds
  Origin other = f.hello("", 3);
  CHECK(only(f.send(a, put(1, "k1", "12345")))["ok"] == true);
  CHECK(only(f.send(a, put(2, "k1", "123456")))["ok"] == true);  // replaces: still one key
  CHECK(only(f.send(a_again, put(3, "k2", "1234")))["ok"] == true);
  json bytes = only(f.send(a, put(4, "k2", "12345")));
  CHECK(bytes["error"] == "limit");
  CHECK(only(f.send(a, get(5, "k2")))["value"] == "1234");  // the failed put changed nothing
  CHECK(only(f.send(a, put(6, "k3", "")))["error"] == "limit");
  CHECK(only(f.send(other, put(7, "k3", "")))["ok"] == true);  // someone else's bound

  // Another caller's put of k1 moves the key (and its bytes) to them.
  CHECK(only(f.send(other, put(8, "k1", "x")))["ok"] == true);
  CHECK(only(f.send(a, put(9, "k4", "12345")))["ok"] == true);

  CHECK(f.send(a, get(10, "w1", 100)).empty());
  CHECK(f.send(a_again, get(11, "w2", 100)).empty());
  CHECK(only(f.send(a, get(12, "w3", 100)))["error"] == "limit");
  CHECK(f.send(other, get(13, "w3", 100)).empty());
}

TEST_CASE(
    "store: a barrier of 4096 members on 64 nodes with values: drops, a timeout and its retry "
    "keep the count right, and every waiting member gets all 4096 values",
    "[store]") {
  size_t replies = 0, bad = 0;
  std::vector<std::string> lines;
  Store store("big", [&](const Origin&, std::string line) { lines.push_back(std::move(line)); });
  std::vector<Member> ms;
  for (int i = 0; i < 4096; ++i) {
    std::string name = "big-w-0-" + std::to_string(i);
    ms.push_back(
        Member{name, name + ".big", "w", 0, "n" + std::to_string(i / 64), "127.0.0.1", {}});
  }
  store.begin_attempt(0, ms);
  auto origin = [](int i) { return Origin{i / 64, static_cast<uint64_t>(i % 64) + 1}; };
  auto request = [](const std::string& line) { return *parse_request(line); };
  for (int i = 0; i < 4096; ++i)
    store.handle(
        origin(i),
        request(R"({"id":1,"op":"hello","version":1,"name":"big-w-0-)" + std::to_string(i) + "\"}"),
        0);
  lines.clear();
  auto enter = [&](int i, int timeout) {
    store.handle(origin(i),
                 request(R"({"id":2,"op":"barrier","scope":"all","timeout_ms":)" +
                         std::to_string(timeout) + R"(,"value":"v)" + std::to_string(i) + "\"}"),
                 0);
  };
  for (int i = 0; i < 4095; ++i) enter(i, i == 7 ? 10 : 0);
  CHECK(lines.empty());
  store.drop_node(1);  // 64 members whose clients went: they stay entered
  store.tick(10);      // member 7 times out and leaves
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("\"timeout\"") != std::string::npos);
  lines.clear();
  enter(4095, 0);
  CHECK(lines.empty());  // 7 is missing
  enter(7, 0);
  for (const std::string& line : lines) {
    json j = json::parse(line);
    ++replies;
    if (j["size"] != 4096 || j["values"].size() != 4096 || j["values"]["big-w-0-4095"] != "v4095")
      ++bad;
  }
  CHECK(replies == 4096 - 64);
  CHECK(bad == 0);
  CHECK_FALSE(store.next_deadline().has_value());
}
