// Node loss (issue: JobSet fidelity): when a node's daemon is gone, the
// next spawn of its processes (a JobSet restart, a retry under
// backoff_limit) lands on a live node with room, as a replacement pod
// lands on a healthy node on Kubernetes (upstream e2e: "node failure"
// restarts the JobSet and the new pods schedule elsewhere); names and ranks
// stay, the hosts files follow; with no room left the JobSet fails with
// exit 3 and a reason naming the lost node. Real launcher, real daemons,
// simulated nodes on this machine.
#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include "tests/run/run_util.hpp"

namespace {

using namespace runtest;
using json = nlohmann::json;

bool contains(const std::string& s, const std::string& p) { return s.find(p) != std::string::npos; }

// Three jobs of two processes, one node each (sim1, sim2, sim3; sim4 is
// the spare when there are four); the processes of sim2 sleep
// (until their daemon is killed), the others print where they ran and
// where the hosts file of their node puts js-w-1-0.
std::string job_file(const std::string& policy, int backoff_limit) {
  return "name = \"js\"\n" + policy +
         "[[replicated_jobs]]\nname = \"w\"\nreplicas = 3\n"
         "[replicated_jobs.template]\nparallelism = 2\ncompletions = 2\n"
         "backoff_limit = " + std::to_string(backoff_limit) + "\n"
         "command = [\"sh\", \"-c\", '''case $JOBSET_NODE in sim2) exec sleep 100;; esac; "
         "echo \"$JOBSET_HOSTNAME ran on $JOBSET_NODE attempt $JOBSET_RESTART_ATTEMPT sees js-w-1-0 at "
         "$(awk '{for (i = 2; i <= NF; i++) if ($i == \"js-w-1-0\") { print $1; exit }}' "
         "\"$JOBSET_HOSTS_FILE\")\"''']\n";
}

// The daemon that runs the processes of simulated node `node`: the
// jobsetd above a process whose JOBSET_NODE is `node`.
pid_t daemon_of(const Launch& r, const std::string& node) {
  std::map<pid_t, Proc> by_pid;
  for (const Proc& p : r.procs()) by_pid[p.pid] = p;
  for (const auto& [pid, p] : by_pid) {
    if (p.env("JOBSET_NODE") != node || p.argv.empty() || p.argv[0] != "sleep") continue;
    for (pid_t up = p.ppid; by_pid.count(up); up = by_pid[up].ppid)
      if (contains(by_pid[up].argv.at(0), "jobsetd")) return up;
  }
  return 0;
}

pid_t await_daemon_of(const Launch& r, const std::string& node) {
  pid_t d = 0;
  bool found = eventually(20, [&] { return (d = daemon_of(r, node)) > 0; });
  INFO(r.report() << "\nprocesses:\n" << describe(r.procs()));
  REQUIRE(found);
  return d;
}

std::vector<json> events_of(const Scratch& s, const std::string& kind) {
  std::vector<json> out;
  for (const json& e : read_events(s.path("events.jsonl")))
    if (e.value("event", "") == kind) out.push_back(e);
  return out;
}

// The address that a process's line says js-w-1-0 had on its node.
std::string seen_address(const std::string& out, const std::string& who, int attempt) {
  const std::string key = who + " ran on ";
  for (const std::string& l : lines_of(out)) {
    if (!contains(l, key) || !contains(l, "attempt " + std::to_string(attempt) + " ")) continue;
    return l.substr(l.rfind(' ') + 1);
  }
  return "";
}

TEST_CASE("node loss: a JobSet restart moves the lost node's processes to the spare node",
          "[run][node_loss]") {
  Scratch s;
  s.write("job.toml", job_file("[failure_policy]\nmax_restarts = 1\n", 0));
  Launch r(s, {"run", "--simulate-nodes", "4:2", "--events", s.path("events.jsonl"), "job.toml"});
  pid_t sim2 = await_daemon_of(r, "sim2");
  // js-w-0-0 has looked js-w-1-0 up in attempt 0 before its node goes.
  REQUIRE(eventually(30, [&] { return seen_address(r.out(), "js-w-0-0", 0).size() > 0; }));
  ::kill(sim2, SIGKILL);
  int code = r.wait(60);
  INFO(r.report() << "\nstdout:\n" << r.out());
  CHECK(code == 0);
  const std::string out = r.out();
  // Attempt 1: the two processes of sim2 ran on sim4, the spare.
  CHECK(contains(out, "js-w-1-0 ran on sim4 attempt 1"));
  CHECK(contains(out, "js-w-1-1 ran on sim4 attempt 1"));
  CHECK(contains(out, "js-w-0-0 ran on sim1 attempt 1"));
  // Every node's hosts file followed: js-w-0-0 on sim1 saw js-w-1-0 move.
  const std::string before = seen_address(out, "js-w-0-0", 0), after = seen_address(out, "js-w-0-0", 1);
  CHECK(before.rfind("127.", 0) == 0);
  CHECK(after.rfind("127.", 0) == 0);
  CHECK(before != after);
  CHECK(seen_address(out, "js-w-2-0", 1) == after);
  // The events name each moved process, from where to where.
  std::vector<json> moved = events_of(s, "process_moved");
  REQUIRE(moved.size() == 2);
  CHECK(moved[0].value("subject", "") == "js-w-1-0");
  CHECK(moved[1].value("subject", "") == "js-w-1-1");
  for (const json& m : moved) CHECK(m.value("detail", "") == "from lost node sim2 to sim4");
  CHECK(contains(r.err(), "js-w-1-0 moves from lost node sim2 to sim4"));
  check_nothing_left(r);
}

TEST_CASE("node loss: a retry under backoff_limit lands on a healthy node", "[run][node_loss]") {
  Scratch s;
  s.write("job.toml", job_file("", 2));
  Launch r(s, {"run", "--simulate-nodes", "4:2", "--events", s.path("events.jsonl"), "job.toml"});
  ::kill(await_daemon_of(r, "sim2"), SIGKILL);
  int code = r.wait(60);
  INFO(r.report() << "\nstdout:\n" << r.out());
  CHECK(code == 0);
  // No JobSet restart: the two pods were retried in attempt 0 on sim4.
  CHECK(contains(r.out(), "js-w-1-0 ran on sim4 attempt 0"));
  CHECK(contains(r.out(), "js-w-1-1 ran on sim4 attempt 0"));
  CHECK(events_of(s, "jobset_restart").empty());
  CHECK(events_of(s, "process_retry").size() == 2);
  CHECK(events_of(s, "process_moved").size() == 2);
  check_nothing_left(r);
}

TEST_CASE("node loss: with no spare room the JobSet fails with exit 3, naming the lost node",
          "[run][node_loss]") {
  Scratch s;
  s.write("job.toml", job_file("[failure_policy]\nmax_restarts = 3\n", 0));
  Launch r(s, {"run", "--simulate-nodes", "3:2", "--events", s.path("events.jsonl"), "job.toml"});
  ::kill(await_daemon_of(r, "sim2"), SIGKILL);
  int code = r.wait(60);
  INFO(r.report());
  CHECK(code == 3);
  CHECK(contains(r.last_err_line(), "lost node sim2"));
  CHECK(contains(r.last_err_line(), "js-w-1-0 (w) needs 1 slot"));
  // One restart was tried, not the three allowed: nothing can go anywhere.
  std::vector<json> finished = events_of(s, "jobset_finished");
  REQUIRE(finished.size() == 1);
  CHECK(finished[0].value("exit_code", -1) == 3);
  CHECK(finished[0].value("reason", "") == "NodeLost");
  CHECK(events_of(s, "jobset_restart").size() <= 1);
  check_nothing_left(r);
}

}  // namespace
