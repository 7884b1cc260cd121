// The watchdog: a tiny process that jobsetd forks at startup so that the
// processes it started cannot outlive it, even when it is SIGKILLed (then
// PR_SET_PDEATHSIG kills its children, but not their children).
//
// The daemon writes each new process group id down a pipe, and "forget"
// records for groups it cleaned up itself. The watchdog holds the pipe's
// read end; at EOF (the daemon is gone, whichever way) it SIGKILLs every
// group it still knows and exits. It sits in its own process group and
// ignores the terminal's and the launcher's signals, so that signalling
// the daemon's group does not take it down before it has done its job.
#pragma once

#include <event2/event.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "common/result.hpp"

namespace jobset::runtime {

class Watchdog {
 public:
  // Forks the watchdog. Call early: it keeps only stderr and its pipe.
  static Result<std::unique_ptr<Watchdog>> start(event_base* base);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void watch(pid_t pgid) { send(pgid); }
  void forget(pid_t pgid) { send(-pgid); }
  pid_t pid() const { return pid_; }

 private:
  Watchdog(event_base* base, pid_t pid, int fd);
  void send(int32_t record);
  void flush();
  static void on_writable(evutil_socket_t, short, void* arg);

  pid_t pid_;
  int fd_;  // nonblocking write end
  event* write_ev_ = nullptr;
  std::string queued_;  // records the pipe could not take yet
};

}  // namespace jobset::runtime
