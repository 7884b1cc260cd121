// The daemon's rendezvous endpoint on real Unix sockets: who may connect,
// what a misbehaving client loses (its own connection, nothing else),
// backpressure towards the launcher link, and the removal of directories
// that SIGKILLed daemons left behind. The launcher is played by the test:
// it records what the endpoint forwards and answers from the loop.
#include "runtime/rdzv_endpoint.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <deque>
#include <filesystem>

#include "rendezvous/protocol.hpp"
#include "tests/runtime/harness.hpp"

using namespace jobset::runtime;
using namespace jobset::runtime::testing;
namespace rdzv = jobset::rdzv;

namespace {

// The endpoint with a launcher in miniature: every forwarded request is
// recorded, and answered (ok, with `reply_extra`) on the loop's next turn
// unless `answer` is false.
struct Fixture {
  Alarm alarm{60};
  Scratch tmp;
  ScopedEnv tmpdir{"TMPDIR", tmp.dir().string()};
  Loop loop;
  std::vector<RdzvRequest> forwarded;
  std::vector<uint64_t> gone;
  std::vector<std::string> log;
  std::deque<RdzvReply> to_answer;
  bool answer = true;
  bool congested = false;
  std::string reply_extra;  // a big payload for every reply, when set
  std::unique_ptr<RdzvEndpoint> ep;

  Fixture() {
    signal(SIGPIPE, SIG_IGN);  // as in jobsetd: a client gone mid-write is an error, not a signal
    auto e = RdzvEndpoint::create(
        loop.base(),
        [this](const Message& m) {
          if (auto* r = std::get_if<RdzvRequest>(&m)) {
            forwarded.push_back(*r);
            auto q = rdzv::parse_request(r->line);
            REQUIRE(q.ok());
            nlohmann::json extra = nlohmann::json::object();
            if (!reply_extra.empty()) extra["value"] = reply_extra;
            if (answer) to_answer.push_back({r->client, q->id, rdzv::ok_reply(q->id, extra)});
          } else if (auto* g = std::get_if<RdzvGone>(&m)) {
            gone.push_back(g->client);
          }
        },
        [this](const std::string& s) { log.push_back(s); }, [this] { return congested; });
    REQUIRE(e.ok());
    ep = std::move(*e);
  }
  // Runs the loop (answering) until pred holds.
  bool until(const std::function<bool()>& pred, double seconds = 10) {
    return loop.run_until(
        [&] {
          while (!to_answer.empty()) {
            RdzvReply r = std::move(to_answer.front());
            to_answer.pop_front();
            ep->reply(r);
          }
          return pred();
        },
        seconds);
  }
  bool logged(const std::string& text) const {
    for (const std::string& l : log)
      if (l.find(text) != std::string::npos) return true;
    return false;
  }
  size_t forwarded_with(const std::string& text) const {
    size_t n = 0;
    for (const RdzvRequest& r : forwarded) n += r.line.find(text) != std::string::npos;
    return n;
  }
};

// A non-blocking client of the endpoint's socket.
class UnixClient {
 public:
  explicit UnixClient(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  }
  ~UnixClient() { close(fd_); }
  // Writes what the socket takes now; the number of bytes written.
  size_t send_some(const std::string& bytes) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return n > 0 ? static_cast<size_t>(n) : 0;
  }
  void send_all(Fixture& f, const std::string& bytes) {
    size_t done = 0;
    REQUIRE(f.until(
        [&] {
          done += send_some(bytes.substr(done));
          return done == bytes.size();
        },
        20));
  }
  // Reads what has arrived (non-blocking); false once the peer closed.
  bool poll() {
    char buf[65536];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        got_.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed_ = true;
      return !closed_;
    }
  }
  bool closed() {
    poll();
    return closed_;
  }
  const std::string& got() const { return got_; }

 private:
  int fd_ = -1;
  std::string got_;
  bool closed_ = false;
};

const std::string kHello = R"({"id":1,"op":"hello","version":1,"name":""})"
                           "\n";

std::string put_line(uint64_t id, const std::string& key) {
  return R"({"id":)" + std::to_string(id) + R"(,"op":"put","key":")" + key + R"(","value":"v"})" +
         "\n";
}

}  // namespace

TEST_CASE(
    "rdzv endpoint: the directory is 0700; a client of another uid (runuser -u nobody) is "
    "refused and logged even with the directory opened, and nothing it sends is forwarded",
    "[rdzv endpoint]") {
  if (geteuid() != 0) JOBSET_SKIP("needs root to run a client as another uid (runuser -u nobody)");
  if (access("/usr/sbin/runuser", X_OK) != 0 && access("/sbin/runuser", X_OK) != 0)
    JOBSET_SKIP("needs runuser (Debian package util-linux)");
  if (access("/usr/bin/python3", X_OK) != 0)
    JOBSET_SKIP("needs /usr/bin/python3 for the other uid's client (Debian package python3)");
  Fixture f;
  REQUIRE(chmod(f.tmp.dir().c_str(), 0755) == 0);  // only the endpoint's own directory is closed
  struct stat st {};
  REQUIRE(stat(f.ep->directory().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  // The client: connect, say hello and put, print what happened.
  const std::string script = R"PY(
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect failed:", e.errno); sys.exit(0)
try:
    s.sendall(b'{"id":1,"op":"hello","version":1,"name":""}\n{"id":2,"op":"put","key":"evil","value":"x"}\n')
    s.settimeout(10)
    data = s.recv(4096)
    print("closed, read %d bytes" % len(data))
except OSError as e:
    print("closed:", e.errno)
)PY";
  auto run_as_nobody = [&](const std::string& out) {
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execl("/usr/sbin/runuser", "runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c",
            script.c_str(), f.ep->socket_path().c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = -1;
    REQUIRE(f.until([&] { return waitpid(pid, &status, WNOHANG) == pid; }, 30));
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    return slurp(out);
  };
  // First line of defence: the directory.
  CHECK_THAT(run_as_nobody(f.tmp.path("out1")), Catch::Contains("connect failed: 13"));
  // Opened up, the peer check still refuses it.
  REQUIRE(chmod(f.ep->directory().c_str(), 0755) == 0);
  REQUIRE(chmod(f.ep->socket_path().c_str(), 0777) == 0);
  CHECK_THAT(run_as_nobody(f.tmp.path("out2")), Catch::StartsWith("closed"));
  CHECK(f.logged("refused a rendezvous client of uid 65534"));
  CHECK(f.forwarded.empty());
  CHECK(f.ep->clients() == 0);
  // The run's own user still gets in.
  UnixClient mine(f.ep->socket_path());
  mine.send_all(f, kHello);
  REQUIRE(
      f.until([&] { return mine.poll() && mine.got().find("\"ok\":true") != std::string::npos; }));
}

TEST_CASE(
    "rdzv endpoint: a malformed first line and an oversized line close that connection only, "
    "with the reason logged; the other clients go on",
    "[rdzv endpoint]") {
  Fixture f;
  UnixClient good(f.ep->socket_path());
  good.send_all(f, kHello);
  REQUIRE(f.until([&] { return f.forwarded.size() == 1; }));

  UnixClient garbage(f.ep->socket_path());
  garbage.send_all(f, "not json\n" + put_line(2, "after-garbage"));
  REQUIRE(f.until([&] { return garbage.closed(); }));
  CHECK_THAT(garbage.got(), Catch::Contains("bad_request"));
  CHECK(f.logged("malformed first request"));

  UnixClient big(f.ep->socket_path());
  big.send_all(f, kHello);
  REQUIRE(f.until([&] { return f.forwarded.size() == 2; }));
  // A line over 1 MiB + 4 KiB: cut off before its end arrives.
  std::string huge = R"({"id":2,"op":"put","key":"big","value":")" + std::string(2u << 20, 'x');
  size_t sent = 0;
  REQUIRE(f.until(
      [&] {
        sent += big.send_some(huge.substr(sent, 65536));
        return big.closed();
      },
      20));
  CHECK_THAT(big.got(), Catch::Contains("too_large"));
  CHECK(f.logged("line too long"));
  CHECK(f.forwarded_with("\"big\"") == 0);
  CHECK(f.forwarded_with("after-garbage") == 0);

  good.send_all(f, put_line(3, "still-here"));
  REQUIRE(f.until([&] { return f.forwarded_with("still-here") == 1; }));
  REQUIRE(f.until([&] { return good.poll() && good.got().find("\"id\":3") != std::string::npos; }));
  CHECK(f.ep->clients() == 1);
}

TEST_CASE(
    "rdzv endpoint: a client that never reads its replies is cut off above 4 MiB queued, "
    "whether they are the launcher's answers or the errors to endless garbage",
    "[rdzv endpoint]") {
  Fixture f;
  UnixClient other(f.ep->socket_path());
  other.send_all(f, kHello);
  REQUIRE(f.until([&] { return f.forwarded.size() == 1; }));
  SECTION("answers") {
    f.reply_extra = std::string(64 << 10, 'r');  // 64 KiB a reply
    UnixClient deaf(f.ep->socket_path());
    deaf.send_all(f, kHello);
    std::string requests;
    for (int i = 2; i < 200; ++i)
      requests += R"({"id":)" + std::to_string(i) + R"(,"op":"hosts"})" + "\n";
    size_t sent = 0;
    // Never read by `deaf`: only the endpoint's log tells it was cut off.
    REQUIRE(f.until(
        [&] {
          sent += deaf.send_some(requests.substr(sent));
          return f.logged("does not read its replies");
        },
        30));
  }
  SECTION("errors to garbage") {
    UnixClient deaf(f.ep->socket_path());
    deaf.send_all(f, kHello);
    std::string garbage;
    for (int i = 0; i < 4096; ++i) garbage += "{}\n";  // each answered bad_request
    REQUIRE(f.until(
        [&] {
          deaf.send_some(garbage);
          return f.logged("does not read its replies");
        },
        30));
  }
  CHECK(f.gone.size() == 1);
  CHECK(f.ep->clients() == 1);
  f.reply_extra.clear();
  other.send_all(f, put_line(5, "after-flood"));
  REQUIRE(
      f.until([&] { return other.poll() && other.got().find("\"id\":5") != std::string::npos; }));
}

TEST_CASE(
    "rdzv endpoint: a client with more than 256 requests unanswered is answered limit and "
    "closed; nothing past the bound is forwarded",
    "[rdzv endpoint]") {
  Fixture f;
  UnixClient c(f.ep->socket_path());
  c.send_all(f, kHello);
  REQUIRE(f.until([&] { return f.forwarded.size() == 1; }));
  f.answer = false;  // the launcher holds every request (waiting gets, say)
  std::string lines;
  for (int i = 2; i < 400; ++i)
    lines += put_line(static_cast<uint64_t>(i), "k" + std::to_string(i));
  c.send_all(f, lines);
  REQUIRE(f.until([&] { return c.closed(); }));
  CHECK_THAT(c.got(), Catch::Contains("\"error\":\"limit\""));
  CHECK(f.logged("flood"));
  CHECK(f.forwarded.size() == 1 + 256);
}

TEST_CASE(
    "rdzv endpoint: while the launcher link is congested no client is read; reading resumes "
    "when the daemon says the link drained, or by itself soon after",
    "[rdzv endpoint]") {
  Fixture f;
  UnixClient c(f.ep->socket_path());
  c.send_all(f, kHello);
  REQUIRE(f.until([&] { return f.forwarded.size() == 1; }));
  f.congested = true;
  c.send_all(f, put_line(2, "held"));
  f.until([] { return false; }, 0.2);
  CHECK(f.forwarded.size() == 1);
  // Bytes pile up in the kernel, not in the daemon: the writer stalls.
  std::string lots;
  for (int i = 3; i < 20000; ++i) lots += put_line(static_cast<uint64_t>(i), "p");
  size_t sent = 0;
  f.until(
      [&] {
        sent += c.send_some(lots.substr(sent));
        return false;
      },
      0.3);
  CHECK(sent < lots.size());
  CHECK(f.forwarded.size() == 1);
  SECTION("resume() from the daemon") {
    f.congested = false;
    f.ep->resume();
  }
  SECTION("no call: the endpoint polls") { f.congested = false; }
  REQUIRE(f.until([&] { return f.forwarded_with("held") == 1; }, 5));
}

TEST_CASE(
    "rdzv endpoint: the directory of a SIGKILLed daemon is removed by the next endpoint made "
    "on the node; a live one is left alone",
    "[rdzv endpoint]") {
  Alarm alarm(60);
  Scratch tmp;
  ScopedEnv tmpdir("TMPDIR", tmp.dir().string());
  int pipefd[2];
  REQUIRE(pipe(pipefd) == 0);
  pid_t pid = fork();
  if (pid == 0) {  // a daemon in miniature: an endpoint, then it waits to be killed
    close(pipefd[0]);
    event_base* base = event_base_new();
    auto e = RdzvEndpoint::create(
        base, [](const Message&) {}, [](const std::string&) {});
    std::string dir = e.ok() ? (*e)->directory() : "";
    dir += "\n";
    (void)!write(pipefd[1], dir.data(), dir.size());
    for (;;) pause();
  }
  close(pipefd[1]);
  std::string dir;
  char ch;
  while (read(pipefd[0], &ch, 1) == 1 && ch != '\n') dir.push_back(ch);
  close(pipefd[0]);
  REQUIRE(!dir.empty());
  Loop loop;
  std::vector<std::string> log;
  auto say = [&](const std::string& s) { log.push_back(s); };
  {  // while it lives, its directory stays
    auto e = RdzvEndpoint::create(
        loop.base(), [](const Message&) {}, say);
    REQUIRE(e.ok());
    CHECK(std::filesystem::exists(dir));
  }
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  REQUIRE(std::filesystem::exists(dir + "/rdzv.sock"));
  auto live = RdzvEndpoint::create(
      loop.base(), [](const Message&) {}, say);
  REQUIRE(live.ok());
  CHECK_FALSE(std::filesystem::exists(dir));
  CHECK(std::filesystem::exists((*live)->directory()));
  REQUIRE(log.size() == 1);
  CHECK_THAT(log[0], Catch::Contains("removed 1 rendezvous directory"));
  // The live endpoint's directory survives another sweep.
  CHECK(RdzvEndpoint::remove_stale(tmp.dir().string()) == 0);
  CHECK(std::filesystem::exists((*live)->directory()));
  live->reset();
  CHECK(std::distance(std::filesystem::directory_iterator(tmp.dir()),
                      std::filesystem::directory_iterator()) == 0);
}
