// Typed, position-aware reading of one table of a parsed file. Each read
// records where the field was (for later validation messages), checks the
// type, and remembers the key as known; finish() then reports every key
// nobody read, with a did-you-mean among the known ones: a warning for
// JobSet files, an error for files that allow no unknown keys (the cluster
// file). Errors are collected, never thrown, so one pass reports every
// problem of a file. They read "PATH: expected WHAT, found WHAT-IS-THERE"
// at the value's line and column, in every file this reads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "launcher/spec/document.hpp"
#include "launcher/spec/spec.hpp"

namespace jobset::launcher {

// Shared by every reader of one file.
struct ReadContext {
  Diagnostics& diags;
  SourceMap& where;
  std::vector<std::string> ignored;  // Kubernetes-only fields seen, by display path
  // --ignore-unsupported: fields whose dropping changes what the job does
  // (shared volumes) are ignored with a warning instead of refused.
  bool ignore_unsupported = false;
};

// Reports "PATH: expected WHAT, found ..." (describe(n)) at the node.
void report_expected(const Node& n, ReadContext& ctx, const std::string& path,
                     const std::string& what);

// Accessors for single values. They report "expected ..., found ..." at the
// node and return nothing when the node does not hold that type. YAML plain
// scalars convert; quoted YAML scalars and TOML strings are only strings.
std::optional<int64_t> read_int(const Node& n, ReadContext& ctx, const std::string& path,
                                int64_t min, int64_t max);
std::optional<bool> read_bool(const Node& n, ReadContext& ctx, const std::string& path);
// `what` names the string expected ("a hostlist expression like ...").
std::optional<std::string> read_string(const Node& n, ReadContext& ctx, const std::string& path,
                                       const std::string& what = "a string");
std::optional<double> read_number(const Node& n, ReadContext& ctx, const std::string& path);
void read_strings(const Node& n, ReadContext& ctx, const std::string& path,
                  std::vector<std::string>& out);

class FieldReader {
 public:
  // `native` is the model's path of this table ("replicated_jobs[0]"),
  // `display` how the file spells it ("spec.replicatedJobs[0]"). A node
  // that is not a table is reported, and every read then finds nothing.
  FieldReader(const Node& table, std::string native, std::string display, ReadContext& ctx);

  // The value of `key` (spelled as in the file), or null when absent. The
  // field is recorded under `native_key` (default: `key`).
  const Node* take(const std::string& key, const std::string& native_key = "");

  void read(const std::string& key, std::string& out, const std::string& native_key = "");
  void read(const std::string& key, bool& out, const std::string& native_key = "");
  void read(const std::string& key, std::optional<bool>& out, const std::string& native_key = "");
  void read(const std::string& key, int64_t& out, int64_t min, int64_t max,
            const std::string& native_key = "");
  void read(const std::string& key, std::optional<int64_t>& out, int64_t min, int64_t max,
            const std::string& native_key = "");
  void read(const std::string& key, std::vector<std::string>& out,
            const std::string& native_key = "");
  void read(const std::string& key, std::map<std::string, std::string>& out,
            const std::string& native_key = "");
  void read(const std::string& key, std::vector<int64_t>& out, int64_t min, int64_t max,
            const std::string& native_key = "");

  // An enum of spec.hpp, spelled as in the Kubernetes API.
  template <typename E>
  void read_enum(const std::string& key, E& out, const std::string& native_key = "") {
    const Node* n = take(key, native_key);
    if (!n) return;
    auto s = read_string(*n, ctx_, child_display(key));
    if (!s) return;
    if (!parse_enum(*s, out)) bad_enum(*n, key, *s, enum_names(out));
  }

  // Reports a missing field that has no default (as in Kubernetes).
  void require(const std::string& key, const std::string& what);

  // Accept `keys` without meaning: each present one is listed as ignored.
  void ignore(const std::vector<std::string>& keys);

  // An upstream field jobset recognises but does not support: when present,
  // "not supported off Kubernetes because WHY" at its key, an error (the
  // file is refused) or a warning (the field is ignored). Never an
  // "unknown field".
  void unsupported(const std::string& key, const std::string& why, Severity severity);

  // Report every key no read asked for: a warning that it is ignored, or
  // (kError) an error that also lists the known keys when no guess is close.
  void finish(Severity unknown = Severity::kWarning);

  std::string child_native(const std::string& native_key) const;
  std::string child_display(const std::string& key) const;
  const std::string& native() const { return native_; }
  const std::string& display() const { return display_; }
  bool is_table() const { return table_ != nullptr; }
  ReadContext& ctx() { return ctx_; }

 private:
  void record_items(const Node& list, const std::string& key, const std::string& native_key);
  void bad_enum(const Node& n, const std::string& key, const std::string& found,
                const std::vector<std::string>& names);

  const Node* table_ = nullptr;
  std::string native_;
  std::string display_;
  ReadContext& ctx_;
  std::vector<std::string> known_;
  std::vector<bool> used_;
};

}  // namespace jobset::launcher
