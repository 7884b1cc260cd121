// Node sources of the command line: see node_sources.hpp.
#include "launcher/nodes/node_sources.hpp"

#include <algorithm>
#include <cstdlib>

#include "launcher/nodes/cluster_file.hpp"
#include "launcher/nodes/hostfile.hpp"

namespace jobset::launcher {
namespace {

// --simulate-nodes N[:SLOTS]: N daemons on this machine acting as nodes.
// Without SLOTS, the processes are spread evenly.
Result<topology::Cluster> simulated_nodes(const std::string& spec, int64_t processes) {
  size_t colon = spec.find(':');
  char* end = nullptr;
  long long n = std::strtoll(spec.c_str(), &end, 10);
  if (end == spec.c_str() || (colon == std::string::npos ? *end != '\0' : end != spec.c_str() + colon) || n < 1 ||
      n > 4096)
    return Error("--simulate-nodes: expected N or N:SLOTS with N from 1 to 4096, found '" + spec + "'");
  long long slots = (processes + n - 1) / n;
  if (colon != std::string::npos) {
    slots = std::strtoll(spec.c_str() + colon + 1, &end, 10);
    if (*end != '\0' || slots < 1) return Error("--simulate-nodes: SLOTS must be a positive integer, found '" + spec + "'");
  }
  auto c = synthetic_cluster(n, std::max<long long>(slots, 1));
  if (c)
    for (auto& node : c->nodes) node.name = "sim" + node.name.substr(1);
  return c;
}

Result<topology::Cluster> base_nodes(const NodeSource& ns, int64_t processes) {
  if (!ns.simulate.empty()) return simulated_nodes(ns.simulate, processes);
  if (!ns.cluster_file.empty()) return load_cluster_file(ns.cluster_file);
  if (!ns.slurm_nodes.empty()) return load_slurm_nodes(ns.slurm_nodes);
  if (!ns.hostfile.empty()) return load_hostfile(ns.hostfile);
  if (!ns.hosts.empty()) {
    auto c = parse_host_list(ns.hosts);
    if (!c) return c.error().with_context("--host");
    return c;
  }
  if (ns.nodes > 0 || ns.slots > 0) return synthetic_cluster(ns.nodes > 0 ? ns.nodes : 1, ns.slots > 0 ? ns.slots : 1);
  // This machine: like mpiexec, it takes as many processes as it is given.
  topology::Cluster local = local_cluster();
  local.nodes[0].slots = std::max(local.nodes[0].slots, processes);
  return local;
}

// Gives every node without a model `model`; what the node does not say
// (cpus, memory, gpus, tpus: 0) comes from the model.
void attach(topology::Cluster& cluster, topology::NodeTopology model) {
  const auto index = static_cast<int32_t>(cluster.topologies.size());
  bool used = false;
  for (auto& node : cluster.nodes) {
    if (node.topology >= 0) continue;
    node.topology = index;
    if (node.cpus == 0) node.cpus = static_cast<int64_t>(model.cores.size());
    if (node.memory == 0) node.memory = model.memory;
    if (node.gpus == 0) node.gpus = static_cast<int64_t>(model.gpus.size());
    if (node.tpus == 0) node.tpus = static_cast<int64_t>(model.accelerators.size());
    used = true;
  }
  if (used) cluster.topologies.push_back(std::move(model));
}

int sources_given(const NodeSource& ns) {
  return !ns.hostfile.empty() + !ns.hosts.empty() + (ns.nodes > 0 || ns.slots > 0) + !ns.simulate.empty() +
         !ns.cluster_file.empty() + !ns.slurm_nodes.empty();
}

}  // namespace

bool is_this_machine(const NodeSource& ns) { return sources_given(ns) == 0; }

Result<topology::Cluster> resolve_nodes(const NodeSource& ns, int64_t processes) {
  if (sources_given(ns) > 1)
    return Error(
        "give one node source: --hostfile, --cluster, --slurm-nodes, --host, --nodes/--slots or --simulate-nodes");
  auto cluster = base_nodes(ns, processes);
  if (!cluster) return cluster;
  if (!ns.slurm_topology.empty())
    if (auto s = load_switch_topology(*cluster, ns.slurm_topology); !s) return s.error();
  if (!ns.node_topology.empty()) {
    auto model = topology::topology_from_reference(ns.node_topology, "");
    if (!model) return model.error().with_context("--node-topology");
    // Imaginary nodes without --slots get one slot per core.
    if (ns.nodes > 0 && ns.slots == 0)
      for (auto& node : cluster->nodes) node.slots = std::max<int64_t>(1, static_cast<int64_t>(model->cores.size()));
    attach(*cluster, std::move(*model));
  }
  return cluster;
}

Status attach_this_machine(topology::Cluster& cluster, const topology::MapPolicy& policy, bool devices) {
  if (!topology::needs_node_model(policy) && !devices) return {};
  bool missing = std::any_of(cluster.nodes.begin(), cluster.nodes.end(), [](const auto& n) { return n.topology < 0; });
  if (!missing) return {};
  auto model = topology::this_machine_topology(devices);
  if (!model) return model.error().with_context("this machine's topology");
  attach(cluster, std::move(*model));
  return {};
}

}  // namespace jobset::launcher
