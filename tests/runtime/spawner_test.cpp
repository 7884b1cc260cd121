// The Spawner on real processes, in both of its modes (vfork, the default,
// and fork, JOBSETD_SPAWN=fork): what a child finds when it starts (argv,
// cwd, environment, binding, process group, stdin, signals, limits), where
// its output goes, and the errors of a child that cannot start. Every
// child is killed (with its group) and reaped by a guard, also when a
// REQUIRE fails.
#include "runtime/spawner.hpp"

#include <poll.h>
#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "tests/runtime/harness.hpp"
#include "tests/skip.hpp"

using namespace jobset::runtime;
using namespace jobset::runtime::testing;

namespace {

// Long enough for any healthy child on a loaded machine: only a hang trips it.
constexpr int kPatienceSeconds = 20;

ProcessSpec spec(std::vector<std::string> argv) {
  ProcessSpec p;
  p.launch = 1;
  p.name = "test-0-1";
  p.argv = std::move(argv);
  return p;
}

ProcessSpec sh(const std::string& script) { return spec({"/bin/sh", "-c", script}); }

// What `fd` (nonblocking) delivers until every writer is gone.
std::string read_to_eof(int fd) {
  std::string out;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kPatienceSeconds);
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return out;
    if (errno == EINTR) continue;
    REQUIRE(errno == EAGAIN);
    if (std::chrono::steady_clock::now() > deadline) {
      FAIL("no EOF after " << kPatienceSeconds << " s: a writer hangs on");
    }
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, 100);
  }
}

// One child of a Spawner and its pipes. Unless the test saw it exit, its
// process group is SIGKILLed and it is reaped at the end.
class Spawned {
 public:
  Spawned(Spawner& spawner, ProcessSpec spec) : spec_(std::move(spec)) {
    auto child = spawner.spawn(spec_);
    INFO("spawn: " << (child.ok() ? "" : child.error().message()));
    REQUIRE(child.ok());
    child_ = *child;
  }
  ~Spawned() {
    if (!status_) {
      kill(-child_.pid, SIGKILL);
      kill(child_.pid, SIGKILL);
      waitpid(child_.pid, nullptr, 0);
    }
    for (int fd : {child_.out_fd, child_.err_fd, child_.status_fd}) {
      if (fd >= 0) close(fd);
    }
  }
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;

  pid_t pid() const { return child_.pid; }
  const Spawner::Child& child() const { return child_; }
  std::string out() { return read_to_eof(child_.out_fd); }
  std::string err() { return read_to_eof(child_.err_fd); }

  // Empty when exec worked, else "spawn NAME: ..." (whichever the mode).
  std::string exec_error() {
    std::string record =
        child_.status_fd >= 0 ? read_to_eof(child_.status_fd) : child_.exec_failure;
    if (record.empty()) return "";
    return exec_failure_message(spec_.name, spec_.argv[0], spec_.cwd, record);
  }

  // Its wait status, once it exited.
  int wait() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kPatienceSeconds);
    while (!status_) {
      int st = 0;
      pid_t r = waitpid(child_.pid, &st, WNOHANG);
      if (r == child_.pid) {
        status_ = st;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        FAIL("pid " << child_.pid << " still runs after " << kPatienceSeconds << " s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return *status_;
  }
  int exit_code() {
    int st = wait();
    REQUIRE(WIFEXITED(st));
    return WEXITSTATUS(st);
  }

 private:
  ProcessSpec spec_;
  Spawner::Child child_;
  std::optional<int> status_;
};

// The value of a "Name:\tvalue" line of a /proc/PID/status text.
std::string status_field(const std::string& status, const std::string& name) {
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + ":", 0) == 0) {
      size_t v = line.find_first_not_of(" \t", name.size() + 1);
      return v == std::string::npos ? "" : line.substr(v);
    }
  }
  FAIL("no " << name << " in /proc status");
  return "";
}

// "0-2,5" as {0, 1, 2, 5}.
std::set<int> parse_cpu_list(const std::string& list) {
  std::set<int> cpus;
  std::istringstream in(list);
  std::string part;
  while (std::getline(in, part, ',')) {
    size_t dash = part.find('-');
    int lo = std::stoi(part.substr(0, dash));
    int hi = dash == std::string::npos ? lo : std::stoi(part.substr(dash + 1));
    for (int c = lo; c <= hi; ++c) cpus.insert(c);
  }
  return cpus;
}

std::set<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  std::set<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.insert(c);
  }
  return cpus;
}

// Restores a signal's disposition and this thread's signal mask at the end.
class SignalState {
 public:
  SignalState() { pthread_sigmask(SIG_SETMASK, nullptr, &mask_); }
  ~SignalState() {
    for (auto& [sig, sa] : saved_) sigaction(sig, &sa, nullptr);
    pthread_sigmask(SIG_SETMASK, &mask_, nullptr);
  }
  void ignore(int sig) {
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    struct sigaction old {};
    sigaction(sig, &ign, &old);
    saved_.emplace_back(sig, old);
  }

 private:
  sigset_t mask_;
  std::vector<std::pair<int, struct sigaction>> saved_;
};

}  // namespace

TEST_CASE("spawner: argv reaches the child as given", "[spawner]") {
  EACH_SPAWN_MODE();
  Spawner spawner(open_files_limit());
  Spawned c(spawner, spec({"/bin/sh", "-c", R"(printf '<%s>' "$0" "$@")", "name0", "a b", "",
                           "it's", "*", "$HOME"}));
  CHECK(c.exec_error() == "");
  CHECK(c.out() == "<name0><a b><><it's><*><$HOME>");
  CHECK(c.exit_code() == 0);
}

TEST_CASE("spawner: the child starts in the spec's cwd, or in the daemon's when it has none",
          "[spawner]") {
  EACH_SPAWN_MODE();
  Scratch scratch;
  Spawner spawner(open_files_limit());
  ProcessSpec in_dir = spec({"/bin/pwd", "-P"});
  in_dir.cwd = scratch.dir();
  Spawned a(spawner, in_dir);
  CHECK(a.out() == std::filesystem::canonical(scratch.dir()).string() + "\n");
  Spawned b(spawner, spec({"/bin/pwd", "-P"}));
  CHECK(b.out() == std::filesystem::canonical(std::filesystem::current_path()).string() + "\n");
}

TEST_CASE("spawner: a script without #! runs under /bin/sh, by path and from PATH, as execvp does",
          "[spawner]") {
  EACH_SPAWN_MODE();
  Scratch scratch;
  std::string script = scratch.path("jobset-no-shebang");
  { std::ofstream(script) << "echo \"plain script $# $1\"\n"; }
  REQUIRE(chmod(script.c_str(), 0755) == 0);
  Spawner spawner(open_files_limit());
  Spawned by_path(spawner, spec({script, "one arg"}));
  CHECK(by_path.exec_error() == "");
  CHECK(by_path.out() == "plain script 1 one arg\n");
  CHECK(by_path.exit_code() == 0);
  ProcessSpec searched = spec({"jobset-no-shebang", "x"});
  searched.env = {{"PATH", scratch.dir().string() + ":/usr/bin:/bin"}};
  Spawned by_name(spawner, searched);
  CHECK(by_name.exec_error() == "");
  CHECK(by_name.out() == "plain script 1 x\n");
}

TEST_CASE(
    "spawner: the spec's env overrides the daemon's variable of the same name; the last of "
    "a repeated name wins",
    "[spawner]") {
  EACH_SPAWN_MODE();
  ScopedEnv daemons("JOBSET_SPAWNER_TEST", "daemon's");
  ScopedEnv kept("JOBSET_SPAWNER_KEPT", "kept");
  Spawner spawner(open_files_limit());
  ProcessSpec p = spec({"/usr/bin/env"});
  p.env = {{"JOBSET_SPAWNER_TEST", "first"},
           {"JOBSET_SPAWNER_NEW", "x=y z"},
           {"JOBSET_SPAWNER_TEST", "last"},
           {"JOBSET_SPAWNER_EMPTY", ""}};
  Spawned c(spawner, p);
  std::string env = c.out();
  // Each name once: an override replaces the daemon's entry, not adds to it.
  std::multiset<std::string> lines;
  std::istringstream in(env);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("JOBSET_SPAWNER_", 0) == 0) lines.insert(line);
  }
  CHECK(lines == std::multiset<std::string>{"JOBSET_SPAWNER_TEST=last", "JOBSET_SPAWNER_NEW=x=y z",
                                            "JOBSET_SPAWNER_EMPTY=", "JOBSET_SPAWNER_KEPT=kept"});
  CHECK(c.exit_code() == 0);
}

TEST_CASE("spawner: a program name without '/' is looked up in the PATH of the spec's env",
          "[spawner]") {
  EACH_SPAWN_MODE();
  Scratch scratch;
  std::string tool = scratch.path("jobset-spawner-tool");
  { std::ofstream(tool) << "#!/bin/sh\necho tool ran\n"; }
  REQUIRE(chmod(tool.c_str(), 0755) == 0);
  Spawner spawner(open_files_limit());
  ProcessSpec p = spec({"jobset-spawner-tool"});
  p.env = {{"PATH", "/nonexistent:" + scratch.dir().string()}};
  Spawned c(spawner, p);
  CHECK(c.exec_error() == "");
  CHECK(c.out() == "tool ran\n");
  CHECK(c.exit_code() == 0);
}

TEST_CASE(
    "spawner: a missing program is an error naming it with the errno text; the child exits 127",
    "[spawner]") {
  EACH_SPAWN_MODE();
  Spawner spawner(open_files_limit());
  Spawned by_path(spawner, spec({"/nonexistent/jobset-prog", "arg"}));
  CHECK(by_path.exec_error() ==
        std::string("spawn test-0-1: /nonexistent/jobset-prog: ") + strerror(ENOENT));
  CHECK(by_path.exit_code() == 127);
  CHECK(by_path.out() == "");

  Spawned by_name(spawner, spec({"jobset-no-such-command"}));
  CHECK(by_name.exec_error() ==
        "spawn test-0-1: jobset-no-such-command: command not found in PATH");
  CHECK(by_name.exit_code() == 127);
}

TEST_CASE("spawner: a cwd that cannot be entered is an error naming it with the errno text",
          "[spawner]") {
  EACH_SPAWN_MODE();
  Scratch scratch;
  std::string file = scratch.path("a-file");
  { std::ofstream(file) << "not a directory\n"; }
  Spawner spawner(open_files_limit());
  for (auto [dir, err] :
       {std::pair{std::string("/nonexistent/jobset-dir"), ENOENT}, std::pair{file, ENOTDIR}}) {
    ProcessSpec p = spec({"/bin/true"});
    p.cwd = dir;
    Spawned c(spawner, p);
    CHECK(c.exec_error() == "spawn test-0-1: working directory " + dir + ": " + strerror(err));
    CHECK(c.exit_code() == 127);
  }
}

TEST_CASE("spawner: cpus bind the child to exactly those CPUs; without cpus it is not bound",
          "[spawner]") {
  EACH_SPAWN_MODE();
  std::set<int> allowed = allowed_cpus();
  if (allowed.size() < 2) {
    JOBSET_SKIP("needs 2 CPUs in this process's affinity mask to tell a binding from none");
  }
  Spawner spawner(open_files_limit());
  for (int cpu : {*allowed.begin(), *allowed.rbegin()}) {
    ProcessSpec p = spec({"cat", "/proc/self/status"});
    p.cpus = {cpu};
    Spawned c(spawner, p);
    CHECK(parse_cpu_list(status_field(c.out(), "Cpus_allowed_list")) == std::set<int>{cpu});
  }
  Spawned unbound(spawner, spec({"cat", "/proc/self/status"}));
  CHECK(parse_cpu_list(status_field(unbound.out(), "Cpus_allowed_list")) == allowed);
}

TEST_CASE("spawner: cpus the machine does not have are an error naming the binding", "[spawner]") {
  EACH_SPAWN_MODE();
  Spawner spawner(open_files_limit());
  ProcessSpec p = spec({"/bin/true"});
  p.cpus = {static_cast<int32_t>(sysconf(_SC_NPROCESSORS_CONF))};  // one past the last
  Spawned c(spawner, p);
  CHECK(c.exec_error() == std::string("spawn test-0-1: binding to its CPUs: ") + strerror(EINVAL));
  CHECK(c.exit_code() == 127);
}

TEST_CASE("spawner: each child leads a process group of its own", "[spawner]") {
  EACH_SPAWN_MODE();
  Spawner spawner(open_files_limit());
  Spawned a(spawner, spec({"sleep", "300"}));
  Spawned b(spawner, spec({"sleep", "300"}));
  CHECK(getpgid(a.pid()) == a.pid());
  CHECK(getpgid(b.pid()) == b.pid());
  CHECK(getpgid(a.pid()) != getpgrp());
}

TEST_CASE("spawner: stdin is /dev/null", "[spawner]") {
  EACH_SPAWN_MODE();
  // This process's stdin may be /dev/null already: make it a pipe that
  // stays open, which a child inheriting it would block on.
  int pipe_fds[2];
  REQUIRE(pipe2(pipe_fds, O_CLOEXEC) == 0);
  int saved_stdin = dup(0);
  REQUIRE(saved_stdin >= 0);
  dup2(pipe_fds[0], 0);
  struct Restore {
    int saved, a, b;
    ~Restore() {
      dup2(saved, 0);
      for (int fd : {saved, a, b}) close(fd);
    }
  } restore{saved_stdin, pipe_fds[0], pipe_fds[1]};
  Spawner spawner(open_files_limit());
  // cat ends at once: it reads EOF.
  Spawned c(spawner, sh("readlink /proc/self/fd/0; cat; echo after-cat"));
  CHECK(c.out() == "/dev/null\nafter-cat\n");
  CHECK(c.exit_code() == 0);
}

TEST_CASE("spawner: stdout and stderr reach their own nonblocking close-on-exec pipes",
          "[spawner]") {
  EACH_SPAWN_MODE();
  Spawner spawner(open_files_limit());
  Spawned c(spawner, sh("echo to-out; echo to-err >&2; printf 'no newline'"));
  for (int fd : {c.child().out_fd, c.child().err_fd}) {
    CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  }
  CHECK(c.out() == "to-out\nno newline");
  CHECK(c.err() == "to-err\n");
  CHECK(c.exit_code() == 0);
}

TEST_CASE("spawner: the child has default signal dispositions and an empty signal mask",
          "[spawner]") {
  EACH_SPAWN_MODE();
  SignalState restore;
  restore.ignore(SIGUSR1);  // as a daemon might: ignored dispositions survive exec
  restore.ignore(SIGPIPE);
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &usr2, nullptr);
  Spawner spawner(open_files_limit());  // records what to undo
  Spawned c(spawner, spec({"cat", "/proc/self/status"}));
  std::string status = c.out();
  // Signals 32 and 33 are glibc's own: sigaction() cannot touch them, so
  // what this process inherited there (some harnesses ignore them) stays.
  unsigned long long inherited =
      std::stoull(status_field(slurp("/proc/self/status"), "SigIgn"), nullptr, 16) & 0x180000000ULL;
  char expected[17];
  std::snprintf(expected, sizeof expected, "%016llx", inherited);
  CHECK(status_field(status, "SigIgn") == expected);
  CHECK(status_field(status, "SigBlk") == "0000000000000000");
}

TEST_CASE("spawner: the child gets the open-files limit given to the Spawner", "[spawner]") {
  EACH_SPAWN_MODE();
  rlimit mine = open_files_limit();
  if (mine.rlim_cur != RLIM_INFINITY && mine.rlim_cur < 100) {
    JOBSET_SKIP("needs an open-files limit of 100 or more to give a child a lower one");
  }
  Spawner spawner(rlimit{77, mine.rlim_max});
  Spawned c(spawner, sh("ulimit -n"));
  CHECK(c.out() == "77\n");
}
