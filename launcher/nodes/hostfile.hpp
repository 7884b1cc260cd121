// Node sources that are plain text: a hostfile, the --host list, the
// synthetic --nodes/--slots cluster of `jobset plan`, and this machine.
// Each returns a topology::Cluster or the first problem found, as an Error
// that says where: file, line and column for a hostfile; the entry for
// --host (the caller adds the flag); the flag for --nodes/--slots. Only
// local_cluster() looks at the system.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "topology/cluster.hpp"

namespace jobset::launcher {

// A hostfile: one node per line,
//   name [slots=N] [gpus=N] [tpus=N] [cpus=N] [memory=SIZE] [max_slots=N]
//        [key=value ...]
// (Open MPI's syntax, extended with Kubernetes-style labels). `#` starts a
// comment anywhere; blank lines are skipped; fields are separated by spaces
// or tabs, with no spaces around '='; "\r\n" line ends and a UTF-8 byte
// order mark are accepted. slots defaults to 1 and must be in
// 1..2^31-1; gpus, tpus and cpus (cores) in 0..2^31-1, cpus 0 (the
// default) meaning unknown. memory is in bytes or with a binary unit
// (parse_size in hostlist.hpp: "512G", "64GiB"), default 0: unknown. A
// line's `local=true` label marks a node run as a daemon on this machine
// (see cli.cpp). max_slots (or max-slots) is
// accepted and ignored. Host names follow RFC 1123 (letters, digits, '-'
// and dots; '_' also accepted); IPv4 addresses are host names too.
// Errors: "nodes.txt:3:9: slots: expected a positive integer, found 'x'"
// (columns count bytes from 1, a tab is one; they point at what is wrong), or
// "nodes.txt:5: node 'n1' is listed twice (first on line 2)". At most
// topology::kMaxClusterNodes nodes; a file without nodes is an error.
// `filename` is only used in messages.
Result<topology::Cluster> parse_hostfile(std::string_view text, const std::string& filename);

// The --host form: "a:4,b:4", name[:slots] separated by commas, 1 slot by
// default. A host listed twice gets the sum of its slots (as Open MPI
// does); nodes keep the order of their first appearance. Messages do not
// name the flag: the caller adds "--host" ("entry 2 'b:x': slots: ...").
Result<topology::Cluster> parse_host_list(std::string_view spec);

// --nodes N --slots S (for `jobset plan`): N nodes named "n" followed by
// the index from 1, zero-padded to the width of N (n1..n8, n01..n16,
// n001..n100), each with S slots. N in 1..kMaxClusterNodes, S in
// 1..2^31-1; errors start with "--nodes" or "--slots".
Result<topology::Cluster> synthetic_cluster(int64_t nodes, int64_t slots);

// This machine: one node named by gethostname() ("localhost" if that
// fails), with one slot per online CPU (std::thread::hardware_concurrency,
// at least 1). Does I/O; never fails.
topology::Cluster local_cluster();

}  // namespace jobset::launcher
