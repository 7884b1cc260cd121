// Helpers for the launcher tests: load a JobSet from text and look at the
// diagnostics it produced; a temporary folder for files a test writes.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "launcher/spec/load.hpp"
#include "tests/scratch.hpp"

namespace jobset::launcher::testing {

struct Loaded {
  std::optional<LoadedJobSet> js;
  Diagnostics diags{"test.toml"};
};

inline Loaded load(const std::string& text, Format format = Format::kToml) {
  Loaded l;
  l.diags = Diagnostics(format == Format::kToml ? "test.toml" : "test.yaml");
  l.js = load_jobset_text(text, format, l.diags);
  return l;
}

inline Loaded load_yaml(const std::string& text) { return load(text, Format::kYaml); }

// The first diagnostic whose message contains `needle`, or null.
inline const Diagnostic* find(const Diagnostics& d, const std::string& needle) {
  for (const Diagnostic& x : d.all())
    if (x.message.find(needle) != std::string::npos) return &x;
  return nullptr;
}

inline std::string example(const std::string& name) {
  return jobset_test::slurp(std::string(JOBSET_SRCDIR) + "/examples/" + name);
}

// A valid JobSet in TOML with `extra` appended (TOML tables may follow).
inline std::string minimal(const std::string& extra = "") {
  return "name = \"js\"\n"
         "[[replicated_jobs]]\n"
         "name = \"workers\"\n"
         "replicas = 2\n"
         "[replicated_jobs.template]\n"
         "parallelism = 3\n"
         "command = [\"true\"]\n" +
         extra;
}

// A temporary folder, removed with everything in it.
struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/jobset-test.XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Writes `text` to the file `name` in the folder; returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name, std::ios::binary) << text;
    return path + "/" + name;
  }
};

}  // namespace jobset::launcher::testing

// Asserts that loading failed with an error containing `needle` at `line`
// (and `col` when not 0), and that the diagnostic names `path`.
#define REQUIRE_ERROR_AT(loaded, needle, at_line, at_col, at_path)            \
  do {                                                                        \
    INFO((loaded).diags.to_string());                                         \
    REQUIRE_FALSE((loaded).js.has_value());                                   \
    const auto* d_ = jobset::launcher::testing::find((loaded).diags, needle); \
    REQUIRE(d_ != nullptr);                                                   \
    CHECK(d_->severity == jobset::launcher::Severity::kError);                \
    CHECK(d_->mark.line == (at_line));                                        \
    if ((at_col) != 0) CHECK(d_->mark.column == (at_col));                    \
    CHECK(d_->path == (at_path));                                             \
  } while (0)
