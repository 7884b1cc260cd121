// The processes of one jobsetd: spawning, output forwarding, reaping,
// killing. Events go to an EventSink (the launcher connection in the
// daemon, a fake in tests).
//
// Life of a process (its `launch` id names it):
//   starting  forked; its status pipe tells whether exec worked
//             -> SpawnFailed (and nothing else), or Started;
//   running   stdout/stderr are read and forwarded as whole lines;
//   reaped    waitpid saw it end. Exited is sent only once both pipes
//             reached EOF and their last partial lines went out, so the
//             launcher has all of an instance's output before its exit.
//             If something else holds a pipe open (a grandchild in the
//             background), the process group is SIGKILLed 100 ms after
//             the exit and the pipes are closed 100 ms later.
// When a process is done, whatever is left of its process group is
// SIGKILLed (as a pod's containers die with its main process) and the
// watchdog forgets the group.
//
// Backpressure: when the sink is congested, a pipe that becomes readable
// is parked instead of read; writers then block on the full pipe. The
// owner calls resume_output() when the sink drained.
#pragma once

#include <event2/event.h>
#include <sys/types.h>

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/messages.hpp"

namespace jobset::runtime {

class Spawner;
class Watchdog;

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void send(const Message& m) = 0;
  // The same as send(Output{...}), but may keep `data` instead of copying it.
  virtual void send_output(uint64_t launch, Stream stream, std::string&& data) {
    send(Output{launch, stream, std::move(data)});
  }
  // True while the sink holds too much unsent output to take more.
  virtual bool congested() const = 0;
};

class Supervisor {
 public:
  // `watchdog` may be null.
  Supervisor(event_base* base, Spawner& spawner, Watchdog* watchdog, EventSink& sink);
  // SIGKILLs every process group still alive (without reaping).
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // `keep_fd`: see Spawner::spawn.
  void spawn(const ProcessSpec& spec, int keep_fd = -1);
  // SIGTERM to the groups, SIGKILL after grace_ms to those not reaped yet
  // (at once when grace_ms <= 0). Unknown launch ids are ignored.
  void kill(const std::vector<uint64_t>& launches, bool all, int grace_ms);
  void signal(const std::vector<uint64_t>& launches, bool all, int signo);
  // The process ends the job with `code` (MPI_Abort through PMI): its group
  // is SIGKILLed now and its Exited says exit code `code`, as the
  // aborting program asked (it waits to be killed rather than exiting).
  void abort(uint64_t launch, int code);
  // Whether the process is inside an MPI world (between MPI_Init and
  // MPI_Finalize): if it ends there, its Exited says so (mpi_failure).
  void in_mpi_world(uint64_t launch, bool in);
  // Call on SIGCHLD: reaps every child that ended.
  void reap();
  // Call when the sink is no longer congested.
  void resume_output();

  // Processes not done yet (no SpawnFailed or Exited sent).
  size_t size() const { return procs_.size(); }

  // Called when the last process is done.
  std::function<void()> on_idle;
  // Called for a reaped child that is not one of the processes.
  std::function<void(pid_t pid, int status)> on_other_child;

  struct Proc;
  struct Pipe;

 private:
  struct KillTimer;
  static void on_status(evutil_socket_t, short, void* arg);
  static void on_pipe(evutil_socket_t, short, void* arg);
  static void on_linger(evutil_socket_t, short, void* arg);
  static void on_partial(evutil_socket_t, short, void* arg);
  static void on_kill_timer(evutil_socket_t, short, void* arg);
  void read_status(Proc* p);
  void exec_result(Proc* p, const std::string& failure);
  void read_pipe(Pipe* pipe);
  void close_pipe(Pipe* pipe);
  void linger(Proc* p);
  void maybe_finish(Proc* p);
  void sweep(const Proc* p);
  std::vector<Proc*> targets(const std::vector<uint64_t>& launches, bool all);
  void send_output(Proc* p, Stream stream, std::string data);

  event_base* base_;
  Spawner& spawner_;
  Watchdog* watchdog_;
  EventSink& sink_;
  std::unordered_map<uint64_t, std::unique_ptr<Proc>> procs_;
  std::unordered_map<pid_t, Proc*> by_pid_;
  std::vector<Pipe*> parked_;
  std::list<std::unique_ptr<KillTimer>> kill_timers_;
  std::vector<char> buf_;
  std::string run_mark_;  // this daemon's JOBSET_RDZV entry, which every process of the run carries
};

}  // namespace jobset::runtime
