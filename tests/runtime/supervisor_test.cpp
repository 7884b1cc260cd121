// The Supervisor on real processes, with a sink that records what it
// sends (the launcher connection in jobsetd): exits and signals reported,
// output forwarded before the exit, kill with and without a grace period,
// and no process of a group outliving it. The loop calls reap() on every
// tick, as jobsetd does on SIGCHLD. Every process is killed and reaped at
// the end of its test, also when a REQUIRE fails.
#include "runtime/supervisor.hpp"

#include <cstring>

#include "runtime/spawner.hpp"
#include "tests/runtime/harness.hpp"

using namespace jobset::runtime;
using namespace jobset::runtime::testing;

namespace {

// Long enough for any healthy process on a loaded machine: only a hang trips it.
constexpr double kPatience = 20;

class RecordingSink : public EventSink {
 public:
  void send(const Message& m) override { log.push_back(m); }
  bool congested() const override { return false; }

  // The messages about `launch`, in the order they were sent.
  std::vector<Message> about(uint64_t launch) const {
    std::vector<Message> out;
    for (const Message& m : log) {
      uint64_t l = std::visit(
          [](const auto& v) -> uint64_t {
            if constexpr (requires { v.launch; }) {
              return v.launch;
            } else {
              return ~uint64_t{0};
            }
          },
          m);
      if (l == launch) out.push_back(m);
    }
    return out;
  }
  template <typename M>
  std::optional<M> first(uint64_t launch) const {
    for (const Message& m : about(launch)) {
      if (const M* v = std::get_if<M>(&m)) return *v;
    }
    return std::nullopt;
  }
  std::string output(uint64_t launch, Stream stream) const {
    std::string s;
    for (const Message& m : about(launch)) {
      const Output* o = std::get_if<Output>(&m);
      if (o && o->stream == stream) s += o->data;
    }
    return s;
  }
  std::string out(uint64_t launch) const { return output(launch, Stream::kStdout); }
  Exited exited(uint64_t launch) const {
    auto e = first<Exited>(launch);
    REQUIRE(e.has_value());
    return *e;
  }
  std::string failed(uint64_t launch) const {
    auto f = first<SpawnFailed>(launch);
    REQUIRE(f.has_value());
    return f->error;
  }

  std::vector<Message> log;
};

// A Supervisor on its own loop and Spawner. At the end it is destroyed
// first (it SIGKILLs the groups of the processes it has not reaped) and
// every process it started is reaped.
class Rig {
 public:
  Rig()
      : spawner_(open_files_limit()),
        sup_(std::make_unique<Supervisor>(loop_.base(), spawner_, nullptr, sink_)) {
    sup_->on_idle = [this] { ++idle_calls_; };
  }
  ~Rig() {
    sup_.reset();
    for (const Message& m : sink_.log) {
      if (const Started* s = std::get_if<Started>(&m)) waitpid(s->pid, nullptr, 0);
    }
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  Supervisor& sup() { return *sup_; }
  const RecordingSink& sink() const { return sink_; }
  int idle_calls() const { return idle_calls_; }

  void spawn(uint64_t launch, std::vector<std::string> argv, std::string cwd = "") {
    ProcessSpec p;
    p.launch = launch;
    p.name = "test-0-" + std::to_string(launch);
    p.argv = std::move(argv);
    p.cwd = std::move(cwd);
    sup_->spawn(p);
  }
  void sh(uint64_t launch, const std::string& script) { spawn(launch, {"/bin/sh", "-c", script}); }

  // Runs the loop until pred() holds; false if it never does.
  bool run_until(const std::function<bool()>& pred) {
    return loop_.run_until(
        [&] {
          sup_->reap();
          return pred();
        },
        kPatience);
  }
  // Until the process is done: Exited or SpawnFailed sent, and reaped.
  bool wait_done(uint64_t launch) {
    return run_until([&] {
      return (sink_.first<Exited>(launch) || sink_.first<SpawnFailed>(launch)) && sup_->size() == 0;
    });
  }
  bool wait_output(uint64_t launch, const std::string& text) {
    return run_until([&] { return sink_.out(launch).find(text) != std::string::npos; });
  }
  bool wait_gone(pid_t pid) {
    return run_until([&] { return process_gone(pid); });
  }

 private:
  Alarm alarm_{120};
  Loop loop_;
  Spawner spawner_;
  RecordingSink sink_;
  std::unique_ptr<Supervisor> sup_;
  int idle_calls_ = 0;
};

// The pid a script printed with `echo $!`.
pid_t pid_in(const std::string& text) { return static_cast<pid_t>(std::stol(text)); }

}  // namespace

TEST_CASE("supervisor: Started, then the exit code of a process that exits", "[supervisor]") {
  EACH_SPAWN_MODE();
  Rig rig;
  rig.spawn(1, {"/bin/true"});
  rig.spawn(2, {"/bin/false"});
  rig.sh(3, "exit 7");
  REQUIRE(rig.run_until([&] { return rig.sup().size() == 0; }));
  for (auto [launch, code] : {std::pair{1, 0}, std::pair{2, 1}, std::pair{3, 7}}) {
    INFO("launch " << launch);
    std::vector<Message> about = rig.sink().about(launch);
    REQUIRE(about.size() == 2);
    REQUIRE(std::holds_alternative<Started>(about[0]));
    CHECK(std::get<Started>(about[0]).pid > 0);
    CHECK(about[1] == Message(Exited{static_cast<uint64_t>(launch), code, 0}));
  }
  CHECK(rig.idle_calls() == 1);
}

TEST_CASE("supervisor: a process ended by a signal is reported with that signal", "[supervisor]") {
  EACH_SPAWN_MODE();
  Rig rig;
  rig.sh(1, "kill -USR1 $$");
  REQUIRE(rig.wait_done(1));
  CHECK(rig.sink().exited(1).signal == SIGUSR1);
}

TEST_CASE("supervisor: signal goes to the processes named, or to all", "[supervisor]") {
  EACH_SPAWN_MODE();
  Rig rig;
  rig.spawn(1, {"sleep", "300"});
  rig.spawn(2, {"sleep", "300"});
  REQUIRE(
      rig.run_until([&] { return rig.sink().first<Started>(1) && rig.sink().first<Started>(2); }));
  rig.sup().signal({1, 99}, false, SIGUSR2);  // 99: unknown, ignored
  REQUIRE(rig.run_until([&] { return rig.sink().first<Exited>(1).has_value(); }));
  CHECK(rig.sink().exited(1).signal == SIGUSR2);
  CHECK(rig.sup().size() == 1);
  rig.sup().signal({}, true, SIGHUP);
  REQUIRE(rig.wait_done(2));
  CHECK(rig.sink().exited(2).signal == SIGHUP);
}

TEST_CASE(
    "supervisor: kill with a grace period sends TERM, then KILL to a process that ignores "
    "TERM",
    "[supervisor]") {
  EACH_SPAWN_MODE();
  Rig rig;
  // `wait` returns at once when a trapped TERM arrives; a foreground
  // `sleep 1` forked just after the TERM would delay the trap by a second.
  rig.sh(1, "trap 'echo got-term' TERM; echo ready; while :; do sleep 1 & wait $!; done");
  rig.spawn(2, {"sleep", "300"});
  REQUIRE(rig.wait_output(1, "ready\n"));
  REQUIRE(rig.run_until([&] { return rig.sink().first<Started>(2).has_value(); }));
  rig.sup().kill({1, 2}, false, 2000);
  REQUIRE(rig.run_until([&] { return rig.sup().size() == 0; }));
  CHECK(rig.sink().exited(2).signal == SIGTERM);  // it obeyed TERM
  CHECK(rig.sink().out(1) == "ready\ngot-term\n");
  CHECK(rig.sink().exited(1).signal == SIGKILL);
}

TEST_CASE("supervisor: kill without a grace period sends KILL at once", "[supervisor]") {
  EACH_SPAWN_MODE();
  Rig rig;
  rig.sh(1, "trap 'echo got-term' TERM; echo ready; while :; do sleep 1; done");
  REQUIRE(rig.wait_output(1, "ready\n"));
  rig.sup().kill({}, true, 0);
  REQUIRE(rig.wait_done(1));
  CHECK(rig.sink().exited(1).signal == SIGKILL);
  CHECK(rig.sink().out(1) == "ready\n");
}

TEST_CASE(
    "supervisor: kill signals the whole process group, and nothing of it survives, not a "
    "grandchild ignoring TERM",
    "[supervisor]") {
  EACH_SPAWN_MODE();
  KillOnExit cleanup("sleep");
  Rig rig;
  rig.sh(1, "(trap '' TERM; exec sleep 300) & echo $!; wait");
  REQUIRE(rig.wait_output(1, "\n"));
  pid_t grandchild = pid_in(rig.sink().out(1));
  cleanup.add(grandchild);
  rig.sup().kill({1}, false, 1000);
  REQUIRE(rig.wait_done(1));
  CHECK(rig.sink().exited(1).signal == SIGTERM);
  CHECK(rig.wait_gone(grandchild));
}

TEST_CASE(
    "supervisor: when a process exits, the rest of its group is killed, also a process "
    "holding its output pipes",
    "[supervisor]") {
  EACH_SPAWN_MODE();
  KillOnExit cleanup("sleep");
  Rig rig;
  rig.sh(1, "sleep 300 >/dev/null 2>&1 & echo $!");
  rig.sh(2, "sleep 300 & echo $!");
  REQUIRE(rig.run_until([&] { return rig.sup().size() == 0; }));
  for (uint64_t launch : {1, 2}) {
    INFO("launch " << launch);
    CHECK(rig.sink().exited(launch) == Exited{launch, 0, 0});
    pid_t grandchild = pid_in(rig.sink().out(launch));
    cleanup.add(grandchild);
    CHECK(rig.wait_gone(grandchild));
  }
}

TEST_CASE(
    "supervisor: stdout and stderr are forwarded, the last partial line too, all before "
    "Exited",
    "[supervisor]") {
  EACH_SPAWN_MODE();
  Rig rig;
  rig.sh(1, "echo out-1; echo err-1 >&2; echo out-2; printf 'partial'; printf 'e-partial' >&2");
  REQUIRE(rig.wait_done(1));
  CHECK(rig.sink().output(1, Stream::kStdout) == "out-1\nout-2\npartial");
  CHECK(rig.sink().output(1, Stream::kStderr) == "err-1\ne-partial");
  std::vector<Message> about = rig.sink().about(1);
  CHECK(std::holds_alternative<Started>(about.front()));
  CHECK(std::holds_alternative<Exited>(about.back()));
}

TEST_CASE(
    "supervisor: a process that cannot start is a SpawnFailed naming why, with no Started "
    "or Exited",
    "[supervisor]") {
  EACH_SPAWN_MODE();
  Rig rig;
  rig.spawn(1, {"/nonexistent/jobset-prog"});
  rig.spawn(2, {"/bin/true"}, "/nonexistent/jobset-dir");
  rig.spawn(3, {});
  REQUIRE(rig.run_until([&] { return rig.sup().size() == 0; }));
  CHECK(rig.sink().failed(1) ==
        std::string("spawn test-0-1: /nonexistent/jobset-prog: ") + strerror(ENOENT));
  CHECK(rig.sink().failed(2) ==
        std::string("spawn test-0-2: working directory /nonexistent/jobset-dir: ") +
            strerror(ENOENT));
  CHECK(rig.sink().failed(3) == "spawn test-0-3: empty command");
  for (uint64_t launch : {1, 2, 3}) CHECK(rig.sink().about(launch).size() == 1);
  CHECK(rig.idle_calls() == 1);
}

TEST_CASE("supervisor: a launch id already in use is refused; the first process runs on",
          "[supervisor]") {
  EACH_SPAWN_MODE();
  Rig rig;
  rig.sh(1, "echo ready; sleep 300");
  rig.spawn(1, {"/bin/true"});
  REQUIRE(rig.wait_output(1, "ready\n"));
  CHECK(rig.sink().failed(1) == "spawn test-0-1: launch id 1 is already in use");
  CHECK(rig.sup().size() == 1);
  rig.sup().kill({1}, false, 0);
  REQUIRE(rig.wait_done(1));
  CHECK(rig.sink().exited(1).signal == SIGKILL);
}
