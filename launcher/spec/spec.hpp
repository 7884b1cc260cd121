// The JobSet model: every field of jobset.x-k8s.io/v1alpha2 that means
// something to a launcher, with the Kubernetes defaults. Both readers (the
// native TOML file and the Kubernetes YAML) produce this, the validator
// checks it, the expander turns it into processes. Pure data; the field
// names are the snake_case of the Kubernetes ones (see jobset-file(5)).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace jobset::launcher {

enum class PodFailureAction { kFailJob, kIgnore, kCount, kFailIndex };
enum class ExitCodeOperator { kIn, kNotIn };

struct OnExitCodes {
  ExitCodeOperator op = ExitCodeOperator::kIn;
  std::vector<int64_t> values;
  bool operator==(const OnExitCodes&) const = default;
};

struct PodCondition {
  std::string type;  // e.g. DisruptionTarget (a lost node, here)
  std::string status = "True";
  bool operator==(const PodCondition&) const = default;
};

struct PodFailureRule {
  PodFailureAction action = PodFailureAction::kFailJob;
  std::optional<OnExitCodes> on_exit_codes;
  std::vector<PodCondition> on_pod_conditions;
  bool operator==(const PodFailureRule&) const = default;
};

// What one process asks of a node. Kubernetes quantities are normalised:
// cpus in cores (0.5 for "500m"), memory in bytes.
struct Resources {
  double cpus = 0;
  int64_t memory = 0;
  int64_t gpus = 0;
  int64_t tpus = 0;
  bool operator==(const Resources&) const = default;
};

// One variable of the process's env, in file order. A Kubernetes
// valueFrom.fieldRef that has a meaning here is kept as `field_ref` (its
// fieldPath, e.g. "metadata.labels['jobset.sigs.k8s.io/job-index']"; see
// field_ref.hpp); `value` is then unused. Values are expanded like
// Kubernetes' $(VAR) references when the process starts.
struct EnvVar {
  std::string name;
  std::string value;
  std::string field_ref;
  bool operator==(const EnvVar&) const = default;
};

// The env list as written: order kept (a $(VAR) sees the variables before
// it), a name may repeat (the later one wins, as in Kubernetes).
class EnvList {
 public:
  EnvList() = default;
  EnvList(std::initializer_list<std::pair<std::string, std::string>> vars) {
    for (const auto& [k, v] : vars) add(k, v);
  }
  void add(std::string name, std::string value, std::string field_ref = "") {
    vars_.push_back({std::move(name), std::move(value), std::move(field_ref)});
  }
  // The last entry named `name`, or null.
  const EnvVar* find(const std::string& name) const {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
      if (it->name == name) return &*it;
    return nullptr;
  }
  // REQUIRES: an entry named `name`. Its value.
  const std::string& at(const std::string& name) const { return find(name)->value; }
  bool empty() const { return vars_.empty(); }
  size_t size() const { return vars_.size(); }
  std::vector<EnvVar>::const_iterator begin() const { return vars_.begin(); }
  std::vector<EnvVar>::const_iterator end() const { return vars_.end(); }
  bool operator==(const EnvList&) const = default;

 private:
  std::vector<EnvVar> vars_;
};

// The Job template merged with its single process (pod/container).
struct JobTemplate {
  int64_t parallelism = 1;
  std::optional<int64_t> completions;  // unset: equal to parallelism
  int64_t backoff_limit = 6;
  std::optional<int64_t> active_deadline_seconds;
  std::vector<PodFailureRule> pod_failure_policy;

  std::vector<std::string> command;
  std::vector<std::string> args;
  EnvList env;
  std::string working_dir;
  std::vector<int64_t> ports;
  Resources resources;
  std::map<std::string, std::string> node_selector;

  int64_t effective_completions() const { return completions.value_or(parallelism); }
  bool operator==(const JobTemplate&) const = default;
};

enum class DependencyStatus { kReady, kComplete };

struct Dependency {
  std::string name;
  DependencyStatus status = DependencyStatus::kReady;
  bool operator==(const Dependency&) const = default;
};

struct ReplicatedJob {
  std::string name;
  int64_t replicas = 1;
  std::string group_name = "default";
  // Label key whose islands each job of this replicated job gets to itself
  // (alpha.jobset.sigs.k8s.io/exclusive-topology); empty: the JobSet's.
  std::string exclusive_topology;
  // alpha.jobset.sigs.k8s.io/node-selector: nodes are pre-labelled per job.
  std::optional<bool> node_selector_strategy;
  std::vector<Dependency> depends_on;
  JobTemplate tmpl;
  bool operator==(const ReplicatedJob&) const = default;
};

struct Network {
  bool enable_dns_hostnames = true;
  std::string subdomain;  // empty: the JobSet name
  bool publish_not_ready_addresses = true;
  bool operator==(const Network&) const = default;
};

enum class SuccessOperator { kAll, kAny };

struct SuccessPolicy {
  SuccessOperator op = SuccessOperator::kAll;
  std::vector<std::string> target_replicated_jobs;  // empty: all
  bool operator==(const SuccessPolicy&) const = default;
};

enum class FailureAction {
  kFailJobSet,
  kRestartJobSet,
  kRestartJobSetAndIgnoreMaxRestarts,
  kRestartJob,
  kRestartJobAndIgnoreMaxRestarts,
};

struct FailurePolicyRule {
  std::string name;  // empty in the file: failurePolicyRule<index>
  FailureAction action = FailureAction::kRestartJobSet;
  std::vector<std::string> on_job_failure_reasons;
  std::vector<std::string> on_job_failure_message_patterns;
  std::vector<std::string> target_replicated_jobs;
  bool operator==(const FailurePolicyRule&) const = default;
};

// InPlaceRestart (upstream v0.12) restarts in place: here every restart
// does (the daemons stay, processes are replaced), so all three behave
// like Recreate except that BlockingRecreate waits for the old processes.
enum class RestartStrategy { kRecreate, kBlockingRecreate, kInPlaceRestart };

struct FailurePolicy {
  int64_t max_restarts = 0;
  RestartStrategy restart_strategy = RestartStrategy::kRecreate;
  std::vector<FailurePolicyRule> rules;
  bool operator==(const FailurePolicy&) const = default;
};

enum class StartupOrder { kAnyOrder, kInOrder };

struct Coordinator {
  std::string replicated_job;
  int64_t job_index = 0;
  int64_t pod_index = 0;
  bool operator==(const Coordinator&) const = default;
};

struct JobSet {
  std::string name;
  std::vector<ReplicatedJob> replicated_jobs;
  Network network;
  SuccessPolicy success_policy;
  std::optional<FailurePolicy> failure_policy;  // unset: first failure fails
  StartupOrder startup_order = StartupOrder::kAnyOrder;
  std::optional<Coordinator> coordinator;
  std::string exclusive_topology;  // JobSet-wide default for replicated jobs
  std::optional<bool> node_selector_strategy;
  bool suspend = false;
  std::optional<int64_t> ttl_seconds_after_finished;
  std::string managed_by;
  // metadata.namespace of a Kubernetes manifest (empty: "default"): what
  // valueFrom metadata.namespace reads, and part of the job-key label.
  std::string namespace_name;
  // Kubernetes' $(VAR) expansion of env values, command and args ("$$" is
  // "$"). A Kubernetes manifest has it (set when some value holds "$(" or
  // "$$", the only text it changes); the native TOML only when asked
  // (expand_references = true), so that shell one-liners keep their "$$".
  bool expand_references = false;

  const std::string& subdomain() const {
    return network.subdomain.empty() ? name : network.subdomain;
  }
  bool operator==(const JobSet&) const = default;
};

// Names as they appear in files, and back. Parsers return false for an
// unknown name so that the caller can report it with its position.
const char* to_string(PodFailureAction a);
const char* to_string(ExitCodeOperator o);
const char* to_string(DependencyStatus s);
const char* to_string(SuccessOperator o);
const char* to_string(FailureAction a);
const char* to_string(RestartStrategy s);
const char* to_string(StartupOrder o);
bool parse_enum(const std::string& s, PodFailureAction& out);
bool parse_enum(const std::string& s, ExitCodeOperator& out);
bool parse_enum(const std::string& s, DependencyStatus& out);
bool parse_enum(const std::string& s, SuccessOperator& out);
bool parse_enum(const std::string& s, FailureAction& out);
bool parse_enum(const std::string& s, RestartStrategy& out);
bool parse_enum(const std::string& s, StartupOrder& out);

// Every accepted spelling of an enum (the argument only selects the type).
const std::vector<std::string>& enum_names(PodFailureAction);
const std::vector<std::string>& enum_names(ExitCodeOperator);
const std::vector<std::string>& enum_names(DependencyStatus);
const std::vector<std::string>& enum_names(SuccessOperator);
const std::vector<std::string>& enum_names(FailureAction);
const std::vector<std::string>& enum_names(RestartStrategy);
const std::vector<std::string>& enum_names(StartupOrder);

// The failure reasons a Job can end with (on_job_failure_reasons).
const std::vector<std::string>& job_failure_reasons();

}  // namespace jobset::launcher
