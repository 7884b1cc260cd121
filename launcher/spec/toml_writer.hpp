// The native TOML form of a JobSet model: what `jobset convert` prints.
// Defaults are left out so the file says only what the input said; the
// output read back gives the same model (tested both ways).
#pragma once

#include <string>
#include <vector>

#include "launcher/spec/spec.hpp"

namespace jobset::launcher {

// `ignored` (Kubernetes-only fields of the input) are listed in a comment.
std::string to_toml(const JobSet& js, const std::vector<std::string>& ignored = {});

// A TOML basic string with quotes and escapes.
std::string toml_quote(const std::string& s);

}  // namespace jobset::launcher
