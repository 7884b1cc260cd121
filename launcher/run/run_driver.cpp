// The run driver (run_driver.hpp): what the daemons report goes through the
// controller; its actions come back out as messages. Inputs are queued and
// fed one at a time, so that an input arriving while actions are applied
// (a spawn refused on a lost node) is seen after them, in order.
#include "launcher/run/run_driver.hpp"

#include <signal.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <ostream>

#include "launcher/plan/relocate.hpp"

namespace jobset::launcher {

RunDriver::RunDriver(const JobSet& js, Plan& plan, const RunOptions& options,
                     SpecSettings specs, const Names& names, DriverIo io)
    : js_(js),
      plan_(plan),
      o_(options),
      io_(io),
      specs_(js, plan, std::move(specs)),
      names_(names),
      store_(js.name,
             [this](const rdzv::Origin& to, std::string line) {
               Node& n = nodes_[to.node];
               if (!n.link || n.lost) return;
               // The daemon's session counts answered ids; the line names
               // it at its start (not parsed whole: it may hold megabytes).
               uint64_t id = rdzv::reply_id(line).value_or(0);
               n.link->send(runtime::RdzvReply{to.client, id, std::move(line)});
             }),
      controller_(js, plan.expansion, ControllerOptions{options.max_restarts}),
      nodes_(plan.cluster.nodes.size()) {
  for (size_t i = 0; i < plan.cluster.nodes.size(); ++i)
    node_by_name_[plan.cluster.nodes[i].name] = static_cast<int32_t>(i);
}

Status RunDriver::start(const std::string& launcher_address, const std::string& key_bytes) {
  std::vector<std::string> names;
  for (const topology::Node& n : plan_.cluster.nodes) names.push_back(n.name);
  if (auto s = io_.starter.start(names, launcher_address, key_bytes); !s) return s;
  connect_timer_ = io_.loop.timer([this] {
    if (!begun_)
      fail_setup("only " + std::to_string(connected_) + " of " + std::to_string(nodes_.size()) +
                 " node daemons connected within 30 s");
  });
  connect_timer_->arm(30.0);
  return {};
}

void RunDriver::push(std::function<void()> input) { inputs_.push_back(std::move(input)); }

void RunDriver::fail_setup(const std::string& why) {
  setup_error_ = why;
  exit_code_ = 1;
  io_.starter.terminate();
  io_.loop.stop();
}

int32_t RunDriver::node_index(const std::string& node) const {
  auto it = node_by_name_.find(node);
  if (it == node_by_name_.end() || nodes_[it->second].link) return -1;
  return it->second;
}

void RunDriver::connected(int32_t node, std::unique_ptr<NodeLink> link) {
  nodes_[node].link = std::move(link);
  if (++connected_ == static_cast<int>(nodes_.size())) begin();
}

void RunDriver::started(const runtime::Started& s) {
  if (int32_t rank = controller_.rank_of(s.launch); rank >= 0) {
    store_.set_registered(plan_.expansion.processes[rank].name, true);
    arm_rdzv();
  }
  push([this, s] { controller_.process_started(s.launch, io_.loop.monotonic()); });
  feed();
}

void RunDriver::spawn_failed(const runtime::SpawnFailed& s) {
  gone(s.launch);
  if (!o_.quiet) io_.sink.message("jobset: " + s.error + "\n");
  push([this, s] { controller_.process_spawn_failed(s.launch, s.error, io_.loop.monotonic()); });
  feed();
}

void RunDriver::exited(const runtime::Exited& e) {
  gone(e.launch);
  push([this, e] {
    controller_.process_exited(e.launch, e.exit_code, e.signal, io_.loop.monotonic(),
                               e.mpi_failure);
  });
  feed();
}

void RunDriver::output(const runtime::Output& out) {
  int32_t rank = controller_.rank_of(out.launch);
  if (rank < 0) return;
  int attempt = attempt_of_[out.launch - 1];
  auto s = io_.sink.write(plan_.expansion.processes[rank].name, attempt,
                          out.stream == runtime::Stream::kStderr ? 2 : 1, out.data);
  if (!s) output_lost(s.error().message());
  arm_hold();
}

// Output waiting behind another process's open line is written when due.
void RunDriver::arm_hold() {
  std::optional<double> due = io_.sink.hold_deadline();
  if (!due) return;
  if (!hold_timer_)
    hold_timer_ = io_.loop.timer([this] {
      io_.sink.release_overdue();
      if (io_.sink.lost())
        output_lost(std::string("standard output or error: ") + std::strerror(io_.sink.lost()));
      arm_hold();
    });
  hold_timer_->arm(std::max(0.0, *due - io_.loop.wall()) + 0.001);
}

// Output that cannot be written stops the run: a closed pipe as a shell
// pipeline would (exit 141, 128 + SIGPIPE), anything else (a full disk)
// as jobset's own error. Nothing is lost silently.
void RunDriver::output_lost(const std::string& why) {
  if (io_.sink.lost() == 0) {  // --output-dir could not open a file: said, the run goes on
    if (!o_.quiet) io_.err << "jobset: " << why << "\n";
    return;
  }
  bool closed = io_.sink.lost() == EPIPE;
  std::string reason = closed ? "OutputClosed" : "OutputError";
  std::string message =
      (closed ? "the output was closed (" : "cannot write the processes' output (") + why +
      "); every process was stopped";
  int code = closed ? 128 + SIGPIPE : 1;
  push([this, reason, message, code] {
    controller_.stop(reason, message, code, io_.loop.monotonic());
  });
  feed();
}

// A new attempt: the store forgets the old one's keys and waiters, and
// every node's hosts file is replaced before any process of it starts (the
// daemon handles its messages in order).
void RunDriver::begin_attempt(int attempt) {
  store_.begin_attempt(attempt, names_.members());
  send_all(runtime::Hosts{attempt, names_.hosts_text(attempt)});
  arm_rdzv();
}

void RunDriver::rdzv_request(int32_t node, const runtime::RdzvRequest& r) {
  auto request = rdzv::parse_request(r.line);
  if (!request) {  // the daemon checked it: a daemon of another version
    Node& n = nodes_[node];
    if (n.link)
      n.link->send(runtime::RdzvReply{
          r.client, 0,
          rdzv::error_reply(std::nullopt, rdzv::ErrorCode::kBadRequest,
                            request.error().message())});
    return;
  }
  store_.handle(rdzv::Origin{node, r.client}, *request, now_ms());
  arm_rdzv();
}

void RunDriver::rdzv_gone(int32_t node, const runtime::RdzvGone& g) {
  store_.drop(rdzv::Origin{node, g.client});
  arm_rdzv();
}

void RunDriver::arm_rdzv() {
  std::optional<int64_t> at = store_.next_deadline();
  if (!at) {
    if (rdzv_timer_) rdzv_timer_->cancel();
    return;
  }
  if (!rdzv_timer_)
    rdzv_timer_ = io_.loop.timer([this] {
      store_.tick(now_ms());
      arm_rdzv();
    });
  rdzv_timer_->arm(static_cast<double>(std::max<int64_t>(0, *at - now_ms()) + 1) / 1000);
}

void RunDriver::begin() {
  begun_ = true;
  begin_attempt(0);
  if (o_.verbose && specs_.sets_omp_threads())
    io_.sink.message(
        "jobset: OMP_NUM_THREADS=1 for processes that share a node (as torchrun does); set it to "
        "choose\n");
  if (o_.report_bindings) {
    std::string report;
    for (size_t i = 0; i < plan_.expansion.processes.size(); ++i)
      report += "jobset: " + plan_.expansion.processes[i].name + " (rank " + std::to_string(i) +
                ") on " + plan_.cluster.nodes[plan_.slots[i].node].name + ": " +
                binding_text(plan_, i) + "\n";
    io_.sink.message(report);
  }
  if (o_.timeout) {
    timeout_timer_ = io_.loop.timer([this] {
      push([this] { controller_.interrupt(0, io_.loop.monotonic()); });
      feed();
    });
    timeout_timer_->arm(*o_.timeout);
  }
  push([this] { controller_.start(io_.loop.monotonic()); });
  feed();
}

void RunDriver::feed() {
  while (!inputs_.empty()) {
    auto input = std::move(inputs_.front());
    inputs_.pop_front();
    input();
    apply(controller_.take_actions());
  }
  arm_deadline();
  status_line();
  finish_if_done();
}

void RunDriver::apply(std::vector<Action> actions) {
  std::vector<SpawnAction> spawns;
  for (Action& a : actions) {
    if (auto* s = std::get_if<SpawnAction>(&a)) {
      spawns.push_back(*s);
    } else if (auto* k = std::get_if<KillAction>(&a)) {
      send_spawns(spawns);
      spawns.clear();
      send_kill(k->launches, o_.grace_ms);
    } else {
      record(std::get<EventRecord>(a));
    }
  }
  send_spawns(spawns);
}

// Spawns of processes placed on a lost node re-place them first on the
// live nodes (relocate.hpp): names and ranks stay, the plan's slots change,
// the store and every node's hosts file learn the new addresses, and each
// move is an event. When they do not fit, the JobSet fails (exit 3, as a
// JobSet that does not fit the nodes) and the spawns are refused.
bool RunDriver::move_off_lost_nodes(const std::vector<SpawnAction>& spawns) {
  std::vector<int32_t> ranks;
  for (const SpawnAction& s : spawns)
    if (nodes_[plan_.slots[s.rank].node].lost) ranks.push_back(s.rank);
  if (ranks.empty()) return true;
  std::vector<bool> lost;
  std::string lost_names;
  for (size_t n = 0; n < nodes_.size(); ++n) {
    lost.push_back(nodes_[n].lost);
    if (nodes_[n].lost) lost_names += (lost_names.empty() ? "" : ", ") + plan_.cluster.nodes[n].name;
  }
  const int32_t coordinator = names_.coordinator_rank();
  const std::string coordinator_address = names_.address_of(coordinator);
  auto moves = relocate(js_, plan_, lost, ranks);
  if (!moves) {
    std::string message = "lost node " + lost_names + ": " + moves.error().message();
    push([this, message] { controller_.stop("NodeLost", message, 3, io_.loop.monotonic()); });
    return false;
  }
  const int attempt = spawns.front().attempt;
  for (const Move& m : *moves) {
    specs_.moved(m.rank);
    const std::string& name = plan_.expansion.processes[m.rank].name;
    const std::string& to = plan_.cluster.nodes[m.to].name;
    store_.move(name, to, names_.address_of(m.rank));
    record(EventRecord{io_.loop.wall(), "process_moved", name,
                       "from lost node " + plan_.cluster.nodes[m.from].name + " to " + to, attempt,
                       std::nullopt});
    if (!o_.quiet)
      io_.err << "jobset: " << name << " moves from lost node " << plan_.cluster.nodes[m.from].name
              << " to " << to << "\n";
    if (m.rank == coordinator && specs_.coordinator_host() == coordinator_address)
      specs_.set_coordinator_host(names_.address_of(m.rank));
  }
  // A new attempt sends every node the hosts file as it now is; a retry
  // inside this attempt updates the hosts files before it starts.
  if (attempt <= store_.attempt()) send_all(runtime::Hosts{attempt, names_.hosts_text(attempt)});
  return true;
}

void RunDriver::send_spawns(const std::vector<SpawnAction>& spawns) {
  if (spawns.empty()) return;
  move_off_lost_nodes(spawns);
  if (spawns.front().attempt > store_.attempt()) begin_attempt(spawns.front().attempt);
  std::map<int32_t, runtime::Spawn> per_node;
  for (const SpawnAction& s : spawns) {
    if (attempt_of_.size() < s.launch) attempt_of_.resize(s.launch);
    attempt_of_[s.launch - 1] = s.attempt;
    int32_t node = plan_.slots[s.rank].node;
    if (nodes_[node].lost) {
      std::string why = "spawn " + plan_.expansion.processes[s.rank].name + ": node " +
                        plan_.cluster.nodes[node].name + " is lost";
      uint64_t l = s.launch;
      push([this, l, why] { controller_.process_spawn_failed(l, why, io_.loop.monotonic()); });
      continue;
    }
    nodes_[node].live.insert(s.launch);
    per_node[node].processes.push_back(specs_.build(s.rank, s.launch, s.attempt, s.job_attempt));
  }
  for (auto& [node, msg] : per_node) nodes_[node].link->send(msg);
}

void RunDriver::send_kill(const std::vector<uint64_t>& launches, int grace_ms) {
  std::map<int32_t, runtime::Kill> per_node;
  for (uint64_t l : launches) {
    int32_t rank = controller_.rank_of(l);
    if (rank < 0) continue;
    int32_t node = plan_.slots[rank].node;
    if (nodes_[node].lost) continue;  // already reported gone
    per_node[node].launches.push_back(l);
  }
  for (auto& [node, msg] : per_node) {
    msg.grace_ms = grace_ms;
    nodes_[node].link->send(msg);
  }
}

void RunDriver::send_all(const runtime::Message& m) {
  for (Node& n : nodes_)
    if (n.link && !n.lost) n.link->send(m);
}

void RunDriver::gone(uint64_t launch) {
  int32_t rank = controller_.rank_of(launch);
  if (rank >= 0) nodes_[plan_.slots[rank].node].live.erase(launch);
}

// A daemon that goes away takes its processes with it: each one still
// live there is reported lost (the DisruptionTarget condition), and the
// policies decide.
void RunDriver::link_closed(int32_t node, const std::string& reason) {
  Node& n = nodes_[node];
  if (n.lost) return;
  n.lost = true;
  store_.drop_node(node);
  if (shutting_down_) return;
  const std::string& name = plan_.cluster.nodes[node].name;
  if (!o_.quiet) io_.err << "jobset: lost node " << name << ": " << reason << "\n";
  if (!begun_) {
    fail_setup("the daemon of node " + name + " failed: " + reason);
    return;
  }
  std::string lost = "node " + name + " lost (" + reason + ")";
  for (uint64_t l : std::set<uint64_t>(n.live))
    push([this, l, lost] { controller_.process_lost(l, lost, io_.loop.monotonic()); });
  n.live.clear();
  feed();
}

void RunDriver::record(const EventRecord& e) {
  if (io_.events) {
    nlohmann::json j = {{"time", io_.loop.wall()},
                        {"event", e.kind},
                        {"subject", e.subject},
                        {"detail", e.detail},
                        {"attempt", e.attempt}};
    if (e.status) {
      const JobSetStatus& st = *e.status;
      nlohmann::json rjobs = nlohmann::json::array();
      for (const auto& r : st.replicated_jobs)
        rjobs.push_back({{"name", r.name},
                         {"ready", r.ready},
                         {"active", r.active},
                         {"succeeded", r.succeeded},
                         {"failed", r.failed},
                         {"job_restarts", r.job_restarts}});
      j["status"] = {{"replicated_jobs", rjobs},
                     {"restarts", st.restarts},
                     {"restarts_count_towards_max", st.restarts_count_towards_max}};
    }
    *io_.events << j.dump() << "\n" << std::flush;
  }
  std::string text;
  if (e.kind == "process_retry" || e.kind == "process_failure_ignored")
    text = e.subject + ": " + e.detail;
  else if (e.kind == "job_failed" && (!o_.adhoc || o_.verbose))  // -n runs: the last line says it
    text = "job " + e.subject + " failed: " + e.detail;
  else if (e.kind == "failure_policy")
    text = "failure policy for job " + e.subject + ": " + e.detail;
  else if (e.kind == "jobset_restart")
    text = "restarting every process, " + e.detail;
  else if (e.kind == "job_restart")
    text = "restarting job " + e.subject + ": " + e.detail;
  else if (o_.verbose)
    text = e.kind + " " + e.subject + (e.detail.empty() ? "" : ": " + e.detail);
  if (!text.empty() && !o_.quiet) io_.sink.message("jobset: " + text + "\n");
}

void RunDriver::status_line() {
  if (!io_.status_line) return;
  JobSetStatus st = controller_.status();
  std::string line =
      "jobset " + js_.name + " [attempt " + std::to_string(controller_.attempt()) + "]";
  for (const auto& r : st.replicated_jobs)
    line += "  " + r.name + ": " + std::to_string(r.processes_running) + " running, " +
            std::to_string(r.processes_succeeded) + " done, " + std::to_string(r.processes_failed) +
            " failed";
  if (line.size() > 200) line = line.substr(0, 197) + "...";
  io_.sink.set_status_line(line, 2);
}

void RunDriver::arm_deadline() {
  std::optional<double> at = controller_.next_deadline();
  if (!at) {
    if (deadline_timer_) deadline_timer_->cancel();
    return;
  }
  if (!deadline_timer_)
    deadline_timer_ = io_.loop.timer([this] {
      push([this] { controller_.tick(io_.loop.monotonic()); });
      feed();
    });
  deadline_timer_->arm(std::max(0.0, *at - io_.loop.monotonic()) + 0.001);
}

// First INT/TERM/HUP: stop every process gracefully. Second: kill at once.
// USR1/USR2: forwarded to every process.
void RunDriver::signal(int signo) {
  if (signo == SIGCHLD) {
    // A daemon that exits before it connected will never connect.
    if (io_.starter.reap_exited() > 0 && !begun_ && setup_error_.empty())
      fail_setup("a node daemon (jobsetd) exited before connecting");
    if (shutting_down_ && io_.starter.running() == 0) io_.loop.stop();
    return;
  }
  if (signo == SIGUSR1 || signo == SIGUSR2 || signo == SIGTSTP || signo == SIGCONT) {
    runtime::Signal s;
    s.all = true;
    s.signo = signo;
    send_all(s);
    // Ctrl-Z: the launcher stops too, once the daemons have had the message.
    if (signo == SIGTSTP) {
      if (!suspend_timer_) suspend_timer_ = io_.loop.timer([this] { io_.loop.suspend(); });
      suspend_timer_->arm(0.05);
    }
    return;
  }
  if (!begun_) {
    fail_setup("interrupted by signal " + std::to_string(signo) + " before the start");
    exit_code_ = 128 + signo;
    return;
  }
  if (++interrupts_ == 1) {
    if (!o_.quiet)
      io_.sink.message("jobset: stopping every process (signal again to kill at once)\n");
    push([this, signo] { controller_.interrupt(signo, io_.loop.monotonic()); });
    feed();
    return;
  }
  runtime::Kill k;
  k.all = true;
  k.grace_ms = 0;
  send_all(k);
}

void RunDriver::finish_if_done() {
  if (!controller_.finished() || shutting_down_) return;
  shutting_down_ = true;
  exit_code_ = controller_.outcome().exit_code;
  store_.close("the run has ended");
  send_all(runtime::Shutdown{0});
  // The loop goes on until every daemon has exited (SIGCHLD), at most 5 s.
  shutdown_timer_ = io_.loop.timer([this] { io_.loop.stop(); });
  shutdown_timer_->arm(5.0);
  io_.starter.reap_exited();
  if (io_.starter.running() == 0) io_.loop.stop();
}

int RunDriver::finish() {
  // The daemons are gone (or get 1 s more, then SIGKILL).
  for (Node& n : nodes_)
    if (n.link) n.link->close();
  io_.starter.wait_or_kill(1.0);
  io_.sink.flush();
  if (!setup_error_.empty()) {
    io_.err << "jobset: " << setup_error_ << "\n";
    return exit_code_;
  }
  if (!controller_.decided()) {
    io_.err << "jobset: the run ended before the JobSet finished\n";
    return 1;
  }
  const Outcome& o = controller_.outcome();
  if (io_.events)
    *io_.events << nlohmann::json{{"time", io_.loop.wall()},
                                  {"event", "jobset_finished"},
                                  {"exit_code", o.exit_code},
                                  {"reason", o.reason}}
                       .dump()
                << "\n"
                << std::flush;
  JobSetStatus st = controller_.status();
  if (o_.adhoc && !o.success && o.rank >= 0 && st.restarts == 0) {
    // The mpirun way: which rank, where, and how it ended.
    io_.err << "jobset: failed: rank " << o.rank << " (" << plan_.expansion.processes[o.rank].name << " on "
            << plan_.cluster.nodes[plan_.slots[o.rank].node].name << ") "
            << (o.exit_code > 128 ? "was killed by signal " + std::to_string(o.exit_code - 128)
                                  : "exited with code " + std::to_string(o.exit_code))
            << (o.cause.empty() ? "" : " (" + o.cause + ")")
            << "; every other process was stopped (" << o.reason << ")\n"
            << std::flush;
    return o.exit_code;
  }
  io_.err << ("jobset: " + std::string(o.success ? "completed" : "failed") + " (" + o.reason +
              ", restarts " + std::to_string(st.restarts) + "): " + o.message + "\n")
          << std::flush;
  return o.exit_code;
}

}  // namespace jobset::launcher
