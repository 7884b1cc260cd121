// Output that cannot be written, end to end: a reader that goes away
// (`jobset run ... | head`) and a full disk (`> /dev/full`). The run stops,
// says why, exits with a code that means it, and leaves nothing behind.
#include <sys/wait.h>

#include "tests/run/run_util.hpp"
#include "tests/skip.hpp"

using namespace runtest;

namespace {

// Runs `shell` under bash with the marker in its environment; returns what
// it printed (stdout then stderr) and its exit status.
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
