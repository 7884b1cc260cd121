// `jobset run`: the launcher at run time. It starts one jobsetd per node,
// feeds the controller (controller.hpp) with what the daemons report, turns
// its actions into messages to the daemons, writes output and events, and
// handles the user's signals and --timeout. The only place of the launcher
// that owns sockets, processes and time; everything it decides comes from
// the controller.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "launcher/run/output_sink.hpp"
#include "launcher/plan/plan.hpp"
#include "launcher/spec/spec.hpp"

namespace jobset::launcher {

struct RunOptions {
  std::vector<std::pair<std::string, std::string>> exports;  // -x, resolved
  OutputOptions output;
  std::string events_file;              // --events
  std::optional<double> timeout;        // --timeout seconds
  std::optional<int64_t> max_restarts;  // --max-restarts
  bool quiet = false;
  bool verbose = false;
  bool report_bindings = false;         // --report-bindings
  int grace_ms = 3000;                  // TERM -> KILL when stopping processes
  std::string jobsetd;                  // path of the daemon binary
  std::string program;                  // argv[0] of jobset, to find jobsetd
};

// Runs `js` as planned; returns the exit code of jobset(1), EXIT STATUS.
// The last line written to `err` says why the run ended.
int run_jobset(const JobSet& js, const Plan& plan, const RunOptions& options, std::ostream& err);

}  // namespace jobset::launcher
