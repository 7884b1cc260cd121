// The mpirun-style command line as a JobSet: `-n 4 ./a.out` is one
// replicated job of 4 processes; `-n 1 ./driver : -n 8 ./worker` is two
// (MPMD), each part its own replicated job in order. Like mpirun, any
// failed process fails the run (backoff_limit 0, no failure policy).
// The shell has expanded the command line: it is not expanded again
// (expand_references stays false).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "launcher/spec/spec.hpp"

namespace jobset::launcher {

// Looks a variable up in the launcher's environment (for `-x VAR`).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// `args` starts at the first part's options, e.g. {"-n", "4", "./a.out",
// "x", ":", "-n", "1", "./b"}. Options of a part, before its program:
//   -n/-np N          processes (parallelism; default 1)
//   --replicas R      jobs of this part (default 1)
//   --name NAME       replicated job name (default: from the program name)
//   -x VAR[=VALUE]    set VAR (VALUE omitted: take it from `lookup`)
//   --wdir DIR        working directory
// A part that needs a literal ":" argument cannot be written this way: use
// a JobSet file.
Result<JobSet> parse_adhoc(const std::vector<std::string>& args, const EnvLookup& lookup,
                           const std::string& jobset_name = "job");

// True when `arg` starts an ad-hoc part (-n, -np, --np).
bool is_adhoc_start(const std::string& arg);

}  // namespace jobset::launcher
