// Starting node daemons on this machine: one jobsetd per local or
// simulated node, forked by the launcher. Each gets the run's key on its
// stdin (never on its command line, in its environment or in a file),
// dies with the launcher (PR_SET_PDEATHSIG(SIGTERM)) and lives in its own
// process group. Not thread-safe.
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
  LocalDaemons(const LocalDaemons&) = delete;
  LocalDaemons& operator=(const LocalDaemons&) = delete;
  // SIGKILLs and reaps whatever still runs.
  ~LocalDaemons() { wait_or_kill(0); }

  // The daemons not reaped yet, in the order of the node names.
  const std::vector<pid_t>& pids() const { return pids_; }
  // Reaps daemons that have exited (without waiting); returns how many did.
  // Only these pids are waited for, never other children of the launcher.
  int reap_exited();
  // SIGTERM to every daemon still running (they stop their processes,
  // TERM then KILL after 2 s, and exit).
  void terminate();
  // Waits up to `seconds` for the daemons to exit, then SIGKILLs and reaps
  // the rest. Idempotent.
  void wait_or_kill(double seconds);
  // terminate(), then wait_or_kill(grace_seconds).
  void stop(double grace_seconds = 3.0) {
    terminate();
    wait_or_kill(grace_seconds);
  }

 private:
  friend Result<LocalDaemons> start_local_daemons(const std::vector<std::string>&,
                                                  const std::string&, const std::string&,
                                                  const std::string&);
  std::vector<pid_t> pids_;
};

// Starts `jobsetd --connect ADDRESS --node NAME` for each name. All are
// forked first and their exec checked afterwards, so N daemons start in
// about the time of one. When one cannot start ("cannot start the node
// daemon /x/jobsetd: No such file or directory"), those already started
// are killed and the error is returned.
Result<LocalDaemons> start_local_daemons(const std::vector<std::string>& node_names,
                                         const std::string& launcher_address,
                                         const std::string& key_bytes,
                                         const std::string& jobsetd_path);

// Where jobsetd is: $JOBSET_JOBSETD, else beside this executable, else in
// the build tree (../runtime/jobsetd), else "jobsetd" from PATH.
std::string find_jobsetd(const std::string& argv0);

}  // namespace jobset::launcher
