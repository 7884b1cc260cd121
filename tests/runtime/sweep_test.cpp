// Tests for runtime/sweep.hpp: whole environment entries are matched, and
// a real child is listed among this process's children.
#include "runtime/sweep.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

using jobset::runtime::children_of;
using jobset::runtime::environ_has_all;

TEST_CASE("sweep: every mark must be a whole entry of the environment", "[sweep]") {
  using namespace std::string_literals;
  const std::string env = "A=1\0JOBSET_HOSTNAME=js-w-0-1\0JOBSET_RESTART_ATTEMPT=2\0"s;
  CHECK(environ_has_all(env, {"JOBSET_HOSTNAME=js-w-0-1", "JOBSET_RESTART_ATTEMPT=2"}));
  CHECK(environ_has_all(env, {}));
  CHECK_FALSE(environ_has_all(env, {"JOBSET_HOSTNAME=js-w-0-1", "JOBSET_RESTART_ATTEMPT=1"}));
  CHECK_FALSE(environ_has_all(env, {"JOBSET_HOSTNAME=js-w-0"}));  // a prefix is not the entry
  CHECK_FALSE(environ_has_all(env, {"HOSTNAME=js-w-0-1"}));       // nor a suffix
  CHECK_FALSE(environ_has_all("", {"A=1"}));
}

TEST_CASE("sweep: children_of lists a child of this process", "[sweep]") {
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  auto kids = children_of(getpid());
  CHECK(std::find(kids.begin(), kids.end(), child) != kids.end());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
}
