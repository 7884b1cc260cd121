// Reading a JobSet file end to end: bytes -> tree -> model -> defaults ->
// validation. Every problem lands in the Diagnostics; the model is returned
// only when there is no error, so a caller that got one may start it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "launcher/spec/diagnostic.hpp"
#include "launcher/spec/document.hpp"
#include "launcher/spec/spec.hpp"

namespace jobset::launcher {

struct LoadedJobSet {
  JobSet jobset;
  SourceMap where;
  Format format = Format::kToml;
  std::vector<std::string> ignored;  // Kubernetes-only fields, as the file spells them
};

struct LoadOptions {
  // --ignore-unsupported: run without upstream fields whose dropping
  // changes what the job does (volumeClaimPolicies), with a warning.
  bool ignore_unsupported = false;
};

// Pure: `text` is the file's content, `diags.file()` its name.
std::optional<LoadedJobSet> load_jobset_text(std::string_view text, Format format,
                                             Diagnostics& diags, LoadOptions options = {});

// Reads the file (the I/O edge) and loads it; the format is guessed from
// the name and content. A file that cannot be read is an error diagnostic.
std::optional<LoadedJobSet> load_jobset_file(const std::string& path, Diagnostics& diags,
                                             LoadOptions options = {});

}  // namespace jobset::launcher
