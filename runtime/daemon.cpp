// The jobsetd daemon (daemon.hpp): the connection to the launcher, the
// handshake, dispatch of the launcher's requests to the Supervisor, and
// the ways the daemon ends.
//
// States: connecting -> await Challenge -> await Welcome -> serving ->
// stopping -> done. Anything that goes wrong before serving ends the
// daemon at once (there are no processes yet). From serving on, every
// end goes through stopping: kill everything (TERM, grace, KILL), wait
// until all are reaped and their Exited sent, flush the connection, exit.
// A second SIGTERM/SIGINT while stopping SIGKILLs at once.
#include "runtime/daemon.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <ostream>
#include <vector>

#include "runtime/auth.hpp"
#include "runtime/pmi1_server.hpp"
#include "runtime/rdzv_endpoint.hpp"
#include "runtime/spawner.hpp"
#include "runtime/supervisor.hpp"
#include "runtime/watchdog.hpp"
#include "runtime/wire.hpp"

namespace jobset::runtime {

namespace {

constexpr int kHandshakeTimeoutMs = 10000;
constexpr int kLostConnectionGraceMs = 2000;
constexpr int kSignalGraceMs = 2000;
constexpr int kFlushTimeoutMs = 5000;
// Output backpressure: stop reading the pipes above kHighWater bytes
// queued for the launcher, resume below kLowWater.
constexpr size_t kHighWater = 512u << 10;
constexpr size_t kLowWater = 128u << 10;

class Daemon final : public EventSink {
 public:
  Daemon(const DaemonOptions& o, std::ostream& err) : o_(o), err_(err) {}
  ~Daemon() override;
  int run();

  void send(const Message& m) override {
    if (bev_ && state_ >= State::kServing) write_message(bev_, m);
  }
  void send_output(uint64_t launch, Stream stream, std::string&& data) override {
    if (bev_ && state_ >= State::kServing) write_output(bev_, launch, stream, data);
  }
  bool congested() const override {
    return bev_ && evbuffer_get_length(bufferevent_get_output(bev_)) > kHighWater;
  }

 private:
  enum class State { kConnecting, kAwaitChallenge, kAwaitWelcome, kServing, kStopping, kDone };

  bool start();
  bool connect();
  static void on_read(bufferevent*, void* arg);
  static void on_write(bufferevent*, void* arg);
  static void on_event(bufferevent*, short what, void* arg);
  static void on_signal(evutil_socket_t sig, short, void* arg);
  static void on_timeout(evutil_socket_t, short, void* arg);
  void handle(Message& m);
  void serve(Message& m);
  void spawn_one(ProcessSpec& spec);
  void fail_start(int code, const std::string& why);
  void drop_connection();
  void stop(int code, const std::string& why, int grace_ms);
  void finish();
  void say(const std::string& line) { err_ << "jobsetd[" << o_.node << "]: " << line << std::endl; }

  DaemonOptions o_;
  std::ostream& err_;
  State state_ = State::kConnecting;
  int exit_code_ = kDaemonExitLostConnection;
  event_base* base_ = nullptr;
  bufferevent* bev_ = nullptr;
  event* timer_ = nullptr;
  std::vector<event*> signals_;
  FrameDecoder decoder_{kMaxHandshakeFrame};
  Hello hello_;
  std::unique_ptr<Watchdog> watchdog_;
  std::unique_ptr<Spawner> spawner_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<RdzvEndpoint> rdzv_;  // from serving on; none if it could not be made
  std::unique_ptr<Pmi1Server> pmi1_;    // from serving on
};

Daemon::~Daemon() {
  supervisor_.reset();  // SIGKILLs whatever is still alive
  pmi1_.reset();
  rdzv_.reset();        // removes its socket, hosts file and directory
  spawner_.reset();
  watchdog_.reset();
  if (bev_) bufferevent_free(bev_);
  if (timer_) event_free(timer_);
  for (event* ev : signals_) event_free(ev);
  if (base_) event_base_free(base_);
}

int Daemon::run() {
  if (!start() || !connect()) return exit_code_;
  warm_up_crypto();  // while the connection is being made
  event_base_dispatch(base_);
  return exit_code_;
}

bool Daemon::start() {
  base_ = event_base_new();
  if (!base_) {
    fail_start(kDaemonExitBadStart, "cannot create the event loop");
    return false;
  }
  // First, while the daemon holds nothing the watchdog should not keep.
  auto watchdog = Watchdog::start(base_);
  if (!watchdog.ok()) {
    fail_start(kDaemonExitBadStart, watchdog.error().message());
    return false;
  }
  watchdog_ = std::move(*watchdog);
  std::signal(SIGPIPE, SIG_IGN);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) {
    event* ev = evsignal_new(base_, sig, on_signal, this);
    event_add(ev, nullptr);
    signals_.push_back(ev);
  }
  // Children get the open-files limit the daemon was given; the daemon
  // itself needs three descriptors per process it runs.
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  rlimit raised = nofile;
  raised.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &raised);
  spawner_ = std::make_unique<Spawner>(nofile);  // after the handlers: it undoes them in children
  supervisor_ = std::make_unique<Supervisor>(base_, *spawner_, watchdog_.get(), *this);
  supervisor_->on_idle = [this] {
    if (state_ == State::kStopping) finish();
  };
  supervisor_->on_other_child = [this](pid_t pid, int) {
    if (watchdog_ && pid == watchdog_->pid()) say("warning: the watchdog process died");
  };
  timer_ = evtimer_new(base_, on_timeout, this);
  timeval tv = ms_to_timeval(kHandshakeTimeoutMs);
  evtimer_add(timer_, &tv);
  return true;
}

bool Daemon::connect() {
  std::string where = o_.host + ":" + o_.port;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* ai = nullptr;
  if (int rc = getaddrinfo(o_.host.c_str(), o_.port.c_str(), &hints, &ai); rc != 0) {
    fail_start(kDaemonExitLostConnection, "cannot connect to " + where + ": " + gai_strerror(rc));
    return false;
  }
  // Close-on-exec, so that no child inherits the launcher connection.
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  bev_ = fd < 0 ? nullptr : bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!bev_ ||
      bufferevent_socket_connect(bev_, ai->ai_addr, static_cast<int>(ai->ai_addrlen)) != 0) {
    int e = errno;
    freeaddrinfo(ai);
    if (!bev_ && fd >= 0) close(fd);
    fail_start(kDaemonExitLostConnection, "cannot connect to " + where + ": " + strerror(e));
    return false;
  }
  freeaddrinfo(ai);
  bufferevent_setcb(bev_, on_read, nullptr, on_event, this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  return true;
}

void Daemon::on_event(bufferevent* bev, short what, void* arg) {
  auto* self = static_cast<Daemon*>(arg);
  int e = EVUTIL_SOCKET_ERROR();
  if (what & BEV_EVENT_CONNECTED) {
    int one = 1;
    setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto hello = make_hello(self->o_.node);
    if (!hello.ok()) return self->fail_start(kDaemonExitBadStart, hello.error().message());
    self->hello_ = *hello;
    self->state_ = State::kAwaitChallenge;
    write_message(bev, self->hello_);
    return;
  }
  std::string why = (what & BEV_EVENT_EOF) ? "closed by the launcher"
                                           : std::string(e ? strerror(e) : "connection error");
  switch (self->state_) {
    case State::kConnecting:
      return self->fail_start(kDaemonExitLostConnection, "cannot connect to " + self->o_.host +
                                                             ":" + self->o_.port + ": " + why);
    case State::kAwaitChallenge:
    case State::kAwaitWelcome:
      return self->fail_start(kDaemonExitBadStart,
                              "handshake failed: connection " + why + " (wrong key?)");
    case State::kServing:
    case State::kStopping:
      self->drop_connection();
      return self->stop(kDaemonExitLostConnection, "lost connection to the launcher: " + why,
                        kLostConnectionGraceMs);
    case State::kDone:
      return;
  }
}

void Daemon::on_read(bufferevent* bev, void* arg) {
  auto* self = static_cast<Daemon*>(arg);
  feed_from(bev, self->decoder_);
  while (self->bev_ && self->state_ != State::kDone) {
    std::optional<Result<Message>> next = self->decoder_.next();
    if (!next) return;
    if (!next->ok()) {
      if (self->state_ < State::kServing) {
        return self->fail_start(kDaemonExitBadStart,
                                "handshake failed: " + next->error().message());
      }
      self->drop_connection();
      return self->stop(kDaemonExitLostConnection, "protocol error: " + next->error().message(),
                        kLostConnectionGraceMs);
    }
    self->handle(next->value());
  }
}

void Daemon::on_write(bufferevent*, void* arg) {
  auto* d = static_cast<Daemon*>(arg);
  d->supervisor_->resume_output();
  if (d->rdzv_) d->rdzv_->resume();
}

void Daemon::handle(Message& m) {
  if (state_ == State::kAwaitChallenge) {
    auto* ch = std::get_if<Challenge>(&m);
    if (!ch)
      return fail_start(
          kDaemonExitBadStart,
          std::string("handshake failed: expected Challenge, got ") + message_name(m));
    auto auth = answer_challenge(o_.key, hello_, *ch);
    if (!auth.ok())
      return fail_start(kDaemonExitBadStart, "handshake failed: " + auth.error().message());
    write_message(bev_, *auth);
    state_ = State::kAwaitWelcome;
    return;
  }
  if (state_ == State::kAwaitWelcome) {
    if (!std::holds_alternative<Welcome>(m)) {
      return fail_start(kDaemonExitBadStart,
                        std::string("handshake failed: expected Welcome, got ") + message_name(m));
    }
    state_ = State::kServing;
    evtimer_del(timer_);
    decoder_.set_max_frame(kMaxFrame);
    // libevent writes 16 KiB per loop turn by default: far too slow for output.
    bufferevent_set_max_single_write(bev_, kHighWater);
    bufferevent_setwatermark(bev_, EV_WRITE, kLowWater, 0);
    bufferevent_setcb(bev_, on_read, on_write, on_event, this);
    auto rdzv = RdzvEndpoint::create(
        base_, [this](const Message& out) { send(out); }, [this](const std::string& s) { say(s); },
        [this] { return congested(); });
    if (rdzv.ok())
      rdzv_ = std::move(*rdzv);
    else
      say("warning: no rendezvous for this node's processes: " + rdzv.error().message());
    pmi1_ = std::make_unique<Pmi1Server>(
        base_, [this](const Message& out) { send(out); }, [this](const std::string& s) { say(s); },
        [this](uint64_t launch, int code, std::string line) {
          send_output(launch, Stream::kStderr, std::move(line));
          supervisor_->abort(launch, code);
        },
        [this](uint64_t launch, bool in) { supervisor_->in_mpi_world(launch, in); });
    return;
  }
  serve(m);
}

void Daemon::serve(Message& m) {
  if (auto* spawn = std::get_if<Spawn>(&m)) {
    for (ProcessSpec& spec : spawn->processes) {
      if (state_ == State::kStopping) {
        send(SpawnFailed{spec.launch, "spawn " + spec.name + ": the daemon is shutting down"});
        continue;
      }
      if (rdzv_) {  // the node's endpoints, over anything of the same name
        spec.env.emplace_back("JOBSET_RDZV", rdzv_->socket_path());
        spec.env.emplace_back("JOBSET_HOSTS_FILE", rdzv_->hosts_path());
      }
      spawn_one(spec);
    }
  } else if (auto* hosts = std::get_if<Hosts>(&m)) {
    if (rdzv_) {
      if (auto s = rdzv_->write_hosts(*hosts); !s) say("warning: " + s.error().message());
    }
  } else if (auto* reply = std::get_if<RdzvReply>(&m)) {
    if (Pmi1Server::owns(reply->client)) {
      if (pmi1_) pmi1_->reply(*reply);
    } else if (rdzv_) {
      rdzv_->reply(*reply);
    }
  } else if (auto* kill = std::get_if<Kill>(&m)) {
    supervisor_->kill(kill->launches, kill->all, kill->grace_ms);
  } else if (auto* sig = std::get_if<Signal>(&m)) {
    supervisor_->signal(sig->launches, sig->all, sig->signo);
  } else if (auto* shutdown = std::get_if<Shutdown>(&m)) {
    stop(kDaemonExitShutdown, "", shutdown->grace_ms);
  } else {
    drop_connection();
    stop(kDaemonExitLostConnection,
         std::string("protocol violation: unexpected ") + message_name(m) + " from the launcher",
         kLostConnectionGraceMs);
  }
}

// With MPI wire-up asked for, the process gets its PMI-1 socket; without
// one it would start as an MPI world of its own, so it does not start.
void Daemon::spawn_one(ProcessSpec& spec) {
  if (!Pmi1Server::wants(spec)) return supervisor_->spawn(spec);
  auto fd = pmi1_->add(spec);
  if (!fd.ok())
    return send(SpawnFailed{spec.launch, "spawn " + spec.name + ": " + fd.error().message()});
  supervisor_->spawn(spec, *fd);
  close(*fd);
}

void Daemon::on_signal(evutil_socket_t sig, short, void* arg) {
  auto* self = static_cast<Daemon*>(arg);
  if (sig == SIGCHLD) return self->supervisor_->reap();
  int signo = static_cast<int>(sig);
  std::string name = std::string("SIG") + sigabbrev_np(signo);
  switch (self->state_) {
    case State::kServing:
      return self->stop(128 + signo, "stopping on " + name, kSignalGraceMs);
    case State::kStopping:
      self->supervisor_->kill({}, true, 0);  // asked twice: no more grace
      return;
    case State::kDone:
      return;
    default:
      return self->fail_start(128 + signo, "terminated by " + name);
  }
}

void Daemon::on_timeout(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Daemon*>(arg);
  if (self->state_ == State::kConnecting) {
    return self->fail_start(kDaemonExitLostConnection, "cannot connect to " + self->o_.host + ":" +
                                                           self->o_.port + ": timed out");
  }
  self->fail_start(kDaemonExitBadStart, "handshake failed: no answer from the launcher within " +
                                            std::to_string(kHandshakeTimeoutMs / 1000) + " s");
}

// Output has nowhere to go any more: read and drop it, so that no writer
// stays blocked on a full pipe while its process is being stopped.
void Daemon::drop_connection() {
  if (bev_) bufferevent_free(bev_);
  bev_ = nullptr;
  if (rdzv_) rdzv_->close_all();
  if (pmi1_) pmi1_->close_all();
  supervisor_->resume_output();
}

void Daemon::fail_start(int code, const std::string& why) {
  say(why);
  exit_code_ = code;
  state_ = State::kDone;
  if (base_) event_base_loopbreak(base_);
}

void Daemon::stop(int code, const std::string& why, int grace_ms) {
  if (state_ == State::kStopping || state_ == State::kDone) return;  // the first reason stands
  if (!why.empty()) say(why);
  state_ = State::kStopping;
  exit_code_ = code;
  supervisor_->kill({}, true, grace_ms);
  if (supervisor_->size() == 0) finish();
}

// Everything is reaped and reported: flush what is queued and exit.
void Daemon::finish() {
  state_ = State::kDone;
  if (!bev_) {
    event_base_loopbreak(base_);
    return;
  }
  bufferevent* bev = bev_;
  bev_ = nullptr;
  close_when_flushed(bev, kFlushTimeoutMs, [this] { event_base_loopbreak(base_); });
}

}  // namespace

int run_daemon(const DaemonOptions& options, std::ostream& err) {
  Daemon d(options, err);
  return d.run();
}

}  // namespace jobset::runtime
