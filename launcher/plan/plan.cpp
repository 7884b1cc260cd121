#include "launcher/plan/plan.hpp"

#include "launcher/plan/map_policy.hpp"

#include <cmath>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

namespace jobset::launcher {
namespace {

// A cpu request in whole cores: 0.5 takes a core, 2 takes two.
int64_t whole_cores(double cpus) { return cpus <= 0 ? 0 : static_cast<int64_t>(std::ceil(cpus - 1e-9)); }

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
      j.demand = process_demand(js, p.rjob);
      j.node_selector = rj.tmpl.node_selector;
      j.exclusive_key = exclusive_key(js, p.rjob);
      jobs.push_back(std::move(j));
    }
    ++jobs.back().processes;
  }
  return jobs;
}

// --map-by ppr:N:obj caps each node at N processes per object: fewer
// slots where that is less than the node has. Needs every node's model.
Status apply_ppr(topology::Cluster& cluster, const topology::MapPolicy& policy) {
  if (policy.ppr <= 0) return {};
  for (auto& node : cluster.nodes) {
    if (node.topology < 0)
      return Error(node.name + " has no known topology, which --map-by ppr:" + std::to_string(policy.ppr) + ":" +
                   topology::level_name(policy.ppr_level) + " needs (give it one with --node-topology or a cluster file)");
    const int64_t objects = topology::object_count(cluster.topologies[node.topology], policy.ppr_level);
    node.slots = std::min(node.slots, policy.ppr * objects);
  }
  return {};
}

// Whether anything inside the nodes is to be decided: a policy beyond
// "fill, do not bind", devices asked for, or node models to show cores on.
bool binds_anything(const JobSet& js, const Plan& plan) {
  return topology::needs_node_model(plan.policy) || !plan.cluster.topologies.empty() || asks_for_devices(js);
}

// Cores, CPUs and devices for every process, node by node
// (topology/binding.hpp). Leaves plan.bindings empty when there is nothing
// to decide, so plans of 100,000 plain processes stay lean.
Status bind_processes(const JobSet& js, Plan& plan) {
  if (!binds_anything(js, plan)) return {};
  const auto& procs = plan.expansion.processes;
  std::vector<std::vector<int32_t>> on_node(plan.cluster.nodes.size());
  for (size_t i = 0; i < procs.size(); ++i) on_node[plan.slots[i].node].push_back(static_cast<int32_t>(i));
  plan.bindings.resize(procs.size());
  for (size_t n = 0; n < on_node.size(); ++n) {
    if (on_node[n].empty()) continue;
    const topology::Node& node = plan.cluster.nodes[n];
    std::vector<topology::ProcessNeeds> needs;
    for (int32_t i : on_node[n]) {
      const Resources& r = js.replicated_jobs[procs[i].rjob].tmpl.resources;
      needs.push_back({std::max<int64_t>(whole_cores(r.cpus), 1), r.gpus, r.tpus});
    }
    const topology::NodeTopology* model = node.topology >= 0 ? &plan.cluster.topologies[node.topology] : nullptr;
    auto b = topology::bind_node(node.name, model, node.gpus, node.tpus, needs, plan.policy);
    if (!b) return b.error();
    for (size_t k = 0; k < on_node[n].size(); ++k) plan.bindings[on_node[n][k]] = std::move((*b)[k]);
  }
  return {};
}

}  // namespace

topology::Demand process_demand(const JobSet& js, int32_t rjob) {
  const Resources& res = js.replicated_jobs[rjob].tmpl.resources;
  return topology::Demand{1, res.gpus, res.tpus, whole_cores(res.cpus), res.memory};
}

const std::string& exclusive_key(const JobSet& js, int32_t rjob) {
  const ReplicatedJob& rj = js.replicated_jobs[rjob];
  return rj.exclusive_topology.empty() ? js.exclusive_topology : rj.exclusive_topology;
}

bool asks_for_devices(const JobSet& js) {
  for (const auto& rj : js.replicated_jobs)
    if (rj.tmpl.resources.gpus > 0 || rj.tmpl.resources.tpus > 0) return true;
  return false;
}

std::variant<Plan, PlanFailure> make_plan(const JobSet& js, topology::Cluster cluster,
                                          const topology::MapPolicy& policy) {
  auto ex = expand(js);
  if (!ex) return PlanFailure{PlanError::kTooLarge, ex.error().message()};
  topology::PlaceOptions options;
  options.by_node = policy.map_by == topology::Level::kNode;
  if (auto ppr = apply_ppr(cluster, policy); !ppr) return PlanFailure{PlanError::kDoesNotFit, ppr.error().message()};
  auto placed = topology::place(cluster, job_requests(js, *ex), options);
  if (!placed) {
    std::string why = js.name + " does not fit: " + placed.error().message();
    if (policy.ppr > 0)
      why += " (--map-by " + map_by_name(policy) + " leaves at most " + std::to_string(policy.ppr) + " per " +
             topology::level_name(policy.ppr_level) + ")";
    return PlanFailure{PlanError::kDoesNotFit, why};
  }
  Plan plan{std::move(*ex), std::move(cluster), std::move(placed->slots), std::move(placed->island),
            std::move(placed->island_values), policy, {}};
  if (auto bound = bind_processes(js, plan); !bound)
    return PlanFailure{PlanError::kDoesNotFit, js.name + " does not fit: " + bound.error().message()};
  return plan;
}

namespace {

// Index into plan.island_values of process i's island, or -1.
int32_t island_of(const Plan& plan, size_t i) { return i < plan.island.size() ? plan.island[i] : -1; }

std::string pad(const std::string& s, size_t w) { return s.size() >= w ? s : s + std::string(w - s.size(), ' '); }

std::string list_or_dash(const std::vector<int32_t>& v) { return v.empty() ? "-" : topology::compact_list(v); }

std::string devices_of(const topology::Binding& b) {
  std::string s;
  if (!b.gpus.empty()) s = "gpu " + topology::compact_list(b.gpus);
  if (!b.tpus.empty()) s += (s.empty() ? "" : "; ") + std::string("tpu ") + topology::compact_list(b.tpus);
  return s.empty() ? "-" : s;
}

std::string json_ints(const std::vector<int32_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

std::string binding_text(const Plan& plan, size_t i) {
  if (i >= plan.bindings.size()) return "not bound";
  const topology::Binding& b = plan.bindings[i];
  std::string s;
  if (!b.cores.empty()) s = "cores " + topology::compact_list(b.cores);
  if (!b.pus.empty()) s += ", cpus " + topology::compact_list(b.pus);
  else s += s.empty() ? "not bound" : " (not bound)";
  if (!b.gpus.empty()) s += ", gpus " + topology::compact_list(b.gpus);
  if (!b.tpus.empty()) s += ", tpus " + topology::compact_list(b.tpus);
  return s;
}

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
  // CORES (logical cores), CPUS (the OS CPUs it is bound to) and DEVICES
  // appear when some process has them; the last column is not padded.
  bool show_cores = false, show_cpus = false, show_devices = false;
  size_t cores_w = 5, cpus_w = 4;
  for (const auto& b : plan.bindings) {
    show_cores = show_cores || !b.cores.empty();
    show_cpus = show_cpus || !b.pus.empty();
    show_devices = show_devices || !b.gpus.empty() || !b.tpus.empty();
    cores_w = std::max(cores_w, list_or_dash(b.cores).size());
    cpus_w = std::max(cpus_w, list_or_dash(b.pus).size());
  }
  std::vector<std::pair<std::string, size_t>> columns = {{"SLOT", 6}};
  if (show_cores) columns.emplace_back("CORES", cores_w + 2);
  if (show_cpus) columns.emplace_back("CPUS", cpus_w + 2);
  if (show_devices) columns.emplace_back("DEVICES", 0);
  auto row_end = [&](std::vector<std::string> cells) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) line += c + 1 < cells.size() ? pad(cells[c], columns[c].second) : cells[c];
    return line + "\n";
  };
  std::vector<std::string> header;
  header.reserve(columns.size());
  for (const auto& c : columns) header.push_back(c.first);
  o << "\n" << pad("RANK", 8) << pad("NAME", name_w + 2) << pad("JOB", 6) << pad("POD", 6)
    << pad("NODE", node_w + 2) << (islands ? pad("ISLAND", island_w + 2) : "") << row_end(header);
  for (size_t i = 0; i < procs.size(); ++i) {
    const auto& p = procs[i];
    o << pad(std::to_string(p.global_rank), 8) << pad(p.name, name_w + 2)
      << pad(std::to_string(p.job_index), 6) << pad(std::to_string(p.pod_index), 6)
      << pad(plan.cluster.nodes[plan.slots[i].node].name, node_w + 2);
    const int32_t island = island_of(plan, i);
    if (islands) o << pad(island < 0 ? "-" : plan.island_values[island], island_w + 2);
    std::vector<std::string> cells = {std::to_string(plan.slots[i].slot)};
    if (!plan.bindings.empty()) {
      const topology::Binding& b = plan.bindings[i];
      if (show_cores) cells.push_back(list_or_dash(b.cores));
      if (show_cpus) cells.push_back(list_or_dash(b.pus));
      if (show_devices) cells.push_back(devices_of(b));
    }
    o << row_end(std::move(cells));
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
                         {"resources", {{"gpus", n.gpus}, {"tpus", n.tpus}, {"cpus", n.cpus}, {"memory", n.memory}}}};
    if (n.topology >= 0) {
      const auto& t = plan.cluster.topologies[n.topology];
      node["topology"] = {{"source", t.source},       {"packages", t.packages},
                          {"numa_nodes", t.numas},    {"cores", t.cores.size()},
                          {"gpus", t.gpus.size()},    {"accelerators", t.accelerators.size()}};
    }
    out += (i ? ",\n    " : "\n    ") + node.dump();
  }
  out += "\n  ],\n  \"policy\": " +
         ordered_json{{"map_by", map_by_name(plan.policy)},
                      {"rank_by", topology::level_name(plan.policy.rank_by)},
                      {"bind_to", bind_name(plan.policy.bind_to)}}
             .dump() +
         ",\n  \"replicated_jobs\": [";
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
    out += ", \"island\": " + (island < 0 ? std::string("null") : island_names[island]);
    if (!plan.bindings.empty()) {
      const topology::Binding& b = plan.bindings[i];
      out += ", \"cores\": " + json_ints(b.cores) + ", \"cpus\": " + json_ints(b.pus) +
             ", \"gpus\": " + json_ints(b.gpus) + ", \"tpus\": " + json_ints(b.tpus);
    }
    out += "}";
  }
  out += "\n  ]\n}\n";
  return out;
}

}  // namespace jobset::launcher
