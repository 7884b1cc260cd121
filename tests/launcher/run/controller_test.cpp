// The controller's policy paths, driven by hand-fed events: every rule of
// JOBSET-SEMANTICS.md "Controller behaviour" and the policies of the spec.
#include "launcher/run/controller.hpp"

#include <map>
#include <memory>
#include <set>

#include "tests/launcher/test_util.hpp"

using namespace jobset::launcher;
using namespace jobset::launcher::testing;

namespace {

// Feeds a Controller and records what it asks for, like the run driver.
class Sim {
 public:
  explicit Sim(const std::string& toml, ControllerOptions o = {}) {
    auto l = load(toml);
    INFO(l.diags.to_string());
    REQUIRE(l.js);
    js_ = l.js->jobset;
    ex_ = *expand(js_);
    c_ = std::make_unique<Controller>(js_, ex_, o);
    c_->start(now_);
    drain();
  }

  Controller& c() { return *c_; }
  double& now() { return now_; }

  // Current instance of `rank`: the last launch spawned for it.
  uint64_t launch(int rank) {
    REQUIRE(current_.count(rank));
    return current_[rank];
  }
  bool spawned(int rank) const { return current_.count(rank) > 0; }
  int spawns(int rank) const { return spawn_count_.count(rank) ? spawn_count_.at(rank) : 0; }
  int attempt(int rank) const { return attempt_.at(rank); }
  int job_attempt(int rank) const { return job_attempt_.at(rank); }
  bool killed(uint64_t launch) const { return killed_.count(launch) > 0; }

  void start(int rank) {
    started_.insert(launch(rank));
    c_->process_started(launch(rank), now_);
    drain();
  }
  void start_all() {
    for (auto [rank, l] : std::map<int, uint64_t>(current_))
      if (!started_.count(l)) start(rank);
  }
  void exit(int rank, int code, int sig = 0, const std::string& mpi_failure = "") {
    exit_launch(launch(rank), code, sig, mpi_failure);
  }
  void exit_launch(uint64_t l, int code, int sig = 0, const std::string& mpi_failure = "") {
    exited_.insert(l);
    c_->process_exited(l, code, sig, now_, mpi_failure);
    drain();
  }
  // Every instance that was told to stop exits (on TERM: 143).
  void reap_killed() {
    for (uint64_t l : std::set<uint64_t>(killed_))
      if (!exited_.count(l)) exit_launch(l, 0, 15);
  }
  void interrupt(int signo) {
    c_->interrupt(signo, now_);
    drain();
  }
  void tick(double t) {
    now_ = t;
    c_->tick(t);
    drain();
  }
  const std::vector<EventRecord>& events() const { return events_; }
  bool has_event(const std::string& kind) const {
    for (const auto& e : events_)
      if (e.kind == kind) return true;
    return false;
  }

 private:
  void drain() {
    for (Action& a : c_->take_actions()) {
      if (auto* s = std::get_if<SpawnAction>(&a)) {
        current_[s->rank] = s->launch;
        attempt_[s->rank] = s->attempt;
        job_attempt_[s->rank] = s->job_attempt;
        ++spawn_count_[s->rank];
      } else if (auto* k = std::get_if<KillAction>(&a)) {
        for (uint64_t l : k->launches) killed_.insert(l);
      } else {
        events_.push_back(std::get<EventRecord>(a));
      }
    }
  }

  JobSet js_;
  Expansion ex_;
  std::unique_ptr<Controller> c_;
  double now_ = 100;
  std::map<int, uint64_t> current_;
  std::map<int, int> attempt_, job_attempt_, spawn_count_;
  std::set<uint64_t> killed_, started_, exited_;
  std::vector<EventRecord> events_;
};

std::string js_text(const std::string& rjobs, const std::string& tail = "") {
  return "name = \"t\"\n" + rjobs + tail;
}

std::string rjob(const std::string& name, int replicas, int parallelism,
                 const std::string& extra = "", const std::string& top = "") {
  return "[[replicated_jobs]]\nname = \"" + name + "\"\nreplicas = " + std::to_string(replicas) +
         "\n" + top + "[replicated_jobs.template]\ncommand = [\"x\"]\nparallelism = " +
         std::to_string(parallelism) + "\n" + extra;
}

}  // namespace

TEST_CASE("controller: all processes succeed -> Completed, exit 0", "[controller]") {
  Sim s(js_text(rjob("w", 2, 2)));
  for (int r = 0; r < 4; ++r) REQUIRE(s.spawned(r));
  s.start_all();
  CHECK(s.c().status().replicated_jobs[0].ready == 2);
  for (int r = 0; r < 4; ++r) s.exit(r, 0);
  REQUIRE(s.c().finished());
  CHECK(s.c().outcome().success);
  CHECK(s.c().outcome().exit_code == 0);
  CHECK(s.c().status().replicated_jobs[0].succeeded == 2);
  CHECK(s.c().status().terminal_state == "Completed");
}

TEST_CASE("controller: a failed process is retried in place until backoff_limit is exceeded",
          "[controller]") {
  Sim s(js_text(rjob("w", 1, 2, "backoff_limit = 2\n")));
  s.start_all();
  s.exit(1, 3);
  CHECK(s.spawns(1) == 2);   // retry 1
  CHECK(s.attempt(1) == 0);  // a retry in place is not a JobSet restart
  s.exit(1, 3);
  CHECK(s.spawns(1) == 3);  // retry 2
  CHECK_FALSE(s.c().decided());
  s.exit(1, 3);  // third failure > backoff_limit 2
  REQUIRE(s.c().decided());
  CHECK(s.c().outcome().reason == "FailedJobs");
  CHECK(s.c().outcome().exit_code == 3);
  CHECK(s.c().outcome().message.find(
            "(BackoffLimitExceeded): Job has reached the specified backoff limit") !=
        std::string::npos);
  CHECK_FALSE(s.c().finished());  // rank 0 still runs: it is stopped first
  CHECK(s.killed(s.launch(0)));
  s.reap_killed();
  CHECK(s.c().finished());
}

TEST_CASE("controller: a process killed by a signal fails with 128+signal", "[controller]") {
  Sim s(js_text(rjob("w", 1, 1, "backoff_limit = 0\n")));
  s.start_all();
  s.exit(0, 0, 9);
  REQUIRE(s.c().finished());
  CHECK(s.c().outcome().exit_code == 137);
  CHECK(s.c().outcome().message.find("killed by signal 9") != std::string::npos);
}

TEST_CASE(
    "controller: a process that broke its MPI world (MPI_Abort) fails its job at once, no retry "
    "in place; the failure policy decides",
    "[controller]") {
  SECTION("no restart left: the JobSet fails with the abort code") {
    Sim s(js_text(rjob("w", 1, 4, "backoff_limit = 6\n")));
    s.start_all();
    s.exit(2, 7, 0, "called MPI_Abort with exit code 7");
    CHECK(s.spawns(2) == 1);  // not retried
    REQUIRE(s.c().decided());
    CHECK(s.c().outcome().exit_code == 7);
    CHECK(s.c().outcome().message.find("(MPIFailure): t-w-0-2 called MPI_Abort with exit code 7") !=
          std::string::npos);
    for (int r : {0, 1, 3}) CHECK(s.killed(s.launch(r)));
    s.reap_killed();
    CHECK(s.c().finished());
  }
  SECTION("a restart left: every process starts again in attempt 1 (a new world)") {
    Sim s(js_text(rjob("w", 1, 2, "backoff_limit = 6\n"), "[failure_policy]\nmax_restarts = 1\n"));
    s.start_all();
    s.exit(1, 137, 9, "ended between MPI_Init and MPI_Finalize");
    s.reap_killed();
    CHECK(s.attempt(0) == 1);
    CHECK(s.attempt(1) == 1);
    CHECK_FALSE(s.c().decided());
  }
}

TEST_CASE("controller: pod failure policy FailJob, Ignore and Count", "[controller]") {
  std::string pfp =
      "pod_failure_policy = { rules = [ { action = \"FailJob\", on_exit_codes = { operator = "
      "\"In\", values = [42] } },"
      " { action = \"Ignore\", on_exit_codes = { operator = \"In\", values = [143] } },"
      " { action = \"Count\", on_exit_codes = { operator = \"NotIn\", values = [0] } } ] }\n";
  SECTION("FailJob fails the job at once with reason PodFailurePolicy") {
    Sim s(js_text(rjob("w", 1, 1, "backoff_limit = 6\n" + pfp)));
    s.start_all();
    s.exit(0, 42);
    REQUIRE(s.c().finished());
    CHECK(s.c().outcome().exit_code == 42);
    CHECK(s.c().outcome().message.find("(PodFailurePolicy)") != std::string::npos);
    CHECK(s.c().outcome().message.find("matching FailJob rule at index 0") != std::string::npos);
  }
  SECTION("Ignore restarts the process without counting it") {
    Sim s(js_text(rjob("w", 1, 1, "backoff_limit = 0\n" + pfp)));
    s.start_all();
    s.exit(0, 0, 15);  // 143
    s.exit(0, 0, 15);
    CHECK(s.spawns(0) == 3);
    CHECK_FALSE(s.c().decided());
    CHECK(s.has_event("process_failure_ignored"));
    s.exit(0, 0);
    CHECK(s.c().outcome().success);
  }
  SECTION("Count counts toward backoff_limit") {
    Sim s(js_text(rjob("w", 1, 1, "backoff_limit = 1\n" + pfp)));
    s.start_all();
    s.exit(0, 5);
    CHECK(s.spawns(0) == 2);
    s.exit(0, 5);
    REQUIRE(s.c().decided());
    CHECK(s.c().outcome().message.find("BackoffLimitExceeded") != std::string::npos);
  }
}

TEST_CASE("controller: without a failure policy the first failed job fails the JobSet",
          "[controller]") {
  Sim s(js_text(rjob("a", 1, 1, "backoff_limit = 0\n") + rjob("b", 1, 1)));
  s.start_all();
  s.exit(0, 7);
  REQUIRE(s.c().decided());
  CHECK_FALSE(s.c().outcome().success);
  CHECK(s.c().outcome().reason == "FailedJobs");
  CHECK(s.c().outcome().exit_code == 7);
  CHECK(s.killed(s.launch(1)));
  CHECK(s.c().status().replicated_jobs[0].failed == 1);
}

TEST_CASE("controller: the default rule restarts the JobSet while restarts remain",
          "[controller]") {
  Sim s(js_text(rjob("a", 1, 1, "backoff_limit = 0\n") + rjob("b", 1, 1),
                "[failure_policy]\nmax_restarts = 2\n"));
  s.start_all();
  s.exit(1, 0);  // b succeeds first: it is recreated too
  s.exit(0, 1);
  CHECK(s.has_event("jobset_restart"));
  CHECK(s.c().attempt() == 1);
  // Recreate: new instances at once, old ones being stopped
  CHECK(s.spawns(0) == 2);
  CHECK(s.spawns(1) == 2);
  CHECK(s.attempt(0) == 1);
  CHECK(s.attempt(1) == 1);
  CHECK(s.c().status().restarts == 1);
  CHECK(s.c().status().restarts_count_towards_max == 1);
  // The job_failed event shows the state when a failed, before the restart
  // that followed it reset every job.
  const EventRecord* failed = nullptr;
  for (const auto& e : s.events())
    if (e.kind == "job_failed") failed = &e;
  REQUIRE(failed);
  REQUIRE(failed->status);
  CHECK(failed->status->replicated_jobs.at(0).failed == 1);
  CHECK(failed->status->replicated_jobs.at(1).succeeded == 1);
  CHECK(failed->status->restarts == 0);
  s.start_all();
  s.exit(0, 1);
  CHECK(s.c().attempt() == 2);
  s.start_all();
  s.exit(0, 1);  // third failure: no restart left
  REQUIRE(s.c().decided());
  CHECK(s.c().outcome().reason == "ReachedMaxRestarts");
  CHECK(s.c().outcome().exit_code == 1);
  s.reap_killed();
  CHECK(s.c().finished());
}

TEST_CASE("controller: BlockingRecreate starts nothing before every old process is gone",
          "[controller]") {
  Sim s(js_text(rjob("w", 1, 2, "backoff_limit = 0\n"),
                "[failure_policy]\nmax_restarts = 1\nrestart_strategy = \"BlockingRecreate\"\n"));
  s.start_all();
  uint64_t old1 = s.launch(1);
  s.exit(0, 1);
  CHECK(s.has_event("jobset_restart"));
  CHECK(s.killed(old1));
  CHECK(s.spawns(0) == 1);  // nothing new yet
  s.exit_launch(old1, 0, 15);
  CHECK(s.spawns(0) == 2);
  CHECK(s.spawns(1) == 2);
  CHECK(s.attempt(0) == 1);
}

TEST_CASE("controller: failure policy rules match reasons, patterns and targets, first match wins",
          "[controller]") {
  std::string rules =
      "[failure_policy]\nmax_restarts = 0\n"
      "[[failure_policy.rules]]\nname = \"onlyB\"\naction = \"FailJobSet\"\ntarget_replicated_jobs "
      "= [\"b\"]\n"
      "[[failure_policy.rules]]\nname = \"deadline\"\naction = "
      "\"RestartJobSetAndIgnoreMaxRestarts\"\n"
      "on_job_failure_message_patterns = [\"active longer than specified deadline\"]\n"
      "[[failure_policy.rules]]\nname = \"pfp\"\naction = \"RestartJobSetAndIgnoreMaxRestarts\"\n"
      "on_job_failure_reasons = [\"PodFailurePolicy\"]\n";
  std::string pfp =
      "pod_failure_policy = { rules = [ { action = \"FailJob\", on_exit_codes = { values = [42] } "
      "} ] }\n";
  std::string a = rjob("a", 1, 1, "backoff_limit = 0\nactive_deadline_seconds = 10\n" + pfp);
  std::string b = rjob("b", 1, 1, "backoff_limit = 0\n");
  SECTION("target rule: b fails -> FailJobSet") {
    Sim s(js_text(a + b, rules));
    s.start_all();
    s.exit(1, 2);
    REQUIRE(s.c().decided());
    CHECK(s.c().outcome().message.find("failure policy rule onlyB: FailJobSet") !=
          std::string::npos);
    // Upstream's reason constant (pkg/constants FailJobSetActionReason).
    CHECK(s.c().outcome().reason == "FailJobSetFailurePolicyAction");
  }
  SECTION("reason rule: a fails with PodFailurePolicy -> restart ignoring max_restarts") {
    Sim s(js_text(a + b, rules));
    s.start_all();
    s.exit(0, 42);
    CHECK_FALSE(s.c().decided());
    s.start_all();
    s.exit(0, 42);
    CHECK_FALSE(s.c().decided());
    CHECK(s.c().status().restarts == 2);
    CHECK(s.c().status().restarts_count_towards_max == 0);
  }
  SECTION("pattern rule: a exceeds its deadline -> restart") {
    Sim s(js_text(a + b, rules));
    s.start_all();
    REQUIRE(s.c().next_deadline());
    CHECK(*s.c().next_deadline() == Approx(110));
    s.tick(110);
    CHECK(s.c().status().restarts == 1);
    CHECK_FALSE(s.c().decided());
  }
  SECTION(
      "no rule matches (a fails by backoff): default RestartJobSet, which counts: max 0 -> "
      "ReachedMaxRestarts") {
    Sim s(js_text(a + b, rules));
    s.start_all();
    s.exit(0, 3);
    REQUIRE(s.c().decided());
    CHECK(s.c().outcome().reason == "ReachedMaxRestarts");
  }
}

TEST_CASE("controller: the earliest failed job decides", "[controller]") {
  std::string rules =
      "[failure_policy]\nmax_restarts = 5\n"
      "[[failure_policy.rules]]\nname = \"b\"\naction = \"FailJobSet\"\ntarget_replicated_jobs = "
      "[\"b\"]\n";
  Sim s(js_text(rjob("a", 1, 1, "backoff_limit = 0\n") + rjob("b", 1, 1, "backoff_limit = 0\n"),
                rules));
  s.start_all();
  s.now() = 101;
  s.exit(0, 1);  // a fails first: default rule restarts everything
  CHECK(s.c().status().restarts == 1);
  CHECK_FALSE(s.c().decided());
}

TEST_CASE("controller: RestartJob restarts only the failed job", "[controller]") {
  std::string rules =
      "[failure_policy]\nmax_restarts = 1\n[[failure_policy.rules]]\nname = \"r\"\naction = "
      "\"RestartJob\"\n";
  Sim s(js_text(rjob("w", 2, 1, "backoff_limit = 0\n"), rules));
  s.start_all();
  s.exit(1, 1);
  CHECK(s.spawns(0) == 1);
  CHECK(s.spawns(1) == 2);
  // As upstream: not a JobSet restart. The JobSet's restarts and attempt
  // stay; the job counts its own restart, which counts toward max_restarts.
  CHECK(s.attempt(1) == 0);
  CHECK(s.job_attempt(1) == 1);
  CHECK(s.job_attempt(0) == 0);
  CHECK(s.c().attempt() == 0);
  CHECK(s.c().status().restarts == 0);
  CHECK(s.c().status().restarts_count_towards_max == 1);
  CHECK(s.c().status().replicated_jobs.at(0).job_restarts == 1);
  bool restart_event = false;
  for (const auto& e : s.events())
    if (e.kind == "job_restart") {
      restart_event = true;
      CHECK(e.subject == "t-w-1");
      CHECK(e.detail.rfind("job restart 1: ", 0) == 0);
    }
  CHECK(restart_event);
  s.start_all();
  s.exit(1, 1);
  REQUIRE(s.c().decided());
  CHECK(s.c().outcome().reason == "ReachedMaxRestarts");
}

TEST_CASE("controller: success policy Any on targets stops the rest and succeeds", "[controller]") {
  Sim s(js_text(rjob("driver", 1, 1) + rjob("workers", 2, 2),
                "[success_policy]\noperator = \"Any\"\ntarget_replicated_jobs = [\"driver\"]\n"));
  s.start_all();
  s.exit(1, 0);  // a worker finishing is not enough
  CHECK_FALSE(s.c().decided());
  s.exit(0, 0);
  REQUIRE(s.c().decided());
  CHECK(s.c().outcome().success);
  for (int r : {2, 3, 4}) CHECK(s.killed(s.launch(r)));
  CHECK_FALSE(s.c().finished());
  s.reap_killed();
  REQUIRE(s.c().finished());
  CHECK(s.c().outcome().exit_code == 0);
}

TEST_CASE("controller: success policy All on targets waits for every job of the targets",
          "[controller]") {
  Sim s(js_text(rjob("ps", 1, 1) + rjob("workers", 2, 1),
                "[success_policy]\noperator = \"All\"\ntarget_replicated_jobs = [\"workers\"]\n"));
  s.start_all();
  s.exit(1, 0);
  CHECK_FALSE(s.c().decided());
  s.exit(2, 0);
  REQUIRE(s.c().decided());
  CHECK(s.killed(s.launch(0)));  // the parameter server never exits by itself
}

TEST_CASE("controller: startup_policy InOrder starts a replicated job when the one before is Ready",
          "[controller]") {
  Sim s(js_text(rjob("a", 1, 2) + rjob("b", 1, 1),
                "[startup_policy]\nstartup_policy_order = \"InOrder\"\n"));
  CHECK(s.spawned(0));
  CHECK(s.spawned(1));
  CHECK_FALSE(s.spawned(2));
  s.start(0);
  CHECK_FALSE(s.spawned(2));
  s.start(1);
  CHECK(s.spawned(2));
}

TEST_CASE("controller: depends_on Complete waits for success, Ready for start", "[controller]") {
  Sim s(js_text(
      rjob("init", 1, 1) +
      rjob("ready", 1, 1, "", "depends_on = [{ name = \"init\", status = \"Ready\" }]\n") +
      rjob("after", 1, 1, "", "depends_on = [{ name = \"init\", status = \"Complete\" }]\n")));
  CHECK(s.spawned(0));
  CHECK_FALSE(s.spawned(1));
  CHECK_FALSE(s.spawned(2));
  s.start(0);
  CHECK(s.spawned(1));
  CHECK_FALSE(s.spawned(2));
  s.exit(0, 0);
  CHECK(s.spawned(2));
}

TEST_CASE("controller: parallelism below completions runs a job's indexes in waves",
          "[controller]") {
  Sim s(js_text(rjob("w", 1, 2, "completions = 5\n")));
  CHECK(s.spawned(0));
  CHECK(s.spawned(1));
  CHECK_FALSE(s.spawned(2));
  s.start_all();
  s.exit(0, 0);
  CHECK(s.spawned(2));
  CHECK_FALSE(s.spawned(3));
}

TEST_CASE("controller: active_deadline_seconds fails the job with DeadlineExceeded",
          "[controller]") {
  Sim s(js_text(rjob("w", 1, 1, "active_deadline_seconds = 5\n")));
  s.start_all();
  s.tick(104);
  CHECK_FALSE(s.c().decided());
  s.tick(105);
  REQUIRE(s.c().decided());
  CHECK(s.c().outcome().message.find(
            "(DeadlineExceeded): Job was active longer than specified deadline") !=
        std::string::npos);
  CHECK(s.c().outcome().exit_code == 124);
}

TEST_CASE("controller: a spawn failure is a failure with exit code 127 and the policies apply",
          "[controller]") {
  Sim s(js_text(rjob("w", 1, 1, "backoff_limit = 1\n")));
  s.c().process_spawn_failed(s.launch(0), "spawn t-w-0-0: ./nope: No such file or directory", 100);
  CHECK(s.c().take_actions().size() >= 1);  // a retry
  Sim f(js_text(rjob("w", 1, 1, "backoff_limit = 0\n")));
  f.c().process_spawn_failed(f.launch(0), "spawn t-w-0-0: ./nope: No such file or directory", 100);
  REQUIRE(f.c().finished());
  CHECK(f.c().outcome().exit_code == 127);
  CHECK(f.c().outcome().message.find("./nope: No such file or directory") != std::string::npos);
}

TEST_CASE("controller: interrupt stops everything, exit 128+signal; timeout exits 124",
          "[controller]") {
  Sim s(js_text(rjob("w", 1, 2)));
  s.start_all();
  s.interrupt(2);
  REQUIRE(s.c().decided());
  CHECK(s.c().outcome().exit_code == 130);
  CHECK_FALSE(s.c().finished());
  s.reap_killed();
  CHECK(s.c().finished());
  Sim t(js_text(rjob("w", 1, 1)));
  t.c().interrupt(0, 100);
  CHECK(t.c().outcome().reason == "Timeout");
  CHECK(t.c().outcome().exit_code == 124);
}

TEST_CASE("controller: events of an old instance are ignored", "[controller]") {
  Sim s(js_text(rjob("w", 1, 1, "backoff_limit = 0\n"), "[failure_policy]\nmax_restarts = 1\n"));
  s.start_all();
  uint64_t old = s.launch(0);
  s.exit(0, 1);  // restart: a new instance
  REQUIRE(s.launch(0) != old);
  s.c().process_exited(old, 1, 0, 100);  // duplicate, late
  CHECK_FALSE(s.c().decided());
  CHECK(s.c().rank_of(old) == 0);
  CHECK(s.c().rank_of(99999) == -1);
}

TEST_CASE("controller: --max-restarts overrides the file", "[controller]") {
  ControllerOptions o;
  o.max_restarts = 1;
  Sim s(js_text(rjob("w", 1, 1, "backoff_limit = 0\n")), o);
  // No failure policy in the file: still the first failure fails the JobSet.
  s.start_all();
  s.exit(0, 1);
  CHECK(s.c().decided());
  Sim p(js_text(rjob("w", 1, 1, "backoff_limit = 0\n"), "[failure_policy]\nmax_restarts = 0\n"), o);
  p.start_all();
  p.exit(0, 1);
  CHECK_FALSE(p.c().decided());
  CHECK(p.c().status().restarts == 1);
}

TEST_CASE("controller: a JobSet with no processes completes at once", "[controller]") {
  Sim s(js_text(rjob("w", 0, 1)));
  REQUIRE(s.c().finished());
  CHECK(s.c().outcome().success);
}

TEST_CASE(
    "controller: a lost node fails its processes with DisruptionTarget, which on_pod_conditions "
    "match",
    "[controller]") {
  std::string ignore =
      "pod_failure_policy = { rules = [ { action = \"Ignore\", on_pod_conditions = [{ type = "
      "\"DisruptionTarget\" }] } ] }\n";
  Sim s(js_text(rjob("w", 1, 2, "backoff_limit = 0\n" + ignore)));
  s.start_all();
  s.c().process_lost(s.launch(1), "node sim2 lost", 100);
  CHECK_FALSE(s.c().decided());  // ignored: started again
  CHECK(s.c().take_actions().size() >= 2);
  Sim f(js_text(rjob("w", 1, 2, "backoff_limit = 0\n")));
  f.start_all();
  f.c().process_lost(f.launch(1), "node sim2 lost", 100);
  REQUIRE(f.c().decided());
  CHECK(f.c().outcome().exit_code == 137);
  CHECK(f.c().outcome().message.find("lost: node sim2 lost") != std::string::npos);
}
