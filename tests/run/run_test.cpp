// Integration tests of `jobset run`: the real launcher and jobsetd daemons
// on real processes, as a user sees them: exit codes, the last line on
// stderr, output, --events, files the processes leave in a scratch
// directory, and /proc (no process of a run may outlive it). Each test
// has a watchdog (Launch::wait) and cleans up by pid (run_util.hpp).
//
// Most runs have one shape: files in, `jobset run ARGS`, then checks on
// the exit code, output, stderr, files and events. Those are rows of
// RunCase tables, one table per topic, each row a section named for the
// behaviour it shows; runs that need more (signals, timing between
// processes, /proc, a terminal) are test cases of their own.
#include <algorithm>
#include <regex>

#include "tests/run/run_util.hpp"
#include "tests/skip.hpp"

using namespace runtest;
using nlohmann::json;

namespace {

const std::string kCompleted = "jobset: completed";
const std::string kFailed = "jobset: failed";

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool contains(const std::string& s, const std::string& p) { return s.find(p) != std::string::npos; }

// The last event is {"event":"jobset_finished","exit_code":code,...}.
void check_finished_event(const std::vector<json>& evs, int code) {
  REQUIRE(!evs.empty());
  const json& last = evs.back();
  INFO(last.dump());
  CHECK(last.value("event", "") == "jobset_finished");
  CHECK(last.contains("exit_code"));
  CHECK(last.value("exit_code", -1) == code);
  CHECK(last.contains("reason"));
}

// Processes of the run whose command line is exactly `argv`.
size_t count_running(const Launch& r, const std::vector<std::string>& argv) {
  size_t n = 0;
  for (const Proc& p : r.procs())
    if (p.argv == argv) ++n;
  return n;
}

// Polls until `n` processes of the run run `argv`; fails the test if not
// within `seconds`.
void await_running(const Launch& r, const std::vector<std::string>& argv, size_t n,
                   double seconds = 20) {
  bool ok = eventually(seconds, [&] { return count_running(r, argv) >= n; });
  INFO(r.report() << "\nprocesses:\n" << describe(r.procs()));
  REQUIRE(ok);
}

void await_file(const Scratch& s, const std::string& name, double seconds = 20) {
  INFO("waiting for " << s.path(name));
  REQUIRE(eventually(seconds, [&] { return s.exists(name); }));
}

// How many events of a kind (and subject, when not empty) --events wrote.
struct EventCount {
  std::string kind, subject;
  int n = 0;
};

// One `jobset run` and what it must give. `files` are written to a fresh
// scratch directory first; @DIR@ in files, arguments and expected text
// stands for that directory. Expectations left empty are not checked.
struct RunCase {
  std::string name{};
  std::vector<std::pair<std::string, std::string>> files{};  // name, text
  std::vector<std::string> args{};                           // after `jobset run`
  double timeout = 30;                                       // the watchdog
  int code = 0;
  double under_seconds = 0;                             // the run ends sooner
  std::optional<std::vector<std::string>> out_lines{};  // stdout's lines, sorted
  std::optional<std::string> out{};                     // stdout exactly
  std::vector<std::string> out_has{}, out_lacks{}, err_has{};
  std::vector<std::string> err_line_has{};  // all on one line of stderr
  std::string last_err_starts{};            // the last line of stderr
  std::vector<std::string> last_err_has{};
  std::vector<std::pair<std::string, std::string>> files_after{};  // scratch file, exact text
  std::vector<std::string> present{}, absent{};                    // scratch files
  std::vector<EventCount> events{};                                // read from @DIR@/events.jsonl
  std::optional<int> finished{};  // check_finished_event with this code
  std::string finished_reason{};  // and this reason
  bool nothing_left = false;      // check_nothing_left
};

void check_run(const RunCase& c) {
  Scratch s;
  for (const auto& [name, text] : c.files) s.write(name, text);
  std::vector<std::string> args = {"run"};
  for (const std::string& a : c.args) args.push_back(s.subst(a));
  Launch r(s, args);
  int code = r.wait(c.timeout);
  INFO(r.report());
  CHECK(code == c.code);
  if (c.under_seconds > 0) CHECK(r.elapsed() < c.under_seconds);
  if (c.out_lines) CHECK(sorted(lines_of(r.out())) == *c.out_lines);
  if (c.out) CHECK(r.out() == *c.out);
  for (const std::string& t : c.out_has) CHECK_THAT(r.out(), Catch::Contains(s.subst(t)));
  for (const std::string& t : c.out_lacks) CHECK_THAT(r.out(), !Catch::Contains(s.subst(t)));
  for (const std::string& t : c.err_has) CHECK_THAT(r.err(), Catch::Contains(s.subst(t)));
  if (!c.err_line_has.empty()) {
    bool found = false;
    for (const std::string& line : lines_of(r.err()))
      found =
          found || std::all_of(c.err_line_has.begin(), c.err_line_has.end(),
                               [&](const std::string& t) { return contains(line, s.subst(t)); });
    INFO("wanted on one line of stderr: " << Launch::join(c.err_line_has));
    CHECK(found);
  }
  if (!c.last_err_starts.empty())
    CHECK_THAT(r.last_err_line(), Catch::StartsWith(c.last_err_starts));
  for (const std::string& t : c.last_err_has) CHECK_THAT(r.last_err_line(), Catch::Contains(t));
  for (const auto& [name, text] : c.files_after) {
    INFO("scratch file " << name);
    CHECK(s.read(name) == text);
  }
  for (const std::string& name : c.present) CHECK(s.exists(name));
  for (const std::string& name : c.absent) CHECK_FALSE(s.exists(name));
  if (!c.events.empty() || c.finished) {
    auto evs = read_events(s.path("events.jsonl"));
    INFO(event_kinds(evs));
    for (const EventCount& e : c.events) {
      INFO("events " << e.kind << " " << e.subject);
      CHECK(count_events(evs, e.kind, e.subject) == e.n);
    }
    if (c.finished) check_finished_event(evs, *c.finished);
    if (!c.finished_reason.empty()) CHECK(evs.back().value("reason", "") == c.finished_reason);
  }
  if (c.nothing_left) check_nothing_left(r);
}

// Runs every row of a table, each in a section of its own.
void check_runs(const std::vector<RunCase>& table) {
  for (const RunCase& c : table) DYNAMIC_SECTION(c.name) {
      check_run(c);
    }
}

}  // namespace

// ---- success, environment, exit codes, nodes ---------------------------------

namespace {
// Two replicated jobs whose processes print their environment.
std::string env_file() {
  const std::string cmd =
      "command = ['sh', '-c', 'echo \"$JOBSET_HOSTNAME name=$JOBSET_NAME rjob=$REPLICATED_JOB_NAME "
      "job=$JOB_INDEX "
      "index=$JOB_COMPLETION_INDEX rank=$RANK world=$WORLD_SIZE local=$LOCAL_RANK "
      "node=$JOBSET_NODE "
      "attempt=$JOBSET_RESTART_ATTEMPT/$TORCHELASTIC_RESTART_COUNT x=$FROM_X\"']\n";
  return "name = \"envcheck\"\n"
         "[[replicated_jobs]]\nname = \"a\"\nreplicas = 2\n"
         "[replicated_jobs.template]\nparallelism = 2\n" +
         cmd +
         "[[replicated_jobs]]\nname = \"b\"\n"
         "[replicated_jobs.template]\n" +
         cmd;
}

// The line `env_file()`'s process `who` prints, given the middle part.
std::string env_line(const std::string& who, const std::string& middle) {
  return "envcheck-" + who + " name=envcheck " + middle + " attempt=0/0 x=yes";
}

// A command that prints where its rank runs, after `tag`.
std::string echo_rank(const std::string& tag) {
  return "echo \"" + tag +
         " rank $RANK of $WORLD_SIZE index $JOB_COMPLETION_INDEX local $LOCAL_RANK on "
         "$JOBSET_NODE\"";
}

// What each multislice job prints: its pool's slice id.
std::vector<std::string> multislice_lines() {
  std::vector<std::string> out;
  for (int job = 0; job < 4; ++job)
    for (int pod = 0; pod < 2; ++pod)
      out.push_back("[multislice-workers-" + std::to_string(job) + "-" + std::to_string(pod) +
                    "] MEGASCALE_SLICE_ID=" + std::to_string(job));
  return out;
}
}  // namespace

TEST_CASE("run: a run ends with its processes' exit code and output, on the nodes it was given",
          "[run]") {
  const std::string src = JOBSET_SRCDIR;
  check_runs({
      {.name = "ad-hoc MPMD run ends 0 with output from every rank spread over simulated nodes",
       .args = {"--simulate-nodes", "2", "-n", "3", "sh", "-c", echo_rank("A"), ":", "-n", "1",
                "sh", "-c", echo_rank("B")},
       .out_lines = {{"A rank 0 of 4 index 0 local 0 on sim1",
                      "A rank 1 of 4 index 1 local 1 on sim1",
                      "A rank 2 of 4 index 2 local 0 on sim2",
                      "B rank 3 of 4 index 0 local 1 on sim2"}},
       .last_err_starts = kCompleted,
       .nothing_left = true},
      // 5 processes over 2 nodes: 3 slots each, filled in rank order.
      {.name = "every process gets its names, indexes, rank, node and -x variables",
       .files = {{"env.toml", env_file()}},
       .args = {"--simulate-nodes", "2", "-x", "FROM_X=yes", "@DIR@/env.toml"},
       .out_lines = {{
           env_line("a-0-0", "rjob=a job=0 index=0 rank=0 world=5 local=0 node=sim1"),
           env_line("a-0-1", "rjob=a job=0 index=1 rank=1 world=5 local=1 node=sim1"),
           env_line("a-1-0", "rjob=a job=1 index=0 rank=2 world=5 local=2 node=sim1"),
           env_line("a-1-1", "rjob=a job=1 index=1 rank=3 world=5 local=0 node=sim2"),
           env_line("b-0-0", "rjob=b job=0 index=0 rank=4 world=5 local=1 node=sim2"),
       }},
       .nothing_left = true},
      // Rank 1 fails while rank 0 would sleep: the run fails at once with 7.
      {.name = "the failing process's exit code is jobset's",
       .args = {"-n", "2", "sh", "-c", "if [ \"$RANK\" = 1 ]; then exit 7; fi; exec sleep 100"},
       .code = 7,
       .under_seconds = 8,
       .last_err_starts = kFailed,
       .nothing_left = true},
      {.name = "a process killed by a signal makes jobset exit 128+signal",
       .args = {"-n", "1", "sh", "-c", "kill -9 $$"},
       .code = 137,
       .last_err_starts = kFailed},
      {.name = "a JobSet that does not fit exits 3, with nothing started",
       .args = {"--simulate-nodes", "2:1", "-n", "3", "touch", "@DIR@/started"},
       .code = 3,
       .err_has = {"does not fit"},
       .absent = {"started"}},
      {.name = "bad input exits 2 and names the file and line",
       .files = {{"bad.toml", "name = \"bad\"\n[[replicated_jobs]\n"}},
       .args = {"@DIR@/bad.toml"},
       .code = 2,
       .err_has = {"@DIR@/bad.toml:2:"}},
      {.name = "hostfile nodes marked local=true each get their own daemon",
       .files = {{"hosts",
                  "# two nodes of this machine\nnodeA slots=2 local=true rack=r1\nnodeB slots=2 "
                  "local=true rack=r2\n"}},
       .args = {"--hostfile", "@DIR@/hosts", "-n", "4", "sh", "-c",
                "echo \"$RANK on $JOBSET_NODE\""},
       .out_lines = {{"0 on nodeA", "1 on nodeA", "2 on nodeB", "3 on nodeB"}},
       .nothing_left = true},
      {.name = "remote hostfile nodes are refused",
       .files = {{"remote", "nodeA slots=2 local=true\nfar slots=2\n"}},
       .args = {"--hostfile", "@DIR@/remote", "-n", "4", "true"},
       .code = 2,
       .last_err_has = {"node far is remote"}},
      {.name = "the multislice example runs on simulated TPU node pools, one job per pool",
       .args = {"--tag-output", "--hostfile", src + "/examples/multislice-local.hosts",
                src + "/examples/multislice.yaml"},
       .out_has = multislice_lines(),
       .nothing_left = true},
  });
}

// ---- retries within a job, pod failure policy -------------------------------

namespace {
std::string retry_file(int backoff_limit) {
  return "name = \"retry\"\n"
         "[[replicated_jobs]]\nname = \"w\"\n"
         "[replicated_jobs.template]\n"
         "backoff_limit = " +
         std::to_string(backoff_limit) +
         "\n"
         "command = ['sh', '-c', '''\n"
         "echo \"$JOBSET_RESTART_ATTEMPT\" >> @DIR@/tries\n"
         "n=$(wc -l < @DIR@/tries)\n"
         "if [ \"$n\" -le 2 ]; then echo \"try $n fails\" >&2; exit 3; fi\n"
         "echo \"try $n succeeds\"\n"
         "''']\n";
}
}  // namespace

TEST_CASE(
    "run: a failed process is retried in place as backoff_limit and the pod failure policy say",
    "[run]") {
  check_runs({
      // Retries in place keep JOBSET_RESTART_ATTEMPT.
      {.name = "backoff_limit 2 survives two failures",
       .files = {{"retry.toml", retry_file(2)}},
       .args = {"--events", "@DIR@/events.jsonl", "@DIR@/retry.toml"},
       .out = "try 3 succeeds\n",
       .files_after = {{"tries", "0\n0\n0\n"}},
       .events = {{"process_retry", "retry-w-0-0", 2}, {"jobset_restart", "", 0}},
       .finished = 0},
      {.name = "backoff_limit 1 does not survive two failures",
       .files = {{"retry.toml", retry_file(1)}},
       .args = {"@DIR@/retry.toml"},
       .code = 3,
       .last_err_starts = kFailed,
       .files_after = {{"tries", "0\n0\n"}}},
      {.name = "pod failure policy FailJob on 42 with backoff_limit 6: one try, exit 42",
       .files = {{"failjob.toml", R"~(name = "podpolicy"
[[replicated_jobs]]
name = "w"
[replicated_jobs.template]
backoff_limit = 6
command = ['sh', '-c', 'echo x >> @DIR@/tries; exit 42']
[replicated_jobs.template.pod_failure_policy]
rules = [{ action = "FailJob", on_exit_codes = { operator = "In", values = [42] } }]
)~"}},
       .args = {"--events", "@DIR@/events.jsonl", "@DIR@/failjob.toml"},
       .code = 42,
       .last_err_starts = kFailed,
       .files_after = {{"tries", "x\n"}},
       .events = {{"process_retry", "", 0}, {"job_failed", "podpolicy-w-0", 1}},
       .finished = 42},
      {.name = "pod failure policy Ignore on 143 with backoff_limit 0: a TERM-killed process is "
               "started again",
       .files = {{"ignore.toml", R"~(name = "ignore"
[[replicated_jobs]]
name = "w"
[replicated_jobs.template]
backoff_limit = 0
command = ['sh', '-c', '''
echo x >> @DIR@/tries
if [ "$(wc -l < @DIR@/tries)" -eq 1 ]; then kill -TERM $$; sleep 5; exit 1; fi
echo "second try"
''']
[replicated_jobs.template.pod_failure_policy]
rules = [{ action = "Ignore", on_exit_codes = { operator = "In", values = [143] } }]
)~"}},
       .args = {"--events", "@DIR@/events.jsonl", "@DIR@/ignore.toml"},
       .out = "second try\n",
       .files_after = {{"tries", "x\nx\n"}},
       .events = {{"process_failure_ignored", "ignore-w-0-0", 1}, {"jobset_restart", "", 0}},
       .finished = 0},
  });
}

// ---- JobSet failure policy ---------------------------------------------------

TEST_CASE(
    "run: RestartJobSet restarts every job, the succeeded ones too, with the attempt incremented",
    "[run]") {
  Scratch s;
  // "flaky" fails on attempts 0 and 1, once "quick" has succeeded.
  std::string file = s.write("restart.toml", R"~(name = "restarts"
[failure_policy]
max_restarts = 2
[[replicated_jobs]]
name = "quick"
[replicated_jobs.template]
backoff_limit = 0
command = ['sh', '-c', 'echo "$JOBSET_RESTART_ATTEMPT" >> @DIR@/quick']
[[replicated_jobs]]
name = "flaky"
[replicated_jobs.template]
backoff_limit = 0
command = ['sh', '-c', '''
echo "$JOBSET_RESTART_ATTEMPT $TORCHELASTIC_RESTART_COUNT $PPID" >> @DIR@/flaky
if [ "$JOBSET_RESTART_ATTEMPT" -lt 2 ]; then
  i=0
  until grep -qx "$JOBSET_RESTART_ATTEMPT" @DIR@/quick 2>/dev/null || [ $i -ge 1000 ]; do sleep 0.02; i=$((i+1)); done
  sleep 0.3
  exit 5
fi
''']
)~");
  Launch r(s, {"run", "--events", s.path("events.jsonl"), file});
  int code = r.wait(40);
  INFO(r.report());
  CHECK(code == 0);
  CHECK(s.lines("quick") == std::vector<std::string>{"0", "1", "2"});
  auto flaky = s.lines("flaky");
  REQUIRE(flaky.size() == 3);
  // JOBSET_RESTART_ATTEMPT and TORCHELASTIC_RESTART_COUNT of each attempt.
  const char* attempts[] = {"0 0 ", "1 1 ", "2 2 "};
  for (int a = 0; a < 3; ++a) CHECK(starts_with(flaky[a], attempts[a]));
  // The same daemon started every attempt (restarts reuse the daemons).
  CHECK(flaky[0].substr(flaky[0].rfind(' ')) == flaky[2].substr(flaky[2].rfind(' ')));
  auto evs = read_events(s.path("events.jsonl"));
  INFO(event_kinds(evs));
  CHECK(count_events(evs, "jobset_restart") == 2);
  CHECK(count_events(evs, "job_succeeded", "restarts-quick-0") == 3);
  check_finished_event(evs, 0);
  CHECK(starts_with(r.last_err_line(), kCompleted));
  CHECK(contains(r.last_err_line(), "restarts 2"));
}

namespace {
// Fails on every attempt with 9; max_restarts 1.
const char* kMaxed = R"~(name = "maxed"
[failure_policy]
max_restarts = 1
[[replicated_jobs]]
name = "w"
[replicated_jobs.template]
backoff_limit = 0
command = ['sh', '-c', 'echo "$JOBSET_RESTART_ATTEMPT" >> @DIR@/tries; exit 9']
)~";

// Exits $CODE on attempts 0 to 2; restarts on PodFailurePolicy are free.
const char* kIgnoreMax = R"~(name = "ignoremax"
[failure_policy]
max_restarts = 0
[[failure_policy.rules]]
name = "preemptionIsFree"
action = "RestartJobSetAndIgnoreMaxRestarts"
on_job_failure_reasons = ["PodFailurePolicy"]
[[replicated_jobs]]
name = "w"
[replicated_jobs.template]
backoff_limit = 0
command = ['sh', '-c', '''
echo "$JOBSET_RESTART_ATTEMPT" >> @DIR@/tries
if [ "$JOBSET_RESTART_ATTEMPT" -lt 3 ]; then exit "$CODE"; fi
''']
[replicated_jobs.template.pod_failure_policy]
rules = [{ action = "FailJob", on_exit_codes = { operator = "In", values = [42] } }]
)~";
}  // namespace

TEST_CASE("run: the JobSet failure policy restarts or fails the JobSet as its rules say", "[run]") {
  check_runs({
      {.name = "a restart beyond max_restarts from the file fails with ReachedMaxRestarts and the "
               "process's code",
       .files = {{"maxed.toml", kMaxed}},
       .args = {"--events", "@DIR@/events.jsonl", "@DIR@/maxed.toml"},
       .code = 9,
       .last_err_starts = kFailed,
       .last_err_has = {"ReachedMaxRestarts"},
       .files_after = {{"tries", "0\n1\n"}},
       .events = {{"jobset_restart", "", 1}, {"jobset_failed", "", 1}},
       .finished = 9,
       .finished_reason = "ReachedMaxRestarts"},
      {.name = "--max-restarts overrides the file",
       .files = {{"maxed.toml", kMaxed}},
       .args = {"--max-restarts", "2", "@DIR@/maxed.toml"},
       .code = 9,
       .last_err_has = {"ReachedMaxRestarts", "restarts 2"},
       .files_after = {{"tries", "0\n1\n2\n"}}},
      // Attempt 0: a worker fails; the rule targets the driver, so the default
      // (RestartJobSet) applies. Attempt 1: the driver fails: FailJobSet.
      {.name = "failure rule FailJobSet applies only to its target replicated job",
       .files = {{"rules.toml", R"~(name = "rules"
[failure_policy]
max_restarts = 5
[[failure_policy.rules]]
name = "driverFailsAll"
action = "FailJobSet"
target_replicated_jobs = ["driver"]
[[replicated_jobs]]
name = "driver"
[replicated_jobs.template]
backoff_limit = 0
command = ['sh', '-c', '''
echo "$JOBSET_RESTART_ATTEMPT" >> @DIR@/driver
if [ "$JOBSET_RESTART_ATTEMPT" = 0 ]; then exec sleep 100; fi
exit 11
''']
[[replicated_jobs]]
name = "workers"
[replicated_jobs.template]
parallelism = 2
backoff_limit = 0
command = ['sh', '-c', '''
if [ "$JOBSET_RESTART_ATTEMPT" = 0 ] && [ "$JOB_COMPLETION_INDEX" = 1 ]; then
  i=0
  until grep -qx 0 @DIR@/driver 2>/dev/null || [ $i -ge 1000 ]; do sleep 0.02; i=$((i+1)); done
  exit 4
fi
exec sleep 100
''']
)~"}},
       .args = {"--events", "@DIR@/events.jsonl", "@DIR@/rules.toml"},
       .code = 11,
       .last_err_starts = kFailed,
       .files_after = {{"driver", "0\n1\n"}},
       .events = {{"jobset_restart", "", 1}},
       .finished = 11,
       .nothing_left = true},
      {.name = "RestartJobSetAndIgnoreMaxRestarts on PodFailurePolicy: three restarts beyond "
               "max_restarts 0",
       .files = {{"ignoremax.toml", kIgnoreMax}},
       .args = {"-x", "CODE=42", "--events", "@DIR@/events.jsonl", "@DIR@/ignoremax.toml"},
       .last_err_starts = kCompleted,
       .last_err_has = {"restarts 3"},
       .files_after = {{"tries", "0\n1\n2\n3\n"}},
       .events = {{"jobset_restart", "", 3}},
       .finished = 0},
      {.name = "RestartJobSetAndIgnoreMaxRestarts does not match BackoffLimitExceeded: the restart "
               "counts",
       .files = {{"ignoremax.toml", kIgnoreMax}},
       .args = {"-x", "CODE=5", "@DIR@/ignoremax.toml"},
       .code = 5,
       .last_err_has = {"ReachedMaxRestarts"},
       .files_after = {{"tries", "0\n"}}},
      {.name = "failure rule RestartJob recreates only the failed job",
       .files = {{"restartjob.toml", R"~(name = "onejob"
[failure_policy]
max_restarts = 1
[[failure_policy.rules]]
name = "justThatJob"
action = "RestartJob"
target_replicated_jobs = ["flaky"]
[[replicated_jobs]]
name = "steady"
[replicated_jobs.template]
backoff_limit = 0
command = ['sh', '-c', '''
echo run >> @DIR@/steady
i=0
until [ -e @DIR@/flaky.done ] || [ $i -ge 1000 ]; do sleep 0.02; i=$((i+1)); done
''']
[[replicated_jobs]]
name = "flaky"
[replicated_jobs.template]
backoff_limit = 0
command = ['sh', '-c', '''
echo run >> @DIR@/flaky
if [ "$(wc -l < @DIR@/flaky)" -lt 2 ]; then exit 3; fi
touch @DIR@/flaky.done
''']
)~"}},
       .args = {"--events", "@DIR@/events.jsonl", "@DIR@/restartjob.toml"},
       .timeout = 40,
       .files_after = {{"flaky", "run\nrun\n"}, {"steady", "run\n"}},
       .events = {{"job_restart", "onejob-flaky-0", 1}, {"jobset_restart", "", 0}},
       .finished = 0},
  });
}

TEST_CASE("run: BlockingRecreate starts no new process before every old one is gone", "[run]") {
  Scratch s;
  // The old "stubborn" takes 1 s to stop after TERM; nothing of attempt 1
  // may start before it is gone.
  std::string file = s.write("blocking.toml", R"~(name = "blocking"
[failure_policy]
max_restarts = 1
restart_strategy = "BlockingRecreate"
[[replicated_jobs]]
name = "stubborn"
[replicated_jobs.template]
backoff_limit = 0
command = ['sh', '-c', '''
if [ "$JOBSET_RESTART_ATTEMPT" = 0 ]; then
  trap 'sleep 1; date +%s.%N > @DIR@/stubborn.end; exit 1' TERM
  touch @DIR@/stubborn.ready
  while :; do sleep 0.05; done
fi
date +%s.%N > @DIR@/stubborn.start1
''']
[[replicated_jobs]]
name = "failer"
[replicated_jobs.template]
backoff_limit = 0
command = ['sh', '-c', '''
if [ "$JOBSET_RESTART_ATTEMPT" = 0 ]; then
  i=0
  until [ -e @DIR@/stubborn.ready ] || [ $i -ge 1000 ]; do sleep 0.02; i=$((i+1)); done
  exit 1
fi
date +%s.%N > @DIR@/failer.start1
''']
)~");
  Launch r(s, {"run", file});
  int code = r.wait(30);
  INFO(r.report());
  CHECK(code == 0);
  REQUIRE(s.exists("stubborn.end"));
  REQUIRE(s.exists("failer.start1"));
  REQUIRE(s.exists("stubborn.start1"));
  double end = read_time(s, "stubborn.end");
  CHECK(read_time(s, "failer.start1") >= end);
  CHECK(read_time(s, "stubborn.start1") >= end);
}

// ---- success policy -----------------------------------------------------------

TEST_CASE("run: the success policy ends the run once its target jobs succeeded", "[run]") {
  check_runs({
      {.name = "success policy Any on the driver stops the workers and ends 0 at once",
       .files = {{"any.toml", R"~(name = "anydriver"
[success_policy]
operator = "Any"
target_replicated_jobs = ["driver"]
[[replicated_jobs]]
name = "driver"
replicas = 2
[replicated_jobs.template]
command = ['sh', '-c', '''
if [ "$JOB_INDEX" = 1 ]; then exec sleep 100; fi
i=0
until [ "$(ls @DIR@ | grep -c '^worker\.')" -ge 4 ] || [ $i -ge 1000 ]; do sleep 0.02; i=$((i+1)); done
echo "driver done"
''']
[[replicated_jobs]]
name = "workers"
[replicated_jobs.template]
parallelism = 4
command = ['sh', '-c', 'touch @DIR@/worker.$RANK; sleep 100 & wait']
)~"}},
       .args = {"--events", "@DIR@/events.jsonl", "@DIR@/any.toml"},
       .under_seconds = 8,
       .out = "driver done\n",
       .last_err_starts = kCompleted,
       .events = {{"jobset_completed", "", 1}},
       .finished = 0,
       .nothing_left = true},
      {.name = "success policy All on the driver waits for every driver job, not for the workers",
       .files = {{"all.toml", R"~(name = "alldriver"
[success_policy]
operator = "All"
target_replicated_jobs = ["driver"]
[[replicated_jobs]]
name = "driver"
replicas = 2
[replicated_jobs.template]
command = ['sh', '-c', 'if [ "$JOB_INDEX" = 1 ]; then sleep 0.5; touch @DIR@/driver1.done; fi']
[[replicated_jobs]]
name = "workers"
[replicated_jobs.template]
parallelism = 2
command = ['sleep', '100']
)~"}},
       .args = {"@DIR@/all.toml"},
       .under_seconds = 8,
       .present = {"driver1.done"},
       .nothing_left = true},
  });
}

// ---- start order ----------------------------------------------------------------

namespace {
// Shell: how many distinct processes of replicated job "a" of this run
// exist right now (exec'd: their environment names the job).
const char* kCountA = R"~(seen=$(for e in /proc/[0-9]*/environ; do
  if grep -qzx "JOBSET_TEST_MARKER=$JOBSET_TEST_MARKER" "$e" 2>/dev/null &&
     grep -qzx "REPLICATED_JOB_NAME=a" "$e" 2>/dev/null; then
    grep -zx 'JOBSET_HOSTNAME=.*' "$e" 2>/dev/null | tr '\0' '\n'
  fi
done | sort -u | wc -l)
)~";
// "a": 3 processes that wait (up to 20 s) until b has looked at them.
const char* kJobA = R"~([[replicated_jobs]]
name = "a"
[replicated_jobs.template]
parallelism = 3
backoff_limit = 0
command = ['sh', '-c', '''
i=0
until [ -e @DIR@/b.checked ] || [ $i -ge 1000 ]; do sleep 0.02; i=$((i+1)); done
[ -e @DIR@/b.checked ] || { echo "a: b did not start while a was running" >&2; exit 1; }
''']
)~";
}  // namespace

TEST_CASE(
    "run: depends_on Ready starts after every process of the job started, Complete after it "
    "succeeded",
    "[run]") {
  Scratch s;
  std::string file =
      s.write("deps.toml", std::string("name = \"deps\"\n") + kJobA + R"~([[replicated_jobs]]
name = "b"
depends_on = [{ name = "a", status = "Ready" }]
[replicated_jobs.template]
parallelism = 2
backoff_limit = 0
command = ['sh', '-c', '''
)~" + kCountA + R"~(
if [ "$JOB_COMPLETION_INDEX" = 0 ]; then echo "$seen" > @DIR@/b.seen; touch @DIR@/b.checked; else sleep 0.5; fi
date +%s.%N > @DIR@/b.end.$JOB_COMPLETION_INDEX
''']
[[replicated_jobs]]
name = "c"
depends_on = [{ name = "b", status = "Complete" }]
[replicated_jobs.template]
backoff_limit = 0
command = ['sh', '-c', 'date +%s.%N > @DIR@/c.start']
)~");
  Launch r(s, {"run", file});
  int code = r.wait(40);
  INFO(r.report());
  CHECK(code == 0);
  CHECK(s.read("b.seen") == "3\n");
  REQUIRE(s.exists("c.start"));
  CHECK(read_time(s, "c.start") >= read_time(s, "b.end.0"));
  CHECK(read_time(s, "c.start") >= read_time(s, "b.end.1"));
}

TEST_CASE("run: startup_policy InOrder starts a replicated job once the one before is ready",
          "[run]") {
  check_run({.name = "InOrder",
             .files = {{"inorder.toml",
                        std::string("name = \"inorder\"\n"
                                    "[startup_policy]\nstartup_policy_order = \"InOrder\"\n") +
                            kJobA + R"~([[replicated_jobs]]
name = "b"
[replicated_jobs.template]
backoff_limit = 0
command = ['sh', '-c', '''
)~" + kCountA + R"~(
echo "$seen" > @DIR@/b.seen
touch @DIR@/b.checked
''']
)~"}},
             .args = {"@DIR@/inorder.toml"},
             .timeout = 40,
             .files_after = {{"b.seen", "3\n"}}});
}

// ---- deadlines ---------------------------------------------------------------------

TEST_CASE("run: active_deadline_seconds and --timeout stop the run with 124", "[run]") {
  check_runs({
      {.name = "active_deadline_seconds",
       .files = {{"deadline.toml", R"~(name = "deadline"
[[replicated_jobs]]
name = "w"
[replicated_jobs.template]
active_deadline_seconds = 1
command = ['sleep', '100']
)~"}},
       .args = {"@DIR@/deadline.toml"},
       .code = 124,
       .under_seconds = 7,
       .err_has = {"DeadlineExceeded"},
       .last_err_starts = kFailed,
       .nothing_left = true},
      {.name = "--timeout",
       .args = {"--timeout", "1", "-n", "2", "sleep", "100"},
       .code = 124,
       .under_seconds = 7,
       .last_err_starts = kFailed,
       .nothing_left = true},
  });
}

// ---- signals -----------------------------------------------------------------------

TEST_CASE("run: SIGINT or SIGTERM to jobset stops every process and exits 128+signal", "[run]") {
  int sig = GENERATE(SIGINT, SIGTERM);
  Scratch s;
  Launch r(s, {"run", "-n", "4", "sleep", "100"});
  await_running(r, {"sleep", "100"}, 4);
  double sent = now();
  r.signal(sig);
  int code = r.wait(30);
  INFO(r.report());
  CHECK(code == 128 + sig);
  CHECK(now() - sent < 5);
  CHECK(starts_with(r.last_err_line(), kFailed));
  check_nothing_left(r);
}

TEST_CASE("run: a second SIGINT kills at once processes that ignore TERM", "[run]") {
  Scratch s;
  Launch r(s, {"run", "--events", s.path("events.jsonl"), "-n", "2", "sh", "-c",
               "trap '' TERM; touch ready.$RANK; while :; do sleep 0.05; done"});
  await_file(s, "ready.0");
  await_file(s, "ready.1");
  r.signal(SIGINT);
  // The first one has been handled once the JobSet is marked failed.
  REQUIRE(eventually(10, [&] { return contains(s.read("events.jsonl"), "\"jobset_failed\""); }));
  double sent = now();
  r.signal(SIGINT);
  int code = r.wait(30);
  INFO(r.report());
  CHECK(code == 130);
  CHECK(now() - sent < 2.0);  // not the 3 s grace period
  check_nothing_left(r);
}

TEST_CASE("run: SIGUSR1 and SIGUSR2 are forwarded to every process", "[run]") {
  Scratch s;
  const std::string script =
      "trap 'echo got USR2 $RANK' USR2; trap 'echo got USR1 $RANK; exit 0' USR1; "
      "touch ready.$RANK; while :; do sleep 0.05; done";
  Launch r(s, {"run", "--simulate-nodes", "2", "-n", "4", "sh", "-c", script});
  for (int k = 0; k < 4; ++k) await_file(s, "ready." + std::to_string(k));
  r.signal(SIGUSR2);
  bool all_usr2 = eventually(10, [&] { return count_substr(r.out(), "got USR2") >= 4; });
  CHECK(all_usr2);
  r.signal(SIGUSR1);
  int code = r.wait(30);
  INFO(r.report());
  CHECK(code == 0);
  std::string out = r.out();
  for (int k = 0; k < 4; ++k) {
    CHECK(contains(out, "got USR1 " + std::to_string(k) + "\n"));
    CHECK(contains(out, "got USR2 " + std::to_string(k) + "\n"));
  }
}

// ---- programs that cannot be started ---------------------------------------------

TEST_CASE(
    "run: a program that does not exist or is not executable: 127, an error naming process and "
    "path",
    "[run]") {
  check_runs({
      {.name = "missing, retried once with backoff_limit 1",
       .files = {{"missing.toml", R"~(name = "spawnfail"
[[replicated_jobs]]
name = "missing"
[replicated_jobs.template]
backoff_limit = 1
command = ['@DIR@/no-such-program', 'arg']
)~"}},
       .args = {"--events", "@DIR@/events.jsonl", "@DIR@/missing.toml"},
       .code = 127,
       .err_line_has = {"spawnfail-missing-0-0", "@DIR@/no-such-program"},
       .last_err_starts = kFailed,
       .events = {{"process_retry", "spawnfail-missing-0-0", 1}},
       .finished = 127},
      {.name = "not executable",
       .files = {{"not-executable", "#!/bin/sh\necho should not run\n"},
                 {"noexec.toml", R"~(name = "spawnfail"
[[replicated_jobs]]
name = "noexec"
[replicated_jobs.template]
backoff_limit = 0
command = ['@DIR@/not-executable']
)~"}},
       .args = {"@DIR@/noexec.toml"},
       .code = 127,
       .out_lacks = {"should not run"},
       .err_line_has = {"spawnfail-noexec-0-0", "@DIR@/not-executable", "ermission denied"}},
      {.name = "not in PATH",
       .args = {"-n", "2", "no-such-command-jobset-test"},
       .code = 127,
       .err_has = {"no-such-command-jobset-test"},
       .last_err_starts = kFailed},
  });
}

// ---- output ------------------------------------------------------------------------------

namespace {
// Two processes, each with a line on both streams and a partial last line.
const char* kOutToml = R"~(name = "out"
[[replicated_jobs]]
name = "w"
[replicated_jobs.template]
parallelism = 2
command = ['sh', '-c', 'echo "hello $RANK"; echo "oops $RANK" >&2; printf "no newline $RANK"']
)~";
}  // namespace

TEST_CASE("run: --tag-output prefixes every line, partial last lines included", "[run]") {
  check_run({.name = "--tag-output",
             .files = {{"out.toml", kOutToml}},
             .args = {"--tag-output", "@DIR@/out.toml"},
             .out_lines = {{"[out-w-0-0] hello 0", "[out-w-0-0] no newline 0",
                            "[out-w-0-1] hello 1", "[out-w-0-1] no newline 1"}},
             .err_has = {"[out-w-0-0] oops 0\n", "[out-w-0-1] oops 1\n"}});
}

TEST_CASE("run: --timestamp-output prefixes every line, partial last lines included", "[run]") {
  Scratch s;
  std::string file = s.write("out.toml", kOutToml);
  Launch r(s, {"run", "--timestamp-output", file});
  int code = r.wait(30);
  INFO(r.report());
  CHECK(code == 0);
  auto lines = lines_of(r.out());
  CHECK(lines.size() == 4);
  std::regex stamped(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z? (hello|no newline) [01]$)");
  for (const auto& l : lines) {
    INFO(l);
    CHECK(std::regex_match(l, stamped));
  }
}

TEST_CASE(
    "run: --output-dir writes one file per process, stream and restart attempt; -q prints only the "
    "end",
    "[run]") {
  Scratch s;
  std::string file = s.write("outdir.toml", R"~(name = "outdir"
[failure_policy]
max_restarts = 1
[[replicated_jobs]]
name = "w"
[replicated_jobs.template]
parallelism = 2
backoff_limit = 0
command = ['sh', '-c', '''
echo "hello $RANK attempt $JOBSET_RESTART_ATTEMPT"
echo "oops $RANK attempt $JOBSET_RESTART_ATTEMPT" >&2
if [ "$JOBSET_RESTART_ATTEMPT" = 0 ]; then
  if [ "$RANK" = 1 ]; then touch @DIR@/r1.said.$OUT; fi
  if [ "$RANK" = 0 ]; then
    i=0; until [ -e @DIR@/r1.said.$OUT ] || [ $i -ge 1000 ]; do sleep 0.02; i=$((i+1)); done
    exit 1
  fi
fi
''']
)~");
  auto check_dir = [&](const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(s.path(dir)))
      names.push_back(e.path().filename().string());
    CHECK(sorted(names) == std::vector<std::string>{"outdir-w-0-0.0.err", "outdir-w-0-0.0.out",
                                                    "outdir-w-0-0.1.err", "outdir-w-0-0.1.out",
                                                    "outdir-w-0-1.0.err", "outdir-w-0-1.0.out",
                                                    "outdir-w-0-1.1.err", "outdir-w-0-1.1.out"});
    for (int rank = 0; rank < 2; ++rank)
      for (int attempt = 0; attempt < 2; ++attempt) {
        std::string base =
            dir + "/outdir-w-0-" + std::to_string(rank) + "." + std::to_string(attempt);
        std::string tail = std::to_string(rank) + " attempt " + std::to_string(attempt) + "\n";
        CHECK(s.read(base + ".out") == "hello " + tail);
        CHECK(s.read(base + ".err") == "oops " + tail);
      }
  };
  SECTION("--output-dir and --events") {
    Launch r(s, {"run", "-x", "OUT=1", "--output-dir", "logs", "--events", s.path("events.jsonl"),
                 file});
    int code = r.wait(30);
    INFO(r.report());
    REQUIRE(code == 0);
    check_dir("logs");
    auto evs = read_events(s.path("events.jsonl"));
    INFO(event_kinds(evs));
    REQUIRE(evs.size() >= 2);
    double last_time = 0;
    for (size_t i = 0; i + 1 < evs.size(); ++i) {
      const json& e = evs[i];
      INFO(e.dump());
      CHECK(e["time"].is_number());
      CHECK(e["event"].is_string());
      CHECK(e["subject"].is_string());
      CHECK(e["detail"].is_string());
      CHECK(e["attempt"].is_number_integer());
      if (e["time"].is_number()) {
        CHECK(e["time"].get<double>() >= last_time);
        last_time = e["time"].get<double>();
      }
    }
    for (const char* kind : {"jobset_started", "process_started", "process_exited", "job_failed",
                             "jobset_restart", "job_succeeded", "jobset_completed"}) {
      INFO(kind);
      CHECK(count_events(evs, kind) >= 1);
    }
    CHECK(count_events(evs, "process_started") == 4);
    CHECK(count_events(evs, "jobset_restart") == 1);
    check_finished_event(evs, 0);
    CHECK(evs.back().value("reason", "") != "");
  }
  SECTION("-q") {
    Launch r(s, {"run", "-q", "-x", "OUT=2", "--output-dir", "quiet", file});
    int code = r.wait(30);
    INFO(r.report());
    REQUIRE(code == 0);
    check_dir("quiet");
    auto lines = lines_of(r.err());
    REQUIRE(lines.size() == 1);
    CHECK(starts_with(lines[0], kCompleted));
  }
}

TEST_CASE("run: 8 processes writing 50 MB each at full speed: every line once, in order, untorn",
          "[run][slow]") {
  Scratch s;
  constexpr int kProcs = 8;
  constexpr long kLines = 880000;  // ~59 bytes a line: ~50 MB per process
  const std::string pad =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz0123"
      "456789";
  REQUIRE(pad.size() >= 97);
  // Odd ranks end with a partial line.
  std::string file = s.write("flood.toml",
                             "name = \"flood\"\n[[replicated_jobs]]\nname = \"w\"\n"
                             "[replicated_jobs.template]\nparallelism = " +
                                 std::to_string(kProcs) + "\ncommand = ['awk', '-v', 'n=" +
                                 std::to_string(kLines) + "', '-v', 's=" + pad + R"~(', '''
BEGIN {
  r = ENVIRON["RANK"]
  for (i = 0; i < n; i++) printf "%d %d %s\n", r, i, substr(s, 1, i % 97 + 1)
  if (r % 2) printf "%d partial end", r
}
''']
)~");
  Launch r(s, {"run", "--tag-output", file});
  int code = r.wait(240);
  INFO(r.report());
  CHECK(code == 0);
  CHECK(starts_with(r.last_err_line(), kCompleted));

  std::vector<long> next(kProcs, 0);
  std::vector<bool> partial(kProcs, false);
  std::vector<std::string> problems;
  auto problem = [&](long line_no, const std::string& what, const std::string& line) {
    if (problems.size() < 10)
      problems.push_back("line " + std::to_string(line_no) + ": " + what + ": " +
                         line.substr(0, 200));
  };
  std::ifstream in(r.out_path(), std::ios::binary);
  std::vector<char> buf(1 << 20);
  in.rdbuf()->pubsetbuf(buf.data(), static_cast<std::streamsize>(buf.size()));
  std::string line, expect;
  long line_no = 0, bad = 0;
  const std::string prefix = "[flood-w-0-";
  while (std::getline(in, line)) {
    ++line_no;
    size_t close = line.find("] ");
    if (line.compare(0, prefix.size(), prefix) != 0 || close == std::string::npos ||
        close != prefix.size() + 1 || line[prefix.size()] < '0' ||
        line[prefix.size()] >= '0' + kProcs) {
      ++bad;
      problem(line_no, "no process tag", line);
      continue;
    }
    int rank = line[prefix.size()] - '0';
    std::string_view body(line.data() + close + 2, line.size() - close - 2);
    long i = next[rank];
    if (i < kLines) {
      expect = std::to_string(rank) + " " + std::to_string(i) + " " +
               pad.substr(0, static_cast<size_t>(i % 97 + 1));
      if (body == expect) {
        ++next[rank];
        continue;
      }
    } else if (rank % 2 == 1 && !partial[rank] && body == std::to_string(rank) + " partial end") {
      partial[rank] = true;
      continue;
    }
    ++bad;
    problem(line_no, "rank " + std::to_string(rank) + " expected line " + std::to_string(i), line);
  }
  std::string report;
  for (const auto& p : problems) report += p + "\n";
  INFO("lines read: " << line_no << "; unexpected: " << bad << "\n" << report);
  CHECK(bad == 0);
  for (int k = 0; k < kProcs; ++k) {
    INFO("rank " << k);
    CHECK(next[k] == kLines);
    CHECK(partial[k] == (k % 2 == 1));
  }
  check_nothing_left(r);
}

// ---- faults: 64 processes over 4 simulated nodes ------------------------------------

namespace {
// Even ranks are a `sleep 100` of their own; odd ranks a shell whose
// grandchild `sleep 100` must go too.
std::vector<std::string> fault_run_args() {
  return {"run", "--simulate-nodes",
          "4",   "-n",
          "64",  "sh",
          "-c",  "if [ $((RANK % 2)) = 0 ]; then exec sleep 100; fi; sleep 100 & wait"};
}
}  // namespace

TEST_CASE("run: kill -9 of one process of 64 fails the run with 137 and leaves nothing", "[run]") {
  Scratch s;
  Launch r(s, fault_run_args());
  await_running(r, {"sleep", "100"}, 64);
  pid_t victim = 0;
  for (const Proc& p : r.procs())
    if (p.argv == std::vector<std::string>{"sleep", "100"} && p.env("RANK") == "4") victim = p.pid;
  REQUIRE(victim > 0);
  ::kill(victim, SIGKILL);
  int code = r.wait(30);
  INFO(r.report());
  CHECK(code == 137);
  CHECK(starts_with(r.last_err_line(), kFailed));
  check_nothing_left(r);
}

TEST_CASE("run: kill -9 of one jobsetd ends the run as failed and leaves nothing", "[run]") {
  Scratch s;
  Launch r(s, fault_run_args());
  await_running(r, {"sleep", "100"}, 64);
  std::vector<Proc> daemons;
  for (const Proc& p : r.procs())
    if (!p.argv.empty() && (starts_with(p.argv[0], jobsetd_path()) ||
                            contains(fs::path(p.argv[0]).filename().string(), "jobsetd")))
      daemons.push_back(p);
  INFO("processes:\n" << describe(r.procs()));
  REQUIRE(!daemons.empty());
  // The daemon itself (its helpers, if any, are its children).
  pid_t victim = daemons[0].pid;
  for (const Proc& p : daemons)
    if (p.ppid == r.pid()) victim = p.pid;
  ::kill(victim, SIGKILL);
  int code = r.wait(30);
  INFO(r.report());
  CHECK(code != 0);
  CHECK(starts_with(r.last_err_line(), kFailed));
  check_nothing_left(r);
}

TEST_CASE("run: kill -9 of the launcher leaves nothing of the run 2 s later", "[run]") {
  Scratch s;
  Launch r(s, fault_run_args());
  await_running(r, {"sleep", "100"}, 64);
  ::kill(r.pid(), SIGKILL);
  CHECK(r.wait(10) == 128 + SIGKILL);
  check_nothing_left(r);
}

// ---- many runs --------------------------------------------------------------------------

TEST_CASE("run: 200 consecutive runs of -n 64 true all end 0 and leave nothing", "[run][slow]") {
  Scratch s;
  int failures = 0;
  std::string first_failure;
  double t0 = now();
  for (int i = 0; i < 200; ++i) {
    Launch r(s, {"run", "-n", "64", "true"});
    int code = r.wait(20);
    auto left = wait_gone(r.marker(), 2.0);
    if (code != 0 || !left.empty()) {
      if (failures++ == 0)
        first_failure = "run " + std::to_string(i) + ": exit " + std::to_string(code) + "\n" +
                        r.report() + "\nleft behind:\n" + describe(left);
    }
  }
  INFO("200 runs in " << now() - t0 << " s; first failure: " << first_failure);
  CHECK(failures == 0);
}

TEST_CASE("run: on a terminal a status line is drawn and erased, never inside the program's lines",
          "[run]") {
  if (::access("/usr/bin/script", X_OK) != 0)
    JOBSET_SKIP("needs script(1) from bsdutils to give jobset a terminal");
  Scratch s;
  std::string cmd = "timeout 30 /usr/bin/script -qec \"" + jobset_path() +
                    " run -n 2 sh -c 'sleep 0.3; echo out-\\$RANK'\" /dev/null > " + s.path("tty") +
                    " 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::string tty = slurp(s.path("tty"));
  INFO(tty);
  CHECK(tty.find("jobset job [attempt 0]") != std::string::npos);
  CHECK(tty.find("\r\033[K") != std::string::npos);
  for (const char* line : {"out-0", "out-1"}) {
    size_t at = tty.find(line);
    REQUIRE(at != std::string::npos);
    CHECK(tty.substr(at - 4, 4) == "\r\033[K");  // the status line was erased first
  }
}
