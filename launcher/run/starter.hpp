// Starters put one jobsetd on every node of a run. Each daemon is told the
// launcher's address and gets the run's key on its stdin; it connects back
// and proves the key (runtime/auth.hpp). How it gets onto the node is the
// Starter's business: fork on this machine (LocalStarter, local_daemons),
// and later ssh and one `srun` step. The run driver only starts, stops and
// reaps through this interface, so the tests can give it a fake.
// Not thread-safe: used from the run's loop.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "topology/cluster.hpp"

namespace jobset::launcher {

class Starter {
 public:
  virtual ~Starter() = default;

  // Starts `jobsetd --connect ADDRESS --node NAME` for every name, handing
  // over `key_bytes`. On failure nothing started is left running.
  virtual Status start(const std::vector<std::string>& nodes, const std::string& launcher_address,
                       const std::string& key_bytes) = 0;
  // Reaps what has exited without waiting; returns how many did.
  virtual int reap_exited() = 0;
  // Daemons (or the local processes that carry them) not reaped yet.
  virtual size_t running() const = 0;
  // Asks every daemon to stop its processes and exit (SIGTERM).
  virtual void terminate() = 0;
  // Waits up to `seconds` for everything to exit, then kills and reaps the
  // rest. Idempotent; called on every way out of a run.
  virtual void wait_or_kill(double seconds) = 0;
};

// What the command line says about where the daemons run.
struct StarterChoice {
  // The nodes are simulated or this machine: all run here, whatever their labels.
  bool all_here = false;
  // The file that listed the nodes (--hostfile, --cluster), for messages.
  std::string listed_in;
  std::string jobsetd;  // path of the daemon binary
};

// The Starter for these nodes: local daemons when every node runs on this
// machine (all_here, or every node labelled local=true); otherwise an error
// that names the remote nodes, until the ssh and srun starters arrive.
Result<std::unique_ptr<Starter>> choose_starter(const topology::Cluster& cluster,
                                                const StarterChoice& choice);

}  // namespace jobset::launcher
