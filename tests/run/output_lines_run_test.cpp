// Text without a newline and lines of any length (terminal habits, item 4):
// a progress bar or a prompt shows up while its program waits, tagged as a
// continuation when another line cut it; lines up to jobset(1)'s bound
// (1 MiB) arrive whole, never torn or mixed with another process's, even
// when several processes write long lines at once. Real processes.
#include <map>
#include <string>
#include <vector>

#include "tests/run/run_util.hpp"

namespace {

using namespace runtest;

TEST_CASE("output lines: a partial line is shown while its program waits for more",
          "[run][output_lines]") {
  Scratch s;
  Launch r(s, {"run", "-q", "--tag-output", "-n", "1", "sh", "-c",
               "printf 'Continue? '; sleep 30; echo yes"});
  // The prompt reaches stdout while the program still waits (no newline yet).
  bool shown = eventually(10, [&] { return r.out().find("[job-sh-0-0] Continue? ") != std::string::npos; });
  INFO(r.report() << "\nstdout so far: [" << r.out() << "]");
  CHECK(shown);
  CHECK_FALSE(r.poll().has_value());  // still waiting; the destructor stops the run
}

TEST_CASE("output lines: long lines from several processes at once arrive whole",
          "[run][output_lines]") {
  Scratch s;
  // 4 processes, 3 lines each of 300,000 copies of their rank digit, written
  // in 4 KiB pieces so that the pieces of different processes overlap.
  Launch r(s, {"run", "-q", "-n", "4", "python3", "-c",
               "import os, sys\n"
               "r = os.environ['RANK']\n"
               "for _ in range(3):\n"
               "    line = r * 300000 + '\\n'\n"
               "    for i in range(0, len(line), 4096):\n"
               "        os.write(1, line[i:i + 4096].encode())\n"});
  REQUIRE(r.wait(60) == 0);
  std::map<char, int> whole;
  size_t torn = 0;
  for (const std::string& l : lines_of(r.out())) {
    if (l.size() == 300000 && l.find_first_not_of(l[0]) == std::string::npos)
      ++whole[l[0]];
    else
      ++torn;
  }
  CHECK(torn == 0);
  for (char c : {'0', '1', '2', '3'}) CHECK(whole[c] == 3);
}

}  // namespace
