// The run driver with every OS boundary faked: a Starter that starts
// nothing, links that record what is sent, a loop whose clock the test
// moves. A whole run is driven by hand, report by report.
#include "launcher/run/run_driver.hpp"

#include <signal.h>

#include <cerrno>
#include <map>
#include <sstream>
#include <tuple>

#include "tests/launcher/test_util.hpp"

using namespace jobset::launcher;
using namespace jobset::launcher::testing;
namespace rt = jobset::runtime;
using jobset::Error;
using jobset::Status;

namespace {

struct FakeStarter : Starter {
  std::vector<std::string> nodes;
  std::string address, key;
  size_t alive = 0;
  int terminated = 0;
  bool fail = false;
  Status start(const std::vector<std::string>& n, const std::string& a,
               const std::string& k) override {
    if (fail)
      return Error("cannot start the node daemon /nowhere/jobsetd: No such file or directory");
    nodes = n, address = a, key = k, alive = n.size();
    return {};
  }
  int reap_exited() override { return 0; }
  size_t running() const override { return alive; }
  void terminate() override { ++terminated; }
  void wait_or_kill(double) override { alive = 0; }
};

struct FakeLink : NodeLink {
  std::vector<rt::Message>* sent;
  bool* closed;
  FakeLink(std::vector<rt::Message>* s, bool* c) : sent(s), closed(c) {}
  void send(const rt::Message& m) override { sent->push_back(m); }
  void close() override { *closed = true; }
};

struct FakeLoop : Loop {
  struct FakeTimer : Timer {
    FakeLoop* loop;
    std::function<void()> fire;
    double at = -1;  // < 0: not armed
    void arm(double seconds) override { at = loop->now + seconds; }
    void cancel() override { at = -1; }
    ~FakeTimer() override { std::erase(loop->timers, this); }
  };
  double now = 1000;
  bool stopped = false;
  std::vector<FakeTimer*> timers;
  double monotonic() const override { return now; }
  double wall() const override { return now; }
  std::unique_ptr<Timer> timer(std::function<void()> fire) override {
    auto t = std::make_unique<FakeTimer>();
    t->loop = this;
    t->fire = std::move(fire);
    timers.push_back(t.get());
    return t;
  }
  void stop() override { stopped = true; }
  int suspended = 0;
  void suspend() override { ++suspended; }
  // Moves the clock, firing the timers that come due, in order.
  void advance(double seconds) {
    double until = now + seconds;
    for (;;) {
      FakeTimer* next = nullptr;
      for (FakeTimer* t : timers)
        if (t->at >= 0 && t->at <= until && (!next || t->at < next->at)) next = t;
      if (!next) break;
      now = next->at;
      next->at = -1;
      next->fire();
    }
    now = until;
  }
};

// A run of `text` on nodes n0 and n1 (2 slots each) with the fakes.
struct Run {
  JobSet js;
  Plan plan;
  RunOptions options;
  FakeStarter starter;
  FakeLoop loop;
  std::ostringstream err, events;
  std::string terminal;
  int write_errno = 0;  // what writing the processes' output gives
  OutputSink sink{OutputOptions{true, false, ""},
                  [this](int fd, std::string_view b) {
                    if (fd == 1 && write_errno) return write_errno;
                    terminal += b;
                    return 0;
                  },
                  [] { return 0.0; }};
  std::map<std::string, std::vector<rt::Message>> sent;
  std::map<std::string, bool> closed;
  std::unique_ptr<Names> names;
  std::unique_ptr<RunDriver> driver;

  explicit Run(const std::string& text, std::optional<int64_t> max_restarts = std::nullopt,
               bool tty = false) {
    auto l = load(text);
    INFO(l.diags.to_string());
    REQUIRE(l.js);
    js = l.js->jobset;
    jobset::topology::Cluster cluster;
    for (const char* name : {"n0", "n1"}) {
      jobset::topology::Node node;
      node.name = name;
      node.slots = 2;
      cluster.nodes.push_back(node);
    }
    auto p = make_plan(js, cluster);
    REQUIRE(std::holds_alternative<Plan>(p));
    plan = std::get<Plan>(std::move(p));
    options.max_restarts = max_restarts;
    options.grace_ms = 250;
    SpecSettings specs;
    specs.max_restarts = effective_max_restarts(js, max_restarts);
    specs.coordinator_host = "127.0.0.1";
    names = std::make_unique<Names>(js, plan, simulated_addresses(plan.cluster.nodes.size(), 1),
                                    std::vector<PortMap>{});
    driver = std::make_unique<RunDriver>(js, plan, options, specs, *names,
                                         DriverIo{loop, starter, sink, err, &events, tty});
  }
  void connect(const std::string& node) {
    int32_t n = driver->node_index(node);
    REQUIRE(n >= 0);
    driver->connected(n, std::make_unique<FakeLink>(&sent[node], &closed[node]));
  }
  void start_all() {
    REQUIRE(driver->start("127.0.0.1:1234", "k3y"));
    connect("n0");
    connect("n1");
  }
  template <typename T>
  std::vector<T> messages(const std::string& node) const {
    std::vector<T> out;
    auto it = sent.find(node);
    if (it != sent.end())
      for (const auto& m : it->second)
        if (auto* x = std::get_if<T>(&m)) out.push_back(*x);
    return out;
  }
  // The specs spawned on `node` so far, in order.
  std::vector<rt::ProcessSpec> spawned(const std::string& node) const {
    std::vector<rt::ProcessSpec> out;
    for (const rt::Spawn& s : messages<rt::Spawn>(node))
      out.insert(out.end(), s.processes.begin(), s.processes.end());
    return out;
  }
  // Every instance spawned so far on both nodes reports that it started.
  void all_started() {
    for (const std::string node : {"n0", "n1"})
      for (const auto& s : spawned(node)) driver->started(rt::Started{s.launch, 1});
  }
  // Every instance spawned so far on both nodes ends by `signo`; then the daemons exit.
  void all_killed(int signo) {
    for (const std::string node : {"n0", "n1"})
      for (const auto& s : spawned(node)) driver->exited(rt::Exited{s.launch, 0, signo, ""});
    starter.alive = 0;
    driver->signal(SIGCHLD);
  }
  // Every process spawned so far reports it started, then exits with `code`.
  void all_exit(const std::string& node, int code, size_t from = 0) {
    auto specs = spawned(node);
    for (size_t i = from; i < specs.size(); ++i) driver->started(rt::Started{specs[i].launch, 100});
    for (size_t i = from; i < specs.size(); ++i)
      driver->exited(rt::Exited{specs[i].launch, code, 0, ""});
  }
};

std::string env_of(const rt::ProcessSpec& s, const std::string& name) {
  std::string v = "<unset>";
  for (const auto& [k, val] : s.env)
    if (k == name) v = val;
  return v;
}

const char* kFour =
    "name = \"four\"\n[[replicated_jobs]]\nname = \"w\"\n[replicated_jobs.template]\n"
    "parallelism = 4\nbackoff_limit = 0\ncommand = [\"prog\", \"arg\"]\n";

}  // namespace

TEST_CASE("run driver: the daemons are started for the plan's nodes, with the address and key",
          "[run_driver]") {
  Run r(kFour);
  REQUIRE(r.driver->start("127.0.0.1:1234", "k3y"));
  CHECK(r.starter.nodes == std::vector<std::string>{"n0", "n1"});
  CHECK(r.starter.address == "127.0.0.1:1234");
  CHECK(r.starter.key == "k3y");
}

TEST_CASE(
    "run driver: nothing is spawned until every daemon has connected, then each node gets its own",
    "[run_driver]") {
  Run r(kFour, 6);
  REQUIRE(r.driver->start("a", "k"));
  r.connect("n0");
  CHECK(r.spawned("n0").empty());
  r.connect("n1");
  auto n0 = r.spawned("n0"), n1 = r.spawned("n1");
  REQUIRE(n0.size() == 2);
  REQUIRE(n1.size() == 2);
  CHECK(n0[0].name == "four-w-0-0");
  CHECK(n1[1].name == "four-w-0-3");
  CHECK(n1[1].argv == std::vector<std::string>{"prog", "arg"});
  CHECK(env_of(n1[1], "JOBSET_NODE") == "n1");
  CHECK(env_of(n1[1], "LOCAL_RANK") == "1");
  CHECK(env_of(n1[1], "TORCHELASTIC_MAX_RESTARTS") == "6");  // --max-restarts reaches it
}

TEST_CASE("run driver: unknown and already connected node names are refused", "[run_driver]") {
  Run r(kFour);
  REQUIRE(r.driver->start("a", "k"));
  CHECK(r.driver->node_index("elsewhere") == -1);
  r.connect("n0");
  CHECK(r.driver->node_index("n0") == -1);
  CHECK(r.driver->node_index("n1") == 1);
}

TEST_CASE("run driver: when every process succeeds, the daemons are shut down and the run exits 0",
          "[run_driver]") {
  Run r(kFour);
  r.start_all();
  r.all_exit("n0", 0);
  CHECK_FALSE(r.loop.stopped);
  CHECK(r.messages<rt::Shutdown>("n0").empty());
  r.all_exit("n1", 0);
  CHECK(r.messages<rt::Shutdown>("n0").size() == 1);
  CHECK(r.messages<rt::Shutdown>("n1").size() == 1);
  r.starter.alive = 0;  // the daemons exited
  r.driver->signal(SIGCHLD);
  CHECK(r.loop.stopped);
  CHECK(r.driver->finish() == 0);
  CHECK(r.closed["n0"]);
  CHECK(r.closed["n1"]);
  CHECK(r.err.str().find("jobset: completed (AllJobsCompleted, restarts 0)") != std::string::npos);
  CHECK(r.events.str().find("\"event\":\"jobset_finished\"") != std::string::npos);
}

TEST_CASE("run driver: output goes to the sink under the process's name", "[run_driver]") {
  Run r(kFour);
  r.start_all();
  auto n1 = r.spawned("n1");
  r.driver->output(rt::Output{n1[0].launch, rt::Stream::kStdout, "hello\n"});
  CHECK(r.terminal.find("[four-w-0-2] hello\n") != std::string::npos);
}

TEST_CASE(
    "run driver: a failure restarts every process: Kill of attempt 0 reaches a node before its "
    "attempt 1",
    "[run_driver]") {
  Run r(std::string(kFour) + "[failure_policy]\nmax_restarts = 1\n");
  r.start_all();
  auto n0 = r.spawned("n0");
  r.all_started();
  r.driver->exited(rt::Exited{n0[0].launch, 3, 0, ""});
  auto kills = r.messages<rt::Kill>("n1");
  REQUIRE(kills.size() == 1);
  CHECK(kills[0].launches.size() == 2);
  CHECK(kills[0].grace_ms == 250);
  // On each node the Kill comes first, then the new attempt's hosts file,
  // then its Spawn.
  const auto& to_n1 = r.sent["n1"];
  REQUIRE(to_n1.size() == 5);
  CHECK(std::get<rt::Hosts>(to_n1[0]).attempt == 0);
  CHECK(std::holds_alternative<rt::Spawn>(to_n1[1]));
  CHECK(std::holds_alternative<rt::Kill>(to_n1[2]));
  CHECK(std::get<rt::Hosts>(to_n1[3]).attempt == 1);
  CHECK(std::get<rt::Hosts>(to_n1[3]).text.find("127.1.0.2\tfour-") != std::string::npos);
  CHECK(std::holds_alternative<rt::Spawn>(to_n1[4]));
  auto again = r.spawned("n1");
  REQUIRE(again.size() == 4);
  CHECK(env_of(again[2], "JOBSET_RESTART_ATTEMPT") == "1");
  CHECK(again[2].launch > again[1].launch);
  CHECK(r.terminal.find("restarting every process") != std::string::npos);
  // The old instances' ends do not count against the new attempt.
  for (const auto& s : std::vector<rt::ProcessSpec>(again.begin(), again.begin() + 2))
    r.driver->exited(rt::Exited{s.launch, 0, SIGTERM, ""});
  CHECK(r.messages<rt::Kill>("n1").size() == 1);
  CHECK_FALSE(r.loop.stopped);
}

TEST_CASE(
    "run driver: a lost node fails its processes as disrupted and, with no restart left, the run",
    "[run_driver]") {
  Run r(kFour);
  r.start_all();
  r.all_started();
  r.driver->link_closed(1, "connection reset");
  CHECK(r.err.str().find("jobset: lost node n1: connection reset") != std::string::npos);
  // The survivors are stopped; once they are gone the run ends as failed.
  REQUIRE(r.messages<rt::Kill>("n0").size() == 1);
  CHECK(r.messages<rt::Kill>("n1").empty());  // nothing is sent to a lost node
  for (const auto& s : r.spawned("n0")) r.driver->exited(rt::Exited{s.launch, 0, SIGTERM, ""});
  r.starter.alive = 0;
  r.driver->signal(SIGCHLD);
  CHECK(r.driver->finish() == 137);
  CHECK(r.err.str().find("node n1 lost (connection reset)") != std::string::npos);
}

TEST_CASE("run driver: daemons that do not all connect within 30 s fail the run with exit 1",
          "[run_driver]") {
  Run r(kFour);
  REQUIRE(r.driver->start("a", "k"));
  r.connect("n0");
  r.loop.advance(29.9);
  CHECK_FALSE(r.loop.stopped);
  r.loop.advance(0.2);
  CHECK(r.loop.stopped);
  CHECK(r.starter.terminated == 1);
  CHECK(r.driver->finish() == 1);
  CHECK(r.err.str().find("only 1 of 2 node daemons connected within 30 s") != std::string::npos);
}

TEST_CASE("run driver: a Starter that cannot start means nothing runs", "[run_driver]") {
  Run r(kFour);
  r.starter.fail = true;
  auto s = r.driver->start("a", "k");
  REQUIRE_FALSE(s);
  CHECK(s.error().message().find("cannot start the node daemon") != std::string::npos);
  CHECK(r.loop.timers.empty());
}

TEST_CASE(
    "run driver: the first interrupt stops gracefully, the second kills at once; exit 128+signal",
    "[run_driver]") {
  Run r(kFour);
  r.start_all();
  r.all_started();
  r.driver->signal(SIGINT);
  auto graceful = r.messages<rt::Kill>("n0");
  REQUIRE(graceful.size() == 1);
  CHECK(graceful[0].grace_ms == 250);
  CHECK_FALSE(graceful[0].all);
  r.driver->signal(SIGINT);
  auto now = r.messages<rt::Kill>("n1");
  REQUIRE(now.size() == 2);
  CHECK(now[1].all);
  CHECK(now[1].grace_ms == 0);
  r.all_killed(SIGKILL);
  CHECK(r.driver->finish() == 128 + SIGINT);
}

TEST_CASE("run driver: USR1 and USR2 are forwarded to every process", "[run_driver]") {
  Run r(kFour);
  r.start_all();
  r.driver->signal(SIGUSR1);
  for (const std::string node : {"n0", "n1"}) {
    auto s = r.messages<rt::Signal>(node);
    REQUIRE(s.size() == 1);
    CHECK(s[0].all);
    CHECK(s[0].signo == SIGUSR1);
  }
}

TEST_CASE("run driver: --timeout stops everything and exits 124", "[run_driver]") {
  Run r(kFour);
  r.options.timeout = 5.0;
  r.start_all();
  r.all_started();
  r.loop.advance(5.1);
  REQUIRE(r.messages<rt::Kill>("n0").size() == 1);
  r.all_killed(SIGTERM);
  CHECK(r.driver->finish() == 124);
}

TEST_CASE(
    "run driver: a closed output pipe stops the run as a pipeline would (141); a full disk fails "
    "it (1)",
    "[run_driver]") {
  for (auto [error, code, reason] :
       {std::tuple{EPIPE, 141, "OutputClosed"}, std::tuple{ENOSPC, 1, "OutputError"}}) {
    INFO(reason);
    Run r(kFour);
    r.start_all();
    r.all_started();
    r.write_errno = error;
    auto n0 = r.spawned("n0");
    r.driver->output(rt::Output{n0[0].launch, rt::Stream::kStdout, "y\n"});
    r.driver->output(rt::Output{n0[0].launch, rt::Stream::kStdout, "y\n"});  // only one stop
    REQUIRE(r.messages<rt::Kill>("n0").size() == 1);
    CHECK(r.messages<rt::Kill>("n1").size() == 1);
    r.all_killed(SIGTERM);
    CHECK(r.driver->finish() == code);
    CHECK(r.err.str().find(std::string("failed (") + reason) != std::string::npos);
  }
}

TEST_CASE("run driver: Ctrl-Z stops every process, then the launcher; SIGCONT continues them",
          "[run_driver]") {
  Run r(kFour);
  r.start_all();
  r.driver->signal(SIGTSTP);
  for (const std::string node : {"n0", "n1"}) {
    auto s = r.messages<rt::Signal>(node);
    REQUIRE(s.size() == 1);
    CHECK(s[0].signo == SIGTSTP);
  }
  CHECK(r.loop.suspended == 0);  // the messages go out first
  r.loop.advance(0.1);
  CHECK(r.loop.suspended == 1);
  r.driver->signal(SIGCONT);
  CHECK(r.messages<rt::Signal>("n1").back().signo == SIGCONT);
  CHECK_FALSE(r.loop.stopped);
}

TEST_CASE(
    "run driver: the status line counts processes; a restart records the end of every stopped "
    "process",
    "[run_driver]") {
  Run r(std::string(kFour) + "[failure_policy]\nmax_restarts = 1\n", std::nullopt, true);
  r.start_all();
  r.all_started();
  CHECK(r.terminal.find("w: 4 running, 0 done, 0 failed") != std::string::npos);
  auto n1 = r.spawned("n1");
  r.driver->exited(rt::Exited{n1[0].launch, 2, 0, ""});  // fails the job: every process restarts
  for (const std::string node : {"n0", "n1"})
    for (const auto& s : r.spawned(node))
      if (s.launch != n1[0].launch && env_of(s, "JOBSET_RESTART_ATTEMPT") == "0")
        r.driver->exited(rt::Exited{s.launch, 0, SIGTERM, ""});
  std::string events = r.events.str();
  size_t stopped = 0;
  for (size_t p = events.find("stopped by jobset for a restart"); p != std::string::npos;
       p = events.find("stopped by jobset for a restart", p + 1))
    ++stopped;
  CHECK(stopped == 3);  // every process killed by the restart, not only the failed one
}
