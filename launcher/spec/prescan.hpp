// Cheap passes over a file before the parsers see it, for input that would
// crash, hang or exhaust them (found by the robustness tests and the
// fuzzer): TOML keys with thousands of dotted parts, and for YAML bytes
// that are not UTF-8, a document start the parser loops on, alias bombs
// and documents of too many values.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "launcher/spec/diagnostic.hpp"

namespace jobset::launcher {

// Limits of a parsed document, checked here before parsing and again by
// the parsers (document.cpp) while they build the tree.
inline constexpr int kMaxDepth = 64;
inline constexpr size_t kMaxNodes = 1u << 20;

struct PrescanProblem {
  Mark mark;
  std::string message;
};

std::optional<PrescanProblem> prescan_toml(std::string_view text);

// REQUIRES: `text` is what the YAML parser will read. YAML syntax errors
// found on the way propagate as YAML::Exception.
std::optional<PrescanProblem> prescan_yaml(const std::string& text);

}  // namespace jobset::launcher
