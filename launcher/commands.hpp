// The commands of `jobset`, one function each: load the input, call the
// rooms (spec, nodes, plan, run), print, and return the exit code of
// jobset(1), EXIT STATUS. cli.cpp parses the flags into these arguments.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "launcher/nodes/node_sources.hpp"
#include "launcher/plan/map_policy.hpp"
#include "launcher/run/run.hpp"

namespace jobset::launcher {

// A JobSet file, or an mpirun-style part (everything from the first -n on).
struct Input {
  std::string file;
  std::vector<std::string> adhoc;
  bool ignore_unsupported = false;  // --ignore-unsupported (jobset-file(5))
};

struct RunFlags {
  std::vector<std::string> exports;  // -x VAR or VAR=VALUE
  double timeout = 0;
  int64_t max_restarts = -1;
  std::string address_from;  // --address-from IFACE|CIDR
};

int cmd_validate(const std::vector<std::string>& files, bool quiet, bool ignore_unsupported,
                 std::ostream& out, std::ostream& err);
int cmd_convert(const Input& in, const std::string& output, std::ostream& out, std::ostream& err);
int cmd_plan(const Input& in, const NodeSource& ns, const MapFlags& map, const std::string& format,
             const std::string& output, std::ostream& out, std::ostream& err);
int cmd_run(const Input& in, const NodeSource& ns, const MapFlags& map, const RunFlags& flags,
            RunOptions options, std::ostream& err);

}  // namespace jobset::launcher
