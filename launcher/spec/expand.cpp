#include "launcher/spec/expand.hpp"

#include <algorithm>
#include <climits>
#include <map>

namespace jobset::launcher {

int64_t count_processes(const JobSet& js) {
  int64_t total = 0;
  for (const ReplicatedJob& rj : js.replicated_jobs) {
    int64_t n = rj.replicas * rj.tmpl.effective_completions();  // each < 2^31: no overflow
    total = (INT64_MAX - total < n) ? INT64_MAX : total + n;
  }
  return total;
}

Result<Expansion> expand(const JobSet& js, int64_t max_processes) {
  int64_t total = count_processes(js);
  if (total > max_processes)
    return Error("the JobSet has " + std::to_string(total) + " processes; jobset runs at most " +
                 std::to_string(max_processes) + " in one JobSet");
  Expansion ex;
  ex.processes.reserve(static_cast<size_t>(total));
  std::map<std::string, int32_t> group_of;
  for (const ReplicatedJob& rj : js.replicated_jobs) {
    auto [it, added] = group_of.emplace(rj.group_name, static_cast<int32_t>(ex.groups.size()));
    if (added) ex.groups.push_back(Group{rj.group_name, 0});
    Group& g = ex.groups[it->second];
    ReplicatedJobInfo info;
    info.group = it->second;
    info.first_job_group_index = g.replicas;
    info.first_job_global_index = ex.total_jobs;
    info.first_rank = ex.rjobs.empty() ? 0 : ex.rjobs.back().first_rank + ex.rjobs.back().processes;
    info.processes_per_job = static_cast<int32_t>(rj.tmpl.effective_completions());
    info.processes = static_cast<int32_t>(rj.replicas * info.processes_per_job);
    g.replicas += static_cast<int32_t>(rj.replicas);
    ex.total_jobs += static_cast<int32_t>(rj.replicas);
    ex.rjobs.push_back(info);
  }
  for (size_t r = 0; r < js.replicated_jobs.size(); ++r) {
    const ReplicatedJob& rj = js.replicated_jobs[r];
    const ReplicatedJobInfo& info = ex.rjobs[r];
    std::string prefix = js.name + "-" + rj.name + "-";
    for (int32_t j = 0; j < rj.replicas; ++j) {
      std::string job_prefix = prefix + std::to_string(j) + "-";
      for (int32_t p = 0; p < info.processes_per_job; ++p) {
        Process proc;
        proc.name = job_prefix + std::to_string(p);
        proc.rjob = static_cast<int32_t>(r);
        proc.job_index = j;
        proc.pod_index = p;
        proc.job_global_index = info.first_job_global_index + j;
        proc.global_rank = static_cast<int32_t>(ex.processes.size());
        proc.role_rank = j * info.processes_per_job + p;
        proc.group = info.group;
        proc.job_group_index = info.first_job_group_index + j;
        ex.processes.push_back(std::move(proc));
      }
    }
  }
  if (js.coordinator) {
    for (size_t r = 0; r < js.replicated_jobs.size(); ++r) {
      if (js.replicated_jobs[r].name != js.coordinator->replicated_job) continue;
      ex.coordinator = ex.rjobs[r].first_rank +
                       static_cast<int32_t>(js.coordinator->job_index) * ex.rjobs[r].processes_per_job +
                       static_cast<int32_t>(js.coordinator->pod_index);
    }
  }
  return ex;
}

std::string fqdn(const JobSet& js, const Process& p) { return p.name + "." + js.subdomain(); }

Env process_env(const JobSet& js, const Expansion& ex, const Process& p, int restart_attempt) {
  const ReplicatedJob& rj = js.replicated_jobs[p.rjob];
  const ReplicatedJobInfo& info = ex.rjobs[p.rjob];
  const Group& g = ex.groups[p.group];
  std::string world = std::to_string(ex.processes.size());
  std::string rank = std::to_string(p.global_rank);
  int64_t max_restarts = js.failure_policy ? js.failure_policy->max_restarts : 0;
  Env env = {
      {"JOBSET_NAME", js.name},
      {"REPLICATED_JOB_NAME", rj.name},
      {"REPLICATED_JOB_REPLICAS", std::to_string(rj.replicas)},
      {"JOB_INDEX", std::to_string(p.job_index)},
      {"JOB_GLOBAL_INDEX", std::to_string(p.job_global_index)},
      {"JOB_COMPLETION_INDEX", std::to_string(p.pod_index)},
      {"JOBSET_RESTART_ATTEMPT", std::to_string(restart_attempt)},
      {"JOBSET_HOSTNAME", p.name},
      {"JOBSET_SUBDOMAIN", js.subdomain()},
      {"JOBSET_GROUP_NAME", g.name},
      {"JOBSET_GROUP_INDEX", std::to_string(p.group)},
      {"JOBSET_GROUP_REPLICAS", std::to_string(g.replicas)},
      {"JOBSET_JOB_GROUP_INDEX", std::to_string(p.job_group_index)},
      {"JOBSET_GLOBAL_REPLICAS", std::to_string(ex.total_jobs)},
      {"JOBSET_GLOBAL_RANK", rank},
      {"RANK", rank},
      {"WORLD_SIZE", world},
      {"ROLE_NAME", rj.name},
      {"ROLE_RANK", std::to_string(p.role_rank)},
      {"ROLE_WORLD_SIZE", std::to_string(info.processes)},
      {"TORCHELASTIC_RESTART_COUNT", std::to_string(restart_attempt)},
      {"TORCHELASTIC_MAX_RESTARTS", std::to_string(max_restarts)},
      {"JAX_PROCESS_ID", rank},
      {"JAX_NUM_PROCESSES", world},
      {"MEGASCALE_SLICE_ID", std::to_string(p.job_group_index)},
      {"MEGASCALE_NUM_SLICES", std::to_string(g.replicas)},
      {"OMPI_COMM_WORLD_RANK", rank},
      {"OMPI_COMM_WORLD_SIZE", world},
      {"MPI_APPNUM", std::to_string(p.rjob)},
  };
  if (js.network.enable_dns_hostnames) env.emplace_back("JOBSET_FQDN", fqdn(js, p));
  if (ex.coordinator) {
    const Process& c = ex.processes[*ex.coordinator];
    env.emplace_back("JOBSET_COORDINATOR", js.network.enable_dns_hostnames ? fqdn(js, c) : c.name);
  }
  // The file's own variables win: a user who sets RANK means it.
  for (const auto& var : rj.tmpl.env) {
    const std::string& name = var.first;
    auto it = std::find_if(env.begin(), env.end(), [&](const auto& kv) { return kv.first == name; });
    if (it != env.end())
      it->second = var.second;
    else
      env.push_back(var);
  }
  return env;
}

}  // namespace jobset::launcher
