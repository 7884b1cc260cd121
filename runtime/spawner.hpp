// Starting one process for jobsetd: make the child, set it up, exec.
//
// The child gets its own process group (setpgid in child and parent, so
// the group exists whichever runs first), PR_SET_PDEATHSIG(SIGKILL) so it
// dies with the daemon, default signal dispositions and an empty signal
// mask, stdin from /dev/null, stdout and stderr on two pipes, the
// daemon's open-files limit as the daemon found it, the spec's cwd, and
// the daemon's environment with the spec's env set on top (the daemon
// never copies its environment strings per child). argv[0] without a '/'
// is looked up in PATH (the child's, so a PATH in the spec's env applies).
// A spec with cpus is bound to them (sched_setaffinity) before exec; one
// with gpus or tpus also gets CUDA_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES,
// TPU_VISIBLE_CHIPS and JOBSET_ACCELERATORS (comma-separated indexes).
//
// Whether exec worked is known when spawn() returns (status_fd < 0;
// exec_failure holds a record if it did not) or, in fork mode, later on
// status_fd (close-on-exec): EOF alone means the program runs, a record
// before EOF means it failed. exec_failure_message() turns a record into
// "spawn NAME: PATH: REASON". A failed child exits 127 and is never
// reported as an exit. See spawner.cpp for the two modes.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "runtime/messages.hpp"

namespace jobset::runtime {

class Spawner {
 public:
  struct Child {
    pid_t pid = -1;
    int out_fd = -1;  // nonblocking, close-on-exec read ends
    int err_fd = -1;
    int status_fd = -1;        // fork mode: EOF once exec succeeded, or a record
    std::string exec_failure;  // when status_fd < 0: empty if exec succeeded
  };

  // Records the signal dispositions to undo in children: create it after
  // the daemon installed its signal handlers. `child_nofile` is the
  // open-files limit children get.
  explicit Spawner(rlimit child_nofile);
  ~Spawner();
  Spawner(const Spawner&) = delete;
  Spawner& operator=(const Spawner&) = delete;

  // Starts `spec`. Errors here are the daemon's (pipes, fork), not exec's.
  // `keep_fd` (above 2, close-on-exec in the daemon), when given, stays
  // open in this child only (a PMI socket).
  Result<Child> spawn(const ProcessSpec& spec, int keep_fd = -1);

 private:
  enum class Mode { kVfork, kFork };
  struct ChildArgs;
  std::vector<char*> build_env(const ProcessSpec& spec, std::vector<std::string>& storage,
                               const char*& path) const;
  bool setup_child(ChildArgs& a) const;
  static int vfork_child(void* arg);
  [[noreturn]] void fork_child(ChildArgs& a) const;

  Mode mode_ = Mode::kVfork;
  char* stack_ = nullptr;  // the vfork child's stack, reused: one child at a time
  int devnull_ = -1;
  rlimit child_nofile_;
  std::vector<int> reset_signals_;  // not SIG_DFL in the daemon
};

// Size of the record a failed child writes on its status pipe.
inline constexpr size_t kExecFailureRecord = 8;

// "spawn NAME: ./a.out: No such file or directory", from a status record.
std::string exec_failure_message(std::string_view name, std::string_view argv0,
                                 std::string_view cwd, std::string_view record);

}  // namespace jobset::runtime
