// Where the nodes of a plan or run come from, as the command line gives
// them: a hostfile, a cluster file, saved Slurm output, --host, imaginary
// --nodes/--slots, --simulate-nodes, or this machine; plus what is inside
// the nodes (--node-topology, or this machine's hwloc model for nodes that
// run here). Reads files; the parsers it calls are pure.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "topology/binding.hpp"
#include "topology/cluster.hpp"

namespace jobset::launcher {

struct NodeSource {
  std::string hostfile;
  std::string cluster_file;    // --cluster (TOML)
  std::string slurm_nodes;     // --slurm-nodes: saved `scontrol show node` output
  std::string slurm_topology;  // --slurm-topology: saved `scontrol show topology` output
  std::string hosts;
  int64_t nodes = 0;
  int64_t slots = 0;
  std::string simulate;       // --simulate-nodes N[:SLOTS] (run)
  std::string node_topology;  // --node-topology: hwloc synthetic description or XML file
};

// The nodes, with `processes` used for the defaults of --simulate-nodes
// (spread evenly) and of this machine (as many slots as processes).
// Errors name the flag or file:line.
Result<topology::Cluster> resolve_nodes(const NodeSource& source, int64_t processes = 0);

// Whether no node source is given: the nodes are this machine.
bool is_this_machine(const NodeSource& source);

// Gives every node that has no model this machine's (they all run here),
// when `policy` needs node models or `devices` are asked for (then with the
// machine's GPUs); loading it costs milliseconds, so only then. Loaded
// once. What a node does not say (cpus, memory, gpus, tpus) comes from the
// model, as with --node-topology.
Status attach_this_machine(topology::Cluster& cluster, const topology::MapPolicy& policy, bool devices);

}  // namespace jobset::launcher
