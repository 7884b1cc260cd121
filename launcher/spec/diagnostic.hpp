// Where a problem is and what it is. Parsing and validation collect every
// problem of a file in one pass as Diagnostics; nothing is started when one
// of them is an error. A SourceMap remembers, for each field path of the
// model (native snake_case path such as "replicated_jobs[1].replicas"),
// where the field was written and how the file itself spells that path
// (for YAML: "spec.replicatedJobs[1].replicas").
#pragma once

#include <map>
#include <string>
#include <vector>

namespace jobset::launcher {

struct Mark {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
};

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;
  Mark mark;
  std::string path;     // field path as the file spells it; may be empty
  std::string message;  // what was expected and what was found
};

// "file:line:col: error: path: message"
std::string format(const Diagnostic& d);

class Diagnostics {
 public:
  explicit Diagnostics(std::string file = "") : file_(std::move(file)) {}

  void error(Mark m, std::string path, std::string message);
  void warning(Mark m, std::string path, std::string message);

  const std::string& file() const { return file_; }
  const std::vector<Diagnostic>& all() const { return all_; }
  size_t error_count() const;
  size_t warning_count() const { return all_.size() - error_count(); }
  bool has_errors() const { return error_count() > 0; }
  // Every diagnostic, one per line, in file order (errors before warnings
  // on the same line).
  std::string to_string() const;

 private:
  std::string file_;
  std::vector<Diagnostic> all_;
};

struct Location {
  Mark mark;
  std::string display_path;  // as the file spells it
};

class SourceMap {
 public:
  void add(const std::string& path, Mark mark, std::string display_path) {
    entries_[path] = Location{mark, std::move(display_path)};
  }
  void add_if_absent(const std::string& path, Mark mark, std::string display_path) {
    entries_.try_emplace(path, Location{mark, std::move(display_path)});
  }
  bool has(const std::string& path) const { return entries_.count(path) != 0; }
  // The location of `path`, or of its closest recorded parent; a path with
  // no record at all gets line 0 and itself as the display path.
  Location find(const std::string& path) const;

 private:
  std::map<std::string, Location> entries_;
};

// "replicated_jobs" + 3 -> "replicated_jobs[3]"
inline std::string indexed(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// `s` with control characters and bytes 0x7f shown as \xNN, so that text
// from a file can go into a message or a comment line safely.
std::string printable(const std::string& s);

// The closest of `candidates` to `word` by edit distance, or "" when none
// is close enough to be a plausible typo.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace jobset::launcher
