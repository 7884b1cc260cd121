// Nothing outlives the run (terminal habits, item 6): a rank's children
// that leave its process group (setsid, a double fork into the
// background) are stopped with the rank, whether the rank ends by itself,
// is killed by a failure elsewhere, or the run is interrupted. jobsetd is
// their subreaper and sweeps them (runtime/sweep.hpp). Real processes; the
// test finds leftovers by the marker every process of the run inherits.
#include <signal.h>

#include <string>
#include <vector>

#include "tests/run/run_util.hpp"

namespace {

using namespace runtest;

// Starts one escapee of each kind, says so, then does `then`.
std::vector<std::string> escaping(const std::string& then) {
  return {"run", "-n", "2", "sh", "-c",
          "setsid sleep 77 </dev/null >/dev/null 2>&1 & (sleep 78 </dev/null >/dev/null 2>&1 &); "
          "echo escaped; " + then};
}

TEST_CASE("descendants: children that left the rank's group end with the rank", "[run][descendants]") {
  Scratch s;
  Launch r(s, escaping("exit 0"));
  CHECK(r.wait(30) == 0);
  CHECK(count_substr(r.out(), "escaped") == 2);
  check_nothing_left(r);
}

TEST_CASE("descendants: escaped children of a rank stopped by a failure elsewhere end too",
          "[run][descendants]") {
  Scratch s;
  Launch r(s, escaping("[ \"$RANK\" = 1 ] && exit 3; exec sleep 100"));
  CHECK(r.wait(30) == 3);
  check_nothing_left(r);
}

TEST_CASE("descendants: Ctrl-C ends escaped children with the run", "[run][descendants]") {
  Scratch s;
  Launch r(s, escaping("exec sleep 100"));
  REQUIRE(eventually(20, [&] { return count_substr(r.out(), "escaped") == 2; }));
  pause_ms(100);
  ::kill(r.pid(), SIGINT);
  CHECK(r.wait(30) == 130);
  check_nothing_left(r);
}

}  // namespace
