// The first and simplest placement: processes in rank order fill node 0's
// slots, then node 1's, and so on (mpirun's --map-by slot). A process that
// needs several slots gets them all on one node; when they do not fit in
// what is left of the current node, the rest of that node stays empty and
// packing goes on with the next node, never back. O(processes + nodes),
// one allocation (the result): slot counts of millions per node are fine.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.hpp"
#include "topology/cluster.hpp"

namespace jobset::topology {

// Where one process goes: node index into Cluster::nodes and the first of
// its consecutive slots on that node.
struct Slot {
  int32_t node = 0;
  int32_t slot = 0;

  bool operator==(const Slot&) const = default;
};

// Packs processes, given as slots needed per process in rank order, onto
// the cluster's nodes in rank order. The result has one Slot per process.
// Fails (all or nothing) when a process asks for fewer than 1 slot or
// when the processes do not fit; the message says how many slots are
// needed and what the nodes have ("needs 12 slots, the 2 nodes have 8
// (node01: 4, node02: 4)"). Every message starts with "needs", so a caller
// may write "<name> does not fit: it <message>". Zero processes always fit.
// Slots beyond 2^31-1 on one node are not used (the index is 32-bit).
Result<std::vector<Slot>> pack_by_slot(const Cluster& cluster,
                                       const std::vector<int64_t>& slots_per_process);

}  // namespace jobset::topology
