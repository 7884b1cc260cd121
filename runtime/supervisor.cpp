// Supervisor (supervisor.hpp).
#include "runtime/supervisor.hpp"

#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <set>

#include "runtime/line_splitter.hpp"
#include "runtime/spawner.hpp"
#include "runtime/sweep.hpp"
#include "runtime/watchdog.hpp"
#include "runtime/wire.hpp"

namespace jobset::runtime {

namespace {

constexpr size_t kReadSize = size_t{64} * 1024;
constexpr int kLingerMs = 100;
// A partial line (no newline yet: a progress bar, a prompt) is sent when
// the program has added nothing to it for kPartialMs, or has kept it
// growing for kPartialMaxMs: a program writing at full speed is not cut
// between its reads, a stalled or slowly drawn line still shows.
constexpr int kPartialMs = 40;
constexpr int kPartialMaxMs = 250;

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void arm(event* ev, int ms) {
  timeval tv = ms_to_timeval(ms);
  event_add(ev, &tv);
}

}  // namespace

struct Supervisor::Pipe {
  Supervisor* sup = nullptr;
  Proc* proc = nullptr;
  Stream stream = Stream::kStdout;
  int fd = -1;
  event* ev = nullptr;
  event* partial_ev = nullptr;  // sends a partial line left waiting
  int64_t partial_since = -1;   // when the partial line began (ms), -1: none
  bool parked = false;
  LineSplitter split;

  bool open() const { return fd >= 0; }
};

struct Supervisor::Proc {
  enum class Phase { kStarting, kRunning, kFailed };
  uint64_t launch = 0;
  std::string name, argv0, cwd;
  pid_t pid = -1;
  Phase phase = Phase::kStarting;
  int status_fd = -1;
  event* status_ev = nullptr;
  std::string status_record;
  Pipe out, err;
  bool reaped = false;
  int wait_status = 0;
  int abort_code = -1;      // set by abort(): the exit code to report
  std::string mpi_failure;  // set by in_mpi_world() and abort()
  event* linger_ev = nullptr;
  int linger_stage = 0;
  std::vector<std::string> marks;  // what its escaped descendants carry (sweep.hpp)

  ~Proc() {
    for (Pipe* p : {&out, &err}) {
      if (p->ev) event_free(p->ev);
      if (p->partial_ev) event_free(p->partial_ev);
      if (p->fd >= 0) close(p->fd);
    }
    if (status_ev) event_free(status_ev);
    if (status_fd >= 0) close(status_fd);
    if (linger_ev) event_free(linger_ev);
  }
};

struct Supervisor::KillTimer {
  Supervisor* sup = nullptr;
  std::vector<uint64_t> launches;
  event* ev = nullptr;
  ~KillTimer() {
    if (ev) event_free(ev);
  }
};

Supervisor::Supervisor(event_base* base, Spawner& spawner, Watchdog* watchdog, EventSink& sink)
    : base_(base), spawner_(spawner), watchdog_(watchdog), sink_(sink), buf_(kReadSize) {}

Supervisor::~Supervisor() {
  for (auto& [launch, p] : procs_) {
    if (!p->reaped) ::kill(-p->pid, SIGKILL);
  }
  for (auto& [launch, p] : procs_) sweep(p.get());
  // The daemon is going: whatever of the run's processes a sweep missed
  // (a child list read while orphans were being handed over) goes too.
  if (!run_mark_.empty()) {
    std::set<pid_t> keep;
    if (watchdog_) keep.insert(watchdog_->pid());
    sweep_escaped(keep, {run_mark_});
  }
}

// Descendants of `p` that left its process group and were handed to
// jobsetd as orphans (sweep.hpp); the live ranks are never touched.
void Supervisor::sweep(const Proc* p) {
  if (p->marks.empty()) return;
  std::set<pid_t> keep;
  for (const auto& [launch, other] : procs_)
    if (!other->reaped) keep.insert(other->pid);
  if (watchdog_) keep.insert(watchdog_->pid());
  sweep_escaped(keep, p->marks);
}

void Supervisor::spawn(const ProcessSpec& spec, int keep_fd) {
  if (procs_.count(spec.launch)) {
    sink_.send(SpawnFailed{spec.launch, "spawn " + spec.name + ": launch id " +
                                            std::to_string(spec.launch) + " is already in use"});
    return;
  }
  auto child = spawner_.spawn(spec, keep_fd);
  if (!child.ok()) {
    sink_.send(SpawnFailed{spec.launch, "spawn " + spec.name + ": " + child.error().message()});
    return;
  }
  auto p = std::make_unique<Proc>();
  p->launch = spec.launch;
  p->name = spec.name;
  p->argv0 = spec.argv[0];
  p->cwd = spec.cwd;
  p->pid = child->pid;
  for (const auto& [name, value] : spec.env)
    if (name == "JOBSET_RDZV" || name == "JOBSET_HOSTNAME" || name == "JOBSET_RESTART_ATTEMPT")
      p->marks.push_back(std::string(name).append("=").append(value));
  if (p->marks.size() != 3) p->marks.clear();  // not a run's process: nothing to recognise
  if (!p->marks.empty() && run_mark_.empty())
    for (const std::string& m : p->marks)
      if (m.rfind("JOBSET_RDZV=", 0) == 0) run_mark_ = m;
  p->status_fd = child->status_fd;
  if (p->status_fd >= 0) {
    p->status_ev = event_new(base_, p->status_fd, EV_READ | EV_PERSIST, on_status, p.get());
    event_add(p->status_ev, nullptr);
  }
  for (auto [pipe, fd, stream] : {std::tuple{&p->out, child->out_fd, Stream::kStdout},
                                  std::tuple{&p->err, child->err_fd, Stream::kStderr}}) {
    pipe->sup = this;
    pipe->proc = p.get();
    pipe->stream = stream;
    pipe->fd = fd;
    pipe->ev = event_new(base_, fd, EV_READ | EV_PERSIST, on_pipe, pipe);  // added once started
  }
  if (watchdog_) watchdog_->watch(p->pid);
  Proc* raw = p.get();
  by_pid_[raw->pid] = raw;
  procs_[spec.launch] = std::move(p);
  if (raw->status_fd < 0) exec_result(raw, child->exec_failure);
}

std::vector<Supervisor::Proc*> Supervisor::targets(const std::vector<uint64_t>& launches,
                                                   bool all) {
  std::vector<Proc*> out;
  if (all) {
    for (auto& [launch, p] : procs_) out.push_back(p.get());
  } else {
    for (uint64_t l : launches) {
      auto it = procs_.find(l);
      if (it != procs_.end()) out.push_back(it->second.get());
    }
  }
  return out;
}

void Supervisor::kill(const std::vector<uint64_t>& launches, bool all, int grace_ms) {
  auto timer = std::make_unique<KillTimer>();
  timer->sup = this;
  for (Proc* p : targets(launches, all)) {
    if (p->reaped) continue;
    ::kill(-p->pid, grace_ms > 0 ? SIGTERM : SIGKILL);
    timer->launches.push_back(p->launch);
  }
  if (grace_ms <= 0 || timer->launches.empty()) return;
  timer->ev = evtimer_new(base_, on_kill_timer, timer.get());
  arm(timer->ev, grace_ms);
  kill_timers_.push_back(std::move(timer));
}

void Supervisor::abort(uint64_t launch, int code) {
  auto it = procs_.find(launch);
  if (it == procs_.end() || it->second->reaped) return;
  it->second->abort_code = code & 0xff;  // as exit(code) would give it
  it->second->mpi_failure = "called MPI_Abort with exit code " + std::to_string(code);
  ::kill(-it->second->pid, SIGKILL);
}

void Supervisor::in_mpi_world(uint64_t launch, bool in) {
  auto it = procs_.find(launch);
  if (it == procs_.end() || it->second->abort_code >= 0) return;
  it->second->mpi_failure =
      in ? "ended between MPI_Init and MPI_Finalize; its MPI world cannot go on without it" : "";
}

void Supervisor::on_kill_timer(evutil_socket_t, short, void* arg) {
  auto* t = static_cast<KillTimer*>(arg);
  Supervisor* self = t->sup;
  for (uint64_t l : t->launches) {
    auto it = self->procs_.find(l);
    if (it != self->procs_.end() && !it->second->reaped) ::kill(-it->second->pid, SIGKILL);
  }
  self->kill_timers_.remove_if([t](const std::unique_ptr<KillTimer>& k) { return k.get() == t; });
}

void Supervisor::signal(const std::vector<uint64_t>& launches, bool all, int signo) {
  if (signo <= 0 || signo >= NSIG) return;
  for (Proc* p : targets(launches, all)) {
    if (!p->reaped) ::kill(-p->pid, signo);
  }
}

void Supervisor::on_status(evutil_socket_t, short, void* arg) {
  auto* p = static_cast<Proc*>(arg);
  p->out.sup->read_status(p);
}

void Supervisor::read_status(Proc* p) {
  char rec[64];
  ssize_t n = read(p->status_fd, rec, sizeof rec);
  if (n > 0) {
    p->status_record.append(rec, static_cast<size_t>(n));
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  // EOF: exec happened (nothing written) or failed (a record).
  event_free(p->status_ev);
  p->status_ev = nullptr;
  close(p->status_fd);
  p->status_fd = -1;
  exec_result(p, p->status_record);
}

// Started or SpawnFailed, once it is known whether exec worked.
void Supervisor::exec_result(Proc* p, const std::string& failure) {
  if (failure.empty()) {
    p->phase = Proc::Phase::kRunning;
    sink_.send(Started{p->launch, p->pid});
    event_add(p->out.ev, nullptr);
    event_add(p->err.ev, nullptr);
  } else {
    p->phase = Proc::Phase::kFailed;
    sink_.send(SpawnFailed{p->launch, exec_failure_message(p->name, p->argv0, p->cwd, failure)});
    close_pipe(&p->out);
    close_pipe(&p->err);
  }
  maybe_finish(p);
}

void Supervisor::on_pipe(evutil_socket_t, short, void* arg) {
  auto* pipe = static_cast<Pipe*>(arg);
  Supervisor* self = pipe->sup;
  if (self->sink_.congested()) {
    // Leave the bytes in the pipe: the writer blocks until the sink drains.
    event_del(pipe->ev);
    pipe->parked = true;
    self->parked_.push_back(pipe);
    return;
  }
  self->read_pipe(pipe);
  if (!pipe->open()) self->maybe_finish(pipe->proc);
}

void Supervisor::read_pipe(Pipe* pipe) {
  ssize_t n = read(pipe->fd, buf_.data(), buf_.size());
  if (n > 0) {
    std::string ready = pipe->split.feed(std::string_view(buf_.data(), static_cast<size_t>(n)));
    if (!ready.empty()) send_output(pipe->proc, pipe->stream, std::move(ready));
    if (pipe->split.pending() > 0) {
      const int64_t now = now_ms();
      if (pipe->partial_since < 0) pipe->partial_since = now;
      if (!pipe->partial_ev) pipe->partial_ev = evtimer_new(base_, on_partial, pipe);
      const int64_t due = std::min(now + kPartialMs, pipe->partial_since + kPartialMaxMs);
      arm(pipe->partial_ev, static_cast<int>(std::max<int64_t>(due - now, 0)));
    } else {
      pipe->partial_since = -1;
    }
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    close_pipe(pipe);
  }
}

void Supervisor::send_output(Proc* p, Stream stream, std::string data) {
  if (p->phase == Proc::Phase::kRunning) sink_.send_output(p->launch, stream, std::move(data));
}

// Sends the partial last line and closes; the caller checks maybe_finish.
void Supervisor::close_pipe(Pipe* pipe) {
  if (!pipe->open()) return;
  std::string rest = pipe->split.finish();
  if (!rest.empty()) send_output(pipe->proc, pipe->stream, std::move(rest));
  if (pipe->parked) {
    parked_.erase(std::remove(parked_.begin(), parked_.end(), pipe), parked_.end());
    pipe->parked = false;
  }
  event_free(pipe->ev);
  pipe->ev = nullptr;
  if (pipe->partial_ev) event_free(pipe->partial_ev);
  pipe->partial_ev = nullptr;
  close(pipe->fd);
  pipe->fd = -1;
}

void Supervisor::resume_output() {
  if (parked_.empty() || sink_.congested()) return;
  std::vector<Pipe*> parked;
  parked.swap(parked_);
  for (Pipe* pipe : parked) {
    pipe->parked = false;
    event_add(pipe->ev, nullptr);
  }
}

void Supervisor::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;
    auto it = by_pid_.find(pid);
    if (it == by_pid_.end()) {
      if (on_other_child) on_other_child(pid, status);
      continue;
    }
    Proc* p = it->second;
    by_pid_.erase(it);
    p->reaped = true;
    p->wait_status = status;
    maybe_finish(p);
  }
}

void Supervisor::on_partial(evutil_socket_t, short, void* arg) {
  auto* pipe = static_cast<Pipe*>(arg);
  if (!pipe->open() || pipe->split.pending() == 0) return;
  // Bytes still in the pipe (not read yet: output parked, or the loop
  // busy) mean the writer is not waiting: its line may be going on.
  int unread = 0;
  if (pipe->parked || (ioctl(pipe->fd, FIONREAD, &unread) == 0 && unread > 0))
    return arm(pipe->partial_ev, kPartialMs);
  pipe->partial_since = -1;
  pipe->sup->send_output(pipe->proc, pipe->stream, pipe->split.finish());
}

void Supervisor::on_linger(evutil_socket_t, short, void* arg) {
  auto* p = static_cast<Proc*>(arg);
  p->out.sup->linger(p);
}

// The process ended but a pipe is still open: first kill its group (the
// usual holder), then stop waiting. Not while output is parked: then the
// pipe simply has not been read yet.
void Supervisor::linger(Proc* p) {
  if (sink_.congested()) return arm(p->linger_ev, kLingerMs);
  if (p->out.parked || p->err.parked) {
    resume_output();  // the sink drained (or went away) without telling
    return arm(p->linger_ev, kLingerMs);
  }
  if (p->linger_stage == 1) {
    ::kill(-p->pid, SIGKILL);
    p->linger_stage = 2;
    return arm(p->linger_ev, kLingerMs);
  }
  for (Pipe* pipe : {&p->out, &p->err}) {
    for (int i = 0; pipe->open() && i < 64; ++i) read_pipe(pipe);  // what is there now
    close_pipe(pipe);
  }
  maybe_finish(p);
}

void Supervisor::maybe_finish(Proc* p) {
  if (p->phase == Proc::Phase::kStarting || !p->reaped) return;
  if (p->out.open() || p->err.open()) {
    if (!p->linger_ev) {
      p->linger_ev = evtimer_new(base_, on_linger, p);
      p->linger_stage = 1;
      arm(p->linger_ev, kLingerMs);
    }
    return;
  }
  ::kill(-p->pid, SIGKILL);  // what is left of its group
  sweep(p);                  // and what left the group
  if (watchdog_) watchdog_->forget(p->pid);
  if (p->phase == Proc::Phase::kRunning) {
    Exited e;
    e.launch = p->launch;
    if (WIFSIGNALED(p->wait_status)) {
      e.signal = WTERMSIG(p->wait_status);
      e.exit_code = 128 + e.signal;
    } else {
      e.exit_code = WEXITSTATUS(p->wait_status);
    }
    if (p->abort_code >= 0) e = Exited{p->launch, p->abort_code, 0, {}};
    e.mpi_failure = p->mpi_failure;
    sink_.send(e);
  }
  procs_.erase(p->launch);
  if (procs_.empty()) {
    kill_timers_.clear();
    if (on_idle) on_idle();
  }
}

}  // namespace jobset::runtime
