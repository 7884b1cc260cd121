// JAX's start-up variables under `jobset run`, with examples/jax-check
// standing in for JAX (not packaged for Debian 12): every variable is
// checked and the coordinator, process 0, is reached on its ports across
// two simulated nodes.
#include <catch2/catch.hpp>
#include <regex>

#include "tests/run/run_util.hpp"
#include "tests/skip.hpp"

namespace {

using namespace runtest;

void copy_example(const Scratch& s, const std::string& from) {
  fs::path src = fs::path(JOBSET_SRCDIR) / "examples" / from;
  fs::copy_file(src, s.path(src.filename().string()), fs::copy_options::overwrite_existing);
}

TEST_CASE(
    "jax run: on 2 simulated nodes every JAX and Megascale variable checks out and the "
    "coordinator (process 0) is reached at JAX_COORDINATOR_ADDRESS and "
    "MEGASCALE_COORDINATOR_ADDRESS; a wrong variable fails the check",
    "[jax]") {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0)
    JOBSET_SKIP("needs python3 (apt-get install python3)");
  Scratch s;
  copy_example(s, "jax-check/check.py");
  copy_example(s, "jax-check/jax.toml");  // two slices of two processes
  Launch r(s, {"run", "-q", "--simulate-nodes", "2", "jax.toml"});
  REQUIRE(r.wait(120) == 0);
  std::string out = r.out();
  INFO(r.report() << "\nstdout:\n" << out);
  std::smatch m;
  REQUIRE(std::regex_search(
      out, m,
      std::regex("jax-check: process 0 of 4 ok, the coordinator at (\\S+):(\\d+) \\((\\S+)\\) "
                 "heard from all 4 processes, 2 slices of 2")));
  std::string coordinator = m[3].str();
  CHECK(coordinator.rfind("127.", 0) == 0);
  CHECK(coordinator != "127.0.0.1");  // node 0's own simulated address
  for (int p = 1; p < 4; ++p)
    CHECK_THAT(out, Catch::Contains("jax-check: process " + std::to_string(p) + " of 4 ok, slice " +
                                    std::to_string(p / 2) + " of 2, reached the coordinator at " +
                                    m[1].str() + ":" + m[2].str()));

  // The check checks: a process id out of range fails it, saying which.
  Launch bad(s, {"run", "-q", "--simulate-nodes", "2", "-x", "JAX_PROCESS_ID=4", "jax.toml"},
             "bad");
  CHECK(bad.wait(120) != 0);
  CHECK_THAT(bad.err(), Catch::Contains("JAX_PROCESS_ID=4 is not below JAX_NUM_PROCESSES=4"));
}

TEST_CASE(
    "jax run: where names resolve (NSS module), JAX_COORDINATOR_ADDRESS and "
    "MEGASCALE_COORDINATOR_ADDRESS name the coordinator by FQDN, which resolves to its node's "
    "address and is reached there",
    "[jax][nss]") {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0)
    JOBSET_SKIP("needs python3 (apt-get install python3)");
  Scratch s;
  std::string why;
  auto wrapper = names_resolve_wrapper(s, &why);
  if (!wrapper) JOBSET_SKIP(why);
  copy_example(s, "jax-check/check.py");
  copy_example(s, "jax-check/jax.toml");
  Launch r(s, {"run", "-q", "--simulate-nodes", "2", "jax.toml"}, "run", *wrapper);
  REQUIRE(r.wait(120) == 0);
  std::string out = r.out();
  INFO(r.report() << "\nstdout:\n" << out);
  std::smatch m;
  REQUIRE(std::regex_search(
      out, m,
      std::regex("jax-check: process 0 of 4 ok, the coordinator at jax-slice-0-0\\.jax:(\\d+) "
                 "\\((127\\.\\d+\\.0\\.1)\\) heard from all 4 processes")));
  for (int p = 1; p < 4; ++p)
    CHECK_THAT(out, Catch::Contains("jax-check: process " + std::to_string(p) + " of 4 ok, slice " +
                                    std::to_string(p / 2) +
                                    " of 2, reached the coordinator at jax-slice-0-0.jax:" +
                                    m[1].str() + " (" + m[2].str() + ")"));
}

}  // namespace
