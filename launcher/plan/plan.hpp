// A plan: the expanded processes of a JobSet and the node slot each one
// gets, from the label-aware placement (topology/placement.hpp): node
// selectors, per-process gpus/tpus and exclusive islands.
// Rendered as a readable table or as stable JSON (jobset(1), PLAN JSON).
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "launcher/spec/expand.hpp"
#include "topology/binding.hpp"
#include "topology/cluster.hpp"
#include "topology/placement.hpp"

namespace jobset::launcher {

struct Plan {
  Expansion expansion;
  topology::Cluster cluster;
  std::vector<topology::Slot> slots;  // one per process, in rank order
  // Per process: index into island_values (the exclusive label's value of
  // the island its job holds), or -1 when its job is not exclusive.
  std::vector<int32_t> island;
  std::vector<std::string> island_values;
  // Inside the nodes: the policy used and, per process, its cores, PUs and
  // devices (topology/binding.hpp). `bindings` is empty when the plan
  // decides nothing inside the nodes (no node models, no devices, policy
  // "fill, do not bind").
  topology::MapPolicy policy;
  std::vector<topology::Binding> bindings;
};

enum class PlanError { kTooLarge, kDoesNotFit };

struct PlanFailure {
  PlanError kind;
  std::string message;
};

// What one process of replicated job `rjob` takes from its node, and the
// label key of its exclusive islands ("" when its jobs are not exclusive).
topology::Demand process_demand(const JobSet& js, int32_t rjob);
const std::string& exclusive_key(const JobSet& js, int32_t rjob);

// Whether some process asks for GPUs or TPUs.
bool asks_for_devices(const JobSet& js);

// REQUIRES: js passed validation.
std::variant<Plan, PlanFailure> make_plan(const JobSet& js, topology::Cluster cluster,
                                          const topology::MapPolicy& policy = {});

std::string plan_to_text(const JobSet& js, const Plan& plan);
// One process's place inside its node, compactly: "cores 4-5, cpus 8-11,
// gpus 0-1", "cores 3 (not bound)", or "not bound" when nothing is known.
// For --report-bindings and the plan table.
std::string binding_text(const Plan& plan, size_t process);
std::string plan_to_json(const JobSet& js, const Plan& plan);

}  // namespace jobset::launcher
