// The small edges an mpirun user hits first at the terminal: unknown
// commands, bad flag values, output that cannot be written, plan and run
// agreeing on this machine. Each is refused before anything starts (exit 2).
#include <sched.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "tests/cli/cli_util.hpp"
#include "tests/skip.hpp"

using namespace clitest;

TEST_CASE("cli: an unknown command is an error even with --help, and names the commands", "[cli]") {
  Run r = jobset("submit --help");
  CHECK(r.code == 2);
  CHECK(r.last_err_line() ==
        "jobset: unknown command 'submit' (commands: validate, convert, plan, run, rdzv; see "
        "jobset --help)");
  CHECK(r.out.empty());
}

TEST_CASE("cli: --timeout 0 says what it expects in a line", "[cli]") {
  Run r = jobset("run --timeout 0 -n 1 true");
  CHECK(r.code == 2);
  CHECK(r.err.find("--timeout: expected a number of seconds above 0, found 0") !=
        std::string::npos);
  CHECK(r.err.size() < 200);
}

TEST_CASE("cli: -x takes only variable names a shell would", "[cli]") {
  for (const char* bad : {"'BAD NAME=1'", "1X=2", "=v", "A-B=3"}) {
    INFO(bad);
    Run r = jobset(std::string("run -x ") + bad + " -n 1 true");
    CHECK(r.code == 2);
    CHECK(r.err.find("expected VAR or VAR=VALUE") != std::string::npos);
    CHECK(r.err.find("completed") == std::string::npos);  // nothing ran
  }
  Run ok = jobset("run -q -x GOOD_1=yes -n 1 sh -c 'echo $GOOD_1'");
  CHECK(ok.code == 0);
  CHECK(ok.out == "yes\n");
}

TEST_CASE(
    "cli: an --events or --output-dir that cannot be written is bad input before anything starts",
    "[cli]") {
  Scratch s;
  std::string marker = (s.dir() / "ran").string();
  Run events = jobset("run --events /nonexistent/dir/e.jsonl -n 1 touch " + marker);
  CHECK(events.code == 2);
  CHECK(events.last_err_line() ==
        "jobset: nothing started: --events /nonexistent/dir/e.jsonl: cannot be written: No such "
        "file or directory");
  Run dir = jobset("run --output-dir /proc/no-such-dir -n 1 touch " + marker);
  CHECK(dir.code == 2);
  CHECK(dir.last_err_line().find(
            "jobset: nothing started: --output-dir /proc/no-such-dir: cannot be") == 0);
  CHECK_FALSE(fs::exists(marker));
}

TEST_CASE("cli: --events is never written through a symlink planted in its place", "[cli]") {
  Scratch s;
  fs::path target = s.dir() / "victim";
  s.write("victim", "precious\n");
  fs::create_symlink(target, s.dir() / "events.jsonl");
  Run r = jobset("run --events " + (s.dir() / "events.jsonl").string() + " -n 1 true");
  CHECK(r.code == 2);
  CHECK(r.last_err_line().find("it is a symbolic link, which jobset does not write through") !=
        std::string::npos);
  CHECK(slurp(target) == "precious\n");
}

TEST_CASE("cli: convert refuses to write TOML into a .yaml file", "[cli]") {
  Scratch s;
  std::string out = (s.dir() / "job.yaml").string();
  Run r = jobset("convert examples/multislice.yaml -o " + out);
  CHECK(r.code == 2);
  CHECK(r.last_err_line().find("convert writes the native TOML") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  Run ok = jobset("convert examples/multislice.yaml -o " + (s.dir() / "job.toml").string());
  CHECK(ok.code == 0);
}

TEST_CASE("cli: plan and run agree on this machine and on simulated nodes", "[cli]") {
  // run -n N works on this machine whatever its size; plan says the same.
  Run plan = jobset("plan -n 64 true");
  CHECK(plan.code == 0);
  CHECK(plan.out.find("job-true-0-63") != std::string::npos);
  Run sim = jobset("plan --simulate-nodes 2 -n 4 true");
  CHECK(sim.code == 0);
  CHECK(sim.out.find("sim2") != std::string::npos);
}

TEST_CASE("cli: --address-from picks the address a one-node run's names and MASTER_ADDR carry",
          "[cli]") {
  Run lo = jobset("run -q --address-from lo -n 2 sh -c 'echo $MASTER_ADDR'");
  CHECK(lo.code == 0);
  CHECK(lo.out == "127.0.0.1\n127.0.0.1\n");
  Run block = jobset(
      "run -q --address-from 127.0.0.0/8 -n 1 sh -c 'grep -w \"$JOBSET_HOSTNAME\" "
      "\"$JOBSET_HOSTS_FILE\" | cut -f1'");
  CHECK(block.code == 0);
  CHECK(block.out == "127.0.0.1\n");
  // Nothing starts when the address cannot be found, or does not apply.
  Run none = jobset("run --address-from nosuch0 -n 1 touch started");
  CHECK(none.code == 2);
  CHECK(none.last_err_line().find("--address-from nosuch0: no interface of that name has an "
                                  "address (this host has: lo 127.0.0.1") != std::string::npos);
  Run simulated = jobset("run --address-from lo --simulate-nodes 2 -n 2 true");
  CHECK(simulated.code == 2);
  CHECK(simulated.last_err_line().find("each have a loopback address of their own") !=
        std::string::npos);
}

TEST_CASE("cli: --bind-to core binds inside the CPU set jobset is given, and says so when full",
          "[cli]") {
  cpu_set_t mine;
  CPU_ZERO(&mine);
  REQUIRE(sched_getaffinity(0, sizeof mine, &mine) == 0);
  int last = -1;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &mine)) last = c;
  if (CPU_COUNT(&mine) < 2) JOBSET_SKIP("needs two CPUs to leave one out with taskset");
  const std::string cpu = std::to_string(last);
  Run one = jobset("run -q --bind-to core -n 1 sh -c 'grep Cpus_allowed_list /proc/self/status'",
                   "", "taskset -c " + cpu);
  CHECK(one.code == 0);
  CHECK(one.out == "Cpus_allowed_list:\t" + cpu + "\n");
  Run two = jobset("run --bind-to core -n 2 true", "", "taskset -c " + cpu);
  CHECK(two.code == 3);
  CHECK(two.last_err_line().find("has 1 cores in this machine (CPUs " + cpu +
                                 ", the CPU set jobset may use); its 2 processes need 2") !=
        std::string::npos);
}

TEST_CASE("cli: a failing rank of an mpirun-style run is reported the mpirun way, in one line",
          "[cli]") {
  Run r = jobset("run -n 4 sh -c '[ $RANK = 2 ] && exit 5; exec sleep 30'");
  CHECK(r.code == 5);
  CHECK(r.err == "jobset: failed: rank 2 (job-sh-0-2 on " + r.err.substr(r.err.find(" on ") + 4, r.err.find(") ") - r.err.find(" on ") - 4) +
                     ") exited with code 5; every other process was stopped (FailedJobs)\n");
  CHECK(r.err.find("backoff limit") == std::string::npos);  // no Kubernetes wording
  // A JobSet file keeps the JobSet's words.
  Run file = sh("(d=$(mktemp -d) && printf 'name = \"f\"\\n[[replicated_jobs]]\\nname = \"w\"\\n"
                "[replicated_jobs.template]\\ncommand = [\"false\"]\\n' > $d/f.toml && '" +
                std::string(JOBSET_BUILDDIR) + "/launcher/jobset' run $d/f.toml; s=$?; rm -r $d; exit $s)");
  CHECK(file.code == 1);
  CHECK(file.last_err_line().rfind("jobset: failed (FailedJobs, restarts 0): job f-w-0 failed", 0) == 0);
}
