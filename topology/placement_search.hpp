// Internal to topology/: the exact search that place() (placement.hpp) runs
// when its greedy pass finds no place, and the capacity arithmetic the two
// share. The search answers with an Arrangement (which island each
// exclusive job holds, how many processes of each shared job go on which
// node); place() turns it into ranks and slots the way the greedy pass
// would, so both honour PlaceOptions alike.
//
// How it searches: a depth-first backtracking search, complete, within a
// step budget. First the islands of the exclusive jobs (shapes with fewer
// candidate islands first), each job trying the free islands that could
// hold it in their order; jobs of one shape (key, demand, selector, process
// count) are interchangeable, so each takes an island after the one the
// previous job of its shape took. After each choice, every shared demand
// must still have room enough in aggregate outside the held islands. Then
// the shared processes, grouped by demand and selector (the processes of a
// group are identical, so only how many go on each node matters): groups
// with fewer matching nodes, then bigger demands, first; for each usable
// node, in cluster order, how many of the group go there, most first, never
// so few that the nodes after it could not take the rest. Two nodes alike
// in what they have left and in the labels the selectors read are
// interchangeable, so the later one never takes more of a group than the
// earlier one. Iterative (explicit decision arrays, no recursion), so deep
// searches do not grow the call stack.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "topology/cluster.hpp"
#include "topology/placement.hpp"

namespace jobset::topology::detail {

// What a node has left. kUnlimited: the node does not say (cpus or memory
// of 0), so requests of it are not checked there.
inline constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max();

struct Capacity {
  int64_t slots = 0, gpus = 0, tpus = 0;
  int64_t cpus = kUnlimited, memory = kUnlimited;
  bool operator==(const Capacity&) const = default;
};

inline Capacity fresh(const Node& n) {
  return Capacity{std::clamp<int64_t>(n.slots, 0, std::numeric_limits<int32_t>::max()),
                  std::max<int64_t>(n.gpus, 0), std::max<int64_t>(n.tpus, 0),
                  n.cpus > 0 ? n.cpus : kUnlimited, n.memory > 0 ? n.memory : kUnlimited};
}

// How many processes of `d` fit in `c`. REQUIRES: d.slots >= 1, no
// negative demand.
inline int64_t room(const Capacity& c, const Demand& d) {
  int64_t r = c.slots / d.slots;
  for (auto [have, need] : {std::pair{c.gpus, d.gpus}, std::pair{c.tpus, d.tpus},
                            std::pair{c.cpus, d.cpus}, std::pair{c.memory, d.memory}})
    if (need > 0) r = std::min(r, have / need);
  return std::max<int64_t>(r, 0);
}

// Takes (k > 0) or gives back (k < 0) |k| processes of `d`.
// REQUIRES: k <= room(c, d).
inline void take(Capacity& c, const Demand& d, int64_t k) {
  c.slots -= k * d.slots;
  c.gpus -= k * d.gpus;
  c.tpus -= k * d.tpus;
  if (c.cpus != kUnlimited) c.cpus -= k * d.cpus;
  if (c.memory != kUnlimited) c.memory -= k * d.memory;
}

// The islands of one label key: values in order of first appearance, and
// each value's nodes in cluster order.
struct Islands {
  std::vector<std::string> values;
  std::vector<std::vector<int32_t>> nodes;
};
Islands islands_of(const Cluster& cluster, const std::string& key);

struct Arrangement {
  // Per job: index into islands_of(cluster, its exclusive key), or -1.
  std::vector<int32_t> island;
  // Per job: (node, processes), nodes ascending; empty for exclusive jobs.
  std::vector<std::vector<std::pair<int32_t, int64_t>>> counts;
};

enum class SearchEnd { kFound, kNoFit, kOutOfSteps };

struct SearchResult {
  SearchEnd end = SearchEnd::kNoFit;
  Arrangement arrangement;  // when kFound
  int64_t steps = 0;
};

// REQUIRES: every demand valid (place() checks: slots >= 1, none negative).
SearchResult search_placement(const Cluster& cluster, const std::vector<JobRequest>& jobs,
                              int64_t max_steps);

}  // namespace jobset::topology::detail
