// The one place a process's runtime::ProcessSpec is built: argv, working
// directory, binding, and the whole environment. The environment has three
// layers, later ones winning over earlier ones for the same name:
//
//   1. jobset's variables: the indexes of the process in the JobSet
//      (JOBSET_*, RANK, WORLD_SIZE, JAX_*, MEGASCALE_*, OMPI_COMM_WORLD_*,
//      MPI_APPNUM, TORCHELASTIC_*), its place on the node (LOCAL_RANK,
//      GROUP_RANK, JOBSET_NODE, OMP_NUM_THREADS=1 when it shares the node),
//      the coordinator (MASTER_ADDR, MASTER_PORT, JAX_COORDINATOR_ADDRESS,
//      MEGASCALE_COORDINATOR_ADDRESS, each its own port) and its
//      devices (CUDA_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES,
//      TPU_VISIBLE_CHIPS, JOBSET_ACCELERATORS);
//   2. the file's env (a user who sets RANK or CUDA_VISIBLE_DEVICES means it),
//      in file order, each value expanded as Kubernetes expands $(VAR)
//      when the JobSet asks for it (expand_references: Kubernetes YAML)
//      (jobset's variables and the entries before it; $$ is $; an unknown
//      reference stays as written); a valueFrom.fieldRef entry gets the
//      value the pod would have read (spec/field_ref.hpp), or stays unset;
//   3. -x on the command line.
//
// The command and args are then expanded the same way against the whole
// environment.
//
// Each name appears once in the result. jobsetd sets it on top of its own
// environment and adds nothing. Pure: no I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "launcher/plan/plan.hpp"
#include "launcher/spec/spec.hpp"
#include "runtime/messages.hpp"

namespace jobset::launcher {

using Env = std::vector<std::pair<std::string, std::string>>;

// Which MPI wire-up the processes are offered (--mpi). kAll offers every
// one built (PMI-1 today; PMIx beside it later); kNone sets none of the
// variables that make an MPI library think a launcher started it
// (PMI_*, OMPI_*), so each process is an MPI world of its own.
enum class MpiWireup { kAll, kPmix, kPmi1, kNone };

// What the specs of a run share, fixed for the whole run.
struct SpecSettings {
  MpiWireup mpi = MpiWireup::kAll;
  int64_t max_restarts = 0;      // effective: --max-restarts, else the file's, else 0
  // MASTER_ADDR, JOBSET_COORDINATOR and the JAX/Megascale coordinator
  // host: the coordinator's (or rank 0's) FQDN when the run's names
  // resolve (the NSS module), its address otherwise (run.cpp decides).
  std::string coordinator_host;
  // Distinct ports chosen per run, so that servers in one process do not collide.
  int master_port = 0;     // MASTER_PORT (torch.distributed)
  int jax_port = 0;        // JAX_COORDINATOR_ADDRESS
  int megascale_port = 0;  // MEGASCALE_COORDINATOR_ADDRESS
  // OMP_NUM_THREADS=1 for processes that share a node, as torchrun does;
  // false when the launcher's environment sets it (then that value stays).
  bool default_omp_threads = true;
  Env exports;  // -x, in command-line order
  // Per rank: declared port -> the port it got (names.hpp), exported as
  // JOBSET_PORT_<declared>. Empty: the declared ports as they are.
  std::vector<std::map<std::string, int>> ports;
  // Per node of the plan: its address (what status.podIP and status.hostIP
  // read). Empty: those fieldRefs stay unset.
  std::vector<std::string> node_addresses;
};

// Kubernetes' $(VAR) expansion: "$$" is "$", "$(NAME)" is NAME's value when
// `lookup` has one, else it stays as written; any other '$' is kept.
std::string expand_references(const std::string& text,
                              const std::function<const std::string*(const std::string&)>& lookup);

// The effective max_restarts: the flag when given, else the file's failure policy's, else 0.
int64_t effective_max_restarts(const JobSet& js, std::optional<int64_t> flag);

class ProcessSpecs {
 public:
  // REQUIRES: `plan` is a plan of `js`; both outlive this object.
  ProcessSpecs(const JobSet& js, const Plan& plan, SpecSettings settings);

  // The spec of one instance of process `rank` in restart attempt `attempt`.
  // `job_attempt`: restarts of its job alone (RestartJob) in this attempt.
  runtime::ProcessSpec build(int32_t rank, uint64_t launch, int attempt, int job_attempt = 0) const;
  // Its environment alone (the three layers, resolved).
  Env environment(int32_t rank, int attempt, int job_attempt = 0) const;
  // Whether jobset's layer sets OMP_NUM_THREADS=1 for some process.
  bool sets_omp_threads() const;

  // Process `rank` was moved to another node (the plan's slot changed,
  // launcher/plan/relocate.hpp): it takes the next local rank there, the
  // processes already there keep theirs, and all of them count it in
  // their local size.
  void moved(int32_t rank);
  const std::string& coordinator_host() const { return settings_.coordinator_host; }
  void set_coordinator_host(std::string host) { settings_.coordinator_host = std::move(host); }

 private:
  Env jobset_variables(int32_t rank, int attempt, int job_attempt) const;
  // The value of a fieldRef source (field_ref.hpp) for process `rank`.
  std::optional<std::string> pod_fact(const std::string& source, int32_t rank, const Env& jobset) const;

  const JobSet& js_;
  const Plan& plan_;
  SpecSettings settings_;
  std::vector<int32_t> local_rank_, local_size_;  // per rank, from the placement
  std::string pmi_mapping_;                       // PMI_process_mapping, from the placement
};

}  // namespace jobset::launcher
