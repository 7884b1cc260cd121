// The JobSet controller: a pure state machine that reproduces the
// Kubernetes JobSet and Job controllers for processes (JOBSET-SEMANTICS.md,
// "Controller behaviour"). It is fed events (a process started, exited,
// failed to spawn, a deadline passed, the user interrupted) with the
// current time, and answers with actions (spawn these, stop those) and
// status events. No I/O, no clock of its own: the run driver owns sockets
// and time, the tests feed events by hand.
//
// Levels and their states:
//   process   Pending -> Starting -> Running -> Succeeded | Failed
//             (Stopping while being killed; an old instance's late events
//             are told apart by its launch id)
//   job       Active -> Succeeded | Failed(reason, message)
//   JobSet    Running -> Completed | Failed(reason), after draining: every
//             process stopped before finished() is true
// The transitions and reactions are the table kProcessTransitions and the
// rule list in controller.cpp; each cites the semantics it implements.
#pragma once

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <variant>
#include <vector>

#include "launcher/spec/expand.hpp"
#include "launcher/spec/spec.hpp"

namespace jobset::launcher {

enum class ProcState { kPending, kStarting, kRunning, kSucceeded, kFailed, kStopping };
const char* to_string(ProcState s);

// Start one process instance.
struct SpawnAction {
  int32_t rank = 0;
  uint64_t launch = 0;
  int attempt = 0;      // JOBSET_RESTART_ATTEMPT for it
  int job_attempt = 0;  // JOBSET_JOB_RESTART_ATTEMPT: RestartJob restarts of its job
};

// Stop process instances: TERM, then KILL after the grace period.
struct KillAction {
  std::vector<uint64_t> launches;
};

struct ReplicatedJobStatus {
  std::string name;
  int ready = 0;  // jobs whose every process is running or finished
  int active = 0;
  int succeeded = 0;
  int failed = 0;
  // The same replicated job counted in processes, for the status line.
  int processes_running = 0;  // starting or running
  int processes_succeeded = 0;
  int processes_failed = 0;
  // Restarts of single jobs of this replicated job (RestartJob,
  // RestartJobAndIgnoreMaxRestarts) in the current JobSet attempt.
  int job_restarts = 0;
};

struct JobSetStatus {
  std::vector<ReplicatedJobStatus> replicated_jobs;
  int restarts = 0;
  int restarts_count_towards_max = 0;
  bool terminal = false;
  std::string terminal_state;  // Completed or Failed
  std::string reason;
};

// A state change worth telling (--events, the status line, the log).
struct EventRecord {
  double time = 0;
  std::string kind;     // process_started, process_exited, job_failed, jobset_restart, ...
  std::string subject;  // process, job or JobSet name
  std::string detail;   // human words
  int attempt = 0;
  // For job_* and jobset_* events: the status at the moment of the event
  // (a job_failed shows the failure, not the restart that follows it).
  std::optional<JobSetStatus> status;
};

using Action = std::variant<SpawnAction, KillAction, EventRecord>;

struct Outcome {
  bool success = false;
  std::string
      reason;  // upstream: AllJobsCompleted, FailedJobs, ReachedMaxRestarts,
               // FailJobSetFailurePolicyAction; jobset: DeadlineExceeded, Interrupted,
               // Timeout, Stuck, NodeLost, OutputError, OutputClosed
  std::string message;  // the last line jobset prints
  int exit_code = 0;
  int32_t rank = -1;  // the process whose failure decided it, when one did
  std::string cause;  // its job's reason and message, when not simply its exit
};

struct ControllerOptions {
  std::optional<int64_t> max_restarts;  // --max-restarts: overrides the file
};

class Controller {
 public:
  // REQUIRES: `ex` is the expansion of `js`; both outlive the controller.
  Controller(const JobSet& js, const Expansion& ex, ControllerOptions options = {});

  // Inputs. Each may queue actions; take them with take_actions().
  void start(double now);
  void process_started(uint64_t launch, double now);
  // A non-empty `mpi_failure` (runtime::Exited) fails the process's job at
  // once, reason MPIFailure: a retry in place cannot rejoin its MPI world.
  void process_exited(uint64_t launch, int exit_code, int signal, double now,
                      const std::string& mpi_failure = "");
  void process_spawn_failed(uint64_t launch, const std::string& error, double now);
  // The instance's node was lost: it failed with the pod condition
  // DisruptionTarget (what on_pod_conditions rules match) and exit 137.
  void process_lost(uint64_t launch, const std::string& why, double now);
  void tick(double now);  // call at next_deadline()
  // Stop everything and end as failed: Interrupted (exit 128+signo) or,
  // with signo 0, Timeout (exit 124).
  void interrupt(int signo, double now);
  // Stop everything and end as failed for a reason of the launcher's own
  // (the output pipe closed, the disk full), with that exit code.
  void stop(std::string reason, std::string message, int exit_code, double now);

  std::vector<Action> take_actions();
  std::optional<double> next_deadline() const;

  // True once the outcome is decided and no process is left running.
  bool finished() const;
  bool decided() const { return outcome_.has_value(); }
  // REQUIRES: decided()
  const Outcome& outcome() const { return *outcome_; }
  JobSetStatus status() const;
  int attempt() const { return attempt_; }
  // The process an instance belongs to, or -1 for an unknown launch id.
  int32_t rank_of(uint64_t launch) const;

 private:
  struct Proc {
    ProcState state = ProcState::kPending;
    uint64_t launch = 0;  // current instance; 0 before the first spawn
    int attempt = 0;
  };
  struct Job {
    enum class State { kActive, kSucceeded, kFailed } state = State::kActive;
    int32_t rjob = 0;
    int32_t index = 0;
    int failures = 0;  // counted toward backoff_limit
    std::optional<double> started_at;
    std::string reason, message;
    double failed_at = 0;
    int exit_code = 1;  // of the process failure that failed it
    int restarts = 0;   // RestartJob restarts in this JobSet attempt
    int32_t failed_rank = -1;  // the process whose failure failed it
  };

  void start_eligible(double now);
  bool rjob_may_start(size_t r) const;
  bool rjob_ready(size_t r) const;
  bool rjob_complete(size_t r) const;
  void spawn(int32_t rank, double now);
  void mpi_failed(int32_t rank, int exit_code, const std::string& what, double now);
  void on_process_failure(int32_t rank, int exit_code, const std::string& what, double now,
                          bool disrupted = false);
  void fail_job(size_t job, const std::string& reason, const std::string& message, int exit_code,
                double now, int32_t rank = -1);
  void handle_failed_jobs(double now);
  static std::string cause_of(const Job& job);
  void restart_jobset(bool counts, const std::string& why, double now);
  void restart_job(size_t job, bool counts, const std::string& why, double now);
  void check_success(double now);
  void settle(double now);
  void decide(Outcome o, double now);
  void stop_live(const std::vector<int32_t>& ranks);
  void transition(int32_t rank, ProcState to);
  void event(double now, std::string kind, std::string subject, std::string detail);
  size_t job_of(int32_t rank) const;
  std::vector<int32_t> ranks_of_job(size_t job) const;
  bool any_live() const;
  int64_t max_restarts() const;

  const JobSet& js_;
  const Expansion& ex_;
  ControllerOptions options_;
  std::vector<Proc> procs_;
  std::vector<Job> jobs_;
  std::vector<size_t> first_job_of_rjob_;
  std::vector<uint64_t> launch_rank_;  // launch id - 1 -> rank (ids are dense)
  std::vector<uint64_t> stopping_;     // instances killed and not yet reported gone
  std::vector<Action> actions_;
  uint64_t next_launch_ = 1;
  int attempt_ = 0;
  int restarts_ = 0;
  int restarts_counted_ = 0;
  bool restart_pending_ = false;  // BlockingRecreate: waiting for the old instances to go
  std::optional<Outcome> outcome_;
  std::vector<std::vector<std::regex>> rule_patterns_;  // per failure-policy rule
};

}  // namespace jobset::launcher
