// From a parsed file to the JobSet model. decode_native reads jobset's own
// TOML layout; decode_kubernetes reads a Kubernetes JobSet manifest
// (apiVersion jobset.x-k8s.io/v1alpha2) unchanged, taking the pod's first
// container as the process and listing Kubernetes-only fields as ignored.
// Both record every field's position in ctx.where under the model's path,
// and report type errors and unknown fields into ctx.diags; the rules that
// span fields are the validator's (validate.hpp).
#pragma once

#include "launcher/field_reader.hpp"
#include "launcher/spec.hpp"

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

}  // namespace jobset::launcher
