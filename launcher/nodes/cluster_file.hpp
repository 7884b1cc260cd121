// The cluster file: a TOML description of the nodes a run may use, many
// nodes per entry through hostlist expressions, each node with a model of
// what is inside it (topology/node_topology.hpp) and its labels; plus the
// file-level entry points of every node source that is a file, for the
// CLI (--cluster, --slurm-nodes, --slurm-topology).
//
//   # name -> hwloc XML path (relative to this file) or synthetic description
//   [topologies]
//   gpu-node = "gpu8-2socket.xml"
//   cpu-node = "pack:2 numa:2 core:32 pu:2"
//
//   [[nodes]]
//   name = "gpu[01-16]"        # a hostlist expression (hostlist.hpp)
//   topology = "gpu-node"
//   labels = { rack = "r1", "cloud.google.com/gke-nodepool" = "pool-a" }
//
//   slurm_topology = "topo.txt"  # optional: saved `scontrol show topology`
//
// Keys of a [[nodes]] entry: name (required), topology, labels (string
// values; keys as check_label_key allows: quote keys with dots), and
//   slots   1..2^31-1; default: the topology's cores, else 1
//   gpus, tpus  0..2^31-1; default: the topology's GPUs and other
//           accelerators, else 0
//   cpus    cores, 0..2^31-1; default: the topology's cores, else 0 (unknown)
//   memory  "512G", "64GiB" (parse_size in hostlist.hpp) or an integer of
//           bytes; default: the topology's memory, else 0 (unknown)
//   local   true: the nodes run as simulated nodes (daemons) on this
//           machine, written as the label local="true" as a hostfile does
//           (cli.cpp); not together with labels.local
// slurm_topology (top level, a path relative to the file) adds the switch
// labels of slurm_text.hpp's apply_switch_topology.
//
// Topologies are loaded when first referenced, once each, and shared
// through Cluster::topologies and Node::topology; unreferenced ones are
// not loaded. Fields are read by spec/field_reader.hpp, so errors are
// worded as in JobSet files: where, which field and what was expected; the
// first one (in file order) ends the parse: "cluster.toml:7:9:
// nodes[1].slots: expected an integer from 1 to 2147483647, found string
// \"4\"", "cluster.toml:9:8: node 'gpu03' is listed twice (first on line
// 3)", "cluster.toml:4:12: topology 'gpu-node' is not defined in
// [topologies]"; unknown keys, wrong types and empty files too.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "topology/cluster.hpp"

namespace jobset::launcher {

// Parses cluster file text. `filename` is only used in messages;
// `base_dir` is where relative paths (XML topologies, slurm_topology) are
// looked up, "" for the working directory. Reads the files it references.
Result<topology::Cluster> parse_cluster_file(std::string_view text, const std::string& filename,
                                             const std::string& base_dir);

// --- Files, for the command line ---------------------------------------------
// Each reads `path` and names it in its errors ("nodes.txt: cannot be read:
// No such file or directory").

// --cluster FILE: relative paths inside are relative to FILE's folder.
Result<topology::Cluster> load_cluster_file(const std::string& path);

// --hostfile FILE (launcher/nodes/hostfile.hpp); errors start "hostfile FILE:".
Result<topology::Cluster> load_hostfile(const std::string& path);

// --slurm-nodes FILE: saved `scontrol show node` output (either form).
Result<topology::Cluster> load_slurm_nodes(const std::string& path);

// --slurm-topology FILE: saved `scontrol show topology` output, applied to
// `cluster` (from any node source). On error `cluster` is unchanged.
Status load_switch_topology(topology::Cluster& cluster, const std::string& path);

}  // namespace jobset::launcher
