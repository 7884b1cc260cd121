// `jobset run`: runs a plan. run_jobset() is the edge where the run driver
// (run_driver.hpp) meets the OS: a libevent loop, the daemons' authenticated
// TCP links (runtime/link.hpp), signals, the events file and the terminal.
// Where the daemons come from is the Starter's business (starter.hpp).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "launcher/plan/plan.hpp"
#include "launcher/run/output_sink.hpp"
#include "launcher/run/process_spec.hpp"
#include "launcher/spec/spec.hpp"

namespace jobset::launcher {

class Starter;

struct RunOptions {
  std::vector<std::pair<std::string, std::string>> exports;  // -x, resolved
  OutputOptions output;
  std::string events_file;              // --events
  std::optional<double> timeout;        // --timeout seconds
  std::optional<int64_t> max_restarts;  // --max-restarts
  bool quiet = false;
  bool verbose = false;
  bool report_bindings = false;  // --report-bindings
  bool adhoc = false;            // an mpirun-style `-n N CMD` run: failures said the mpirun way
  MpiWireup mpi = MpiWireup::kAll;  // --mpi
  int grace_ms = 3000;           // TERM -> KILL when stopping processes
  // The address this machine's processes are reached at (--address-from,
  // resolved); empty: 127.0.0.1. Only for a run of one node here.
  std::string node_address;
  std::string jobsetd;           // path of the daemon binary
  std::string program;           // argv[0] of jobset, to find jobsetd
};

// Runs `js` as planned, with daemons from `starter`; returns the exit code
// of jobset(1), EXIT STATUS. The last line written to `err` says why the
// run ended.
int run_jobset(const JobSet& js, const Plan& plan, const RunOptions& options, Starter& starter,
               std::ostream& err);

}  // namespace jobset::launcher
