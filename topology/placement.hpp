// Label-aware placement: every process of a JobSet gets a node slot,
// honouring each job's node selector, its per-process resources (slots,
// gpus, tpus) and exclusive islands. An island is the set of nodes sharing
// one value of a label key; with an exclusive key a job gets a whole island
// to itself (no other job may use any of its nodes) and all its processes
// go inside it. Jobs with an exclusive key are placed first, so shared jobs
// take what the islands left; then processes pack first-fit in rank order,
// nodes in cluster order, islands in order of their value's first
// appearance. All or nothing, deterministic, O(nodes + processes) plus the
// nodes of islands tried. Greedy: it does not search, so a cluster that
// fits only with a cleverer choice of islands or nodes is reported as not
// fitting (the tests name the cases where greedy is exact).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "topology/cluster.hpp"
#include "topology/pack.hpp"

namespace jobset::topology {

// What one process takes from a node.
struct Demand {
  int64_t slots = 1;
  int64_t gpus = 0, tpus = 0;
  int64_t cpus = 0;    // whole cores (a request of 0.5 is rounded up); checked where Node::cpus > 0
  int64_t memory = 0;  // bytes; checked where Node::memory > 0
  bool operator==(const Demand&) const = default;
};

// One Job of a replicated job; requests are given in rank order, so the
// processes of request i follow those of request i-1.
struct JobRequest {
  std::string rjob;  // the replicated job's name, for messages
  int32_t job_index = 0;
  int64_t processes = 0;
  Demand demand;
  std::map<std::string, std::string> node_selector;  // every label must match
  std::string exclusive_key;                         // empty: no exclusive island
};

struct Placement {
  std::vector<Slot> slots;  // one per process, in rank order
  // Per process: index into `island_values`, or -1 when its job is not
  // exclusive.
  std::vector<int32_t> island;
  std::vector<std::string> island_values;
};

// Fails with "<rjob> needs ...; found ..." when some job does not fit.
Result<Placement> place(const Cluster& cluster, const std::vector<JobRequest>& jobs);

// True when `node` has every label of `selector` with that value.
bool matches(const Node& node, const std::map<std::string, std::string>& selector);

}  // namespace jobset::topology
