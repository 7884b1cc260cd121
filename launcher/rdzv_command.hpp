// `jobset rdzv`: the rendezvous service from the shell of a process that
// jobset started (put, get, wait, barrier, lookup, hosts), over the C++
// client of rendezvous/client.hpp. cli.cpp adds the flags with add_rdzv
// and calls cmd_rdzv when `rdzv` was the command.
#pragma once

#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace jobset::launcher {

struct RdzvArgs {
  std::string op;  // the subcommand that was parsed: put, get, wait, ...
  std::string key, value, name;
  bool persistent = false;
  double wait = 0;       // get --wait
  double timeout = 300;  // wait, barrier, lookup --timeout
  std::string scope = "all";
  std::string tag;
  bool json = false;
};

CLI::App* add_rdzv(CLI::App& app, RdzvArgs& a);

// Exit status (jobset-rdzv(1)): 0 done; 1 not found, refused, or no
// connection; 2 bad input (arguments, JOBSET_RDZV unset); 124 timed out.
int cmd_rdzv(const RdzvArgs& a, std::ostream& out, std::ostream& err);

}  // namespace jobset::launcher
