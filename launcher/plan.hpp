// A plan: the expanded processes of a JobSet and the node slot each one
// gets. For now placement packs processes onto node slots in rank order
// (topology/pack.hpp); the topology-aware placement replaces that step.
// Rendered as a readable table or as stable JSON (jobset(1), PLAN JSON).
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "launcher/expand.hpp"
#include "topology/cluster.hpp"
#include "topology/pack.hpp"

namespace jobset::launcher {

struct Plan {
  Expansion expansion;
  topology::Cluster cluster;
  std::vector<topology::Slot> slots;  // one per process, in rank order
};

enum class PlanError { kTooLarge, kDoesNotFit };

struct PlanFailure {
  PlanError kind;
  std::string message;
};

// REQUIRES: js passed validation.
std::variant<Plan, PlanFailure> make_plan(const JobSet& js, topology::Cluster cluster);

std::string plan_to_text(const JobSet& js, const Plan& plan);
std::string plan_to_json(const JobSet& js, const Plan& plan);

}  // namespace jobset::launcher
