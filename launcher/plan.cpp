#include "launcher/plan.hpp"

#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

namespace jobset::launcher {
namespace {

// One request per Job, in rank order: the processes of a Job are
// consecutive in the expansion.
std::vector<topology::JobRequest> job_requests(const JobSet& js, const Expansion& ex) {
  std::vector<topology::JobRequest> jobs;
  for (const auto& p : ex.processes) {
    if (jobs.empty() || jobs.back().rjob != js.replicated_jobs[p.rjob].name ||
        jobs.back().job_index != p.job_index) {
      const auto& rj = js.replicated_jobs[p.rjob];
      topology::JobRequest j;
      j.rjob = rj.name;
      j.job_index = p.job_index;
      j.demand = topology::Demand{1, rj.tmpl.resources.gpus, rj.tmpl.resources.tpus};
      j.node_selector = rj.tmpl.node_selector;
      j.exclusive_key = rj.exclusive_topology.empty() ? js.exclusive_topology : rj.exclusive_topology;
      jobs.push_back(std::move(j));
    }
    ++jobs.back().processes;
  }
  return jobs;
}

}  // namespace

std::variant<Plan, PlanFailure> make_plan(const JobSet& js, topology::Cluster cluster,
                                          const topology::MapPolicy& policy) {
  auto ex = expand(js);
  if (!ex) return PlanFailure{PlanError::kTooLarge, ex.error().message()};
  auto placed = topology::place(cluster, job_requests(js, *ex));
  if (!placed)
    return PlanFailure{PlanError::kDoesNotFit, js.name + " does not fit: " + placed.error().message()};
  Plan plan{std::move(*ex), std::move(cluster), std::move(placed->slots), std::move(placed->island),
            std::move(placed->island_values), policy, {}};
  plan.bindings.resize(plan.slots.size());
  return plan;
}

namespace {

// Index into plan.island_values of process i's island, or -1.
int32_t island_of(const Plan& plan, size_t i) { return i < plan.island.size() ? plan.island[i] : -1; }

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
  // The ISLAND column appears only when some job holds an exclusive island.
  const bool islands = !plan.island_values.empty();
  size_t island_w = 6;
  for (const auto& v : plan.island_values) island_w = std::max(island_w, v.size());
  o << "\n" << pad("RANK", 8) << pad("NAME", name_w + 2) << pad("JOB", 6) << pad("POD", 6)
    << pad("NODE", node_w + 2) << (islands ? pad("ISLAND", island_w + 2) : "") << "SLOT\n";
  for (size_t i = 0; i < procs.size(); ++i) {
    const auto& p = procs[i];
    o << pad(std::to_string(p.global_rank), 8) << pad(p.name, name_w + 2)
      << pad(std::to_string(p.job_index), 6) << pad(std::to_string(p.pod_index), 6)
      << pad(plan.cluster.nodes[plan.slots[i].node].name, node_w + 2);
    const int32_t island = island_of(plan, i);
    if (islands) o << pad(island < 0 ? "-" : plan.island_values[island], island_w + 2);
    o << plan.slots[i].slot << "\n";
  }
  return o.str();
}

// The JSON is written by hand, entry by entry: building one nlohmann tree
// for 100,000 processes costs ten times the time and memory of the plan.
// Small parts still go through nlohmann for exact escaping.
std::string plan_to_json(const JobSet& js, const Plan& plan) {
  using nlohmann::ordered_json;
  auto str = [](const std::string& s) { return ordered_json(s).dump(); };
  std::string out = "{\n  \"version\": 1,\n  \"jobset\": " + str(js.name) +
                    ",\n  \"processes\": " + std::to_string(plan.expansion.processes.size()) + ",\n  \"nodes\": [";
  for (size_t i = 0; i < plan.cluster.nodes.size(); ++i) {
    const auto& n = plan.cluster.nodes[i];
    ordered_json node = {{"name", n.name},
                         {"slots", n.slots},
                         {"labels", n.labels},
                         {"resources", {{"gpus", n.gpus}, {"tpus", n.tpus}}}};
    out += (i ? ",\n    " : "\n    ") + node.dump();
  }
  out += "\n  ],\n  \"replicated_jobs\": [";
  for (size_t r = 0; r < js.replicated_jobs.size(); ++r) {
    const auto& rj = js.replicated_jobs[r];
    const auto& info = plan.expansion.rjobs[r];
    ordered_json j = {{"name", rj.name},
                      {"replicas", rj.replicas},
                      {"parallelism", rj.tmpl.parallelism},
                      {"completions", rj.tmpl.effective_completions()},
                      {"processes", info.processes},
                      {"first_rank", info.first_rank}};
    out += (r ? ",\n    " : "\n    ") + j.dump();
  }
  out += "\n  ],\n  \"placement\": [";
  const auto& procs = plan.expansion.processes;
  std::vector<std::string> rjob_names, group_names, node_names;
  for (const auto& rj : js.replicated_jobs) rjob_names.push_back(str(rj.name));
  for (const auto& g : plan.expansion.groups) group_names.push_back(str(g.name));
  for (const auto& n : plan.cluster.nodes) node_names.push_back(str(n.name));
  std::vector<std::string> island_names;
  for (const auto& v : plan.island_values) island_names.push_back(str(v));
  const std::string subdomain = "." + js.subdomain();
  out.reserve(out.size() + procs.size() * 260);
  for (size_t i = 0; i < procs.size(); ++i) {
    const auto& p = procs[i];
    // Names are DNS labels (validated): they need no escaping.
    out += i ? ",\n    {" : "\n    {";
    out += "\"name\": \"" + p.name + "\", \"fqdn\": \"" + p.name + subdomain + "\"";
    out += ", \"rank\": " + std::to_string(p.global_rank);
    out += ", \"replicated_job\": " + rjob_names[p.rjob];
    out += ", \"job_index\": " + std::to_string(p.job_index);
    out += ", \"pod_index\": " + std::to_string(p.pod_index);
    out += ", \"job_global_index\": " + std::to_string(p.job_global_index);
    out += ", \"role_rank\": " + std::to_string(p.role_rank);
    out += ", \"group\": " + group_names[p.group];
    out += ", \"node\": " + node_names[plan.slots[i].node];
    out += ", \"slot\": " + std::to_string(plan.slots[i].slot);
    const int32_t island = island_of(plan, i);
    out += ", \"island\": " + (island < 0 ? std::string("null") : island_names[island]) + "}";
  }
  out += "\n  ]\n}\n";
  return out;
}

}  // namespace jobset::launcher
