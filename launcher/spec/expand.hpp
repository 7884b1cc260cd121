// Expansion: a validated JobSet becomes the concrete list of processes,
// each with its stable name and indexes. Pure and deterministic: ranks
// follow (replicated job in file order, job index, pod index). The
// environment that follows from them is built per process, on demand, by
// launcher/run/process_spec, so that a plan of 100,000 processes stays small.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "launcher/spec/spec.hpp"

namespace jobset::launcher {

struct Process {
  std::string name;  // <jobset>-<rjob>-<jobIndex>-<podIndex>: the stable hostname
  int32_t rjob = 0;  // index into JobSet::replicated_jobs
  int32_t job_index = 0;
  int32_t pod_index = 0;  // the completion index
  int32_t job_global_index = 0;  // over all replicated jobs, in file order
  int32_t global_rank = 0;
  int32_t role_rank = 0;  // rank inside the replicated job
  int32_t group = 0;  // index into Expansion::groups
  int32_t job_group_index = 0;  // job's index inside its group
  bool operator==(const Process&) const = default;
};

struct ReplicatedJobInfo {
  int32_t first_rank = 0;
  int32_t processes = 0;  // replicas x completions
  int32_t processes_per_job = 0;
  int32_t first_job_global_index = 0;
  int32_t group = 0;
  int32_t first_job_group_index = 0;
};

struct Group {
  std::string name;
  int32_t replicas = 0;  // jobs of every replicated job in the group
};

struct Expansion {
  std::vector<Process> processes;  // in rank order
  std::vector<ReplicatedJobInfo> rjobs;
  std::vector<Group> groups;  // in order of first appearance
  int32_t total_jobs = 0;
  std::optional<int32_t> coordinator;  // rank of the coordinator process
};

// More processes than this are refused before any memory is spent on them.
inline constexpr int64_t kMaxProcesses = int64_t{1} << 22;

// REQUIRES: js passed validate(). Fails only when the JobSet has more than
// `max_processes` processes.
Result<Expansion> expand(const JobSet& js, int64_t max_processes = kMaxProcesses);

// Counts processes without expanding (saturating at INT64_MAX).
int64_t count_processes(const JobSet& js);

// "<name>.<subdomain>"
std::string fqdn(const JobSet& js, const Process& p);

}  // namespace jobset::launcher
