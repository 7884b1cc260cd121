// The run driver: the whole of `jobset run` between the OS and the
// controller. It starts the daemons through a Starter, feeds the
// controller (controller.hpp) with what the daemons report, turns the
// controller's actions into messages (Spawn, Kill, Shutdown), writes output
// and events, and handles the user's signals and --timeout.
//
// Every OS boundary is a small interface (ninja's lesson): the daemons'
// connections are NodeLinks, time and timers come from a Loop, daemons are
// started and reaped by a Starter. run.cpp plugs in libevent, the
// authenticated TCP links of runtime/ and real processes; the unit tests
// plug in fakes and drive a whole run by hand.
//
// Flow: start() -> one connected() per daemon -> (all connected) the
// controller starts -> reports in, actions out -> the controller finishes
// -> Shutdown to every daemon -> the Starter has reaped them all ->
// Loop::stop() -> finish() gives the exit code.
// Not thread-safe: every call comes from the loop.
#pragma once

#include <deque>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "launcher/run/controller.hpp"
#include "launcher/run/names.hpp"
#include "launcher/run/output_sink.hpp"
#include "launcher/run/process_spec.hpp"
#include "launcher/run/run.hpp"
#include "launcher/run/starter.hpp"
#include "rendezvous/store.hpp"
#include "runtime/messages.hpp"

namespace jobset::launcher {

// One daemon's connection, as the driver sees it.
class NodeLink {
 public:
  virtual ~NodeLink() = default;
  virtual void send(const runtime::Message& m) = 0;  // queued, never blocks
  virtual void close() = 0;                          // no report comes after
};

// A one-shot timer of the loop. arm() again re-arms it; destroying it cancels.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void arm(double seconds) = 0;
  virtual void cancel() = 0;
};

// The run's event loop as the driver needs it.
class Loop {
 public:
  virtual ~Loop() = default;
  virtual double monotonic() const = 0;  // seconds, for the controller
  virtual double wall() const = 0;       // seconds since the epoch, for events
  virtual std::unique_ptr<Timer> timer(std::function<void()> fire) = 0;
  virtual void stop() = 0;  // the loop returns after the current callback
  // Stops the launcher itself as SIGTSTP's default would (job control);
  // it returns once the launcher is continued.
  virtual void suspend() = 0;
};

// Where the driver's I/O goes.
struct DriverIo {
  Loop& loop;
  Starter& starter;
  OutputSink& sink;
  std::ostream& err;
  std::ostream* events = nullptr;  // --events, already open
  bool status_line = false;        // draw the status line (a terminal)
};

class RunDriver {
 public:
  // REQUIRES: `plan` is a plan of `js`, `names` its names; all outlive the
  // driver. The driver changes `plan` when it moves processes off a lost
  // node (launcher/plan/relocate.hpp); `names` reads the same plan.
  RunDriver(const JobSet& js, Plan& plan, const RunOptions& options, SpecSettings specs,
            const Names& names, DriverIo io);

  // Starts one daemon per node of the plan, told to connect to
  // `launcher_address` with `key_bytes`. An error means nothing runs.
  Status start(const std::string& launcher_address, const std::string& key_bytes);

  // A daemon proved the key and says it is `node`: its index, or -1 when no
  // node of the plan has that name or it is connected already (the caller
  // closes the connection).
  int32_t node_index(const std::string& node) const;
  // REQUIRES: node_index(name) gave `node`. Once every node is connected,
  // the JobSet starts.
  void connected(int32_t node, std::unique_ptr<NodeLink> link);

  // What the daemons report.
  void started(const runtime::Started& s);
  void spawn_failed(const runtime::SpawnFailed& s);
  void exited(const runtime::Exited& e);
  void output(const runtime::Output& out);
  // The rendezvous requests of `node`'s processes (rendezvous/PROTOCOL.md).
  void rdzv_request(int32_t node, const runtime::RdzvRequest& r);
  void rdzv_gone(int32_t node, const runtime::RdzvGone& g);
  // The daemon of `node` went away (EOF, error, protocol violation).
  void link_closed(int32_t node, const std::string& reason);

  // The launcher got a signal: INT/TERM/HUP stop (twice: kill at once),
  // USR1/USR2 are forwarded, TSTP (Ctrl-Z) stops every process and then
  // the launcher, CONT (fg, bg) continues them, CHLD means a daemon may
  // have exited.
  void signal(int signo);

  // After the loop returned: closes the links, reaps the daemons, prints
  // why the run ended. Returns the exit code of jobset(1).
  int finish();

 private:
  struct Node {
    std::unique_ptr<NodeLink> link;
    bool lost = false;
    std::set<uint64_t> live;  // instances spawned there and not reported gone
  };

  void begin();
  void feed();  // runs queued inputs through the controller and applies actions
  void apply(std::vector<Action> actions);
  void send_spawns(const std::vector<SpawnAction>& spawns);
  bool move_off_lost_nodes(const std::vector<SpawnAction>& spawns);
  void send_kill(const std::vector<uint64_t>& launches, int grace_ms);
  void send_all(const runtime::Message& m);
  void gone(uint64_t launch);
  void output_lost(const std::string& why);
  void record(const EventRecord& e);
  void status_line();
  void arm_deadline();
  void finish_if_done();
  void fail_setup(const std::string& why);
  void push(std::function<void()> input);
  void begin_attempt(int attempt);
  void arm_rdzv();
  void arm_hold();
  int64_t now_ms() const { return static_cast<int64_t>(io_.loop.monotonic() * 1000); }

  const JobSet& js_;
  Plan& plan_;
  const RunOptions& o_;
  DriverIo io_;
  ProcessSpecs specs_;
  const Names& names_;
  rdzv::Store store_;  // the run's names, keys and barriers
  Controller controller_;
  std::vector<Node> nodes_;
  std::map<std::string, int32_t> node_by_name_;
  int connected_ = 0;
  bool begun_ = false;
  bool shutting_down_ = false;
  int interrupts_ = 0;
  std::unique_ptr<Timer> connect_timer_, timeout_timer_, deadline_timer_, shutdown_timer_, suspend_timer_, rdzv_timer_,
      hold_timer_;
  std::deque<std::function<void()>> inputs_;  // controller inputs not yet fed
  std::vector<int> attempt_of_;               // launch id - 1 -> attempt
  int exit_code_ = 1;
  std::string setup_error_;
};

}  // namespace jobset::launcher
