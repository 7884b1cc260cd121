// Tests for label-aware placement (topology/placement.hpp): the multislice
// case, node selectors, mixed shared and exclusive jobs, and random small
// cases checked against every constraint and against a brute-force search.
#include "topology/placement.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using jobset::topology::Cluster;
using jobset::topology::Demand;
using jobset::topology::JobRequest;
using jobset::topology::Node;
using jobset::topology::place;
using jobset::topology::Placement;

const std::string kPool = "cloud.google.com/gke-nodepool";
const std::map<std::string, std::string> kTpuLabels = {
    {"cloud.google.com/gke-tpu-accelerator", "tpu-v5-lite-podslice"},
    {"cloud.google.com/gke-tpu-topology", "2x4"}};

// `pools` node pools of 2 hosts, each with 1 slot and 4 TPUs.
Cluster tpu_pools(int pools) {
  Cluster c;
  for (int p = 0; p < pools; ++p) {
    for (int h = 0; h < 2; ++h) {
      std::string pool = std::string("pool-") + static_cast<char>('a' + p);
      Node n{"tpu-" + std::string(1, static_cast<char>('a' + p)) + "-" + std::to_string(h), 1, 0, 4,
             kTpuLabels};
      n.labels[kPool] = pool;
      c.nodes.push_back(n);
    }
  }
  return c;
}

std::vector<JobRequest> multislice_workers(int replicas) {
  std::vector<JobRequest> jobs;
  jobs.reserve(replicas);
  for (int j = 0; j < replicas; ++j)
    jobs.push_back(JobRequest{"workers", j, 2, Demand{1, 0, 4}, kTpuLabels, kPool});
  return jobs;
}

std::string error_of(const jobset::Result<Placement>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error().message();
}

}  // namespace

TEST_CASE("placement: multislice gives each job its own node pool, one process per host",
          "[placement]") {
  Cluster c = tpu_pools(4);
  auto r = place(c, multislice_workers(4));
  REQUIRE(r.ok());
  REQUIRE(r->slots.size() == 8);
  for (int job = 0; job < 4; ++job) {
    std::string pool = std::string("pool-") + static_cast<char>('a' + job);
    for (int k = 0; k < 2; ++k) {
      const auto& s = r->slots[2 * job + k];
      CHECK(s.node == 2 * job + k);  // one per host, both hosts of the pool
      CHECK(s.slot == 0);
      CHECK(c.nodes[s.node].labels.at(kPool) == pool);
      REQUIRE(r->island[2 * job + k] >= 0);
      CHECK(r->island_values[r->island[2 * job + k]] == pool);
    }
  }
}

TEST_CASE("placement: multislice on 3 pools fails and names the pools it found", "[placement]") {
  CHECK(
      error_of(place(tpu_pools(3), multislice_workers(4))) ==
      "workers needs 4 islands of cloud.google.com/gke-nodepool with 2 free slots of 4 tpus each; "
      "found 3: pool-a, pool-b, pool-c");
}

TEST_CASE("placement: a pool with too few TPUs is not an island for the job", "[placement]") {
  Cluster c = tpu_pools(4);
  c.nodes[3].tpus = 2;  // pool-b's second host
  CHECK(
      error_of(place(c, multislice_workers(4))) ==
      "workers needs 4 islands of cloud.google.com/gke-nodepool with 2 free slots of 4 tpus each; "
      "found 3: pool-a, pool-c, pool-d");
}

TEST_CASE("placement: node selector filtering never uses a node lacking a label", "[placement]") {
  Cluster c = tpu_pools(4);
  c.nodes[0].labels.erase("cloud.google.com/gke-tpu-topology");
  c.nodes[5].labels["cloud.google.com/gke-tpu-topology"] = "4x4";
  // Shared (no exclusive key): 5 processes on the 6 matching hosts.
  std::vector<JobRequest> jobs = {JobRequest{"w", 0, 5, Demand{1, 0, 4}, kTpuLabels, ""}};
  auto r = place(c, jobs);
  REQUIRE(r.ok());
  std::vector<int32_t> nodes;
  for (const auto& s : r->slots) nodes.push_back(s.node);
  CHECK(nodes == std::vector<int32_t>{1, 2, 3, 4, 6});
  CHECK(r->island == std::vector<int32_t>(5, -1));
  jobs[0].processes = 7;
  CHECK(error_of(place(c, jobs)) ==
        "w needs 7 free slots of 4 tpus each on nodes with "
        "cloud.google.com/gke-tpu-accelerator=tpu-v5-lite-podslice, "
        "cloud.google.com/gke-tpu-topology=2x4; found 6 matching nodes (tpu-a-1, tpu-b-0, tpu-b-1, "
        "tpu-c-0, "
        "tpu-d-0, tpu-d-1) with room for 6");
}

TEST_CASE("placement: a shared driver never lands on an island held by a worker job",
          "[placement]") {
  Cluster c = tpu_pools(3);
  for (auto& n : c.nodes) n.slots = 4;
  c.nodes.push_back(Node{"cpu-0", 4, 0, 0, {}});  // in no pool
  // The driver comes first in rank order and would fit on tpu-a-0, but
  // pool-a and pool-b are taken by the two worker jobs.
  std::vector<JobRequest> jobs = {JobRequest{"driver", 0, 2, Demand{}, {}, ""}};
  for (auto& w : multislice_workers(2)) jobs.push_back(w);
  auto r = place(c, jobs);
  REQUIRE(r.ok());
  CHECK(c.nodes[r->slots[0].node].labels.at(kPool) == "pool-c");
  CHECK(c.nodes[r->slots[1].node].labels.at(kPool) == "pool-c");
  CHECK(r->island[0] == -1);
  for (int p = 2; p < 6; ++p)
    CHECK(c.nodes[r->slots[p].node].labels.at(kPool) == (p < 4 ? "pool-a" : "pool-b"));
  // With every pool taken the driver goes to the node outside the pools.
  jobs.push_back(multislice_workers(3)[2]);
  r = place(c, jobs);
  REQUIRE(r.ok());
  CHECK(r->slots[0].node == 6);
  CHECK(r->slots[1].node == 6);
  CHECK(r->slots[1].slot == 1);
  // And with no node left at all, it says the islands are why.
  c.nodes.pop_back();
  CHECK(error_of(place(c, jobs)) ==
        "driver needs 2 free slots; found 6 matching nodes (tpu-a-0, tpu-a-1, tpu-b-0, tpu-b-1, "
        "tpu-c-0, "
        "tpu-c-1) with room for 0 outside the islands other jobs hold exclusively");
}

TEST_CASE("placement: plain slots pack in rank order, node after node", "[placement]") {
  Cluster c;
  c.nodes = {Node{"a", 2, 0, 0, {}}, Node{"b", 3, 0, 0, {}}};
  auto r =
      place(c, {JobRequest{"x", 0, 2, Demand{}, {}, ""}, JobRequest{"x", 1, 3, Demand{}, {}, ""}});
  REQUIRE(r.ok());
  std::vector<std::pair<int, int>> got;
  for (const auto& s : r->slots) got.emplace_back(s.node, s.slot);
  CHECK(got == std::vector<std::pair<int, int>>{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {1, 2}});
  CHECK(place(c, {}).ok());
}

TEST_CASE("placement: 10,000 nodes and 80,000 processes in islands of 16 plan quickly",
          "[placement]") {
  Cluster c;
  for (int n = 0; n < 10000; ++n)
    c.nodes.push_back(
        Node{"n" + std::to_string(n), 8, 0, 0, {{"rack", "r" + std::to_string(n / 16)}}});
  std::vector<JobRequest> jobs;
  jobs.reserve(625);
  for (int j = 0; j < 625; ++j) jobs.push_back(JobRequest{"w", j, 128, Demand{}, {}, "rack"});
  auto r = place(c, jobs);
  REQUIRE(r.ok());
  CHECK(r->slots.size() == 80000);
  CHECK(r->slots.back().node == 9999);
}

namespace {

// Every constraint of a plan, checked from scratch: capacity per node,
// selectors, each exclusive job inside one island of its key, islands of
// different exclusive jobs disjoint, and no other job on a held island.
// Returns "" when the plan is valid.
std::string violation(const Cluster& c, const std::vector<JobRequest>& jobs,
                      const std::vector<int32_t>& node_of) {
  const size_t n = c.nodes.size();
  std::vector<int64_t> slots(n), gpus(n), tpus(n);
  std::vector<int> holder(n, -1);  // exclusive job holding the node's island
  size_t p = 0;
  std::vector<std::set<int32_t>> used(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) {
    const auto& job = jobs[j];
    std::set<std::string> values;
    for (int64_t k = 0; k < job.processes; ++k, ++p) {
      int32_t node = node_of[p];
      if (node < 0 || static_cast<size_t>(node) >= n) return "bad node";
      if (!jobset::topology::matches(c.nodes[node], job.node_selector)) return "selector";
      slots[node] += job.demand.slots;
      gpus[node] += job.demand.gpus;
      tpus[node] += job.demand.tpus;
      used[j].insert(node);
      if (!job.exclusive_key.empty()) {
        auto it = c.nodes[node].labels.find(job.exclusive_key);
        if (it == c.nodes[node].labels.end()) return "exclusive job outside every island";
        values.insert(it->second);
      }
    }
    if (values.size() > 1) return "exclusive job split over islands";
    if (values.size() == 1) {
      for (size_t m = 0; m < n; ++m) {
        auto it = c.nodes[m].labels.find(job.exclusive_key);
        if (it == c.nodes[m].labels.end() || it->second != *values.begin()) continue;
        if (holder[m] >= 0) return "two exclusive jobs share an island";
        holder[m] = static_cast<int>(j);
      }
    }
  }
  for (size_t m = 0; m < n; ++m) {
    if (slots[m] > c.nodes[m].slots || gpus[m] > c.nodes[m].gpus || tpus[m] > c.nodes[m].tpus)
      return "over capacity on " + c.nodes[m].name;
    for (size_t j = 0; j < jobs.size(); ++j)
      if (holder[m] >= 0 && holder[m] != static_cast<int>(j) &&
          used[j].count(static_cast<int32_t>(m)))
        return "a job on an island another job holds";
  }
  return "";
}

// Tries every assignment of processes to nodes.
bool brute_force_fits(const Cluster& c, const std::vector<JobRequest>& jobs,
                      std::vector<int32_t>& node_of, size_t p) {
  if (p == node_of.size()) return violation(c, jobs, node_of).empty();
  for (size_t m = 0; m < c.nodes.size(); ++m) {
    node_of[p] = static_cast<int32_t>(m);
    if (brute_force_fits(c, jobs, node_of, p + 1)) return true;
  }
  return false;
}

struct Case {
  Cluster cluster;
  std::vector<JobRequest> jobs;
  size_t processes = 0;
};

// Up to 4 nodes and 5 processes: at most 4^5 assignments. `greedy_exact`
// keeps to the shapes where first-fit alone cannot miss a plan: the
// exclusive jobs all alike, the shared jobs all alike, and shared jobs only
// on nodes outside every island (no "zone" on pool nodes). Outside those
// shapes the greedy pass can refuse a JobSet that fits (a shared job
// blocked by the island an exclusive job chose, or mixed TPU/plain
// processes packed in an unlucky order) and the search must find the plan
// (placement_search_test.cpp tests that at length).
Case random_case(std::mt19937& rng, bool greedy_exact) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Case k;
  const int nodes = pick(1, 4);
  for (int i = 0; i < nodes; ++i) {
    Node node{"n" + std::to_string(i), pick(1, 3), 0, pick(0, 2) > 0 ? 4 : 0, {}};
    int pool = pick(0, 2);
    if (pool > 0) node.labels["pool"] = "p" + std::to_string(pool);
    if (pick(0, 1) && !(greedy_exact && pool > 0)) node.labels["zone"] = "z";
    k.cluster.nodes.push_back(node);
  }
  const int rjobs = pick(1, 3);
  for (int r = 0; r < rjobs && k.processes < 5; ++r) {
    bool exclusive = pick(0, 1);
    int replicas = pick(1, 2), procs = pick(1, 2);
    Demand d{1, 0, int64_t{pick(0, 1)} * 4};
    std::map<std::string, std::string> sel;
    if (pick(0, 1)) sel["zone"] = "z";
    if (greedy_exact) {
      // One shape per kind: exclusive jobs are 2 x tpu, shared 1 x plain.
      if (exclusive) {
        d = Demand{1, 0, 4};
        procs = 2;
        sel.clear();
      } else {
        d = Demand{};
        procs = 1;
        sel = {{"zone", "z"}};
      }
    }
    for (int j = 0; j < replicas && k.processes + procs <= 5; ++j) {
      k.jobs.push_back(
          JobRequest{"r" + std::to_string(r), j, procs, d, sel, exclusive ? "pool" : ""});
      k.processes += procs;
    }
  }
  return k;
}

}  // namespace

TEST_CASE("placement: random small cases respect every constraint; brute force agrees",
          "[placement]") {
  std::mt19937 rng(20261128);
  int fitted = 0, refused = 0;
  for (int i = 0; i < 600; ++i) {
    const bool exact = i % 2 == 0;
    Case k = random_case(rng, exact);
    auto r = place(k.cluster, k.jobs);
    jobset::topology::PlaceOptions greedy_only;
    greedy_only.search_steps = 0;
    auto greedy = place(k.cluster, k.jobs, greedy_only);
    std::vector<int32_t> node_of(k.processes);
    INFO("case " << i);
    if (r.ok()) {
      ++fitted;
      REQUIRE(r->slots.size() == k.processes);
      for (size_t p = 0; p < k.processes; ++p) node_of[p] = r->slots[p].node;
      CHECK(violation(k.cluster, k.jobs, node_of) == "");
      if (exact) CHECK(greedy.ok());
    } else {
      ++refused;
      INFO(r.error().message());
      CHECK_FALSE(brute_force_fits(k.cluster, k.jobs, node_of, 0));
    }
  }
  CHECK(fitted > 50);
  CHECK(refused > 50);
}

TEST_CASE("placement: cpus and memory limit a node where it says them, and messages name them",
          "[placement]") {
  const int64_t gib = int64_t{1} << 30;
  Cluster c;
  c.nodes = {Node{"a", 8, 0, 0, {}}, Node{"b", 8, 0, 0, {}}, Node{"c", 8, 0, 0, {}}};
  c.nodes[0].cpus = 8;
  c.nodes[0].memory = 32 * gib;
  c.nodes[1].cpus = 8;           // memory unknown: not checked
  c.nodes[2].memory = 20 * gib;  // cpus unknown: not checked
  // Room: a 2 (cpus and memory), b 2 (cpus), c 1 (memory).
  std::vector<JobRequest> jobs = {JobRequest{"w", 0, 5, Demand{1, 0, 0, 4, 16 * gib}, {}, ""}};
  auto r = place(c, jobs);
  REQUIRE(r.ok());
  std::vector<int32_t> nodes;
  for (const auto& s : r->slots) nodes.push_back(s.node);
  CHECK(nodes == std::vector<int32_t>{0, 0, 1, 1, 2});
  jobs[0].processes = 6;
  CHECK(error_of(place(c, jobs)) ==
        "w needs 6 free slots of 4 cpus and 16 GiB each; found 3 matching nodes (a, b, c) with "
        "room for 5");
  // Nothing unknown: all 8 slots of a node count again.
  for (auto& n : c.nodes) n.cpus = n.memory = 0;
  CHECK(place(c, {JobRequest{"w", 0, 24, Demand{1, 0, 0, 4, 16 * gib}, {}, ""}}).ok());
  // Every resource in one message; memory that is not a whole unit.
  jobs = {JobRequest{"x", 0, 1, Demand{2, 1, 4, 3, 1536 * (int64_t{1} << 20)}, {}, "rack"}};
  CHECK(error_of(place(c, jobs)) ==
        "x needs 1 island of rack with 2 free slots of 1 gpus, 4 tpus, 3 cpus and 1.5 GiB each; "
        "found 0");
}

TEST_CASE("placement: by node deals a shared job's ranks round-robin over its nodes",
          "[placement]") {
  Cluster c;
  c.nodes = {Node{"a", 1, 0, 0, {}}, Node{"b", 3, 0, 0, {}}, Node{"c", 2, 0, 0, {}},
             Node{"d", 4, 0, 0, {{"zone", "z"}}}};
  jobset::topology::PlaceOptions by_node{true};
  std::vector<JobRequest> jobs = {JobRequest{"x", 0, 5, Demand{}, {}, ""},
                                  JobRequest{"y", 0, 3, Demand{}, {}, ""}};
  auto r = place(c, jobs, by_node);
  REQUIRE(r.ok());
  std::vector<std::pair<int, int>> got;
  for (const auto& s : r->slots) got.emplace_back(s.node, s.slot);
  // x: a, b, c, d, then b (a is full); y goes on after b: c, d, b.
  CHECK(got == std::vector<std::pair<int, int>>{
                   {0, 0}, {1, 0}, {2, 0}, {3, 0}, {1, 1}, {2, 1}, {3, 1}, {1, 2}});
  // A selector narrows the cycle; a full cluster still says what is missing.
  r = place(c, {JobRequest{"z", 0, 3, Demand{}, {{"zone", "z"}}, ""}}, by_node);
  REQUIRE(r.ok());
  CHECK(r->slots[2].node == 3);
  CHECK(r->slots[2].slot == 2);
  jobs[1].processes = 6;
  CHECK(error_of(place(c, jobs, by_node)) ==
        "y needs 6 free slots; found 4 matching nodes (a, b, c, d) with room for 5");
}

TEST_CASE("placement: by node deals an exclusive job's ranks over its island's nodes",
          "[placement]") {
  Cluster c = tpu_pools(2);
  for (auto& n : c.nodes) n.slots = 2, n.tpus = 8;
  std::vector<JobRequest> jobs = multislice_workers(2);
  for (auto& j : jobs) j.processes = 4;
  auto fill = place(c, jobs);
  auto spread = place(c, jobs, jobset::topology::PlaceOptions{true});
  REQUIRE(fill.ok());
  REQUIRE(spread.ok());
  std::vector<int32_t> filled, spread_nodes;
  for (const auto& s : fill->slots) filled.push_back(s.node);
  for (const auto& s : spread->slots) spread_nodes.push_back(s.node);
  CHECK(filled == std::vector<int32_t>{0, 0, 1, 1, 2, 2, 3, 3});
  CHECK(spread_nodes == std::vector<int32_t>{0, 1, 0, 1, 2, 3, 2, 3});
  CHECK(spread->island == fill->island);
}

TEST_CASE("placement: 10,000 nodes and 80,000 processes plan quickly by node too", "[placement]") {
  Cluster c;
  for (int n = 0; n < 10000; ++n)
    c.nodes.push_back(
        Node{"n" + std::to_string(n), 8, 0, 0, {{"rack", "r" + std::to_string(n / 16)}}});
  std::vector<JobRequest> jobs;
  jobs.reserve(625);
  for (int j = 0; j < 625; ++j) jobs.push_back(JobRequest{"w", j, 128, Demand{}, {}, "rack"});
  jobset::topology::PlaceOptions by_node{true};
  auto r = place(c, jobs, by_node);
  REQUIRE(r.ok());
  CHECK(r->slots[1].node == 1);
  CHECK(r->slots.back().node == 9999);
  // Shared: each job starts after the last node the previous one used.
  for (auto& j : jobs) j.exclusive_key.clear();
  r = place(c, jobs, by_node);
  REQUIRE(r.ok());
  CHECK(r->slots[128].node == 128);
  CHECK(r->slots.back().node == 9999);
  CHECK(r->slots.back().slot == 7);
}
