// Kubernetes' valueFrom.fieldRef off Kubernetes: which field paths of a
// pod have a meaning for a jobset process, and where their value comes
// from. Kubernetes' JobSet controller labels and annotates every pod
// (jobset.sigs.k8s.io/job-index, ...), and its Job controller adds the
// completion index; jobset exports the same facts as variables, so a
// fieldRef is read from jobset's own variable of the same meaning.
// Pure; the values are filled in per process by launcher/run/process_spec.
#pragma once

#include <optional>
#include <string>

namespace jobset::launcher {

// The source of `path`'s value: the name of jobset's variable that holds it
// (JOB_INDEX, JOBSET_HOSTNAME, JOBSET_NODE, ...), or one of the facts that
// jobset does not export: "pod:namespace", "pod:job-name", "pod:job-key",
// "pod:address" (the node's address: status.podIP and status.hostIP).
// Nothing when the path has no meaning here.
std::optional<std::string> field_ref_source(const std::string& path);

// The key of "metadata.labels['KEY']" or "metadata.annotations['KEY']"
// (either quote), or nothing for other paths.
std::optional<std::string> field_ref_key(const std::string& path);

}  // namespace jobset::launcher
