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

bool is_local(const Node& node) {
  auto it = node.labels.find("local");
  return it != node.labels.end() &&
         (it->second == "true" || it->second == "1" || it->second == "yes");
}

}  // namespace jobset::topology
