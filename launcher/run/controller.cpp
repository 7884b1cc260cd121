#include "launcher/run/controller.hpp"

#include <algorithm>
#include <cassert>
#include <regex>

namespace jobset::launcher {

namespace {

// Every legal process transition; anything else is a bug (asserted).
struct ProcTransition {
  ProcState from;
  ProcState to;
  const char* why;
};
constexpr ProcTransition kProcessTransitions[] = {
    {ProcState::kPending, ProcState::kStarting,
     "its replicated job may start (startup policy, depends_on, parallelism)"},
    {ProcState::kStarting, ProcState::kRunning, "the daemon reports the exec succeeded"},
    {ProcState::kStarting, ProcState::kSucceeded, "it exited 0 before its start was reported"},
    {ProcState::kStarting, ProcState::kFailed, "spawn failed, or it exited non-zero at once"},
    {ProcState::kRunning, ProcState::kSucceeded, "exit code 0"},
    {ProcState::kRunning, ProcState::kFailed,
     "non-zero exit code, or killed by a signal (128+signal)"},
    {ProcState::kStarting, ProcState::kStopping,
     "its job failed, the JobSet succeeded, failed or restarts"},
    {ProcState::kRunning, ProcState::kStopping,
     "its job failed, the JobSet succeeded, failed or restarts"},
    {ProcState::kStopping, ProcState::kSucceeded, "stopped; exited 0 on TERM"},
    {ProcState::kStopping, ProcState::kFailed, "stopped (not counted toward backoff_limit)"},
    {ProcState::kFailed, ProcState::kStarting,
     "retried in place: backoff_limit not exceeded, or an Ignore rule"},
    // A restart (JobSet or job) makes every process new.
    {ProcState::kSucceeded, ProcState::kPending, "restart"},
    {ProcState::kFailed, ProcState::kPending, "restart"},
    {ProcState::kStopping, ProcState::kPending, "restart"},
    {ProcState::kPending, ProcState::kPending, "restart"},
};

bool legal(ProcState from, ProcState to) {
  for (const auto& t : kProcessTransitions)
    if (t.from == from && t.to == to) return true;
  return false;
}

bool live(ProcState s) {
  return s == ProcState::kStarting || s == ProcState::kRunning || s == ProcState::kStopping;
}

// The job failure messages Kubernetes writes, so that patterns written for
// Kubernetes (on_job_failure_message_patterns) match here too.
constexpr const char* kBackoffMessage = "Job has reached the specified backoff limit";
constexpr const char* kDeadlineMessage = "Job was active longer than specified deadline";

bool exit_code_matches(const OnExitCodes& oc, int code) {
  bool in = std::find(oc.values.begin(), oc.values.end(), code) != oc.values.end();
  return oc.op == ExitCodeOperator::kIn ? in : !in;
}

}  // namespace

const char* to_string(ProcState s) {
  switch (s) {
    case ProcState::kPending:
      return "Pending";
    case ProcState::kStarting:
      return "Starting";
    case ProcState::kRunning:
      return "Running";
    case ProcState::kSucceeded:
      return "Succeeded";
    case ProcState::kFailed:
      return "Failed";
    case ProcState::kStopping:
      return "Stopping";
  }
  return "?";
}

Controller::Controller(const JobSet& js, const Expansion& ex, ControllerOptions options)
    : js_(js), ex_(ex), options_(options), procs_(ex.processes.size()) {
  // The rules' message patterns, compiled once per run (validate() checked them).
  if (js.failure_policy)
    for (const FailurePolicyRule& rule : js.failure_policy->rules) {
      std::vector<std::regex> compiled;
      for (const std::string& p : rule.on_job_failure_message_patterns) compiled.emplace_back(p);
      rule_patterns_.push_back(std::move(compiled));
    }
  for (size_t r = 0; r < js.replicated_jobs.size(); ++r) {
    first_job_of_rjob_.push_back(jobs_.size());
    for (int32_t j = 0; j < js.replicated_jobs[r].replicas; ++j) {
      Job job;
      job.rjob = static_cast<int32_t>(r);
      job.index = j;
      jobs_.push_back(job);
    }
  }
  first_job_of_rjob_.push_back(jobs_.size());
}

int64_t Controller::max_restarts() const {
  if (options_.max_restarts) return *options_.max_restarts;
  return js_.failure_policy ? js_.failure_policy->max_restarts : 0;
}

size_t Controller::job_of(int32_t rank) const {
  const Process& p = ex_.processes[rank];
  return first_job_of_rjob_[p.rjob] + p.job_index;
}

std::vector<int32_t> Controller::ranks_of_job(size_t job) const {
  const Job& j = jobs_[job];
  const ReplicatedJobInfo& info = ex_.rjobs[j.rjob];
  std::vector<int32_t> ranks;
  ranks.reserve(static_cast<size_t>(info.processes_per_job));
  int32_t first = info.first_rank + j.index * info.processes_per_job;
  for (int32_t p = 0; p < info.processes_per_job; ++p) ranks.push_back(first + p);
  return ranks;
}

int32_t Controller::rank_of(uint64_t launch) const {
  if (launch == 0 || launch > launch_rank_.size()) return -1;
  return static_cast<int32_t>(launch_rank_[launch - 1]);
}

void Controller::transition(int32_t rank, ProcState to) {
  assert(legal(procs_[rank].state, to));
  (void)legal;
  procs_[rank].state = to;
}

void Controller::event(double now, std::string kind, std::string subject, std::string detail) {
  std::optional<JobSetStatus> st;
  if (kind.rfind("jobset_", 0) == 0 || kind.rfind("job_", 0) == 0) st = status();
  actions_.emplace_back(std::in_place_type<EventRecord>,
                        EventRecord{now, std::move(kind), std::move(subject), std::move(detail),
                                    attempt_, std::move(st)});
}

std::vector<Action> Controller::take_actions() {
  std::vector<Action> out;
  out.swap(actions_);
  return out;
}

bool Controller::any_live() const {
  if (!stopping_.empty()) return true;
  return std::any_of(procs_.begin(), procs_.end(), [](const Proc& p) { return live(p.state); });
}

bool Controller::finished() const { return outcome_.has_value() && !any_live(); }

// ---- starting -------------------------------------------------------------

bool Controller::rjob_ready(size_t r) const {
  const ReplicatedJobInfo& info = ex_.rjobs[r];
  for (int32_t k = info.first_rank; k < info.first_rank + info.processes; ++k) {
    ProcState s = procs_[k].state;
    if (s != ProcState::kRunning && s != ProcState::kSucceeded) return false;
  }
  return true;
}

bool Controller::rjob_complete(size_t r) const {
  for (size_t j = first_job_of_rjob_[r]; j < first_job_of_rjob_[r + 1]; ++j)
    if (jobs_[j].state != Job::State::kSucceeded) return false;
  return true;
}

// startup_policy InOrder: every earlier replicated job is Ready first.
// depends_on: each named replicated job is Ready or Complete, as asked.
bool Controller::rjob_may_start(size_t r) const {
  if (js_.startup_order == StartupOrder::kInOrder)
    for (size_t e = 0; e < r; ++e)
      if (!rjob_ready(e)) return false;
  for (const Dependency& d : js_.replicated_jobs[r].depends_on) {
    for (size_t e = 0; e < r; ++e) {
      if (js_.replicated_jobs[e].name != d.name) continue;
      bool ok = d.status == DependencyStatus::kReady ? rjob_ready(e) : rjob_complete(e);
      if (!ok) return false;
    }
  }
  return true;
}

void Controller::spawn(int32_t rank, double now) {
  Proc& p = procs_[rank];
  transition(rank, ProcState::kStarting);
  p.launch = next_launch_++;
  p.attempt = attempt_;
  launch_rank_.push_back(static_cast<uint64_t>(rank));
  Job& job = jobs_[job_of(rank)];
  if (!job.started_at) job.started_at = now;
  actions_.push_back(SpawnAction{rank, p.launch, p.attempt, job.restarts});
}

void Controller::start_eligible(double now) {
  if (outcome_ || restart_pending_) return;
  for (size_t r = 0; r < js_.replicated_jobs.size(); ++r) {
    if (!rjob_may_start(r)) continue;
    int64_t parallelism = js_.replicated_jobs[r].tmpl.parallelism;
    for (size_t j = first_job_of_rjob_[r]; j < first_job_of_rjob_[r + 1]; ++j) {
      if (jobs_[j].state != Job::State::kActive) continue;
      std::vector<int32_t> ranks = ranks_of_job(j);
      int64_t running = std::count_if(ranks.begin(), ranks.end(),
                                      [&](int32_t k) { return live(procs_[k].state); });
      for (int32_t k : ranks) {
        if (running >= parallelism) break;
        if (procs_[k].state != ProcState::kPending) continue;
        spawn(k, now);
        ++running;
      }
    }
  }
}

void Controller::start(double now) {
  event(now, "jobset_started", js_.name, std::to_string(ex_.processes.size()) + " processes");
  start_eligible(now);
  check_success(now);  // a JobSet without processes is done at once
}

// ---- events from the processes -------------------------------------------

void Controller::process_started(uint64_t launch, double now) {
  int32_t rank = rank_of(launch);
  if (rank < 0 || procs_[rank].launch != launch || procs_[rank].state != ProcState::kStarting)
    return;
  transition(rank, ProcState::kRunning);
  event(now, "process_started", ex_.processes[rank].name, "");
  start_eligible(now);  // may make a replicated job Ready for those waiting on it
}

void Controller::process_spawn_failed(uint64_t launch, const std::string& error, double now) {
  int32_t rank = rank_of(launch);
  if (rank < 0) return;
  if (procs_[rank].launch != launch || procs_[rank].state == ProcState::kStopping) {
    process_exited(launch, 127, 0, now);
    return;
  }
  event(now, "process_spawn_failed", ex_.processes[rank].name, error);
  on_process_failure(rank, 127, error, now);
  start_eligible(now);
}

void Controller::process_lost(uint64_t launch, const std::string& why, double now) {
  int32_t rank = rank_of(launch);
  if (rank < 0) return;
  Proc& p = procs_[rank];
  if (p.launch != launch || p.state == ProcState::kStopping ||
      std::count(stopping_.begin(), stopping_.end(), launch)) {
    process_exited(launch, 0, 9, now);
    return;
  }
  if (!live(p.state)) return;
  event(now, "process_lost", ex_.processes[rank].name, why);
  on_process_failure(rank, 137, ex_.processes[rank].name + " lost: " + why, now, true);
  settle(now);
}

void Controller::process_exited(uint64_t launch, int exit_code, int signal, double now,
                                const std::string& mpi_failure) {
  int32_t rank = rank_of(launch);
  if (rank < 0) return;
  Proc& p = procs_[rank];
  int code = signal ? 128 + signal : exit_code;
  bool was_stopping = std::erase(stopping_, launch) > 0;
  const std::string& name = ex_.processes[rank].name;
  std::string how = signal ? "killed by signal " + std::to_string(signal)
                           : "exit code " + std::to_string(exit_code);
  if (p.launch != launch && was_stopping) {
    // An instance stopped for a restart ends after its successor started:
    // its end is recorded all the same, with why it was stopped.
    event(now, "process_exited", name, how + " (stopped by jobset for a restart)");
  }
  if (p.launch == launch && live(p.state)) {
    event(now, "process_exited", name, how);
    if (was_stopping || p.state == ProcState::kStopping) {
      transition(rank, code == 0 ? ProcState::kSucceeded : ProcState::kFailed);
    } else if (code == 0) {
      transition(rank, ProcState::kSucceeded);
      size_t j = job_of(rank);
      std::vector<int32_t> ranks = ranks_of_job(j);
      if (jobs_[j].state == Job::State::kActive &&
          std::all_of(ranks.begin(), ranks.end(),
                      [&](int32_t k) { return procs_[k].state == ProcState::kSucceeded; })) {
        jobs_[j].state = Job::State::kSucceeded;
        event(now, "job_succeeded",
              js_.name + "-" + js_.replicated_jobs[jobs_[j].rjob].name + "-" +
                  std::to_string(jobs_[j].index),
              "");
      }
    } else if (!mpi_failure.empty()) {
      mpi_failed(rank, code, name + " " + mpi_failure + " (" + how + ")", now);
    } else {
      on_process_failure(rank, code, name + " " + how, now);
    }
  }
  settle(now);
}

// After a process went away: a blocked restart may go on, waiting
// replicated jobs may start, the JobSet may have succeeded, or be stuck.
void Controller::settle(double now) {
  if (restart_pending_ && !any_live()) restart_pending_ = false;
  start_eligible(now);
  check_success(now);
  if (!outcome_ && !any_live() && !restart_pending_)
    decide(
        Outcome{false, "Stuck",
                js_.name + " cannot go on: nothing runs and nothing may start (check depends_on)",
                1},
        now);
}

// Pod failure policy first (first matching rule), then backoff_limit.
void Controller::on_process_failure(int32_t rank, int exit_code, const std::string& what,
                                    double now, bool disrupted) {
  size_t j = job_of(rank);
  Job& job = jobs_[j];
  transition(rank, ProcState::kFailed);
  if (job.state != Job::State::kActive || outcome_) return;
  const JobTemplate& t = js_.replicated_jobs[job.rjob].tmpl;
  std::optional<PodFailureAction> action;
  size_t rule_index = 0;
  for (; rule_index < t.pod_failure_policy.size(); ++rule_index) {
    const PodFailureRule& r = t.pod_failure_policy[rule_index];
    bool by_code = r.on_exit_codes && !disrupted && exit_code_matches(*r.on_exit_codes, exit_code);
    bool by_condition =
        disrupted && std::any_of(r.on_pod_conditions.begin(), r.on_pod_conditions.end(),
                                 [](const PodCondition& c) {
                                   return c.type == "DisruptionTarget" && c.status == "True";
                                 });
    if (by_code || by_condition) {
      action = r.action;
      break;
    }
  }
  if (action == PodFailureAction::kFailJob || action == PodFailureAction::kFailIndex) {
    fail_job(j, "PodFailurePolicy",
             what + " matching FailJob rule at index " + std::to_string(rule_index), exit_code,
             now, rank);
  } else if (action == PodFailureAction::kIgnore) {
    event(now, "process_failure_ignored", ex_.processes[rank].name, what);
    spawn(rank, now);
    return;
  } else if (++job.failures > t.backoff_limit) {
    fail_job(j, "BackoffLimitExceeded",
             std::string(kBackoffMessage) + " (" + std::to_string(t.backoff_limit) + "): " + what,
             exit_code, now, rank);
  } else {
    event(now, "process_retry", ex_.processes[rank].name,
          what + "; retry " + std::to_string(job.failures) + " of " +
              std::to_string(t.backoff_limit));
    spawn(rank, now);
    return;
  }
  handle_failed_jobs(now);
}

// An MPI world is fixed at MPI_Init: the job fails, no retry in place, and
// the failure policy decides (a JobSet restart starts a new world).
void Controller::mpi_failed(int32_t rank, int exit_code, const std::string& what, double now) {
  size_t j = job_of(rank);
  transition(rank, ProcState::kFailed);
  if (jobs_[j].state != Job::State::kActive || outcome_) return;
  fail_job(j, "MPIFailure", what, exit_code, now, rank);
  handle_failed_jobs(now);
}

void Controller::fail_job(size_t j, const std::string& reason, const std::string& message,
                          int exit_code, double now, int32_t rank) {
  Job& job = jobs_[j];
  job.state = Job::State::kFailed;
  job.failed_rank = rank;
  job.reason = reason;
  job.message = message;
  job.failed_at = now;
  job.exit_code = exit_code;
  event(now, "job_failed",
        js_.name + "-" + js_.replicated_jobs[job.rjob].name + "-" + std::to_string(job.index),
        reason + ": " + message);
  stop_live(ranks_of_job(j));
}

void Controller::stop_live(const std::vector<int32_t>& ranks) {
  KillAction kill;
  for (int32_t k : ranks) {
    Proc& p = procs_[k];
    if (p.state != ProcState::kStarting && p.state != ProcState::kRunning) continue;
    transition(k, ProcState::kStopping);
    stopping_.push_back(p.launch);
    kill.launches.push_back(p.launch);
  }
  if (!kill.launches.empty())
    actions_.emplace_back(std::in_place_type<KillAction>, std::move(kill));
}

// ---- JobSet failure policy -------------------------------------------------
//
// No failure policy: the first failed job fails the JobSet. Otherwise the
// earliest failed job is matched against the rules in order (reasons,
// message patterns, target replicated jobs; an empty list matches all);
// the first match decides, and no match means RestartJobSet. A restart that
// counts and would exceed max_restarts fails with ReachedMaxRestarts.
// Why a job failed, when more than the exit status of its process says:
// an MPI world broken, a pod failure policy rule, a deadline.
std::string Controller::cause_of(const Job& job) {
  return job.reason == "BackoffLimitExceeded" ? "" : job.reason + ": " + job.message;
}

void Controller::handle_failed_jobs(double now) {
  if (outcome_) return;
  const Job* first = nullptr;
  size_t first_index = 0;
  for (size_t j = 0; j < jobs_.size(); ++j)
    if (jobs_[j].state == Job::State::kFailed &&
        (!first || jobs_[j].failed_at < first->failed_at)) {
      first = &jobs_[j];
      first_index = j;
    }
  if (!first) return;
  const std::string job_name =
      js_.name + "-" + js_.replicated_jobs[first->rjob].name + "-" + std::to_string(first->index);
  const std::string failed =
      "job " + job_name + " failed (" + first->reason + "): " + first->message;
  if (!js_.failure_policy) {
    decide(Outcome{false, "FailedJobs", failed, first->exit_code, first->failed_rank, cause_of(*first)}, now);
    return;
  }
  FailureAction action = FailureAction::kRestartJobSet;
  std::string rule_name = "default";
  for (size_t k = 0; k < js_.failure_policy->rules.size(); ++k) {
    const FailurePolicyRule& r = js_.failure_policy->rules[k];
    const std::vector<std::regex>& patterns = rule_patterns_[k];
    auto in = [](const std::vector<std::string>& v, const std::string& s) {
      return v.empty() || std::find(v.begin(), v.end(), s) != v.end();
    };
    bool pattern =
        patterns.empty() || std::any_of(patterns.begin(), patterns.end(), [&](const std::regex& p) {
          return std::regex_search(first->message, p);
        });
    if (in(r.on_job_failure_reasons, first->reason) && pattern &&
        in(r.target_replicated_jobs, js_.replicated_jobs[first->rjob].name)) {
      action = r.action;
      rule_name = r.name;
      break;
    }
  }
  event(now, "failure_policy", job_name,
        std::string(to_string(action)) + " (rule " + rule_name + ")");
  bool counts = action == FailureAction::kRestartJobSet || action == FailureAction::kRestartJob;
  if (action == FailureAction::kFailJobSet) {
    decide(Outcome{false, "FailJobSetFailurePolicyAction",
                   failed + " (failure policy rule " + rule_name + ": FailJobSet)", first->exit_code,
                   first->failed_rank, cause_of(*first)},
           now);
  } else if (counts && restarts_counted_ >= max_restarts()) {
    decide(
        Outcome{false, "ReachedMaxRestarts",
                failed + "; no restart left (max_restarts " + std::to_string(max_restarts()) + ")",
                first->exit_code, first->failed_rank, cause_of(*first)},
        now);
  } else if (action == FailureAction::kRestartJob ||
             action == FailureAction::kRestartJobAndIgnoreMaxRestarts) {
    restart_job(first_index, counts, failed, now);
  } else {
    restart_jobset(counts, failed, now);
  }
}

// Every process stops; all start again with JOBSET_RESTART_ATTEMPT + 1, also
// those that had succeeded. BlockingRecreate starts none before every old
// instance is gone; Recreate starts them at once.
void Controller::restart_jobset(bool counts, const std::string& why, double now) {
  ++restarts_;
  if (counts) ++restarts_counted_;
  attempt_ = restarts_;
  event(now, "jobset_restart", js_.name, "attempt " + std::to_string(attempt_) + ": " + why);
  std::vector<int32_t> all(procs_.size());
  for (size_t k = 0; k < all.size(); ++k) all[k] = static_cast<int32_t>(k);
  stop_live(all);
  for (size_t k = 0; k < procs_.size(); ++k) {
    transition(static_cast<int32_t>(k), ProcState::kPending);
    procs_[k].launch = 0;
  }
  for (Job& j : jobs_) j = Job{Job::State::kActive, j.rjob, j.index, 0, std::nullopt, "", "", 0, 1};
  bool blocking = js_.failure_policy &&
                  js_.failure_policy->restart_strategy == RestartStrategy::kBlockingRecreate;
  restart_pending_ = blocking && any_live();
  start_eligible(now);
}

// RestartJob: only the failed job starts again; the rest of the JobSet
// goes on. As upstream, it is not a JobSet restart: `restarts` and the
// attempt the other jobs see stay; the job counts its own restarts
// (JOBSET_JOB_RESTART_ATTEMPT), and RestartJob, not ...AndIgnoreMaxRestarts,
// counts toward max_restarts.
void Controller::restart_job(size_t job, bool counts, const std::string& why, double now) {
  if (counts) ++restarts_counted_;
  Job& j = jobs_[job];
  const int restarts = j.restarts + 1;
  event(now, "job_restart",
        js_.name + "-" + js_.replicated_jobs[j.rjob].name + "-" + std::to_string(j.index),
        "job restart " + std::to_string(restarts) + ": " + why);
  std::vector<int32_t> ranks = ranks_of_job(job);
  stop_live(ranks);
  for (int32_t k : ranks) {
    transition(k, ProcState::kPending);
    procs_[k].launch = 0;
  }
  j = Job{Job::State::kActive, j.rjob, j.index, 0, std::nullopt, "", "", 0, 1, restarts};
  start_eligible(now);
}

// ---- success ----------------------------------------------------------------

// All: every job of the target replicated jobs succeeded. Any: one did.
// Only evaluated when no job has failed in this pass.
void Controller::check_success(double now) {
  if (outcome_) return;
  if (std::any_of(jobs_.begin(), jobs_.end(),
                  [](const Job& j) { return j.state == Job::State::kFailed; }))
    return;
  const SuccessPolicy& sp = js_.success_policy;
  bool all = true, any = false;
  for (size_t r = 0; r < js_.replicated_jobs.size(); ++r) {
    const auto& targets = sp.target_replicated_jobs;
    if (!targets.empty() &&
        std::find(targets.begin(), targets.end(), js_.replicated_jobs[r].name) == targets.end())
      continue;
    for (size_t j = first_job_of_rjob_[r]; j < first_job_of_rjob_[r + 1]; ++j) {
      bool ok = jobs_[j].state == Job::State::kSucceeded;
      all = all && ok;
      any = any || ok;
    }
  }
  if (sp.op == SuccessOperator::kAll ? all : any)
    decide(Outcome{true, "AllJobsCompleted", js_.name + " completed", 0}, now);
}

void Controller::decide(Outcome o, double now) {
  event(now, o.success ? "jobset_completed" : "jobset_failed", js_.name,
        o.reason + ": " + o.message);
  outcome_ = std::move(o);
  std::vector<int32_t> all(procs_.size());
  for (size_t k = 0; k < all.size(); ++k) all[k] = static_cast<int32_t>(k);
  stop_live(all);
}

// ---- time and the user -------------------------------------------------------

std::optional<double> Controller::next_deadline() const {
  if (outcome_) return std::nullopt;
  std::optional<double> next;
  for (const Job& j : jobs_) {
    const auto& ads = js_.replicated_jobs[j.rjob].tmpl.active_deadline_seconds;
    if (j.state != Job::State::kActive || !ads || !j.started_at) continue;
    double at = *j.started_at + static_cast<double>(*ads);
    if (!next || at < *next) next = at;
  }
  return next;
}

void Controller::tick(double now) {
  if (outcome_) return;
  bool failed = false;
  for (size_t j = 0; j < jobs_.size(); ++j) {
    const auto& ads = js_.replicated_jobs[jobs_[j].rjob].tmpl.active_deadline_seconds;
    if (jobs_[j].state != Job::State::kActive || !ads || !jobs_[j].started_at) continue;
    if (now < *jobs_[j].started_at + static_cast<double>(*ads)) continue;
    fail_job(j, "DeadlineExceeded",
             std::string(kDeadlineMessage) + " (" + std::to_string(*ads) + " s)", 124, now);
    failed = true;
  }
  if (failed) handle_failed_jobs(now);
}

void Controller::interrupt(int signo, double now) {
  if (signo == 0)
    stop("Timeout", "--timeout expired; every process was stopped", 124, now);
  else
    stop("Interrupted",
         "interrupted by signal " + std::to_string(signo) + "; every process was stopped",
         128 + signo, now);
}

void Controller::stop(std::string reason, std::string message, int exit_code, double now) {
  if (outcome_) return;
  decide(Outcome{false, std::move(reason), std::move(message), exit_code}, now);
}

JobSetStatus Controller::status() const {
  JobSetStatus s;
  for (size_t r = 0; r < js_.replicated_jobs.size(); ++r) {
    ReplicatedJobStatus rs;
    rs.name = js_.replicated_jobs[r].name;
    for (size_t j = first_job_of_rjob_[r]; j < first_job_of_rjob_[r + 1]; ++j) {
      const Job& job = jobs_[j];
      if (job.state == Job::State::kSucceeded) {
        ++rs.succeeded;
      } else if (job.state == Job::State::kFailed) {
        ++rs.failed;
      } else {
        std::vector<int32_t> ranks = ranks_of_job(j);
        bool any_live_proc = std::any_of(ranks.begin(), ranks.end(),
                                         [&](int32_t k) { return live(procs_[k].state); });
        bool ready = std::all_of(ranks.begin(), ranks.end(), [&](int32_t k) {
          return procs_[k].state == ProcState::kRunning || procs_[k].state == ProcState::kSucceeded;
        });
        if (any_live_proc) ++rs.active;
        if (ready) ++rs.ready;
      }
    }
    for (int32_t k = ex_.rjobs[r].first_rank; k < ex_.rjobs[r].first_rank + ex_.rjobs[r].processes;
         ++k) {
      ProcState st = procs_[k].state;
      rs.processes_running += st == ProcState::kStarting || st == ProcState::kRunning;
      rs.processes_succeeded += st == ProcState::kSucceeded;
      rs.processes_failed += st == ProcState::kFailed;
    }
    for (size_t j = first_job_of_rjob_[r]; j < first_job_of_rjob_[r + 1]; ++j)
      rs.job_restarts += jobs_[j].restarts;
    s.replicated_jobs.push_back(rs);
  }
  s.restarts = restarts_;
  s.restarts_count_towards_max = restarts_counted_;
  s.terminal = finished();
  if (outcome_) {
    s.terminal_state = outcome_->success ? "Completed" : "Failed";
    s.reason = outcome_->reason;
  }
  return s;
}

}  // namespace jobset::launcher
