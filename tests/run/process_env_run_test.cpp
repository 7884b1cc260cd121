// A process's environment end to end: the real launcher and jobsetd build
// it once (launcher/run/process_spec) and the program sees it.
#include <sys/stat.h>

#include <sstream>

#include "tests/run/run_util.hpp"

using namespace runtest;

namespace {

const char* kEnvJob = R"(name = "envjob"
[failure_policy]
max_restarts = 1
[[replicated_jobs]]
name = "w"
[replicated_jobs.template]
parallelism = 2
command = ["sh", "-c", "echo $RANK $TORCHELASTIC_MAX_RESTARTS $EXTRA $LOCAL_RANK $MASTER_PORT"]
env = { EXTRA = "from-file", LOCAL_RANK = "file-local" }
)";

}  // namespace

TEST_CASE(
    "run: --max-restarts reaches TORCHELASTIC_MAX_RESTARTS, the file's env beats jobset's, -x "
    "beats both",
    "[run]") {
  Scratch s;
  s.write("env.toml", kEnvJob);
  Launch plain(s, {"run", s.path("env.toml")}, "plain");
  REQUIRE(plain.wait(30) == 0);
  INFO(plain.report());
  auto lines = sorted(lines_of(plain.out()));
  REQUIRE(lines.size() == 2);
  // The file's max_restarts; the file's LOCAL_RANK over jobset's.
  CHECK(lines[0].rfind("0 1 from-file file-local ", 0) == 0);

  Launch flagged(s, {"run", "--max-restarts", "4", "-x", "EXTRA=from-x", s.path("env.toml")},
                 "flagged");
  REQUIRE(flagged.wait(30) == 0);
  INFO(flagged.report());
  lines = sorted(lines_of(flagged.out()));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].rfind("0 4 from-x file-local ", 0) == 0);
  CHECK(lines[1].rfind("1 4 from-x file-local ", 0) == 0);
  // MASTER_PORT: one per run, the same for every process, never 29500.
  std::string port0 = lines[0].substr(lines[0].rfind(' ') + 1),
              port1 = lines[1].substr(lines[1].rfind(' ') + 1);
  CHECK(port0 == port1);
  CHECK(port0 != "29500");
  CHECK(std::stoi(port0) > 0);
}

TEST_CASE("run: --host nodes are remote, and the refusal names them before anything starts",
          "[run]") {
  Scratch s;
  Launch r(s, {"run", "--host", "far1:2,far2:2", "-n", "2", "true"});
  CHECK(r.wait(30) == 2);
  INFO(r.report());
  CHECK(
      r.last_err_line().find("nodes far1, far2 are remote, which needs the ssh or srun launcher") !=
      std::string::npos);
}

TEST_CASE(
    "run: MASTER_PORT and the JAX and Megascale coordinator ports are distinct; OMP_NUM_THREADS=1 "
    "on a "
    "shared node",
    "[run]") {
  Scratch s;
  const std::string script =
      "echo $MASTER_PORT ${JAX_COORDINATOR_ADDRESS##*:} ${MEGASCALE_COORDINATOR_ADDRESS##*:} "
      "${OMP_NUM_THREADS-unset}";
  Launch r(s, {"run", "-n", "2", "sh", "-c", script});
  REQUIRE(r.wait(30) == 0);
  INFO(r.report());
  auto lines = lines_of(r.out());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == lines[1]);  // the same for every process of the run
  std::istringstream words(lines[0]);
  std::string master, jax, megascale, omp;
  words >> master >> jax >> megascale >> omp;
  CHECK(master != jax);
  CHECK(jax != megascale);
  CHECK(master != megascale);
  CHECK(omp == "1");
  Launch alone(s, {"run", "-n", "1", "sh", "-c", "echo ${OMP_NUM_THREADS-unset}"}, "alone");
  REQUIRE(alone.wait(30) == 0);
  CHECK(alone.out() == "unset\n");
}

TEST_CASE("run: a script without #! runs under /bin/sh, as with mpirun", "[run]") {
  Scratch s;
  s.write("plain", "echo plain $RANK $1\n");
  REQUIRE(::chmod(s.path("plain").c_str(), 0755) == 0);
  Launch r(s, {"run", "-n", "2", s.path("plain"), "arg"});
  REQUIRE(r.wait(30) == 0);
  INFO(r.report());
  CHECK(sorted(lines_of(r.out())) == std::vector<std::string>{"plain 0 arg", "plain 1 arg"});
}
