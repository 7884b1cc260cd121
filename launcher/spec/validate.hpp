// The JobSet rules that span fields (JOBSET-SEMANTICS.md, "Bad input"):
// names and generated names, references between replicated jobs, policies,
// the coordinator. Each problem becomes a Diagnostic at the position the
// SourceMap recorded for the field, so the user sees file:line:column.
// Types and ranges of single fields are the decoders' job.
#pragma once

#include "launcher/spec/diagnostic.hpp"
#include "launcher/spec/document.hpp"
#include "launcher/spec/spec.hpp"

namespace jobset::launcher {

// Fills what the Kubernetes webhook defaults (failure rule names).
void apply_defaults(JobSet& js);

// `format` picks the field names messages use: the file's own (snake_case
// in TOML, camelCase in Kubernetes YAML), and the YAML-only rules (a
// Kubernetes Job has no completions default when parallelism is set).
void validate(const JobSet& js, const SourceMap& where, Diagnostics& diags,
              Format format = Format::kToml);

// More replicas than this on a replicated job are refused when a failure
// policy rule restarts single jobs (upstream: status.jobRestarts holds at
// most 1024 entries).
inline constexpr int64_t kMaxReplicasWithRestartJob = 1024;

// The longest process name a replicated job generates may have at most this
// many characters: 63 for a DNS label, less the 6 Kubernetes keeps for the
// pod's random suffix (so that files valid here stay valid on Kubernetes).
inline constexpr size_t kMaxProcessNameLength = 57;
inline constexpr size_t kMaxDnsLabelLength = 63;

// Empty when `s` is a DNS-1035 label; otherwise why not.
std::string dns1035_problem(const std::string& s);

}  // namespace jobset::launcher
