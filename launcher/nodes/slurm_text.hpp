// Slurm's text output as node sources: `scontrol show node` (the nodes,
// their CPUs, memory, GRES and features) and `scontrol show topology` (the
// switch tree, as labels). Pure parsers of saved or piped text, so that
// planning for a Slurm cluster needs neither libslurm nor a controller;
// tests/fixtures/slurm/ holds real output of Slurm 22.05 they are tested on.
//
// Errors are values that say where and what was expected:
// "nodes.txt:3:12: CPUTot: expected a non-negative integer, found 'x'".
// Lines and columns count from 1, columns in bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "topology/cluster.hpp"

namespace jobset::launcher {

// Label keys set from Slurm. The switch labels make each switch an island
// (ARCHITECTURE.md, "Topology and placement"):
//   slurm.schedmd.com/switch          the node's leaf switch: the lowest-level
//                                     switch over it (level 0 in every tree
//                                     Slurm builds)
//   slurm.schedmd.com/switch-level-L  the switch at level L over the node,
//                                     for every level L that has one
//                                     ("switch-level-0" equals "switch")
//   slurm.schedmd.com/partition       the node's partition, when it is in
//                                     exactly one
//   slurm.schedmd.com/partition.P     "true" for each partition P of the node
inline constexpr std::string_view kSlurmSwitchLabel = "slurm.schedmd.com/switch";
inline constexpr std::string_view kSlurmSwitchLevelLabelPrefix = "slurm.schedmd.com/switch-level-";
inline constexpr std::string_view kSlurmPartitionLabel = "slurm.schedmd.com/partition";

// `scontrol show node` or `scontrol -o show node` output (both forms, also
// mixed): one node per "NodeName=" record, fields separated by blanks or
// line ends. Per node:
//   slots  = CPUTot (default 1 when absent)
//   cpus   = Sockets * CoresPerSocket, the cores (0, unknown, when absent)
//   memory = RealMemory MiB (0, unknown, when absent or 1: Slurm's default
//            for a node whose memory was not configured)
//   gpus, tpus = the counts of the GRES named "gpu" and "tpu" in Gres
//            ("gpu:4", "gpu:a100:4", "gpu:4(S:0-1)", "gpu:a100:2,gpu:v100:2,
//            tpu:4", counts with Slurm's K/M/G suffixes); other GRES are
//            ignored; "(null)" is none
//   labels from the features: ActiveFeatures (what the node is now),
//            else AvailableFeatures, else Features (older Slurm). Slurm
//            takes any text as a feature ("rack=r1" and "rack:r1" too), so
//            a feature "k=v" or "k:v" (split at the first '=' or ':') is the
//            label k=v, and any other feature f is the label f="true"
//            ("ib" gives ib=true). A feature whose key is not a valid label
//            key (check_label_key) is skipped, and so is the key "local",
//            which marks daemons on this machine (cli.cpp) and must never
//            come from a cluster's configuration. When two features give
//            the same key, the first one wins.
//   labels from Partitions (see kSlurmPartitionLabel).
// Other fields are ignored, and so are words without '=' (the free text of
// Reason=, OS= and Comment=); when a field appears twice in a record the
// first counts (free text comes after the fields read here).
// Errors: text before the first NodeName=, a bad number, a malformed Gres,
// a node listed twice, no node at all. `filename` is only used in messages.
Result<topology::Cluster> parse_slurm_nodes(std::string_view text, const std::string& filename);

// `scontrol show topology` output (or topology.conf lines of the same
// shape), one switch per line:
//   SwitchName=s1 Level=0 LinkSpeed=1 Nodes=n[1-2]
//   SwitchName=top Level=1 LinkSpeed=1 Nodes=n[1-4] Switches=s[1-2]
// Sets the switch labels above on the nodes of `cluster`. A switch is over
// a node when its Nodes= lists the node or one of its Switches= (down the
// tree) does. Level= may be absent: it is then 0 for a switch without
// Switches= and one more than its highest child otherwise. Nodes in no
// switch get no label; nodes and child switches that are not in the
// cluster or not defined are ignored; levels with no switch over a node
// give no label for that level. Blank lines and "#" comments are skipped;
// unknown fields are ignored.
// Errors (and then `cluster` is unchanged): a line not starting with
// SwitchName=, a field without '=', a bad Level or hostlist, a switch
// defined twice, a cycle of switches, and a node under two switches of one
// level: "topology.txt:4:1: node 'n3' is under two switches at level 0:
// 's1' (line 1) and 's2'".
Status apply_switch_topology(topology::Cluster& cluster, std::string_view text,
                             const std::string& filename);

// The gpu and tpu counts of a Gres= value (see parse_slurm_nodes). Errors
// say what was expected, without a position.
struct GresCounts {
  int64_t gpus = 0;
  int64_t tpus = 0;
  bool operator==(const GresCounts&) const = default;
};
Result<GresCounts> parse_gres(std::string_view gres);

}  // namespace jobset::launcher
