// The `jobset` command line: parsing, dispatch to the commands, and the
// one place that turns outcomes into exit codes (jobset(1), EXIT STATUS).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace jobset::launcher {

enum ExitCode : int {
  kExitSuccess = 0,
  kExitInternal = 1,
  kExitBadInput = 2,
  kExitDoesNotFit = 3,
  kExitTimeout = 124,
};

// `program` is argv[0], `args` the rest. Output goes to `out`, diagnostics
// and the closing reason to `err`.
int run_cli(const std::string& program, const std::vector<std::string>& args, std::ostream& out,
            std::ostream& err);

}  // namespace jobset::launcher
