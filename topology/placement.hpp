// Label-aware placement: every process of a JobSet gets a node slot,
// honouring each job's node selector, its per-process resources (slots,
// gpus, tpus, cpus, memory) and exclusive islands. An island is the set of
// nodes sharing one value of a label key; with an exclusive key a job gets
// a whole island to itself (no other job may use any of its nodes) and all
// its processes go inside it.
//
// Two passes. The fast one is greedy: jobs with an exclusive key take the
// first free island that can hold them, then shared jobs take what the
// islands left, first-fit in rank order, nodes in cluster order, islands in
// order of their value's first appearance; O(nodes + processes) plus the
// nodes of islands tried. When greedy finds no place, an exact backtracking
// search (topology/placement_search.hpp) tries the other choices of islands
// and nodes within a step budget, so a JobSet that fits only with a
// cleverer choice still fits. All or nothing, deterministic: the same input
// gives the same plan, and whenever greedy fits its plan is the one used.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "topology/cluster.hpp"

namespace jobset::topology {

// Where one process goes: node index into Cluster::nodes and the first of
// its consecutive slots on that node.
struct Slot {
  int32_t node = 0;
  int32_t slot = 0;

  bool operator==(const Slot&) const = default;
};

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

// How many steps the exact search may take (a step is one choice tried or
// one node looked at) before place() gives up: tens of milliseconds.
inline constexpr int64_t kPlacementSearchSteps = 1'000'000;

struct PlaceOptions {
  // mpirun's --map-by node: the processes of a shared job go round-robin
  // over the nodes it may use (rank i to the next such node with room,
  // cycling, and the next job goes on from the node after the last one
  // used), and an exclusive job's processes round-robin over its island's
  // nodes. Off: each node is filled before the next one is used.
  bool by_node = false;
  // Budget of the exact search that runs when greedy fails; 0: greedy only.
  int64_t search_steps = kPlacementSearchSteps;
};

// Fails with "<rjob> needs ...; found ..." when some job does not fit: what
// the greedy pass could not place and why, followed by " (searched N steps
// for another arrangement without finding one)" when the search ran out of
// steps rather than proving that nothing fits.
Result<Placement> place(const Cluster& cluster, const std::vector<JobRequest>& jobs,
                        const PlaceOptions& options = {});

// True when `node` has every label of `selector` with that value.
bool matches(const Node& node, const std::map<std::string, std::string>& selector);

}  // namespace jobset::topology
