// A parsed file as a plain tree with positions, the same shape for TOML and
// YAML, so that one set of decoders can read either with exact line and
// column in every message. TOML values keep their types; YAML scalars stay
// text (kScalar) and are typed by the decoder that knows what it expects.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "launcher/spec/diagnostic.hpp"

namespace jobset::launcher {

struct Node {
  enum class Kind { kNull, kBool, kInt, kFloat, kString, kScalar, kArray, kTable, kOther };

  Node();  // out of line: clang needs Node complete for pair<string, Node>

  Kind kind = Kind::kNull;
  Mark mark;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string text;         // kString, kScalar; for kOther the value as written
  bool quoted = false;      // a YAML scalar written in quotes: always a string
  std::vector<Node> items;  // kArray
  std::vector<std::pair<std::string, Node>> fields;  // kTable, in file order
  std::vector<Mark> key_marks;                       // kTable: where each key is

  const Node* get(std::string_view key) const;
};

// Human words for a node's type and value, for "found ..." in messages.
std::string describe(const Node& n);

enum class Format { kToml, kYaml };

// Limits that keep hostile input from exhausting memory or stack; the
// tree's depth and size limits (kMaxDepth, kMaxNodes) are in prescan.hpp,
// which checks them before the parsers run.
inline constexpr size_t kMaxFileBytes = 4u << 20;  // Kubernetes objects stay under ~1.5 MB

// Parse `text`; on a syntax error, report it with its position and return
// nothing. YAML input must hold exactly one document (others are skipped
// only when they are empty).
std::optional<Node> parse_toml(std::string_view text, Diagnostics& diags);
std::optional<Node> parse_yaml(std::string_view text, Diagnostics& diags);

// Which format a file is in: by extension (.toml, .yaml, .yml, .json),
// else by content (a line starting with "apiVersion:" or "---" is YAML).
Format guess_format(const std::string& path, std::string_view text);

}  // namespace jobset::launcher
