// What an mpirun user does at the terminal, end to end: output that cannot
// be written (a reader that goes away, `| head`; a full disk, `> /dev/full`)
// stops the run with a code that means it and leaves nothing behind;
// Ctrl-Z and fg stop and continue every process with the launcher.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>

#include "tests/run/run_util.hpp"
#include "tests/skip.hpp"

using namespace runtest;

namespace {

// Runs `shell` under bash with the marker in its environment; returns what
// it printed (stdout then stderr) and its exit status.
// The state letter of /proc/PID/stat (R, S, T, ...), or '?' when gone.
char proc_state(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  size_t rp = stat.rfind(')');
  return rp == std::string::npos || rp + 2 >= stat.size() ? '?' : stat[rp + 2];
}

// The processes of the run that are not jobset or jobsetd: the ranks.
std::vector<Proc> ranks_of(const Launch& r) {
  std::vector<Proc> out;
  for (const Proc& p : r.procs()) {
    const std::string& a0 = p.argv.empty() ? "" : p.argv[0];
    if (a0.find("jobset") == std::string::npos) out.push_back(p);
  }
  return out;
}

std::pair<int, std::string> bash(const Scratch& s, const std::string& marker,
                                 const std::string& shell) {
  std::string cmd = "cd '" + s.dir().string() + "' && JOBSET_TEST_MARKER=" + marker +
                    " timeout 60 bash -c '" + shell + "' > out 2>&1";
  int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, s.read("out")};
}

}  // namespace

TEST_CASE(
    "run: a closed output pipe stops the run as a shell pipeline would: exit 141, nothing left",
    "[run]") {
  Scratch s;
  std::string marker = random_token();
  auto [code, out] = bash(s, marker,
                          "set -o pipefail; " + jobset_path() +
                              " run -n 2 yes | head -2; echo status=${PIPESTATUS[0]}");
  INFO(out);
  CHECK(code == 0);
  CHECK(out.find("y\ny\n") == 0);
  CHECK(out.find("status=141") != std::string::npos);
  CHECK(out.find("jobset: failed (OutputClosed") != std::string::npos);
  auto left = wait_gone(marker, 5.0);
  INFO(describe(left));
  CHECK(left.empty());
  kill_marker(marker);
}

TEST_CASE("run: output to a full disk fails the run with a message, not exit 0", "[run]") {
  if (::access("/dev/full", W_OK) != 0) JOBSET_SKIP("needs /dev/full");
  Scratch s;
  std::string marker = random_token();
  auto [code, out] = bash(
      s, marker, jobset_path() + " run -n 2 echo hi > /dev/full 2>err; echo status=$?; cat err");
  INFO(out);
  CHECK(out.find("status=1\n") == 0);
  CHECK(out.find(
            "cannot write the processes\x27 output (standard output: No space left on device)") !=
        std::string::npos);
  CHECK(wait_gone(marker, 5.0).empty());
  kill_marker(marker);
}

TEST_CASE("run: Ctrl-Z (SIGTSTP) stops every process and the launcher; SIGCONT continues them all",
          "[run]") {
  Scratch s;
  Launch r(s, {"run", "-n", "2", "sh", "-c", "sleep 6; echo done-$RANK"});
  INFO(r.report());
  REQUIRE(eventually(20, [&] { return ranks_of(r).size() >= 2; }));
  r.signal(SIGTSTP);
  bool stopped = eventually(10, [&] {
    auto ranks = ranks_of(r);
    return proc_state(r.pid()) == 'T' && !ranks.empty() &&
           std::all_of(ranks.begin(), ranks.end(),
                       [](const Proc& p) { return proc_state(p.pid) == 'T'; });
  });
  INFO(describe(ranks_of(r)));
  CHECK(stopped);
  r.signal(SIGCONT);
  CHECK(r.wait(30) == 0);
  CHECK(sorted(lines_of(r.out())) == std::vector<std::string>{"done-0", "done-1"});
}
