// The mpirun-style command line builds the same model as a file would.
#include "launcher/spec/adhoc.hpp"

#include "tests/launcher/test_util.hpp"

using namespace jobset::launcher;
using namespace jobset::launcher::testing;

namespace {

std::optional<std::string> fake_env(const std::string& var) {
  if (var == "HOME") return std::string("/home/me");
  return std::nullopt;
}

jobset::Result<JobSet> parse(const std::vector<std::string>& args) {
  return parse_adhoc(args, fake_env);
}

}  // namespace

TEST_CASE("adhoc: -n N program args is one replicated job, like mpirun", "[adhoc]") {
  auto js = parse({"-n", "4", "./a.out", "--steps", "10"});
  REQUIRE(js.ok());
  REQUIRE(js->replicated_jobs.size() == 1);
  const ReplicatedJob& rj = js->replicated_jobs[0];
  CHECK(js->name == "job");
  CHECK(rj.name == "a-out");
  CHECK(rj.replicas == 1);
  CHECK(rj.tmpl.parallelism == 4);
  CHECK(rj.tmpl.command == std::vector<std::string>{"./a.out"});
  CHECK(rj.tmpl.args == std::vector<std::string>{"--steps", "10"});
  CHECK(rj.tmpl.backoff_limit == 0);  // any failure ends the run
  CHECK_FALSE(js->failure_policy);
}

TEST_CASE("adhoc: the same JobSet as the equivalent file", "[adhoc]") {
  auto js = parse({"-np", "1", "./driver", ":", "-n", "8", "--replicas", "2", "-x", "MODE=fast",
                   "-x", "HOME", "--wdir", "/scratch", "/usr/bin/worker", "-v"});
  REQUIRE(js.ok());
  auto file = load(R"(name = "job"
[[replicated_jobs]]
name = "driver"
[replicated_jobs.template]
backoff_limit = 0
command = ["./driver"]
[[replicated_jobs]]
name = "worker"
replicas = 2
[replicated_jobs.template]
parallelism = 8
backoff_limit = 0
command = ["/usr/bin/worker"]
args = ["-v"]
working_dir = "/scratch"
env = { MODE = "fast", HOME = "/home/me" }
)");
  REQUIRE(file.js);
  CHECK(*js == file.js->jobset);
}

TEST_CASE("adhoc: names are DNS labels made from the program and kept unique", "[adhoc]") {
  auto js = parse({"-n", "1", "/opt/My_App.py", ":", "-n", "1", "./my-app-py", ":", "-n", "1",
                   "./7zip", ":", "-n", "2", "--name", "custom", "x"});
  REQUIRE(js.ok());
  CHECK(js->replicated_jobs[0].name == "my-app-py");
  CHECK(js->replicated_jobs[1].name == "my-app-py-1");
  CHECK(js->replicated_jobs[2].name == "app2-7zip");
  CHECK(js->replicated_jobs[3].name == "custom");
}

TEST_CASE("adhoc: bad command lines say which part and what is wrong", "[adhoc]") {
  auto n = parse({"-n", "four", "./a"});
  REQUIRE_FALSE(n.ok());
  CHECK(n.error().message() ==
        "part 1 of the command line: -n: expected a positive integer, found 'four'");
  auto zero = parse({"-n", "1", "./a", ":", "-n", "0", "./b"});
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error().message() ==
        "part 2 of the command line: -n: expected a positive integer, found '0'");
  auto noprog = parse({"-n", "2"});
  REQUIRE_FALSE(noprog.ok());
  CHECK(noprog.error().message() ==
        "part 1 of the command line: expected a program to run after the options");
  auto trailing = parse({"-n", "2", "./a", ":"});
  REQUIRE_FALSE(trailing.ok());
  CHECK(trailing.error().message() ==
        "the command line ends with ':'; expected another part after it");
  auto unknown = parse({"-n", "2", "--bogus", "1", "./a"});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message().find("unknown option '--bogus'") != std::string::npos);
  auto missing = parse({"-n", "1", "-x", "NOT_SET_ANYWHERE", "./a"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message() ==
        "part 1 of the command line: -x NOT_SET_ANYWHERE: the variable is not set in this "
        "environment");
  auto novalue = parse({"-n"});
  REQUIRE_FALSE(novalue.ok());
  CHECK(novalue.error().message() == "part 1 of the command line: -n needs a value");
}
