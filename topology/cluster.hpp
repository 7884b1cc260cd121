// The cluster model: the nodes a run may use, how many process slots and
// accelerators each offers, and its Kubernetes-style labels (an island is
// the set of nodes sharing one value of a label). Node sources (hostfile,
// --host, Slurm, this machine) build a Cluster; placement reads it. Plain
// values, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "topology/node_topology.hpp"

namespace jobset::topology {

// Limits shared by every node source, so a hostile or mistyped input fails
// with a clear message instead of exhausting memory or overflowing.
inline constexpr int64_t kMaxClusterNodes = 1'000'000;
inline constexpr int64_t kMaxSlotsPerNode = 2'147'483'647;  // 2^31-1

struct Node {
  std::string name;
  int64_t slots = 1;
  int64_t gpus = 0, tpus = 0;
  // key=value labels, Kubernetes style: keys may contain '/', '.', '-'
  // ("cloud.google.com/gke-nodepool").
  std::map<std::string, std::string> labels;
  // Cores and memory (bytes) for per-process cpu and memory requests;
  // 0 means unknown, and the request is then not checked on this node.
  int64_t cpus = 0;
  int64_t memory = 0;
  // Index into Cluster::topologies (what is inside the node), or -1 when
  // unknown: then processes there are not bound and devices are numbered
  // in order.
  int32_t topology = -1;

  bool operator==(const Node&) const = default;
};

struct Cluster {
  std::vector<Node> nodes;
  // Node models shared by the nodes that reference them (10,000 nodes of
  // one kind hold one model).
  std::vector<NodeTopology> topologies;

  // Sum of the nodes' slots (negative counts as 0; saturates at INT64_MAX).
  int64_t total_slots() const;

  bool operator==(const Cluster&) const = default;
};

// Whether a node is marked to run on this machine (label local=true|1|yes):
// its daemon is started here, as a simulated node, not over ssh or srun.
bool is_local(const Node& node);

}  // namespace jobset::topology
