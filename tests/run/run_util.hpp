// Harness for the `jobset run` integration tests: starts the real launcher
// with fork/exec in a scratch directory, its own process group and a
// unique marker in its environment (JOBSET_TEST_MARKER), which every
// process of the run inherits: launcher, daemons, their helpers and the
// user's processes and grandchildren. The marker is how the tests find what
// a run left behind (/proc/PID/environ), and how the destructors clean up:
// by those pids only, never by name.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/scratch.hpp"

extern char** environ;

namespace runtest {

namespace fs = std::filesystem;
using jobset_test::slurp;

inline std::string jobset_path() { return std::string(JOBSET_BUILDDIR) + "/launcher/jobset"; }
inline std::string jobsetd_path() { return std::string(JOBSET_BUILDDIR) + "/runtime/jobsetd"; }

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline void pause_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Polls `pred` every 10 ms until it holds or `seconds` pass.
inline bool eventually(double seconds, const std::function<bool()>& pred) {
  double end = now() + seconds;
  for (;;) {
    if (pred()) return true;
    if (now() > end) return false;
    pause_ms(10);
  }
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

inline std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

inline size_t count_substr(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + needle.size()))
    ++n;
  return n;
}

inline std::string random_token() {
  unsigned char b[8] = {};
  std::ifstream("/dev/urandom", std::ios::binary).read(reinterpret_cast<char*>(b), sizeof b);
  char hex[17];
  for (size_t i = 0; i < 8; ++i) snprintf(hex + 2 * i, 3, "%02x", b[i]);
  return std::string(hex) + std::to_string(getpid());
}

// A scratch directory (tests/scratch.hpp) whose write() replaces @DIR@
// with its path, so that JobSet files can name files in it.
class Scratch : public jobset_test::Scratch {
 public:
  std::string subst(std::string text) const {
    const std::string dir = this->dir().string();
    for (size_t p = text.find("@DIR@"); p != std::string::npos;
         p = text.find("@DIR@", p + dir.size()))
      text.replace(p, 5, dir);
    return text;
  }
  std::string write(const std::string& name, const std::string& text) const {
    return jobset_test::Scratch::write(name, subst(text));
  }
  std::vector<std::string> lines(const std::string& name) const { return lines_of(read(name)); }
};

// A live process that carries a marker.
struct Proc {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::vector<std::string> argv;
  std::string environ_raw;  // NUL-separated, with a leading NUL

  std::optional<std::string> env(const std::string& name) const {
    std::string key = std::string(1, '\0') + name + "=";
    size_t p = environ_raw.find(key);
    if (p == std::string::npos) return std::nullopt;
    p += key.size();
    return environ_raw.substr(p, environ_raw.find('\0', p) - p);
  }
  std::string cmdline() const {
    std::string s;
    for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
    return s;
  }
};

// Every process, except zombies, whose environment holds the marker.
inline std::vector<Proc> marker_procs(const std::string& marker) {
  std::vector<Proc> out;
  const std::string needle =
      std::string(1, '\0') + "JOBSET_TEST_MARKER=" + marker + std::string(1, '\0');
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string env = std::string(1, '\0') + slurp(entry.path() / "environ");
    if (env.back() != '\0') env += '\0';
    if (env.find(needle) == std::string::npos) continue;
    std::string stat = slurp(entry.path() / "stat");
    size_t rp = stat.rfind(')');
    if (rp == std::string::npos || rp + 2 >= stat.size()) continue;  // gone meanwhile
    char state = stat[rp + 2];
    if (state == 'Z' || state == 'X') continue;
    Proc p;
    p.pid = std::stoi(name);
    p.ppid = std::atoi(stat.c_str() + rp + 4);
    std::string cmd = slurp(entry.path() / "cmdline");
    for (size_t s = 0; s < cmd.size();) {
      size_t e = cmd.find('\0', s);
      if (e == std::string::npos) e = cmd.size();
      p.argv.push_back(cmd.substr(s, e - s));
      s = e + 1;
    }
    p.environ_raw = std::move(env);
    out.push_back(std::move(p));
  }
  return out;
}

inline std::string describe(const std::vector<Proc>& ps) {
  std::string s;
  for (const Proc& p : ps)
    s += "  pid " + std::to_string(p.pid) + " ppid " + std::to_string(p.ppid) + ": " + p.cmdline() +
         "\n";
  return s.empty() ? "  (none)\n" : s;
}

// Waits up to `seconds` for every process of the marker to be gone;
// returns those still there.
inline std::vector<Proc> wait_gone(const std::string& marker, double seconds) {
  std::vector<Proc> left;
  eventually(seconds, [&] {
    left = marker_procs(marker);
    return left.empty();
  });
  return left;
}

// SIGKILLs every process of the marker until none is left (bounded).
inline void kill_marker(const std::string& marker) {
  for (int round = 0; round < 100; ++round) {
    auto ps = marker_procs(marker);
    if (ps.empty()) return;
    for (const Proc& p : ps) ::kill(p.pid, SIGKILL);
    pause_ms(20);
  }
}

// One `jobset ARGS` run, started at once. Standard output and error go to
// files in the scratch directory; the working directory is the scratch
// directory; standard input is /dev/null. A `wrapper` command, when given,
// runs jobset (e.g. {"unshare", "-m", "sh", "setup.sh"}: it gets jobset's
// path and ARGS after its own).
class Launch {
 public:
  Launch(const Scratch& s, const std::vector<std::string>& args, const std::string& tag = "run",
         const std::vector<std::string>& wrapper = {})
      : marker_(random_token()),
        out_path_(s.path(tag + ".stdout")),
        err_path_(s.path(tag + ".stderr")),
        args_(args) {
    std::vector<std::string> argv_s = wrapper;
    argv_s.push_back(jobset_path());
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e)
      if (std::strncmp(*e, "JOBSET_TEST_MARKER=", 19) != 0) env_s.emplace_back(*e);
    env_s.push_back("JOBSET_TEST_MARKER=" + marker_);
    std::vector<char*> argv, envp;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(out >= 0);
    REQUIRE(err >= 0);
    REQUIRE(in >= 0);
    std::string cwd = s.dir().string();
    started_ = now();
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE, SIGCHLD})
        ::signal(sig, SIG_DFL);
      if (chdir(cwd.c_str()) != 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(126);
      // execvpe: a wrapper is found on PATH.
      execvpe(argv[0], argv.data(), envp.data());
      const char* why = strerror(errno);  // the test process is single-threaded
      for (const char* part :
           {"run_tests: cannot execute ", static_cast<const char*>(argv[0]), ": ", why, "\n"})
        (void)!::write(2, part, strlen(part));
      _exit(127);
    }
    ::close(out);
    ::close(err);
    ::close(in);
    REQUIRE(pid_ > 0);
    setpgid(pid_, pid_);  // also here, so that no signal can miss the group
  }

  ~Launch() { kill_everything(); }
  Launch(const Launch&) = delete;
  Launch& operator=(const Launch&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& marker() const { return marker_; }
  double started() const { return started_; }
  double elapsed() const { return (done_ ? ended_ : now()) - started_; }

  // The exit code once the launcher has ended (128+N when killed by signal N).
  std::optional<int> poll() {
    if (done_) return code_;
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r != pid_) return std::nullopt;
    done_ = true;
    ended_ = now();
    code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return code_;
  }

  // Waits for the launcher's exit code. On timeout kills everything of
  // the run and fails the test.
  int wait(double seconds) {
    double end = now() + seconds;
    for (;;) {
      if (auto c = poll()) return *c;
      if (now() > end) break;
      pause_ms(2);
    }
    std::string what = "jobset " + join(args_) + "\n did not end within " +
                       std::to_string(seconds) + " s (watchdog); its processes:\n" +
                       describe(marker_procs(marker_)) + "its stderr ends with:\n" +
                       tail(err(), 3000);
    kill_everything();
    FAIL(what);
    return -1;
  }

  void signal(int sig) const { ::kill(pid_, sig); }

  std::string out() const { return slurp(out_path_); }
  std::string err() const { return slurp(err_path_); }
  const std::string& out_path() const { return out_path_; }
  const std::string& err_path() const { return err_path_; }
  std::string last_err_line() const {
    auto ls = lines_of(err());
    return ls.empty() ? "" : ls.back();
  }
  // For INFO(): the command and what it wrote to stderr.
  std::string report() const { return "jobset " + join(args_) + "\nstderr:\n" + tail(err(), 3000); }

  std::vector<Proc> procs() const { return marker_procs(marker_); }

  void kill_everything() {
    if (!done_) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      int st = 0;
      waitpid(pid_, &st, 0);
      done_ = true;
      ended_ = now();
      code_ = -1;
    }
    kill_marker(marker_);
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& a : v)
      s += (s.empty() ? "" : " ") + (a.find(' ') == std::string::npos ? a : "'" + a + "'");
    return s;
  }
  static std::string tail(const std::string& s, size_t n) {
    return s.size() <= n ? s : "..." + s.substr(s.size() - n);
  }

 private:
  std::string marker_;
  std::string out_path_, err_path_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  bool done_ = false;
  int code_ = -1;
  double started_ = 0, ended_ = 0;
};

// The --events file, one JSON object per line; a line that is not JSON
// fails the test.
// Nothing carrying the run's marker may be left `seconds` after the
// launcher ended.
inline void check_nothing_left(const Launch& r, double seconds = 2.0) {
  auto left = wait_gone(r.marker(), seconds);
  INFO(r.report() << "\nprocesses of the run still there " << seconds << " s after it ended:\n"
                  << describe(left));
  CHECK(left.empty());
}

inline std::vector<nlohmann::json> read_events(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream f(path);
  int n = 0;
  for (std::string line; std::getline(f, line);) {
    ++n;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const std::exception& e) {
      FAIL_CHECK(path << ":" << n << ": not JSON: " << e.what() << ": " << line);
    }
  }
  return out;
}

inline int count_events(const std::vector<nlohmann::json>& evs, const std::string& kind,
                        const std::string& subject_part = "") {
  int n = 0;
  for (const auto& e : evs)
    if (e.value("event", "") == kind &&
        (subject_part.empty() || e.value("subject", "").find(subject_part) != std::string::npos))
      ++n;
  return n;
}

inline std::string event_kinds(const std::vector<nlohmann::json>& evs) {
  std::string s;
  for (const auto& e : evs) s += e.value("event", "?") + " " + e.value("subject", "") + "\n";
  return s;
}

inline double read_time(const Scratch& s, const std::string& name) {
  std::string t = s.read(name);
  return t.empty() ? -1 : std::stod(t);
}

// Running jobset where the run's names resolve through the NSS module of
// the build tree, as tests/rendezvous/nss_test.sh sets it up: in private
// mount and network namespaces (unshare -mn as root, -rmn where user
// namespaces work), a bind-mounted nsswitch.conf with `hosts: files jobset
// dns` (or `hosts`), the module found through LD_LIBRARY_PATH, no nscd, a
// resolv.conf pointing at 127.0.0.1 and a network of loopback only, so that
// a name falling through to `dns` reaches nothing.
inline const char* kNamespaceSetup = R"SH(#!/bin/sh
set -e
dir=$1 moddir=$2 hosts=$3
shift 3
printf 'hosts: %s\n' "$hosts" >"$dir/nsswitch.conf"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$dir/resolv.conf"
mount --bind "$dir/nsswitch.conf" /etc/nsswitch.conf
if [ -e /etc/resolv.conf ]; then mount --bind "$dir/resolv.conf" /etc/resolv.conf; fi
for d in /var/run/nscd /run/nscd; do if [ -d "$d" ]; then mount -t tmpfs none "$d"; fi; done
ip link set lo up
export LD_LIBRARY_PATH=$moddir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
exec "$@"
)SH";

// Launch's wrapper for that (files in `s`), or nullopt with the reason
// (for JOBSET_SKIP) in *why.
inline std::optional<std::vector<std::string>> names_resolve_wrapper(
    const Scratch& s, std::string* why, const std::string& hosts = "files jobset dns") {
  std::string moddir = std::string(JOBSET_BUILDDIR) + "/rendezvous/nss";
  REQUIRE(fs::exists(moddir + "/libnss_jobset.so.2"));  // built with jobset
  auto missing = [](const char* program) {
    return std::system((std::string("command -v ") + program + " >/dev/null 2>&1").c_str()) != 0;
  };
  std::vector<std::string> ns;
  if (missing("unshare")) {
    *why = "needs unshare (apt-get install util-linux)";
  } else if (missing("ip")) {
    *why = "needs ip (apt-get install iproute2)";
  } else if (getuid() == 0 && std::system("unshare -mn true 2>/dev/null") == 0) {
    ns = {"unshare", "-mn"};
  } else if (std::system("unshare -rmn true 2>/dev/null") == 0) {
    ns = {"unshare", "-rmn"};
  } else {
    *why = "cannot make mount and network namespaces (not root, and no user namespaces)";
  }
  if (ns.empty()) return std::nullopt;
  s.write("ns.sh", kNamespaceSetup);
  for (const std::string& a : {std::string("sh"), s.path("ns.sh"), s.dir().string(), moddir, hosts})
    ns.push_back(a);
  return ns;
}

}  // namespace runtest
