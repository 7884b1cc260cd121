// Helpers for the runtime integration tests: an event loop with a
// deadline, the real jobsetd binary started the way the launcher starts
// it (key on stdin, own process group, parent-death signal), and a
// recorder of everything a daemon reports. Everything started here is
// stopped by destructors, also when a REQUIRE fails; alarm() guards each
// test against hangs (SIGALRM kills the test program, and the daemons it
// started follow through their parent-death signal).
#pragma once

#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/auth.hpp"
#include "runtime/link.hpp"
#include "tests/scratch.hpp"
#include "tests/skip.hpp"

namespace jobset::runtime::testing {

using jobset_test::Scratch;
using jobset_test::slurp;

inline std::string jobsetd_path() { return JOBSET_BUILDDIR "/runtime/jobsetd"; }

inline bool have_jobsetd() { return access(jobsetd_path().c_str(), X_OK) == 0; }

// Sets (or, with nullopt, unsets) an environment variable of this process
// for the guard's life, then puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    if (const char* old = getenv(name_.c_str())) old_ = old;
    set(value);
  }
  ~ScopedEnv() { set(old_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  void set(const std::optional<std::string>& v) {
    if (v) {
      setenv(name_.c_str(), v->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  std::string name_;
  std::optional<std::string> old_;
};

// Runs the rest of the test once per mode of the Spawner (spawner.cpp),
// which reads JOBSETD_SPAWN when it is made.
#define EACH_SPAWN_MODE()                                                  \
  const std::string mode = GENERATE(as<std::string>{}, "vfork", "fork");   \
  ::jobset::runtime::testing::ScopedEnv spawn_mode("JOBSETD_SPAWN", mode); \
  INFO("spawner in " << mode << " mode")

// This process's open-files limit, for a Spawner to give its children.
inline rlimit open_files_limit() {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  return r;
}

// Fails the whole program after `seconds` if a test hangs.
class Alarm {
 public:
  explicit Alarm(unsigned seconds) { alarm(seconds); }
  ~Alarm() { alarm(0); }
};

// An event loop that runs until a condition holds or a deadline passes.
class Loop {
 public:
  Loop() : base_(event_base_new()) {}
  ~Loop() { event_base_free(base_); }
  event_base* base() { return base_; }

  // Runs the loop until pred() is true (checked every 5 ms); false on timeout.
  bool run_until(const std::function<bool()>& pred, double seconds) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(seconds));
    struct Ctx {
      const std::function<bool()>* pred;
      std::chrono::steady_clock::time_point deadline;
      event_base* base;
      bool ok = false;
    } ctx{&pred, deadline, base_};
    if (pred()) return true;
    event* tick = event_new(
        base_, -1, EV_PERSIST,
        [](evutil_socket_t, short, void* arg) {
          auto* c = static_cast<Ctx*>(arg);
          if ((*c->pred)()) {
            c->ok = true;
            event_base_loopbreak(c->base);
          } else if (std::chrono::steady_clock::now() > c->deadline) {
            event_base_loopbreak(c->base);
          }
        },
        &ctx);
    timeval tv{0, 5000};
    event_add(tick, &tv);
    event_base_dispatch(base_);
    event_free(tick);
    return ctx.ok || pred();
  }

  void run_for(double seconds) {
    run_until([] { return false; }, seconds);
  }

 private:
  event_base* base_;
};

// One jobsetd process, started as the launcher starts it.
class DaemonProcess {
 public:
  DaemonProcess(const std::string& address, const std::string& node, const std::string& key_line,
                const std::string& stderr_path)
      : stderr_path_(stderr_path) {
    int in[2];
    REQUIRE(pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(write(in[1], key_line.data(), key_line.size()) ==
            static_cast<ssize_t>(key_line.size()));
    close(in[1]);
    int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(127);
      dup2(in[0], 0);
      dup2(err, 2);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      std::string exe = jobsetd_path();
      execl(exe.c_str(), "jobsetd", "--connect", address.c_str(), "--node", node.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    setpgid(pid_, pid_);
    close(in[0]);
    close(err);
  }

  ~DaemonProcess() {
    if (pid_ <= 0 || status_) return;
    kill(pid_, SIGTERM);
    if (!wait_exit(3.0)) {
      kill(-pid_, SIGKILL);
      kill(pid_, SIGKILL);
      int st;
      waitpid(pid_, &st, 0);
    }
  }

  pid_t pid() const { return pid_; }

  // Polls for the daemon's exit; its wait status, or nothing after `seconds`.
  std::optional<int> wait_exit(double seconds) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(seconds));
    while (!status_) {
      int st = 0;
      pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_ = st;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return status_;
  }
  // Non-blocking check.
  std::optional<int> exited() { return wait_exit(0); }

  std::string stderr_text() const { return slurp(stderr_path_); }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string stderr_path_;
};

// Everything one daemon reported, by launch id.
struct Record {
  std::map<uint64_t, Started> started;
  std::map<uint64_t, std::string> failed;
  std::map<uint64_t, Exited> exited;
  std::map<uint64_t, std::string> out, err;
  std::map<uint64_t, std::vector<std::string>> out_frames;  // stdout data per frame
  std::vector<std::string> order;                           // "started:L", "exited:L", "output:L"
  std::optional<std::string> closed;
  bool output_after_exit = false;
};

inline bool process_gone(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  // A zombie not yet reaped by init counts as gone.
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  size_t close_paren = stat.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < stat.size() &&
         (stat[close_paren + 2] == 'Z' || stat[close_paren + 2] == 'X');
}

// Kills, at the end of a test, the background processes (by pid, learnt
// from the test's own processes) that the daemon should have killed, so a
// failing test leaves nothing behind. Only a process still running
// `expected_comm` is killed, in case the pid was reused.
class KillOnExit {
 public:
  explicit KillOnExit(std::string expected_comm) : comm_(std::move(expected_comm)) {}
  ~KillOnExit() {
    for (pid_t pid : pids_) {
      std::string comm = slurp("/proc/" + std::to_string(pid) + "/comm");
      if (!process_gone(pid) && comm.rfind(comm_, 0) == 0) kill(pid, SIGKILL);
    }
  }
  void add(pid_t pid) { pids_.push_back(pid); }

 private:
  std::string comm_;
  std::vector<pid_t> pids_;
};

// A launcher in miniature: a listener, one real jobsetd, its link.
class Harness {
 public:
  explicit Harness(unsigned alarm_seconds = 60, std::string node = "node-0")
      : alarm_(alarm_seconds), node_(std::move(node)) {
    key_ = *make_key();
    auto l = DaemonListener::create(loop_.base(), key_);
    REQUIRE(l.ok());
    listener_ = std::move(*l);
    listener_->on_daemon = [this](std::unique_ptr<DaemonLink> link) {
      link_ = std::move(link);
      link_->set_handlers(handlers());
    };
    listener_->on_reject = [this](const std::string& why) { rejects_.push_back(why); };
  }

  // Lets the daemon see the connection close and stop, then makes sure it is gone.
  ~Harness() {
    if (link_) link_->close();
    if (daemon_) loop_.run_until([this] { return daemon_->exited().has_value(); }, 5);
  }

  // Starts jobsetd with `key_line` on stdin (the right key by default).
  void start_daemon(const std::optional<std::string>& key_line = std::nullopt) {
    daemon_ = std::make_unique<DaemonProcess>(listener_->address(), node_,
                                              key_line.value_or(to_hex(key_) + "\n"),
                                              scratch_.path("jobsetd.err"));
  }

  // Starts the daemon and waits for its link.
  void connect() {
    start_daemon();
    REQUIRE(loop_.run_until([this] { return link_ != nullptr || daemon_->exited(); }, 10));
    INFO("daemon stderr: " << daemon_->stderr_text());
    REQUIRE(link_ != nullptr);
  }

  static ProcessSpec spec(uint64_t launch, std::vector<std::string> argv) {
    ProcessSpec p;
    p.launch = launch;
    p.rank = static_cast<int32_t>(launch);
    p.name = "test-0-" + std::to_string(launch);
    p.argv = std::move(argv);
    return p;
  }
  static ProcessSpec sh(uint64_t launch, const std::string& script) {
    return spec(launch, {"/bin/sh", "-c", script});
  }

  void spawn(std::vector<ProcessSpec> specs) { link_->send(Spawn{std::move(specs)}); }

  bool wait_exited(uint64_t launch, double seconds = 10) {
    return loop_.run_until([&] { return rec_.exited.count(launch) > 0; }, seconds);
  }
  bool wait_done(size_t n, double seconds = 10) {
    return loop_.run_until([&] { return rec_.exited.size() + rec_.failed.size() >= n; }, seconds);
  }

  Loop& loop() { return loop_; }
  Record& rec() { return rec_; }
  DaemonLink& link() { return *link_; }
  std::unique_ptr<DaemonLink>& link_ptr() { return link_; }
  DaemonListener& listener() { return *listener_; }
  DaemonProcess& daemon() { return *daemon_; }
  const std::string& key() const { return key_; }
  const std::vector<std::string>& rejects() const { return rejects_; }
  Scratch& scratch() { return scratch_; }

 private:
  DaemonLink::Handlers handlers() {
    DaemonLink::Handlers h;
    h.started = [this](const Started& s) {
      rec_.started[s.launch] = s;
      rec_.order.push_back("started:" + std::to_string(s.launch));
    };
    h.spawn_failed = [this](const SpawnFailed& f) { rec_.failed[f.launch] = f.error; };
    h.exited = [this](const Exited& e) {
      rec_.exited[e.launch] = e;
      rec_.order.push_back("exited:" + std::to_string(e.launch));
    };
    h.output = [this](const Output& o) {
      if (rec_.exited.count(o.launch)) rec_.output_after_exit = true;
      if (o.stream == Stream::kStdout) {
        rec_.out[o.launch] += o.data;
        rec_.out_frames[o.launch].push_back(o.data);
      } else {
        rec_.err[o.launch] += o.data;
      }
    };
    h.closed = [this](const std::string& why) { rec_.closed = why; };
    return h;
  }

  Alarm alarm_;
  Scratch scratch_;
  Loop loop_;
  std::string node_;
  std::string key_;
  std::vector<std::string> rejects_;
  Record rec_;
  // Destroyed first to last in reverse: the daemon before the link and listener.
  std::unique_ptr<DaemonListener> listener_;
  std::unique_ptr<DaemonLink> link_;
  std::unique_ptr<DaemonProcess> daemon_;
};

}  // namespace jobset::runtime::testing
