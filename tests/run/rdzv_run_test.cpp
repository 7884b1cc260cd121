// The rendezvous service end to end: real jobsetd daemons serving the
// processes of simulated nodes, the launcher's store, `jobset rdzv`.
#include <catch2/catch.hpp>

#include "tests/run/run_util.hpp"

namespace {

using namespace runtest;

// Each rank puts a key, waits at a barrier of everyone, then reads its
// neighbour's key and looks up its own name; rank 0 prints the hosts file.
const char* kRdzvScript = R"SH(#!/bin/sh
J="$JOBSET_BIN"
[ "$RANK" = 0 ] && cat "$JOBSET_HOSTS_FILE"
"$J" rdzv put "k$RANK" "v$RANK" || echo "put failed"
"$J" rdzv barrier --timeout 20 || echo "barrier failed"
echo "rank $RANK got $("$J" rdzv get "k$(( (RANK + 1) % WORLD_SIZE ))" --wait 10)"
echo "rank $RANK at $("$J" rdzv lookup "$JOBSET_HOSTNAME") master $MASTER_ADDR"
)SH";

TEST_CASE(
    "rdzv run: processes on two simulated nodes put, meet at a barrier, get and look up each "
    "other; each node has its own address in every hosts file",
    "[rdzv run]") {
  Scratch s;
  s.write("rdzv.sh", kRdzvScript);
  chmod(s.path("rdzv.sh").c_str(), 0755);
  setenv("JOBSET_BIN", jobset_path().c_str(), 1);
  Launch r(s, {"run", "-q", "--simulate-nodes", "2", "-x", "JOBSET_BIN", "-n", "4",
               s.path("rdzv.sh")});
  REQUIRE(r.wait(60) == 0);
  INFO(r.report());
  std::string out = r.out();
  for (int rank = 0; rank < 4; ++rank)
    CHECK(out.find("rank " + std::to_string(rank) + " got v" + std::to_string((rank + 1) % 4)) !=
          std::string::npos);
  CHECK(out.find("failed") == std::string::npos);
  // Two ranks per node, each node its own loopback address; the lookups
  // agree with the hosts file, and MASTER_ADDR is rank 0's address.
  std::string a0, a1;
  for (const std::string& line : lines_of(out)) {
    if (line.find("\tjob-rdzv-sh-0-0.job job-rdzv-sh-0-0") != std::string::npos)
      a0 = line.substr(0, line.find('\t'));
    if (line.find("\tjob-rdzv-sh-0-3.job job-rdzv-sh-0-3") != std::string::npos)
      a1 = line.substr(0, line.find('\t'));
  }
  REQUIRE(!a0.empty());
  REQUIRE(!a1.empty());
  CHECK(a0 != a1);
  CHECK(a0.rfind("127.", 0) == 0);
  CHECK(out.find("rank 0 at " + a0 + " master " + a0) != std::string::npos);
  CHECK(out.find("rank 3 at " + a1 + " master " + a0) != std::string::npos);
}

}  // namespace
