// Inside a node: which cores, PUs and devices each process placed there
// gets, under a map/rank/bind policy (Open MPI's --map-by, --rank-by,
// --bind-to). Pure: a NodeTopology and the node's processes in, one
// Binding per process out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "topology/node_topology.hpp"

namespace jobset::topology {

// The objects a policy can name.
enum class Level { kSlot, kCore, kNuma, kPackage, kNode };

struct MapPolicy {
  // --map-by: how processes spread. kSlot/kCore: fill a node's cores in
  // order; kNuma/kPackage: round-robin over that node's NUMA nodes or
  // packages; kNode: round-robin over nodes (across the cluster), filling
  // cores in order inside a node. ppr > 0 (--map-by ppr:N:obj): at most N
  // processes on each `ppr_level` object, filled in order.
  Level map_by = Level::kSlot;
  int32_t ppr = 0;
  Level ppr_level = Level::kCore;
  // --rank-by: in which order a node's processes (ascending rank) take the
  // places mapping chose. kSlot/kCore: contiguous (neighbouring ranks on
  // neighbouring cores); kNuma/kPackage: round-robin over those objects.
  // Defaults to the map-by level.
  Level rank_by = Level::kSlot;
  // --bind-to: the cpuset each process is bound to: its own cores, the
  // NUMA nodes or packages holding them, or nothing (kSlot means none).
  enum class Bind { kNone, kCore, kNuma, kPackage } bind_to = Bind::kNone;
};

// What one process placed on the node asks for.
struct ProcessNeeds {
  int64_t cores = 1;  // at least 1
  int64_t gpus = 0;
  int64_t tpus = 0;
};

struct Binding {
  std::vector<int32_t> cores;  // logical core indexes; empty: no topology known
  std::vector<int32_t> pus;    // OS PU indexes to bind to; empty: not bound
  std::vector<int32_t> gpus;   // node-local GPU indexes (CUDA_VISIBLE_DEVICES)
  std::vector<int32_t> tpus;   // node-local accelerator indexes
  bool operator==(const Binding&) const = default;
};

// "slot", "core", "numa", "package", "node": as --map-by spells them.
std::string level_name(Level level);

// How many objects of `level` a node has (slot and node: 1; core: its
// cores; a model without NUMA or package information has 1 of each).
int32_t object_count(const NodeTopology& t, Level level);

// Whether the policy needs to know what is inside a node (cores, NUMA
// nodes, packages): binding, ppr, or map/rank by NUMA node or package.
bool needs_node_model(const MapPolicy& policy);

// Binds the processes of one node (ascending rank). `topology` may be null
// (unknown): then no cores and no binding, and gpus/tpus are numbered in
// order from `gpus_on_node`/`tpus_on_node`. Fails with a message naming the
// node when binding to cores asks for more cores than the node has.
Result<std::vector<Binding>> bind_node(const std::string& node_name, const NodeTopology* topology,
                                       int64_t gpus_on_node, int64_t tpus_on_node,
                                       const std::vector<ProcessNeeds>& processes,
                                       const MapPolicy& policy);

}  // namespace jobset::topology
