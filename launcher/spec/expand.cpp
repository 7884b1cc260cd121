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

}  // namespace jobset::launcher
