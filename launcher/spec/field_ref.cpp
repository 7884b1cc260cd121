// The fieldRef paths of field_ref.hpp, checked against upstream JobSet
// v0.12 (api/jobset/v1alpha2 and pkg/constants: the labels and annotations
// labelAndAnnotateObject puts on every pod) and Kubernetes' Job controller
// (batch.kubernetes.io/job-completion-index, job-name).
#include "launcher/spec/field_ref.hpp"

#include <map>

namespace jobset::launcher {

namespace {

// Labels and annotations (the same keys and values on both) of a pod.
const std::map<std::string, std::string>& pod_keys() {
  static const std::map<std::string, std::string> keys = {
      {"jobset.sigs.k8s.io/jobset-name", "JOBSET_NAME"},
      {"jobset.sigs.k8s.io/replicatedjob-name", "REPLICATED_JOB_NAME"},
      {"jobset.sigs.k8s.io/replicatedjob-replicas", "REPLICATED_JOB_REPLICAS"},
      {"jobset.sigs.k8s.io/global-replicas", "JOBSET_GLOBAL_REPLICAS"},
      {"jobset.sigs.k8s.io/job-index", "JOB_INDEX"},
      {"jobset.sigs.k8s.io/job-global-index", "JOB_GLOBAL_INDEX"},
      {"jobset.sigs.k8s.io/restart-attempt", "JOBSET_RESTART_ATTEMPT"},
      // KEP-262's per-job restart count (RestartJob rules).
      {"jobset.sigs.k8s.io/job-restart-attempt", "JOBSET_JOB_RESTART_ATTEMPT"},
      {"jobset.sigs.k8s.io/group-name", "JOBSET_GROUP_NAME"},
      {"jobset.sigs.k8s.io/group-replicas", "JOBSET_GROUP_REPLICAS"},
      {"jobset.sigs.k8s.io/job-group-index", "JOBSET_JOB_GROUP_INDEX"},
      {"jobset.sigs.k8s.io/coordinator", "JOBSET_COORDINATOR"},
      {"jobset.sigs.k8s.io/job-key", "pod:job-key"},
      {"batch.kubernetes.io/job-completion-index", "JOB_COMPLETION_INDEX"},
      {"batch.kubernetes.io/job-name", "pod:job-name"},
      {"job-name", "pod:job-name"},
  };
  return keys;
}

}  // namespace

std::optional<std::string> field_ref_key(const std::string& path) {
  for (const char* prefix : {"metadata.labels[", "metadata.annotations["}) {
    std::string p = prefix;
    if (path.compare(0, p.size(), p) != 0 || path.size() < p.size() + 3 || path.back() != ']')
      continue;
    char quote = path[p.size()];
    if ((quote != '\'' && quote != '"') || path[path.size() - 2] != quote) continue;
    return path.substr(p.size() + 1, path.size() - p.size() - 3);
  }
  return std::nullopt;
}

std::optional<std::string> field_ref_source(const std::string& path) {
  static const std::map<std::string, std::string> fields = {
      {"metadata.name", "JOBSET_HOSTNAME"}, {"metadata.namespace", "pod:namespace"},
      {"spec.nodeName", "JOBSET_NODE"},     {"status.podIP", "pod:address"},
      {"status.hostIP", "pod:address"},
  };
  if (auto it = fields.find(path); it != fields.end()) return it->second;
  if (auto key = field_ref_key(path))
    if (auto it = pod_keys().find(*key); it != pod_keys().end()) return it->second;
  return std::nullopt;
}

}  // namespace jobset::launcher
