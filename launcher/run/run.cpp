#include "launcher/run/run.hpp"

#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <chrono>
#include <cmath>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "launcher/run/controller.hpp"
#include "launcher/run/local_daemons.hpp"
#include "runtime/auth.hpp"
#include "runtime/link.hpp"

namespace jobset::launcher {

namespace {

double monotonic() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

timeval to_timeval(double seconds) {
  double whole = std::floor(seconds);
  return timeval{static_cast<time_t>(whole), static_cast<suseconds_t>((seconds - whole) * 1e6)};
}

double wall() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A port free on loopback now, for MASTER_PORT and the JAX coordinator.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// The whole run: one object on one event loop.
class Runner {
 public:
  Runner(const JobSet& js, const Plan& plan, const RunOptions& o, std::ostream& err)
      : js_(js),
        plan_(plan),
        o_(o),
        err_(err),
        controller_(js, plan.expansion, ControllerOptions{o.max_restarts}),
        sink_(o.output, write_all, wall) {}

  ~Runner() {
    for (event* e : events_) event_free(e);
    nodes_.clear();
    listener_.reset();
    if (base_) event_base_free(base_);
  }

  int run();

 private:
  struct Node {
    std::unique_ptr<runtime::DaemonLink> link;
    bool lost = false;
    std::set<uint64_t> live;  // instances spawned there and not reported gone
  };

  Status setup();
  void on_daemon(std::unique_ptr<runtime::DaemonLink> link);
  void begin();
  void feed();  // runs queued inputs through the controller and applies actions
  void apply(std::vector<Action> actions);
  void send_spawns(const std::vector<SpawnAction>& spawns);
  void send_kill(const std::vector<uint64_t>& launches, int grace_ms);
  runtime::ProcessSpec spec_for(const SpawnAction& s);
  void node_lost(int32_t node, const std::string& why);
  void gone(uint64_t launch);
  void record(const EventRecord& e);
  void status_line();
  void arm_deadline();
  void on_signal(int signo);
  void finish_if_done();
  void fail_setup(const std::string& why);
  event* add_timer(double seconds, void (*cb)(evutil_socket_t, short, void*));

  const JobSet& js_;
  const Plan& plan_;
  const RunOptions& o_;
  std::ostream& err_;
  Controller controller_;
  OutputSink sink_;
  event_base* base_ = nullptr;
  std::unique_ptr<runtime::DaemonListener> listener_;
  LocalDaemons daemons_;
  std::string key_;
  std::vector<Node> nodes_;
  std::map<std::string, int32_t> node_by_name_;
  int connected_ = 0;
  bool begun_ = false;
  bool shutting_down_ = false;
  int interrupts_ = 0;
  std::vector<event*> events_;
  event* deadline_timer_ = nullptr;
  std::deque<std::function<void()>> inputs_;  // controller inputs not yet fed
  std::vector<int> attempt_of_;               // launch id - 1 -> attempt
  std::vector<int32_t> local_rank_, local_size_;
  int master_port_ = 0;
  std::ofstream events_out_;
  int exit_code_ = 1;
  std::string setup_error_;
  bool tty_ = false;
};

event* Runner::add_timer(double seconds, void (*cb)(evutil_socket_t, short, void*)) {
  event* e = evtimer_new(base_, cb, this);
  timeval tv = to_timeval(seconds);
  evtimer_add(e, &tv);
  events_.push_back(e);
  return e;
}

Status Runner::setup() {
  base_ = event_base_new();
  if (!base_) return Error("cannot create the event loop");
  auto key = runtime::make_key();
  if (!key) return key.error();
  key_ = *key;
  auto listener = runtime::DaemonListener::create(base_, key_);
  if (!listener) return listener.error().with_context("cannot listen for the node daemons");
  listener_ = std::move(*listener);
  listener_->on_daemon = [this](std::unique_ptr<runtime::DaemonLink> l) { on_daemon(std::move(l)); };
  listener_->on_reject = [this](const std::string& why) {
    if (o_.verbose) err_ << "jobset: refused a connection: " << why << "\n";
  };
  nodes_.resize(plan_.cluster.nodes.size());
  std::vector<std::string> names;
  for (size_t i = 0; i < plan_.cluster.nodes.size(); ++i) {
    names.push_back(plan_.cluster.nodes[i].name);
    node_by_name_[names.back()] = static_cast<int32_t>(i);
  }
  auto daemons = start_local_daemons(names, listener_->address(), key_, o_.jobsetd);
  if (!daemons) return daemons.error();
  daemons_ = std::move(*daemons);
  runtime::warm_up_crypto();  // while the daemons start
  // Placement-dependent numbers for the environment.
  local_rank_.assign(plan_.slots.size(), 0);
  local_size_.assign(plan_.slots.size(), 0);
  std::vector<int32_t> per_node(plan_.cluster.nodes.size(), 0);
  for (size_t r = 0; r < plan_.slots.size(); ++r) local_rank_[r] = per_node[plan_.slots[r].node]++;
  for (size_t r = 0; r < plan_.slots.size(); ++r) local_size_[r] = per_node[plan_.slots[r].node];
  master_port_ = free_port();
  if (!o_.events_file.empty()) {
    events_out_.open(o_.events_file, std::ios::trunc);
    if (!events_out_) return Error("--events " + o_.events_file + ": cannot be written");
  }
  tty_ = !o_.quiet && o_.output.dir.empty() && isatty(2);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD}) {
    event* e = evsignal_new(
        base_, sig, [](evutil_socket_t s, short, void* self) { static_cast<Runner*>(self)->on_signal(static_cast<int>(s)); },
        this);
    event_add(e, nullptr);
    events_.push_back(e);
  }
  add_timer(30.0, [](evutil_socket_t, short, void* self) {
    auto* r = static_cast<Runner*>(self);
    if (!r->begun_)
      r->fail_setup("only " + std::to_string(r->connected_) + " of " + std::to_string(r->nodes_.size()) +
                    " node daemons connected within 30 s");
  });
  return {};
}

void Runner::fail_setup(const std::string& why) {
  setup_error_ = why;
  exit_code_ = 1;
  daemons_.terminate();
  event_base_loopbreak(base_);
}

void Runner::on_daemon(std::unique_ptr<runtime::DaemonLink> link) {
  auto it = node_by_name_.find(link->node());
  if (it == node_by_name_.end() || nodes_[it->second].link) {
    link->close();
    return;
  }
  int32_t n = it->second;
  runtime::DaemonLink::Handlers h;
  h.started = [this](const runtime::Started& s) {
    inputs_.push_back([this, s] { controller_.process_started(s.launch, monotonic()); });
    feed();
  };
  h.spawn_failed = [this](const runtime::SpawnFailed& s) {
    gone(s.launch);
    if (!o_.quiet) sink_.message("jobset: " + s.error + "\n");
    inputs_.push_back([this, s] { controller_.process_spawn_failed(s.launch, s.error, monotonic()); });
    feed();
  };
  h.exited = [this](const runtime::Exited& e) {
    gone(e.launch);
    inputs_.push_back([this, e] { controller_.process_exited(e.launch, e.exit_code, e.signal, monotonic()); });
    feed();
  };
  h.output = [this](const runtime::Output& out) {
    int32_t rank = controller_.rank_of(out.launch);
    if (rank < 0) return;
    int attempt = attempt_of_[out.launch - 1];
    auto s = sink_.write(plan_.expansion.processes[rank].name, attempt, out.stream == runtime::Stream::kStderr ? 2 : 1,
                         out.data);
    if (!s && !o_.quiet) err_ << "jobset: " << s.error().message() << "\n";
  };
  h.closed = [this, n](const std::string& reason) { node_lost(n, reason); };
  link->set_handlers(std::move(h));
  nodes_[n].link = std::move(link);
  if (++connected_ == static_cast<int>(nodes_.size())) begin();
}

void Runner::begin() {
  begun_ = true;
  if (o_.report_bindings) {
    std::string report;
    for (size_t i = 0; i < plan_.expansion.processes.size(); ++i)
      report += "jobset: " + plan_.expansion.processes[i].name + " (rank " + std::to_string(i) + ") on " +
                plan_.cluster.nodes[plan_.slots[i].node].name + ": " + binding_text(plan_, i) + "\n";
    sink_.message(report);
  }
  if (o_.timeout)
    add_timer(*o_.timeout, [](evutil_socket_t, short, void* self) {
      auto* r = static_cast<Runner*>(self);
      r->inputs_.push_back([r] { r->controller_.interrupt(0, monotonic()); });
      r->feed();
    });
  inputs_.push_back([this] { controller_.start(monotonic()); });
  feed();
}

void Runner::feed() {
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

void Runner::apply(std::vector<Action> actions) {
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

runtime::ProcessSpec Runner::spec_for(const SpawnAction& s) {
  const Process& p = plan_.expansion.processes[s.rank];
  const JobTemplate& t = js_.replicated_jobs[p.rjob].tmpl;
  runtime::ProcessSpec spec;
  spec.launch = s.launch;
  spec.rank = s.rank;
  spec.name = p.name;
  spec.argv = t.command;
  spec.argv.insert(spec.argv.end(), t.args.begin(), t.args.end());
  spec.cwd = t.working_dir;
  if (!plan_.bindings.empty()) {
    const topology::Binding& b = plan_.bindings[s.rank];
    spec.cpus = b.pus;
    spec.gpus = b.gpus;
    spec.tpus = b.tpus;
  }
  int32_t node = plan_.slots[s.rank].node;
  // Every node is on this machine for now, so the coordinator (or rank 0)
  // is reached on loopback. Stable names and addresses arrive with the
  // rendezvous service.
  std::string master = "127.0.0.1";
  Env env = {
      {"LOCAL_RANK", std::to_string(local_rank_[s.rank])},
      {"LOCAL_WORLD_SIZE", std::to_string(local_size_[s.rank])},
      {"GROUP_RANK", std::to_string(node)},
      {"OMPI_COMM_WORLD_LOCAL_RANK", std::to_string(local_rank_[s.rank])},
      {"OMPI_COMM_WORLD_LOCAL_SIZE", std::to_string(local_size_[s.rank])},
      {"JOBSET_NODE", plan_.cluster.nodes[node].name},
      {"MASTER_ADDR", master},
      {"MASTER_PORT", std::to_string(master_port_)},
      {"JAX_COORDINATOR_ADDRESS", master + ":" + std::to_string(master_port_)},
      {"MEGASCALE_COORDINATOR_ADDRESS", master + ":" + std::to_string(master_port_)},
  };
  Env own = process_env(js_, plan_.expansion, p, s.attempt);
  env.insert(env.end(), own.begin(), own.end());  // the file's env is last in `own` and wins
  env.insert(env.end(), o_.exports.begin(), o_.exports.end());  // -x wins over everything
  spec.env = std::move(env);
  return spec;
}

void Runner::send_spawns(const std::vector<SpawnAction>& spawns) {
  if (spawns.empty()) return;
  std::map<int32_t, runtime::Spawn> per_node;
  for (const SpawnAction& s : spawns) {
    if (attempt_of_.size() < s.launch) attempt_of_.resize(s.launch);
    attempt_of_[s.launch - 1] = s.attempt;
    int32_t node = plan_.slots[s.rank].node;
    if (nodes_[node].lost) {
      std::string why = "spawn " + plan_.expansion.processes[s.rank].name + ": node " +
                        plan_.cluster.nodes[node].name + " is lost";
      uint64_t l = s.launch;
      inputs_.push_back([this, l, why] { controller_.process_spawn_failed(l, why, monotonic()); });
      continue;
    }
    nodes_[node].live.insert(s.launch);
    per_node[node].processes.push_back(spec_for(s));
  }
  for (auto& [node, msg] : per_node) nodes_[node].link->send(msg);
}

void Runner::send_kill(const std::vector<uint64_t>& launches, int grace_ms) {
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

void Runner::gone(uint64_t launch) {
  int32_t rank = controller_.rank_of(launch);
  if (rank >= 0) nodes_[plan_.slots[rank].node].live.erase(launch);
}

// A daemon that goes away takes its processes with it: each one still
// live there is reported killed (SIGKILL), and the policies decide.
void Runner::node_lost(int32_t node, const std::string& why) {
  Node& n = nodes_[node];
  if (n.lost) return;
  n.lost = true;
  if (shutting_down_) return;
  if (!o_.quiet) err_ << "jobset: lost node " << plan_.cluster.nodes[node].name << ": " << why << "\n";
  std::string lost = "node " + plan_.cluster.nodes[node].name + " lost (" + why + ")";
  for (uint64_t l : std::set<uint64_t>(n.live))
    inputs_.push_back([this, l, lost] { controller_.process_lost(l, lost, monotonic()); });
  n.live.clear();
  if (begun_) feed();
  else fail_setup("the daemon of node " + plan_.cluster.nodes[node].name + " failed: " + why);
}

void Runner::record(const EventRecord& e) {
  if (events_out_.is_open()) {
    nlohmann::json j = {{"time", wall()},        {"event", e.kind},     {"subject", e.subject},
                        {"detail", e.detail},    {"attempt", e.attempt}};
    if (e.kind.rfind("jobset_", 0) == 0 || e.kind.rfind("job_", 0) == 0) {
      JobSetStatus st = controller_.status();
      nlohmann::json rjobs = nlohmann::json::array();
      for (const auto& r : st.replicated_jobs)
        rjobs.push_back({{"name", r.name}, {"ready", r.ready}, {"active", r.active}, {"succeeded", r.succeeded}, {"failed", r.failed}});
      j["status"] = {{"replicated_jobs", rjobs}, {"restarts", st.restarts},
                     {"restarts_count_towards_max", st.restarts_count_towards_max}};
    }
    events_out_ << j.dump() << "\n";
    events_out_.flush();
  }
  std::string text;
  if (e.kind == "process_retry" || e.kind == "process_failure_ignored")
    text = e.subject + ": " + e.detail;
  else if (e.kind == "job_failed")
    text = "job " + e.subject + " failed: " + e.detail;
  else if (e.kind == "failure_policy")
    text = "failure policy for job " + e.subject + ": " + e.detail;
  else if (e.kind == "jobset_restart")
    text = "restarting every process, " + e.detail;
  else if (e.kind == "job_restart")
    text = "restarting job " + e.subject + ": " + e.detail;
  else if (o_.verbose)
    text = e.kind + " " + e.subject + (e.detail.empty() ? "" : ": " + e.detail);
  if (!text.empty() && !o_.quiet) sink_.message("jobset: " + text + "\n");
}

void Runner::status_line() {
  if (!tty_) return;
  JobSetStatus st = controller_.status();
  std::string line = "jobset " + js_.name + " [attempt " + std::to_string(controller_.attempt()) + "]";
  for (const auto& r : st.replicated_jobs)
    line += "  " + r.name + ": " + std::to_string(r.active) + " running, " + std::to_string(r.ready) + " ready, " +
            std::to_string(r.succeeded) + " ok, " + std::to_string(r.failed) + " failed";
  if (line.size() > 200) line = line.substr(0, 197) + "...";
  sink_.set_status_line(line, 2);
}

void Runner::arm_deadline() {
  std::optional<double> at = controller_.next_deadline();
  if (!at) {
    if (deadline_timer_) evtimer_del(deadline_timer_);
    return;
  }
  if (!deadline_timer_) {
    deadline_timer_ = evtimer_new(
        base_,
        [](evutil_socket_t, short, void* self) {
          auto* r = static_cast<Runner*>(self);
          r->inputs_.push_back([r] { r->controller_.tick(monotonic()); });
          r->feed();
        },
        this);
    events_.push_back(deadline_timer_);
  }
  double in = std::max(0.0, *at - monotonic()) + 0.001;
  timeval tv = to_timeval(in);
  evtimer_add(deadline_timer_, &tv);
}

// First INT/TERM/HUP: stop every process gracefully. Second: kill at once.
// USR1/USR2: forwarded to every process.
void Runner::on_signal(int signo) {
  if (signo == SIGCHLD) {
    // A daemon that exits before it connected will never connect.
    if (daemons_.reap_exited() > 0 && !begun_) fail_setup("a node daemon (jobsetd) exited before connecting");
    if (shutting_down_ && daemons_.pids().empty()) event_base_loopbreak(base_);
    return;
  }
  if (signo == SIGUSR1 || signo == SIGUSR2) {
    runtime::Signal s;
    s.all = true;
    s.signo = signo;
    for (Node& n : nodes_)
      if (n.link && !n.lost) n.link->send(s);
    return;
  }
  if (!begun_) {
    fail_setup("interrupted by signal " + std::to_string(signo) + " before the start");
    exit_code_ = 128 + signo;
    return;
  }
  if (++interrupts_ == 1) {
    if (!o_.quiet) sink_.message("jobset: stopping every process (signal again to kill at once)\n");
    inputs_.push_back([this, signo] { controller_.interrupt(signo, monotonic()); });
    feed();
    return;
  }
  runtime::Kill k;
  k.all = true;
  k.grace_ms = 0;
  for (Node& n : nodes_)
    if (n.link && !n.lost) n.link->send(k);
}

void Runner::finish_if_done() {
  if (!controller_.finished() || shutting_down_) return;
  shutting_down_ = true;
  exit_code_ = controller_.outcome().exit_code;
  for (Node& n : nodes_)
    if (n.link && !n.lost) n.link->send(runtime::Shutdown{0});
  // The loop goes on until every daemon has exited (SIGCHLD), at most 5 s.
  add_timer(5.0, [](evutil_socket_t, short, void* self) { event_base_loopbreak(static_cast<Runner*>(self)->base_); });
  daemons_.reap_exited();
  if (daemons_.pids().empty()) event_base_loopbreak(base_);
}

int Runner::run() {
  if (auto s = setup(); !s) {
    err_ << "jobset: " << s.error().message() << "\n";
    return 1;
  }
  event_base_dispatch(base_);
  // The daemons are gone (or get 1 s more, then SIGKILL).
  for (Node& n : nodes_)
    if (n.link) n.link->close();
  daemons_.wait_or_kill(1.0);
  sink_.flush();
  if (!setup_error_.empty()) {
    err_ << "jobset: " << setup_error_ << "\n";
    return exit_code_;
  }
  const Outcome& o = controller_.outcome();
  if (events_out_.is_open()) {
    events_out_ << nlohmann::json{{"time", wall()}, {"event", "jobset_finished"}, {"exit_code", o.exit_code},
                                  {"reason", o.reason}}.dump()
                << "\n";
  }
  JobSetStatus st = controller_.status();
  err_ << ("jobset: " + std::string(o.success ? "completed" : "failed") + " (" + o.reason + ", restarts " +
           std::to_string(st.restarts) + "): " + o.message + "\n")
       << std::flush;
  return o.exit_code;
}

}  // namespace

int run_jobset(const JobSet& js, const Plan& plan, const RunOptions& options, std::ostream& err) {
  signal(SIGPIPE, SIG_IGN);
  Runner r(js, plan, options, err);
  return r.run();
}

}  // namespace jobset::launcher
