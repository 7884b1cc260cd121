// The launcher's listener and links, against fake daemons written with the
// handshake functions, and against several real daemons.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <set>

#include "tests/runtime/harness.hpp"

using namespace jobset::runtime;
using namespace jobset::runtime::testing;

namespace {

// A blocking client socket to the listener; the test's loop runs the
// listener between the client's steps.
class FakeDaemon {
 public:
  explicit FakeDaemon(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~FakeDaemon() { close(fd_); }
  void send_bytes(const std::string& b) { (void)!::send(fd_, b.data(), b.size(), MSG_NOSIGNAL); }
  void send(const Message& m) { send_bytes(encode(m)); }
  // What has arrived so far, decoded (non-blocking).
  std::vector<Message> received() {
    char buf[4096];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      decoder_.feed(buf, static_cast<size_t>(n));
    }
    std::vector<Message> out;
    while (auto m = decoder_.next()) {
      if (!m->ok()) break;
      out.push_back(m->value());
    }
    return out;
  }
  bool peer_closed() {
    char c;
    ssize_t n = recv(fd_, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  int fd_ = -1;
  FrameDecoder decoder_;
};

struct Listener {
  Loop loop;
  std::string key = *make_key();
  std::unique_ptr<DaemonListener> l;
  std::vector<std::unique_ptr<DaemonLink>> links;
  std::vector<std::string> rejects;
  Listener() {
    auto created = DaemonListener::create(loop.base(), key);
    REQUIRE(created.ok());
    l = std::move(*created);
    l->on_daemon = [this](std::unique_ptr<DaemonLink> link) { links.push_back(std::move(link)); };
    l->on_reject = [this](const std::string& why) { rejects.push_back(why); };
  }
};

// Runs the fake daemon's side of the handshake; returns what it received.
std::vector<Message> handshake(Listener& L, FakeDaemon& d, const std::string& key,
                               const std::string& node) {
  Hello hello = *make_hello(node);
  d.send(hello);
  std::vector<Message> got;
  L.loop.run_until(
      [&] {
        for (Message& m : d.received()) got.push_back(m);
        return !got.empty();
      },
      5);
  REQUIRE(got.size() == 1);
  auto auth = answer_challenge(key, hello, std::get<Challenge>(got[0]));
  REQUIRE(auth.ok());
  d.send(*auth);
  L.loop.run_until(
      [&] {
        for (Message& m : d.received()) got.push_back(m);
        return got.size() > 1 || !L.rejects.empty() || d.peer_closed();
      },
      5);
  return got;
}

}  // namespace

TEST_CASE("link: the listener binds loopback on a free port and refuses wildcards", "[link]") {
  Loop loop;
  auto l = DaemonListener::create(loop.base(), "k");
  REQUIRE(l.ok());
  CHECK((*l)->port() > 0);
  CHECK((*l)->address() == "127.0.0.1:" + std::to_string((*l)->port()));
  auto l2 = DaemonListener::create(loop.base(), "k", "127.0.0.2");
  REQUIRE(l2.ok());
  CHECK((*l2)->address().rfind("127.0.0.2:", 0) == 0);
  for (const char* wild : {"0.0.0.0", "::"}) {
    auto w = DaemonListener::create(loop.base(), "k", wild);
    REQUIRE_FALSE(w.ok());
    CHECK_THAT(w.error().message(), Catch::Contains("wildcard"));
  }
  CHECK_FALSE(DaemonListener::create(loop.base(), "k", "not-an-address").ok());
}

TEST_CASE("link: a daemon with the key is welcomed; indexes follow arrival order", "[link]") {
  Alarm alarm(30);
  Listener L;
  FakeDaemon a(L.l->port()), b(L.l->port());
  auto got_a = handshake(L, a, L.key, "alpha");
  auto got_b = handshake(L, b, L.key, "beta");
  REQUIRE(got_a.size() == 2);
  CHECK(std::get<Welcome>(got_a[1]).node_index == 0);
  REQUIRE(got_b.size() == 2);
  CHECK(std::get<Welcome>(got_b[1]).node_index == 1);
  REQUIRE(L.links.size() == 2);
  CHECK(L.links[0]->node() == "alpha");
  CHECK(L.links[1]->node() == "beta");
  CHECK(L.links[1]->node_index() == 1);
  CHECK(L.rejects.empty());
}

TEST_CASE("link: a daemon without the key is rejected and dropped", "[link]") {
  Alarm alarm(30);
  Listener L;
  FakeDaemon d(L.l->port());
  // It cannot check the launcher's proof, so it answers with a MAC of its own key.
  Hello hello = *make_hello("mallory");
  d.send(hello);
  std::vector<Message> got;
  REQUIRE(L.loop.run_until(
      [&] {
        for (Message& m : d.received()) got.push_back(m);
        return !got.empty();
      },
      5));
  Challenge ch = std::get<Challenge>(got[0]);
  d.send(Auth{daemon_mac(*make_key(), ch.nonce, hello.nonce, hello.node)});
  REQUIRE(L.loop.run_until([&] { return !L.rejects.empty(); }, 5));
  CHECK_THAT(L.rejects[0], Catch::Contains("did not prove the run's key"));
  CHECK(L.links.empty());
  CHECK(L.loop.run_until([&] { return d.peer_closed(); }, 2));
}

TEST_CASE(
    "link: a recorded handshake replayed is rejected: the Hello's nonce again, or an old Auth "
    "under a fresh Hello; nothing it sends after reaches a handler",
    "[link]") {
  Alarm alarm(30);
  Listener L;
  // A real daemon's handshake, recorded by a listener on the wire.
  FakeDaemon d(L.l->port());
  Hello hello = *make_hello("n0");
  d.send(hello);
  std::vector<Message> got;
  REQUIRE(L.loop.run_until(
      [&] {
        for (Message& m : d.received()) got.push_back(m);
        return !got.empty();
      },
      5));
  Auth auth = *answer_challenge(L.key, hello, std::get<Challenge>(got[0]));
  d.send(auth);
  REQUIRE(L.loop.run_until([&] { return L.links.size() == 1; }, 5));
  int requests = 0;
  DaemonLink::Handlers h;
  h.rdzv_request = [&](const RdzvRequest&) { ++requests; };
  L.links[0]->set_handlers(h);

  {  // the same Hello, Auth and a request, byte for byte
    FakeDaemon replay(L.l->port());
    replay.send_bytes(encode(hello) + encode(auth) + encode(RdzvRequest{1, "{}"}));
    REQUIRE(L.loop.run_until([&] { return L.rejects.size() == 1; }, 5));
    CHECK_THAT(L.rejects[0], Catch::Contains("replayed handshake"));
    CHECK(L.loop.run_until([&] { return replay.peer_closed(); }, 2));
  }
  {  // a fresh Hello (the attacker can make one), then the recorded Auth
    FakeDaemon replay(L.l->port());
    Hello fresh = *make_hello("n0");
    replay.send(fresh);
    REQUIRE(L.loop.run_until([&] { return !replay.received().empty(); }, 5));
    replay.send_bytes(encode(auth) + encode(RdzvRequest{1, "{}"}));
    REQUIRE(L.loop.run_until([&] { return L.rejects.size() == 2; }, 5));
    CHECK_THAT(L.rejects[1], Catch::Contains("did not prove the run's key"));
  }
  L.loop.run_for(0.05);
  CHECK(L.links.size() == 1);
  CHECK(requests == 0);
}

TEST_CASE("link: garbage, wrong message order and oversize handshake frames are rejected",
          "[link]") {
  Alarm alarm(30);
  Listener L;
  {
    FakeDaemon d(L.l->port());
    d.send_bytes("GET / HTTP/1.0\r\n\r\n");
    REQUIRE(L.loop.run_until([&] { return L.rejects.size() == 1; }, 5));
    CHECK_THAT(L.rejects[0], Catch::Contains("protocol error"));
  }
  {
    FakeDaemon d(L.l->port());
    d.send(Started{1, 2});
    REQUIRE(L.loop.run_until([&] { return L.rejects.size() == 2; }, 5));
    CHECK_THAT(L.rejects[1], Catch::Contains("expected Hello, got Started"));
  }
  {
    FakeDaemon d(L.l->port());
    d.send(Output{1, Stream::kStdout, std::string(10000, 'x')});
    REQUIRE(L.loop.run_until([&] { return L.rejects.size() == 3; }, 5));
    CHECK_THAT(L.rejects[2], Catch::Contains("more than the limit of 4096"));
  }
  {
    FakeDaemon d(L.l->port());
    Hello h = *make_hello("n");
    h.version = 7;
    d.send(h);
    REQUIRE(L.loop.run_until([&] { return L.rejects.size() == 4; }, 5));
    CHECK_THAT(L.rejects[3], Catch::Contains("protocol version 7"));
  }
  CHECK(L.links.empty());
}

TEST_CASE("link: a peer that says nothing is dropped after the handshake timeout", "[link]") {
  Alarm alarm(30);
  Listener L;
  L.l->handshake_timeout_ms = 200;
  FakeDaemon d(L.l->port());
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(L.loop.run_until([&] { return !L.rejects.empty(); }, 5));
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(190));
  CHECK_THAT(L.rejects[0], Catch::Contains("no handshake within 200 ms"));
}

TEST_CASE("link: a daemon that sends a launcher's message is cut off", "[link]") {
  Alarm alarm(30);
  Listener L;
  FakeDaemon d(L.l->port());
  auto got = handshake(L, d, L.key, "n");
  REQUIRE(L.links.size() == 1);
  std::optional<std::string> closed;
  DaemonLink::Handlers handlers;
  handlers.closed = [&](const std::string& why) { closed = why; };
  L.links[0]->set_handlers(handlers);
  d.send(Spawn{});
  REQUIRE(L.loop.run_until([&] { return closed.has_value(); }, 5));
  CHECK_THAT(*closed, Catch::Contains("protocol violation: unexpected Spawn"));
  CHECK_FALSE(L.links[0]->is_open());
}

TEST_CASE("link: a handler may destroy its own link", "[link]") {
  Alarm alarm(30);
  Listener L;
  FakeDaemon d(L.l->port());
  handshake(L, d, L.key, "n");
  REQUIRE(L.links.size() == 1);
  int started = 0;
  DaemonLink::Handlers handlers;
  handlers.started = [&](const Started&) {
    ++started;
    L.links.clear();
  };
  L.links[0]->set_handlers(handlers);
  d.send_bytes(encode(Started{1, 1}) + encode(Started{2, 2}));
  REQUIRE(L.loop.run_until([&] { return started > 0; }, 5));
  L.loop.run_for(0.05);
  CHECK(started == 1);
}

TEST_CASE("link: several real daemons connect and get distinct indexes", "[link]") {
  if (!have_jobsetd()) JOBSET_SKIP("jobsetd not built at " + jobsetd_path());
  Alarm alarm(60);
  Scratch s;
  Listener L;
  std::vector<std::unique_ptr<DaemonProcess>> daemons;
  daemons.reserve(8);
  for (int i = 0; i < 8; ++i) {
    daemons.push_back(std::make_unique<DaemonProcess>(L.l->address(), "sim-" + std::to_string(i),
                                                      to_hex(L.key) + "\n",
                                                      s.path("err" + std::to_string(i))));
  }
  REQUIRE(L.loop.run_until([&] { return L.links.size() == 8; }, 10));
  std::set<std::string> names;
  std::set<int32_t> indexes;
  for (auto& link : L.links) {
    names.insert(link->node());
    indexes.insert(link->node_index());
  }
  CHECK(names.size() == 8);
  CHECK(indexes == std::set<int32_t>{0, 1, 2, 3, 4, 5, 6, 7});
  for (auto& link : L.links) link->send(Shutdown{0});
  for (auto& d : daemons) {
    CHECK(L.loop.run_until([&] { return d->exited().has_value(); }, 5));
    CHECK(WEXITSTATUS(*d->exited()) == 0);
  }
}
