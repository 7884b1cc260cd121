// MPICH programs under `jobset run`, end to end: the real launcher, real
// jobsetd daemons serving PMI-1, and a real MPICH program (tests/mpi/ring.c,
// built with mpicc.mpich) that does MPI_Init, a ring sendrecv, an
// MPI_Allreduce and MPI_Finalize.
#include <catch2/catch.hpp>
#include <map>

#include "tests/run/run_util.hpp"
#include "tests/skip.hpp"

namespace {

using namespace runtest;

std::string ring_program() { return std::string(JOBSET_BUILDDIR) + "/tests/mpi/ring_mpich"; }

bool have_ring() { return access(ring_program().c_str(), X_OK) == 0; }

#define NEEDS_MPICH()                                                           \
  do {                                                                          \
    if (!have_ring())                                                           \
      JOBSET_SKIP(                                                              \
          "needs MPICH's mpicc.mpich at configure time (apt-get install mpich " \
          "libmpich-dev), to build " +                                          \
          ring_program());                                                      \
  } while (0)

// The "rank R size N appnum A left L sum S node NODE" lines, by rank.
struct RankLine {
  int size = -1, appnum = -1, left = -1;
  long sum = -1;
  std::string node;
};

std::map<int, RankLine> rank_lines(const std::string& out) {
  std::map<int, RankLine> m;
  for (const std::string& l : lines_of(out)) {
    int rank = 0;
    RankLine r;
    char node[128] = {};
    if (sscanf(l.c_str(), "rank %d size %d appnum %d left %d sum %ld node %127s", &rank, &r.size,
               &r.appnum, &r.left, &r.sum, node) == 6) {
      r.node = node;
      m[rank] = r;
    }
  }
  return m;
}

// Every rank of one world of n: the ring passed each its left neighbour's
// rank and the allreduce summed every rank.
void check_world(const std::string& out, int n) {
  auto lines = rank_lines(out);
  REQUIRE(lines.size() == static_cast<size_t>(n));
  for (const auto& [rank, l] : lines) {
    INFO("rank " << rank);
    CHECK(l.size == n);
    CHECK(l.left == (rank + n - 1) % n);
    CHECK(l.sum == static_cast<long>(n) * (n - 1) / 2);
  }
}

TEST_CASE("mpich run: N ranks on one node are one MPI world, not N singletons",
          "[mpich run][mpi]") {
  NEEDS_MPICH();
  for (int n : {1, 2, 8}) {
    DYNAMIC_SECTION("N = " << n) {
      Scratch s;
      Launch r(s, {"run", "-q", "-n", std::to_string(n), ring_program()});
      INFO(r.report());
      REQUIRE(r.wait(120) == 0);
      check_world(r.out(), n);
    }
  }
}

TEST_CASE(
    "mpich run: ranks on 4 simulated nodes form one world and ranks on different nodes "
    "communicate",
    "[mpich run][mpi]") {
  NEEDS_MPICH();
  for (int n : {1, 2, 8}) {
    DYNAMIC_SECTION("N = " << n) {
      Scratch s;
      Launch r(s, {"run", "-q", "--simulate-nodes", "4", "--map-by", "node", "-n",
                   std::to_string(n), ring_program()});
      INFO(r.report());
      REQUIRE(r.wait(120) == 0);
      check_world(r.out(), n);
      auto lines = rank_lines(r.out());
      std::set<std::string> nodes;
      for (const auto& [rank, l] : lines) nodes.insert(l.node);
      CHECK(nodes.size() == static_cast<size_t>(std::min(n, 4)));
      // Ring neighbours sit on different nodes (map-by node): the ring crossed nodes.
      if (n > 1) CHECK(lines[1].node != lines[0].node);
    }
  }
}

TEST_CASE("mpich run: an MPMD JobSet of 1 driver and 4 workers is one world of 5 with MPI_APPNUM",
          "[mpich run][mpi]") {
  NEEDS_MPICH();
  Scratch s;
  s.write("mpmd.toml",
          "name = \"mpmd\"\n"
          "[[replicated_jobs]]\nname = \"driver\"\n"
          "[replicated_jobs.template]\ncommand = [\"" +
              ring_program() +
              "\"]\n"
              "[[replicated_jobs]]\nname = \"workers\"\n"
              "[replicated_jobs.template]\nparallelism = 4\ncompletions = 4\n"
              "command = [\"" +
              ring_program() + "\"]\n");
  Launch r(s, {"run", "-q", "--simulate-nodes", "2", s.path("mpmd.toml")});
  INFO(r.report());
  REQUIRE(r.wait(120) == 0);
  check_world(r.out(), 5);
  auto lines = rank_lines(r.out());
  CHECK(lines[0].appnum == 0);
  for (int rank = 1; rank < 5; ++rank) CHECK(lines[rank].appnum == 1);
}

TEST_CASE("mpich run: MPI_Abort(7) in one rank ends the run with exit code 7, nothing left behind",
          "[mpich run][mpi]") {
  NEEDS_MPICH();
  Scratch s;
  Launch r(s, {"run", "--simulate-nodes", "2", "-n", "4", ring_program(), "abort", "7", "2"});
  INFO(r.report());
  CHECK(r.wait(120) == 7);
  CHECK(r.err().find("called MPI_Abort with exit code 7") != std::string::npos);
  auto left = wait_gone(r.marker(), 10);
  INFO("left behind:\n" << describe(left));
  CHECK(left.empty());
}

TEST_CASE(
    "mpich run: after MPI_Abort the failure policy restarts the JobSet (not the rank in place) "
    "and MPI_Init works again in the new attempt",
    "[mpich run][mpi]") {
  NEEDS_MPICH();
  Scratch s;
  // backoff_limit is the default 6: a retry in place would hang the world.
  s.write("restart.toml",
          "name = \"rs\"\n[failure_policy]\nmax_restarts = 1\n"
          "[[replicated_jobs]]\nname = \"w\"\n[replicated_jobs.template]\n"
          "parallelism = 4\ncompletions = 4\n"
          "command = [\"sh\", \"-c\", \"if [ $JOBSET_RESTART_ATTEMPT = 0 ]; then exec " +
              ring_program() + " abort 7 2; else exec " + ring_program() + "; fi\"]\n");
  Launch r(s, {"run", "--simulate-nodes", "2", s.path("restart.toml")});
  INFO(r.report());
  REQUIRE(r.wait(120) == 0);
  CHECK(r.err().find("MPIFailure: rs-w-0-2 called MPI_Abort with exit code 7") !=
        std::string::npos);
  CHECK(r.err().find("restarts 1") != std::string::npos);
  check_world(r.out(), 4);
}

TEST_CASE("mpich run: a rank SIGKILLed in the middle of allreduces stops the others, no hang",
          "[mpich run][mpi]") {
  NEEDS_MPICH();
  Scratch s;
  Launch r(s, {"run", "--simulate-nodes", "2", "-n", "4", ring_program(), "kill", "1"});
  INFO(r.report());
  CHECK(r.wait(120) == 128 + SIGKILL);
  CHECK(r.err().find("ended between MPI_Init and MPI_Finalize") != std::string::npos);
  auto left = wait_gone(r.marker(), 10);
  INFO("left behind:\n" << describe(left));
  CHECK(left.empty());
}

TEST_CASE("mpich run: with --mpi=none no PMI variable is set, so each rank is a world of its own",
          "[mpich run][mpi]") {
  NEEDS_MPICH();
  Scratch s;
  Launch r(s, {"run", "-q", "--mpi=none", "-n", "2", "sh", "-c",
               "env | grep -E '^(PMI_|OMPI_)' || echo none-set; exec " + ring_program()});
  INFO(r.report());
  REQUIRE(r.wait(120) == 0);
  CHECK(count_substr(r.out(), "none-set") == 2);
  auto lines = rank_lines(r.out());
  REQUIRE(lines.size() == 1);  // both say "rank 0"
  CHECK(lines[0].size == 1);
}

}  // namespace
