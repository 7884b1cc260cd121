// --map-by, --rank-by and --bind-to: Open MPI's spelling, parsed into a
// topology::MapPolicy (pure). Defaults, as jobset(1) documents them:
//   --map-by slot   fill each node's slots (and cores) in rank order
//   --rank-by       the map-by object (slot for ppr)
//   --bind-to none  as MPICH's Hydra and torchrun; ask for core for MPI
// `socket` is accepted for `package`, `hwthread` is not offered.
#pragma once

#include <string>

#include "common/result.hpp"
#include "topology/binding.hpp"

namespace jobset::launcher {

struct MapFlags {
  std::string map_by;   // empty: default
  std::string rank_by;  // empty: default
  std::string bind_to;  // empty: default
};

// Errors name the flag and list what it takes:
// "--map-by: expected slot, node, core, numa, package or ppr:N:core|numa|package, found 'x'".
Result<topology::MapPolicy> parse_map_policy(const MapFlags& flags);

// "slot", "ppr:2:package", ... for the plan and messages (level names:
// topology::level_name; whether a policy needs node models:
// topology::needs_node_model).
std::string map_by_name(const topology::MapPolicy& policy);
std::string bind_name(topology::MapPolicy::Bind bind);

}  // namespace jobset::launcher
