// Tests for the exact placement search (topology/placement_search.hpp),
// through place(): a brute-force checker of its own decides, for thousands
// of random small clusters and JobSets, whether each fits; the planner must
// agree, and every plan it makes must keep every rule. Then hand-made cases
// where the greedy pass alone fails but a placement exists, and a large
// case that runs the search out of steps.
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "topology/placement.hpp"

namespace {

using jobset::topology::Cluster;
using jobset::topology::Demand;
using jobset::topology::JobRequest;
using jobset::topology::Node;
using jobset::topology::place;
using jobset::topology::Placement;
using jobset::topology::PlaceOptions;
using Labels = std::map<std::string, std::string>;

constexpr int64_t kGiB = int64_t{1} << 30;

// ---- The rules, written from the issue, sharing no code with the planner.

bool has_labels(const Node& node, const Labels& selector) {
  for (const auto& [key, value] : selector)
    if (!node.labels.count(key) || node.labels.at(key) != value) return false;
  return true;
}

// The island (value of `key`) a node is in, or "" when it has no such label.
std::string value_of(const Node& node, const std::string& key) {
  return node.labels.count(key) ? node.labels.at(key) : "";
}

// Whether `extra` more processes of `d` stay within node's capacities, given
// what is used; cpus and memory count only where the node says (> 0).
struct Use {
  int64_t slots = 0, gpus = 0, tpus = 0, cpus = 0, memory = 0;
  bool add_fits(const Node& n, const Demand& d) const {
    return slots + d.slots <= n.slots && gpus + d.gpus <= n.gpus && tpus + d.tpus <= n.tpus &&
           (n.cpus <= 0 || cpus + d.cpus <= n.cpus) &&
           (n.memory <= 0 || memory + d.memory <= n.memory);
  }
  void add(const Demand& d, int sign) {
    slots += sign * d.slots, gpus += sign * d.gpus, tpus += sign * d.tpus;
    cpus += sign * d.cpus, memory += sign * d.memory;
  }
};

// "" when `node_of` (one node per process, in rank order) keeps every rule:
// selectors, capacities, each exclusive job inside one island of its key,
// that island held by it alone (no node of it shared with another held
// island, no process of another job on it).
std::string violation(const Cluster& c, const std::vector<JobRequest>& jobs,
                      const std::vector<int32_t>& node_of) {
  const size_t n = c.nodes.size();
  std::vector<Use> use(n);
  std::vector<std::vector<size_t>> jobs_on(n);
  std::vector<int> holder(n, -1);
  size_t p = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    std::string island;
    for (int64_t k = 0; k < jobs[j].processes; ++k, ++p) {
      if (p >= node_of.size()) return "too few processes placed";
      const int32_t m = node_of[p];
      if (m < 0 || static_cast<size_t>(m) >= n) return "no such node";
      if (!has_labels(c.nodes[m], jobs[j].node_selector)) return "selector not matched";
      if (!use[m].add_fits(c.nodes[m], jobs[j].demand))
        return "over capacity on " + c.nodes[m].name;
      use[m].add(jobs[j].demand, 1);
      jobs_on[m].push_back(j);
      if (jobs[j].exclusive_key.empty()) continue;
      const std::string v = value_of(c.nodes[m], jobs[j].exclusive_key);
      if (v.empty()) return "exclusive job outside every island";
      if (!island.empty() && v != island) return "exclusive job split over islands";
      island = v;
    }
    if (island.empty()) continue;
    for (size_t m = 0; m < n; ++m) {
      if (value_of(c.nodes[m], jobs[j].exclusive_key) != island) continue;
      if (holder[m] >= 0) return "two exclusive jobs hold one node";
      holder[m] = static_cast<int>(j);
    }
  }
  if (p != node_of.size()) return "too many processes placed";
  for (size_t m = 0; m < n; ++m)
    for (size_t j : jobs_on[m])
      if (holder[m] >= 0 && static_cast<size_t>(holder[m]) != j) return "a job on a held island";
  return "";
}

std::vector<int32_t> nodes_of(const Placement& plan) {
  std::vector<int32_t> v;
  for (const auto& s : plan.slots) v.push_back(s.node);
  return v;
}

// Every assignment of processes to nodes, pruned as soon as one rule
// fails: selector, capacity, an exclusive job's island (fixed by its first
// process: it must be free of other jobs' processes and of other held
// islands), no process on an island another job holds. A full assignment
// is then checked by violation() as well.
class BruteForce {
 public:
  BruteForce(const Cluster& c, const std::vector<JobRequest>& jobs)
      : c_(c),
        jobs_(jobs),
        use_(c.nodes.size()),
        count_(c.nodes.size(), std::vector<int>(jobs.size())),
        holder_(c.nodes.size(), -1) {
    for (size_t j = 0; j < jobs.size(); ++j)
      for (int64_t k = 0; k < jobs[j].processes; ++k) job_of_.push_back(j);
    node_of_.resize(job_of_.size());
  }

  bool fits() { return next(0); }

 private:
  bool next(size_t p) {
    if (p == job_of_.size()) return violation(c_, jobs_, node_of_).empty();
    const size_t j = job_of_[p];
    const JobRequest& job = jobs_[j];
    const bool first_of_job = p == 0 || job_of_[p - 1] != j;
    for (size_t m = 0; m < c_.nodes.size(); ++m) {
      const Node& node = c_.nodes[m];
      if (!has_labels(node, job.node_selector) || !use_[m].add_fits(node, job.demand)) continue;
      if (holder_[m] >= 0 && holder_[m] != static_cast<int>(j)) continue;
      const bool takes_island = !job.exclusive_key.empty() && first_of_job;
      if (!job.exclusive_key.empty()) {
        const std::string v = value_of(node, job.exclusive_key);
        if (v.empty()) continue;
        if (!first_of_job && v != value_of(c_.nodes[node_of_[p - 1]], job.exclusive_key)) continue;
        if (takes_island && !hold(j, v, true)) continue;
      }
      node_of_[p] = static_cast<int32_t>(m);
      use_[m].add(job.demand, 1);
      ++count_[m][j];
      const bool found = next(p + 1);
      use_[m].add(job.demand, -1);
      --count_[m][j];
      if (takes_island) hold(j, value_of(node, job.exclusive_key), false);
      if (found) return true;
    }
    return false;
  }

  // Job j takes (or lets go of) island v of its key; taking fails when a
  // node of it is held or runs another job's process.
  bool hold(size_t j, const std::string& v, bool take) {
    std::vector<size_t> island;
    for (size_t m = 0; m < c_.nodes.size(); ++m)
      if (value_of(c_.nodes[m], jobs_[j].exclusive_key) == v) island.push_back(m);
    if (take)
      for (size_t m : island) {
        if (holder_[m] >= 0) return false;
        for (size_t k = 0; k < jobs_.size(); ++k)
          if (k != j && count_[m][k] > 0) return false;
      }
    for (size_t m : island) holder_[m] = take ? static_cast<int>(j) : -1;
    return true;
  }

  const Cluster& c_;
  const std::vector<JobRequest>& jobs_;
  std::vector<Use> use_;
  std::vector<std::vector<int>> count_;  // per node and job: processes there
  std::vector<int> holder_;              // per node: the exclusive job holding it, or -1
  std::vector<size_t> job_of_;
  std::vector<int32_t> node_of_;
};

bool brute_force_fits(const Cluster& c, const std::vector<JobRequest>& jobs) {
  return BruteForce(c, jobs).fits();
}

// ---- Random small cases: <= 4 nodes, <= 7 processes, labels "pool" and
// "zone" (each usable as an exclusive key and in selectors), slots, gpus,
// tpus, cpus and memory, some nodes not saying cpus or memory.

struct Case {
  Cluster cluster;
  std::vector<JobRequest> jobs;
  PlaceOptions options;
};

Case random_case(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto one_of = [&](std::vector<int64_t> v) { return v[pick(0, static_cast<int>(v.size()) - 1)]; };
  Case k;
  k.options.by_node = pick(0, 1) == 1;
  const int nodes = pick(1, 4);
  for (int i = 0; i < nodes; ++i) {
    Node node{"n" + std::to_string(i), pick(1, 4), pick(0, 2), one_of({0, 8}), {}};
    node.cpus = one_of({0, 0, 2, 4});
    node.memory = one_of({0, 0, 8 * kGiB, 16 * kGiB});
    if (int pool = pick(0, 2)) node.labels["pool"] = "p" + std::to_string(pool);
    if (int zone = pick(0, 2))
      node.labels["zone"] = std::string(1, static_cast<char>('a' + zone - 1));
    k.cluster.nodes.push_back(node);
  }
  int64_t total = 0;
  const int rjobs = pick(1, 3), limit = pick(2, 7);
  for (int r = 0; r < rjobs && total < limit; ++r) {
    const std::string key = std::vector<std::string>{"", "", "", "pool", "zone"}[pick(0, 4)];
    Demand d{one_of({1, 1, 1, 2}), one_of({0, 0, 0, 0, 1}), one_of({0, 0, 0, 0, 0, 4}),
             one_of({0, 0, 0, 1, 2}), one_of({0, 0, 0, 4 * kGiB, 8 * kGiB})};
    Labels sel;
    if (pick(0, 4) == 0) sel["pool"] = "p1";
    if (pick(0, 4) == 0) sel["zone"] = "a";
    const int replicas = pick(1, key.empty() ? 3 : 2), procs = pick(1, 3);
    for (int j = 0; j < replicas && total + procs <= limit; ++j) {
      k.jobs.push_back(JobRequest{"r" + std::to_string(r), j, procs, d, sel, key});
      total += procs;
    }
  }
  return k;
}

PlaceOptions greedy_only(PlaceOptions o) {
  o.search_steps = 0;
  return o;
}

// Checks a case; returns 0 when the greedy pass fits, 1 when only the
// search does, 2 when nothing does.
int check_case(const Case& k, int index) {
  INFO("case " << index);
  auto r = place(k.cluster, k.jobs, k.options);
  auto again = place(k.cluster, k.jobs, k.options);
  auto greedy = place(k.cluster, k.jobs, greedy_only(k.options));
  const bool brute = brute_force_fits(k.cluster, k.jobs);
  REQUIRE(r.ok() == again.ok());
  if (!r.ok()) {
    INFO(r.error().message());
    CHECK_FALSE(brute);
    CHECK(r.error().message() == again.error().message());
    CHECK(r.error().message().find(" needs ") != std::string::npos);
    CHECK(r.error().message().find("searched") == std::string::npos);
    return 2;
  }
  CHECK(brute);
  CHECK(violation(k.cluster, k.jobs, nodes_of(*r)) == "");
  CHECK(r->slots == again->slots);
  CHECK(r->island == again->island);
  CHECK(r->island_values == again->island_values);
  if (!greedy.ok()) return 1;
  CHECK(r->slots == greedy->slots);  // when greedy fits, its plan is the one used
  CHECK(r->island == greedy->island);
  return 0;
}

}  // namespace

TEST_CASE(
    "placement search: random small cases fit exactly when brute force says so, and keep every "
    "rule",
    "[placement_search]") {
  std::mt19937 rng(20261201);
  int outcome[3] = {0, 0, 0};
  for (int i = 0; i < 10000; ++i) ++outcome[check_case(random_case(rng), i)];
  INFO("greedy fits " << outcome[0] << ", only the search fits " << outcome[1] << ", none fits "
                      << outcome[2]);
  CHECK(outcome[0] > 2000);
  CHECK(outcome[1] > 30);
  CHECK(outcome[2] > 2000);
}

TEST_CASE("placement search: the brute-force checker sees broken plans", "[placement_search]") {
  Cluster c;
  c.nodes = {Node{"a", 2, 0, 0, {{"pool", "p1"}}}, Node{"b", 2, 0, 0, {{"pool", "p1"}}},
             Node{"c", 2, 0, 0, {{"pool", "p2"}}}};
  c.nodes[0].memory = 8 * kGiB;
  std::vector<JobRequest> jobs = {JobRequest{"x", 0, 2, Demand{1, 0, 0, 0, 4 * kGiB}, {}, "pool"},
                                  JobRequest{"y", 0, 1, Demand{}, {}, ""}};
  CHECK(violation(c, jobs, {0, 0, 2}) == "");
  CHECK(violation(c, jobs, {0, 2, 2}) == "exclusive job split over islands");
  CHECK(violation(c, jobs, {0, 0, 1}) == "a job on a held island");
  CHECK(violation(c, jobs, {0, 0}) == "too few processes placed");
  jobs[0].demand.memory = 5 * kGiB;
  CHECK(violation(c, jobs, {0, 0, 2}) == "over capacity on a");
  CHECK(brute_force_fits(c, jobs));  // x on a and b
  jobs[1].processes = 5;             // x on p1 leaves 2 slots, on p2 it leaves 4
  CHECK_FALSE(brute_force_fits(c, jobs));
}

namespace {

// The greedy pass alone refuses, place() fits, and the plan keeps the rules.
Placement search_only_fit(const Cluster& c, const std::vector<JobRequest>& jobs,
                          PlaceOptions o = {}) {
  REQUIRE_FALSE(place(c, jobs, greedy_only(o)).ok());
  auto r = place(c, jobs, o);
  REQUIRE(r.ok());
  CHECK(violation(c, jobs, nodes_of(*r)) == "");
  return *r;
}

}  // namespace

TEST_CASE(
    "placement search: an exclusive job takes a later island when the first fits only a smaller "
    "job",
    "[placement_search]") {
  Cluster c;
  c.nodes = {Node{"big", 1, 0, 8, {{"pool", "p1"}}}, Node{"small", 1, 0, 4, {{"pool", "p2"}}}};
  std::vector<JobRequest> jobs = {JobRequest{"a", 0, 1, Demand{1, 0, 4}, {}, "pool"},
                                  JobRequest{"b", 0, 1, Demand{1, 0, 8}, {}, "pool"}};
  Placement p = search_only_fit(c, jobs);
  CHECK(nodes_of(p) == std::vector<int32_t>{1, 0});
  CHECK(p.island_values == std::vector<std::string>{"p2", "p1"});
}

TEST_CASE("placement search: an exclusive job leaves the only island a shared job can use",
          "[placement_search]") {
  Cluster c;
  c.nodes = {Node{"n0", 2, 0, 0, {{"pool", "p1"}, {"zone", "a"}}},
             Node{"n1", 2, 0, 0, {{"pool", "p2"}}}};
  std::vector<JobRequest> jobs = {JobRequest{"w", 0, 2, Demand{}, {}, "pool"},
                                  JobRequest{"d", 0, 1, Demand{}, {{"zone", "a"}}, ""}};
  CHECK(nodes_of(search_only_fit(c, jobs)) == std::vector<int32_t>{1, 1, 0});
}

TEST_CASE("placement search: big processes after small ones fit when the small ones share nodes",
          "[placement_search]") {
  // First-fit puts both 2-slot processes on n0, then neither 3-slot
  // process fits anywhere; 2+3 on each node fits.
  Cluster c;
  c.nodes = {Node{"n0", 5, 0, 0, {}}, Node{"n1", 5, 0, 0, {}}};
  std::vector<JobRequest> jobs = {JobRequest{"small", 0, 2, Demand{2}, {}, ""},
                                  JobRequest{"big", 0, 2, Demand{3}, {}, ""}};
  Placement p = search_only_fit(c, jobs);
  CHECK(nodes_of(p) == std::vector<int32_t>{0, 1, 0, 1});
  // The same with memory: 2 and 3 GiB processes on 5 GiB nodes.
  for (auto& n : c.nodes) n.slots = 8, n.memory = 5 * kGiB;
  jobs[0].demand = Demand{1, 0, 0, 0, 2 * kGiB};
  jobs[1].demand = Demand{1, 0, 0, 0, 3 * kGiB};
  search_only_fit(c, jobs);
  // By node, the greedy pass spreads the small ones itself.
  auto spread = place(c, jobs, PlaceOptions{true});
  REQUIRE(spread.ok());
  CHECK(nodes_of(*spread) == std::vector<int32_t>{0, 1, 0, 1});
}

TEST_CASE("placement search: overlapping selectors leave the shared node to the narrower job",
          "[placement_search]") {
  Cluster c;
  c.nodes = {Node{"n0", 1, 1, 0, {{"zone", "a"}, {"gpu", "yes"}}},
             Node{"n1", 1, 0, 0, {{"zone", "a"}}}};
  std::vector<JobRequest> jobs = {JobRequest{"x", 0, 1, Demand{}, {{"zone", "a"}}, ""},
                                  JobRequest{"y", 0, 1, Demand{1, 1}, {{"gpu", "yes"}}, ""}};
  CHECK(nodes_of(search_only_fit(c, jobs)) == std::vector<int32_t>{1, 0});
}

TEST_CASE("placement search: islands of two keys that overlap are chosen apart",
          "[placement_search]") {
  // Racks r1 = {n0, n1}, r2 = {n2, n3}; pools p1 = {n1, n2}, p2 = {n3}.
  // b needs a pool of 2 nodes, p1, which overlaps both racks: no fit.
  Cluster c;
  c.nodes = {Node{"n0", 1, 0, 0, {{"rack", "r1"}}},
             Node{"n1", 1, 0, 0, {{"rack", "r1"}, {"pool", "p1"}}},
             Node{"n2", 1, 0, 0, {{"rack", "r2"}, {"pool", "p1"}}},
             Node{"n3", 1, 0, 0, {{"rack", "r2"}, {"pool", "p2"}}}};
  std::vector<JobRequest> jobs = {JobRequest{"a", 0, 1, Demand{}, {}, "rack"},
                                  JobRequest{"b", 0, 2, Demand{}, {}, "pool"}};
  CHECK_FALSE(place(c, jobs).ok());
  CHECK_FALSE(brute_force_fits(c, jobs));
  // With racks r1 = {n0, n1}, r2 = {n2}, r3 = {n4}, greedy gives r1 to a
  // and then b has no pool; a on r3 leaves p1 to b.
  c.nodes[3].labels.erase("rack");
  c.nodes.push_back(Node{"n4", 1, 0, 0, {{"rack", "r3"}}});
  Placement p = search_only_fit(c, jobs);
  CHECK(p.island_values == std::vector<std::string>{"r3", "p1"});
}

TEST_CASE("placement search: a large JobSet that does not fit runs out of steps and says so",
          "[placement_search]") {
  // 1,000 nodes of 4 slots: 500 processes of 3 slots leave 1 slot on 500
  // nodes, so 1,001 processes of 2 slots cannot fit; no bound the search
  // keeps sees that, and nodes of different memory are not interchangeable.
  Cluster c;
  for (int n = 0; n < 1000; ++n) {
    c.nodes.push_back(Node{"n" + std::to_string(n), 4, 0, 0, {}});
    c.nodes.back().memory = (64 + n) * kGiB;
  }
  std::vector<JobRequest> jobs = {JobRequest{"a", 0, 500, Demand{3}, {}, ""},
                                  JobRequest{"b", 0, 1001, Demand{2}, {}, ""}};
  auto r = place(c, jobs);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message() ==
        "b needs 2002 free slots; found 1000 matching nodes (n0, n1, n2, n3, n4, n5, n6, n7, ...) "
        "with "
        "room for 1000 (searched 1000000 steps for another arrangement without finding one)");
  PlaceOptions few;
  few.search_steps = 10;
  auto small = place(c, jobs, few);
  REQUIRE_FALSE(small.ok());
  CHECK(small.error().message().find("(searched 10 steps for another arrangement") !=
        std::string::npos);
  // Alike nodes are interchangeable: then the search proves it quickly.
  for (auto& n : c.nodes) n.memory = 0;
  auto proven = place(c, jobs);
  REQUIRE_FALSE(proven.ok());
  CHECK(proven.error().message().find("searched") == std::string::npos);
}
