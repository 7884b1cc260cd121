// Starting node daemons on this machine: one jobsetd per local or
// simulated node, forked by the launcher. Each gets the run's key on its
// stdin (never on its command line or in a file), dies with the launcher
// (PR_SET_PDEATHSIG) and lives in its own process group.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.hpp"

namespace jobset::launcher {

class LocalDaemons {
 public:
  LocalDaemons() = default;
  LocalDaemons(LocalDaemons&& o) noexcept : pids_(std::move(o.pids_)) { o.pids_.clear(); }
  LocalDaemons& operator=(LocalDaemons&& o) noexcept;
  ~LocalDaemons() { wait_or_kill(0); }

  const std::vector<pid_t>& pids() const { return pids_; }
  // Reaps daemons that have exited; returns how many did.
  int reap_exited();
  // SIGTERM to every daemon still running.
  void terminate();
  // Waits up to `seconds` for the daemons to exit, then SIGKILLs and reaps
  // the rest. Idempotent.
  void wait_or_kill(double seconds);

 private:
  friend Result<LocalDaemons> start_local_daemons(const std::vector<std::string>&, const std::string&,
                                                  const std::string&, const std::string&);
  std::vector<pid_t> pids_;
};

// Starts `jobsetd --connect ADDRESS --node NAME` for each name.
Result<LocalDaemons> start_local_daemons(const std::vector<std::string>& node_names,
                                         const std::string& launcher_address, const std::string& key_bytes,
                                         const std::string& jobsetd_path);

// Where jobsetd is: $JOBSET_JOBSETD, else beside this executable, else in
// the build tree (../runtime/jobsetd), else "jobsetd" from PATH.
std::string find_jobsetd(const std::string& argv0);

}  // namespace jobset::launcher
