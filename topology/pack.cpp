// Rank-order packing: see pack.hpp. The loop keeps one cursor (node, first
// free slot) and never looks at individual slots, so its cost does not
// depend on how many slots a node has. When packing fails, a second pass
// works out the most useful explanation: too few slots in all, one process
// larger than any node, or slots left over but split across nodes.
#include "topology/pack.hpp"

#include <algorithm>
#include <limits>
#include <string>

namespace jobset::topology {
namespace {

// What a node can hold: its slots, clamped so a slot index fits in int32.
int64_t capacity(const Node& node) {
  return std::clamp<int64_t>(node.slots, 0, std::numeric_limits<int32_t>::max());
}

std::string plural(int64_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

Error explain_no_fit(const Cluster& cluster, const std::vector<int64_t>& demands,
                     size_t failed_rank) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t needed = 0;
  for (int64_t d : demands) needed = d > kMax - needed ? kMax : needed + d;
  const std::string have = describe_slots(cluster);
  if (needed > cluster.total_slots() || cluster.nodes.empty()) {
    return Error("needs " + plural(needed, "slot") + ", " + have);
  }
  size_t largest = 0;
  for (size_t i = 1; i < cluster.nodes.size(); ++i) {
    if (capacity(cluster.nodes[i]) > capacity(cluster.nodes[largest])) largest = i;
  }
  const int64_t max_capacity = capacity(cluster.nodes[largest]);
  for (size_t rank = 0; rank < demands.size(); ++rank) {
    if (demands[rank] > max_capacity) {
      return Error("needs " + plural(demands[rank], "slot") + " on one node for rank " +
                   std::to_string(rank) + ", the largest node has " + std::to_string(max_capacity) +
                   " (" + cluster.nodes[largest].name + ")");
    }
  }
  return Error("needs " + plural(needed, "slot") + ", " + have + ", but packed in rank order " +
               "rank " + std::to_string(failed_rank) + " (" + plural(demands[failed_rank], "slot") +
               " on one node) does not fit in what is left");
}

}  // namespace

Result<std::vector<Slot>> pack_by_slot(const Cluster& cluster,
                                       const std::vector<int64_t>& slots_per_process) {
  const std::vector<Node>& nodes = cluster.nodes;
  if (nodes.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return Error("needs at most 2^31-1 nodes, found " + std::to_string(nodes.size()));
  }
  for (size_t rank = 0; rank < slots_per_process.size(); ++rank) {
    if (slots_per_process[rank] < 1) {
      return Error("needs at least 1 slot per process, found " +
                   std::to_string(slots_per_process[rank]) + " for rank " + std::to_string(rank));
    }
  }

  std::vector<Slot> placed;
  placed.reserve(slots_per_process.size());
  size_t node = 0;
  int64_t used = 0;  // slots taken on `node`
  for (size_t rank = 0; rank < slots_per_process.size(); ++rank) {
    const int64_t want = slots_per_process[rank];
    while (node < nodes.size() && capacity(nodes[node]) - used < want) {
      ++node;
      used = 0;
    }
    if (node == nodes.size()) return explain_no_fit(cluster, slots_per_process, rank);
    placed.push_back(Slot{static_cast<int32_t>(node), static_cast<int32_t>(used)});
    used += want;
  }
  return placed;
}

}  // namespace jobset::topology
