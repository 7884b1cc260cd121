// The cluster model: see cluster.hpp.
#include "topology/cluster.hpp"

#include <limits>

namespace jobset::topology {

int64_t Cluster::total_slots() const {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  for (const Node& n : nodes) {
    if (n.slots <= 0) continue;
    if (n.slots > kMax - total) return kMax;
    total += n.slots;
  }
  return total;
}

std::string describe_slots(const Cluster& cluster, size_t max_listed) {
  const size_t count = cluster.nodes.size();
  if (count == 0) return "there are no nodes";
  std::string out =
      count == 1 ? "the 1 node has " : "the " + std::to_string(count) + " nodes have ";
  out += std::to_string(cluster.total_slots()) + " (";
  for (size_t i = 0; i < count && i < max_listed; ++i) {
    if (i > 0) out += ", ";
    out += cluster.nodes[i].name + ": " + std::to_string(cluster.nodes[i].slots);
  }
  if (count > max_listed) out += ", ...";
  return out + ")";
}

}  // namespace jobset::topology
