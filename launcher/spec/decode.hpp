// From a parsed file to the JobSet model. decode_native reads jobset's own
// TOML layout; decode_kubernetes reads a Kubernetes JobSet manifest
// (apiVersion jobset.x-k8s.io/v1alpha2) unchanged, taking the pod's first
// container as the process and listing Kubernetes-only fields as ignored.
// Both record every field's position in ctx.where under the model's path,
// and report type errors and unknown fields into ctx.diags; the rules that
// span fields are the validator's (validate.hpp).
#pragma once

#include <functional>
#include <map>

#include "launcher/spec/field_reader.hpp"
#include "launcher/spec/spec.hpp"

namespace jobset::launcher {

JobSet decode_native(const Node& root, ReadContext& ctx);
JobSet decode_kubernetes(const Node& root, ReadContext& ctx);

// Kubernetes quantities: "500m" cores -> 0.5; "16Gi" bytes -> 17179869184.
// Return nothing when the text is not a quantity.
std::optional<double> parse_cpu_quantity(const std::string& s);
std::optional<int64_t> parse_memory_quantity(const std::string& s);

// Reads one `resources` table value (cpus, memory) the way both formats
// allow it: a number, or a Kubernetes quantity string.
void read_cpus(const Node& n, ReadContext& ctx, const std::string& display, double& out);
void read_memory(const Node& n, ReadContext& ctx, const std::string& display, int64_t& out);

// ---- shared by both readers (decode_shared.cpp) ----

enum class Spelling { kSnake, kCamel };  // TOML keys, YAML keys

// `n` must be a list of tables; `item` reads each (finish() is called for it).
void read_list(const Node& n, ReadContext& ctx, const std::string& native, const std::string& display,
               const std::string& what, const std::function<void(FieldReader&)>& item);
void read_pod_failure_rules(const Node& n, ReadContext& ctx, const std::string& native,
                            const std::string& display, Spelling sp, std::vector<PodFailureRule>& out);
void read_dependencies(const Node& n, ReadContext& ctx, const std::string& native, const std::string& display,
                       std::vector<Dependency>& out);
void read_failure_rules(const Node& n, ReadContext& ctx, const std::string& display, Spelling sp,
                        std::vector<FailurePolicyRule>& out);

// An env entry whose value is a Kubernetes fieldRef `path`: kept when the
// path has a meaning here (field_ref.hpp), else given the value of the
// pod's own label or annotation it names (`pod_metadata`: path -> value),
// else left unset with one warning naming the variable.
void add_field_ref(const std::string& name, const std::string& path,
                   const std::map<std::string, std::string>& pod_metadata, Mark mark,
                   const std::string& display, ReadContext& ctx, EnvList& env);

}  // namespace jobset::launcher
