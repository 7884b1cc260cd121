// Moving processes off lost nodes. When a node's daemon is gone, the next
// spawn of a process placed there (a retry, a restart, a Recreate) needs
// another node: relocate() finds one among the nodes still alive, under
// the rules the first placement followed (node selector, slots, gpus,
// tpus, cpus and memory left over by the processes that stay, exclusive
// islands), and rewrites the plan's slot and binding for each moved
// process. Nothing else moves: names, ranks and the other processes'
// places stay as they are. Nodes the plan did not use are the spares.
//
// Exclusive jobs stay inside the island their job holds; a job whose
// processes all move (its island lost with the node) may take another
// island that no other job holds or uses. Shared jobs never go into an
// island an exclusive job holds. First fit, nodes in cluster order,
// ranks in order; deterministic. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "launcher/plan/plan.hpp"

namespace jobset::launcher {

struct Move {
  int32_t rank = 0;
  int32_t from = 0, to = 0;  // node indexes
  bool operator==(const Move&) const = default;
};

// Moves `ranks` (processes whose node is lost; `lost[node]` for every node
// of the plan) onto live nodes. All or nothing: on failure the plan is
// unchanged and the error says which process no longer fits and why
// ("<name> (<rjob>) needs ...; the live nodes have ...").
Result<std::vector<Move>> relocate(const JobSet& js, Plan& plan, const std::vector<bool>& lost,
                                   const std::vector<int32_t>& ranks);

}  // namespace jobset::launcher
