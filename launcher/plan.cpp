#include "launcher/plan.hpp"

#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

namespace jobset::launcher {

std::variant<Plan, PlanFailure> make_plan(const JobSet& js, topology::Cluster cluster) {
  auto ex = expand(js);
  if (!ex) return PlanFailure{PlanError::kTooLarge, ex.error().message()};
  // Every process takes one slot for now; resource-aware placement belongs
  // to the topology planner.
  std::vector<int64_t> demand(ex->processes.size(), 1);
  auto slots = topology::pack_by_slot(cluster, demand);
  if (!slots)
    return PlanFailure{PlanError::kDoesNotFit,
                       js.name + " does not fit: it " + slots.error().message()};
  return Plan{std::move(*ex), std::move(cluster), std::move(*slots)};
}

namespace {

std::string pad(const std::string& s, size_t w) { return s.size() >= w ? s : s + std::string(w - s.size(), ' '); }

}  // namespace

std::string plan_to_text(const JobSet& js, const Plan& plan) {
  const auto& procs = plan.expansion.processes;
  std::ostringstream o;
  o << "JobSet " << js.name << ": " << procs.size() << " process" << (procs.size() == 1 ? "" : "es")
    << " in " << plan.expansion.total_jobs << " job" << (plan.expansion.total_jobs == 1 ? "" : "s")
    << " of " << js.replicated_jobs.size() << " replicated job"
    << (js.replicated_jobs.size() == 1 ? "" : "s") << ", on " << plan.cluster.nodes.size()
    << " node" << (plan.cluster.nodes.size() == 1 ? "" : "s") << " with "
    << plan.cluster.total_slots() << " slots\n\n";
  o << "REPLICATED JOB        REPLICAS  PROCS/JOB  PROCESSES  RANKS\n";
  for (size_t r = 0; r < js.replicated_jobs.size(); ++r) {
    const auto& rj = js.replicated_jobs[r];
    const auto& info = plan.expansion.rjobs[r];
    std::string ranks = info.processes == 0 ? "-"
                        : std::to_string(info.first_rank) + "-" +
                              std::to_string(info.first_rank + info.processes - 1);
    o << pad(rj.name, 22) << pad(std::to_string(rj.replicas), 10)
      << pad(std::to_string(info.processes_per_job), 11) << pad(std::to_string(info.processes), 11)
      << ranks << "\n";
  }
  size_t name_w = 4, node_w = 4;
  for (const auto& p : procs) name_w = std::max(name_w, p.name.size());
  for (const auto& n : plan.cluster.nodes) node_w = std::max(node_w, n.name.size());
  o << "\n" << pad("RANK", 8) << pad("NAME", name_w + 2) << pad("JOB", 6) << pad("POD", 6)
    << pad("NODE", node_w + 2) << "SLOT\n";
  for (size_t i = 0; i < procs.size(); ++i) {
    const auto& p = procs[i];
    o << pad(std::to_string(p.global_rank), 8) << pad(p.name, name_w + 2)
      << pad(std::to_string(p.job_index), 6) << pad(std::to_string(p.pod_index), 6)
      << pad(plan.cluster.nodes[plan.slots[i].node].name, node_w + 2) << plan.slots[i].slot << "\n";
  }
  return o.str();
}

std::string plan_to_json(const JobSet& js, const Plan& plan) {
  using nlohmann::ordered_json;
  ordered_json out;
  out["version"] = 1;
  out["jobset"] = js.name;
  out["processes"] = plan.expansion.processes.size();
  ordered_json nodes = ordered_json::array();
  for (const auto& n : plan.cluster.nodes)
    nodes.push_back({{"name", n.name},
                     {"slots", n.slots},
                     {"labels", n.labels},
                     {"resources", {{"gpus", n.gpus}, {"tpus", n.tpus}}}});
  out["nodes"] = std::move(nodes);
  ordered_json rjobs = ordered_json::array();
  for (size_t r = 0; r < js.replicated_jobs.size(); ++r) {
    const auto& rj = js.replicated_jobs[r];
    const auto& info = plan.expansion.rjobs[r];
    rjobs.push_back({{"name", rj.name},
                     {"replicas", rj.replicas},
                     {"parallelism", rj.tmpl.parallelism},
                     {"completions", rj.tmpl.effective_completions()},
                     {"processes", info.processes},
                     {"first_rank", info.first_rank}});
  }
  out["replicated_jobs"] = std::move(rjobs);
  ordered_json placement = ordered_json::array();
  const auto& procs = plan.expansion.processes;
  for (size_t i = 0; i < procs.size(); ++i) {
    const auto& p = procs[i];
    placement.push_back({{"name", p.name},
                         {"fqdn", fqdn(js, p)},
                         {"rank", p.global_rank},
                         {"replicated_job", js.replicated_jobs[p.rjob].name},
                         {"job_index", p.job_index},
                         {"pod_index", p.pod_index},
                         {"job_global_index", p.job_global_index},
                         {"role_rank", p.role_rank},
                         {"group", plan.expansion.groups[p.group].name},
                         {"node", plan.cluster.nodes[plan.slots[i].node].name},
                         {"slot", plan.slots[i].slot}});
  }
  out["placement"] = std::move(placement);
  return out.dump(2) + "\n";
}

}  // namespace jobset::launcher
