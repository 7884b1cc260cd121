// Binding inside a node, checked cell by cell on hand-built node models:
// which cores, PUs and devices each process gets under --map-by, --rank-by
// and --bind-to.
#include "topology/binding.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace jobset::topology;
using Bind = MapPolicy::Bind;

namespace {

// packages x numa per package x cores per numa x 2 PUs, numbered the way
// hwloc's synthetic topologies number them: PU OS index = logical index.
NodeTopology model(int packages, int numas_per_package, int cores_per_numa) {
  NodeTopology t;
  t.packages = packages;
  t.numas = packages * numas_per_package;
  int32_t pu = 0;
  for (int p = 0; p < packages; ++p)
    for (int n = 0; n < numas_per_package; ++n)
      for (int c = 0; c < cores_per_numa; ++c)
        t.cores.push_back(Core{p, p * numas_per_package + n, {pu++, pu++}});
  return t;
}

// 2 packages x 8 cores, 8 GPUs: 0-3 next to package 0, 4-7 next to package 1.
NodeTopology gpu_model() {
  NodeTopology t = model(2, 1, 8);
  for (int g = 0; g < 8; ++g) {
    Device d;
    d.name = "gpu" + std::to_string(g);
    d.package = d.numa = g < 4 ? 0 : 1;
    for (int c = 0; c < 8; ++c) d.local_cores.push_back(g < 4 ? c : 8 + c);
    t.gpus.push_back(d);
  }
  return t;
}

std::vector<ProcessNeeds> procs(size_t n, int64_t cores = 1, int64_t gpus = 0) {
  return std::vector<ProcessNeeds>(n, ProcessNeeds{cores, gpus, 0});
}

MapPolicy policy(Level map, Level rank, Bind bind, int32_t ppr = 0) {
  MapPolicy p;
  p.map_by = map;
  p.rank_by = rank;
  p.bind_to = bind;
  p.ppr = ppr;
  if (ppr > 0) p.ppr_level = map;
  return p;
}

std::vector<std::vector<int32_t>> cores_of(const std::vector<Binding>& b) {
  std::vector<std::vector<int32_t>> out;
  out.reserve(b.size());
  for (const auto& x : b) out.push_back(x.cores);
  return out;
}

}  // namespace

TEST_CASE("binding: map-by slot with bind-to core packs cores in rank order", "[binding]") {
  auto t = model(2, 2, 4);  // 16 cores
  auto b = bind_node("n1", &t, 0, 0, procs(4), policy(Level::kSlot, Level::kSlot, Bind::kCore));
  REQUIRE(b);
  CHECK(cores_of(*b) == std::vector<std::vector<int32_t>>{{0}, {1}, {2}, {3}});
  CHECK((*b)[0].pus == std::vector<int32_t>{0, 1});
  CHECK((*b)[3].pus == std::vector<int32_t>{6, 7});
}

TEST_CASE("binding: map-by numa goes round-robin over NUMA nodes", "[binding]") {
  auto t = model(2, 2, 4);  // NUMA n holds cores 4n..4n+3
  auto b = bind_node("n1", &t, 0, 0, procs(8), policy(Level::kNuma, Level::kNuma, Bind::kCore));
  REQUIRE(b);
  CHECK(cores_of(*b) ==
        std::vector<std::vector<int32_t>>{{0}, {4}, {8}, {12}, {1}, {5}, {9}, {13}});
}

TEST_CASE("binding: map-by numa with rank-by core keeps neighbouring ranks together", "[binding]") {
  auto t = model(2, 2, 4);
  auto b = bind_node("n1", &t, 0, 0, procs(8), policy(Level::kNuma, Level::kCore, Bind::kCore));
  REQUIRE(b);
  CHECK(cores_of(*b) ==
        std::vector<std::vector<int32_t>>{{0}, {1}, {4}, {5}, {8}, {9}, {12}, {13}});
}

TEST_CASE("binding: map-by slot with rank-by numa alternates the filled NUMA nodes", "[binding]") {
  auto t = model(2, 2, 4);
  auto b = bind_node("n1", &t, 0, 0, procs(8), policy(Level::kSlot, Level::kNuma, Bind::kCore));
  REQUIRE(b);
  // Filling takes cores 0-7 (NUMA 0 and 1); ranks alternate between them.
  CHECK(cores_of(*b) == std::vector<std::vector<int32_t>>{{0}, {4}, {1}, {5}, {2}, {6}, {3}, {7}});
}

TEST_CASE("binding: map-by package alternates packages", "[binding]") {
  auto t = model(2, 1, 8);
  auto b =
      bind_node("n1", &t, 0, 0, procs(4), policy(Level::kPackage, Level::kPackage, Bind::kCore));
  REQUIRE(b);
  CHECK(cores_of(*b) == std::vector<std::vector<int32_t>>{{0}, {8}, {1}, {9}});
}

TEST_CASE("binding: ppr:2:package puts two processes on each package and no more", "[binding]") {
  auto t = model(2, 1, 8);
  // Ranked contiguously (ppr's default rank-by slot), then round-robin.
  auto b =
      bind_node("n1", &t, 0, 0, procs(4), policy(Level::kPackage, Level::kSlot, Bind::kCore, 2));
  REQUIRE(b);
  CHECK(cores_of(*b) == std::vector<std::vector<int32_t>>{{0}, {1}, {8}, {9}});
  auto rr =
      bind_node("n1", &t, 0, 0, procs(4), policy(Level::kPackage, Level::kPackage, Bind::kCore, 2));
  REQUIRE(rr);
  CHECK(cores_of(*rr) == std::vector<std::vector<int32_t>>{{0}, {8}, {1}, {9}});
  auto over =
      bind_node("n1", &t, 0, 0, procs(5), policy(Level::kPackage, Level::kPackage, Bind::kCore, 2));
  REQUIRE_FALSE(over);
  CHECK(over.error().message() ==
        "--map-by ppr:2:package allows 4 processes on n1 (2 package objects); found 5");
}

TEST_CASE("binding: bind-to numa and package widen the cpuset to the whole object", "[binding]") {
  auto t = model(2, 2, 2);  // NUMA 0: cores 0-1 (PUs 0-3); package 0: cores 0-3 (PUs 0-7)
  auto numa = bind_node("n1", &t, 0, 0, procs(1), policy(Level::kSlot, Level::kSlot, Bind::kNuma));
  REQUIRE(numa);
  CHECK((*numa)[0].cores == std::vector<int32_t>{0});
  CHECK((*numa)[0].pus == std::vector<int32_t>{0, 1, 2, 3});
  auto pkg =
      bind_node("n1", &t, 0, 0, procs(1), policy(Level::kSlot, Level::kSlot, Bind::kPackage));
  REQUIRE(pkg);
  CHECK((*pkg)[0].pus == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("binding: a process asking for several cpus gets that many cores", "[binding]") {
  auto t = model(1, 1, 8);
  auto b = bind_node("n1", &t, 0, 0, procs(3, 2), policy(Level::kSlot, Level::kSlot, Bind::kCore));
  REQUIRE(b);
  CHECK(cores_of(*b) == std::vector<std::vector<int32_t>>{{0, 1}, {2, 3}, {4, 5}});
  CHECK((*b)[1].pus == std::vector<int32_t>{4, 5, 6, 7});
}

TEST_CASE("binding: bind-to none maps but does not bind", "[binding]") {
  auto t = model(1, 1, 4);
  auto b = bind_node("n1", &t, 0, 0, procs(2), policy(Level::kSlot, Level::kSlot, Bind::kNone));
  REQUIRE(b);
  CHECK(cores_of(*b) == std::vector<std::vector<int32_t>>{{0}, {1}});
  CHECK((*b)[0].pus.empty());
}

TEST_CASE("binding: bind-to core refuses more processes than cores, and says what to do",
          "[binding]") {
  auto t = model(1, 1, 4);
  auto b = bind_node("node07", &t, 0, 0, procs(5), policy(Level::kSlot, Level::kSlot, Bind::kCore));
  REQUIRE_FALSE(b);
  CHECK(b.error().message() ==
        "node07 has 4 cores; its 5 processes need 5 with --bind-to core "
        "(use fewer processes per node, or --bind-to none)");
  // Without binding, more processes than cores share them in turn.
  auto shared =
      bind_node("node07", &t, 0, 0, procs(5), policy(Level::kSlot, Level::kSlot, Bind::kNone));
  REQUIRE(shared);
  CHECK((*shared)[4].cores == std::vector<int32_t>{0});
}

TEST_CASE("binding: GPUs go to the processes whose cores are next to them", "[binding]") {
  auto t = gpu_model();
  // One process per package: each gets a GPU of its own package.
  auto b = bind_node("g1", &t, 8, 0, procs(2, 1, 1),
                     policy(Level::kPackage, Level::kPackage, Bind::kCore));
  REQUIRE(b);
  CHECK((*b)[0].cores == std::vector<int32_t>{0});
  CHECK((*b)[0].gpus == std::vector<int32_t>{0});
  CHECK((*b)[1].cores == std::vector<int32_t>{8});
  CHECK((*b)[1].gpus == std::vector<int32_t>{4});
  // Eight processes, one GPU each, filling package 0 first: the first four
  // take package 0's GPUs, the next four what is left.
  auto eight = bind_node("g1", &t, 8, 0, procs(8, 1, 1),
                         policy(Level::kPackage, Level::kPackage, Bind::kCore));
  REQUIRE(eight);
  for (int k = 0; k < 8; ++k) {
    INFO("process " << k);
    const int32_t gpu = (*eight)[k].gpus.at(0);
    const int32_t core = (*eight)[k].cores.at(0);
    CHECK((gpu < 4) == (core < 8));
  }
  // Two processes with 4 GPUs each, both on package 0's cores: the first
  // takes the local ones, the second the rest.
  auto four =
      bind_node("g1", &t, 8, 0, procs(2, 1, 4), policy(Level::kSlot, Level::kSlot, Bind::kCore));
  REQUIRE(four);
  CHECK((*four)[0].gpus == std::vector<int32_t>{0, 1, 2, 3});
  CHECK((*four)[1].gpus == std::vector<int32_t>{4, 5, 6, 7});
}

TEST_CASE("binding: without a topology, devices are numbered in order and binding is refused",
          "[binding]") {
  auto b = bind_node("h1", nullptr, 4, 2, {ProcessNeeds{1, 2, 1}, ProcessNeeds{1, 2, 1}},
                     policy(Level::kSlot, Level::kSlot, Bind::kNone));
  REQUIRE(b);
  CHECK((*b)[0].gpus == std::vector<int32_t>{0, 1});
  CHECK((*b)[1].gpus == std::vector<int32_t>{2, 3});
  CHECK((*b)[1].tpus == std::vector<int32_t>{1});
  CHECK((*b)[0].cores.empty());
  auto bound =
      bind_node("h1", nullptr, 0, 0, procs(1), policy(Level::kSlot, Level::kSlot, Bind::kCore));
  REQUIRE_FALSE(bound);
  CHECK_THAT(bound.error().message(), Catch::StartsWith("h1 has no known topology"));
}

TEST_CASE("binding: binding is deterministic", "[binding]") {
  auto t = gpu_model();
  auto p = policy(Level::kNuma, Level::kCore, Bind::kNuma);
  CHECK(*bind_node("g1", &t, 8, 0, procs(6, 2, 1), p) ==
        *bind_node("g1", &t, 8, 0, procs(6, 2, 1), p));
}

TEST_CASE("binding: GPU locality on the 8-GPU two-socket fixture", "[binding]") {
  auto t = topology_from_xml_file(std::string(JOBSET_SRCDIR) +
                                  "/tests/fixtures/topology/gpu8-2socket.xml");
  REQUIRE(t);
  REQUIRE(t->gpus.size() == 8);
  // Eight processes with one GPU each, round-robin over the sockets, bound
  // to their cores: every process gets a GPU attached to its own socket,
  // and the eight GPUs are all used once.
  auto b = bind_node("dgx1", &*t, 8, 0, procs(8, 1, 1),
                     policy(Level::kPackage, Level::kPackage, Bind::kCore));
  REQUIRE(b);
  std::set<int32_t> used;
  for (size_t k = 0; k < 8; ++k) {
    INFO("process " << k);
    const auto& bind = (*b)[k];
    REQUIRE(bind.gpus.size() == 1);
    const Device& gpu = t->gpus[bind.gpus[0]];
    CHECK(gpu.package == t->cores[bind.cores.at(0)].package);
    CHECK(t->cores[bind.cores[0]].package == static_cast<int32_t>(k % 2));
    used.insert(bind.gpus[0]);
    // Bound to the core's two hyperthreads, i and i+32.
    CHECK(bind.pus == std::vector<int32_t>{bind.pus[0], bind.pus[0] + 32});
  }
  CHECK(used.size() == 8);
  // Two processes of four GPUs, one per socket: each gets its socket's four.
  auto four = bind_node("dgx1", &*t, 8, 0, procs(2, 8, 4),
                        policy(Level::kPackage, Level::kPackage, Bind::kCore));
  REQUIRE(four);
  CHECK((*four)[0].gpus == std::vector<int32_t>{0, 1, 2, 3});
  CHECK((*four)[1].gpus == std::vector<int32_t>{4, 5, 6, 7});
  CHECK((*four)[1].cores.front() == 16);
}
