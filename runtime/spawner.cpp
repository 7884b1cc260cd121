// Spawner (spawner.hpp). Everything between fork and exec runs in a copy
// of a single-threaded daemon, so the child may call setenv (malloc) safely.
#include "runtime/spawner.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace jobset::runtime {

namespace {

enum class Stage : int32_t { kSetup = 1, kCwd = 2, kExec = 3, kEnv = 4 };

[[noreturn]] void fail_child(int status_fd, Stage stage) {
  int32_t record[2] = {static_cast<int32_t>(stage), errno};
  ssize_t ignored = write(status_fd, record, sizeof record);
  (void)ignored;
  _exit(127);
}

void close_all(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace

Spawner::Spawner(rlimit child_nofile) : child_nofile_(child_nofile) {
  devnull_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (int sig = 1; sig < SIGRTMAX; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction sa {};
    if (sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler != SIG_DFL) reset_signals_.push_back(sig);
  }
}

Spawner::~Spawner() {
  if (devnull_ >= 0) close(devnull_);
}

Result<Spawner::Child> Spawner::spawn(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Error("empty command");
  if (devnull_ < 0) return Error("cannot open /dev/null");
  int out[2] = {-1, -1}, err[2] = {-1, -1}, st[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || pipe2(st, O_CLOEXEC) != 0) {
    int e = errno;
    close_all({out[0], out[1], err[0], err[1], st[0], st[1]});
    return Error(std::string("pipe: ") + strerror(e));
  }
  for (int fd : {out[0], err[0], st[0]}) fcntl(fd, F_SETFL, O_NONBLOCK);

  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // Signals stay blocked across fork so that none runs a daemon handler
  // in the child before the child reset them.
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    int fds[4] = {out[1], err[1], st[1], devnull_};
    exec_child(spec, argv.data(), fds, parent);
  }
  int fork_errno = errno;
  sigprocmask(SIG_SETMASK, &old, nullptr);
  close_all({out[1], err[1], st[1]});
  if (pid < 0) {
    close_all({out[0], err[0], st[0]});
    return Error(std::string("fork: ") + strerror(fork_errno));
  }
  setpgid(pid, pid);  // may fail harmlessly when the child got there first
  return Child{pid, out[0], err[0], st[0]};
}

void Spawner::exec_child(const ProcessSpec& spec, char* const* argv, const int* fds,
                         pid_t parent) {
  const int out_w = fds[0], err_w = fds[1], status_w = fds[2], devnull = fds[3];
  for (int sig : reset_signals_) signal(sig, SIG_DFL);
  setpgid(0, 0);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail_child(status_w, Stage::kSetup);
  if (getppid() != parent) _exit(127);  // the daemon is already gone
  if (dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) {
    fail_child(status_w, Stage::kSetup);
  }
  setrlimit(RLIMIT_NOFILE, &child_nofile_);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (!spec.cwd.empty() && chdir(spec.cwd.c_str()) != 0) fail_child(status_w, Stage::kCwd);
  for (const auto& [name, value] : spec.env) {
    if (setenv(name.c_str(), value.c_str(), 1) != 0) fail_child(status_w, Stage::kEnv);
  }
  execvp(argv[0], argv);
  fail_child(status_w, Stage::kExec);
}

std::string exec_failure_message(std::string_view name, std::string_view argv0,
                                 std::string_view cwd, std::string_view record) {
  int32_t rec[2] = {0, 0};
  if (record.size() >= sizeof rec) memcpy(rec, record.data(), sizeof rec);
  std::string reason = strerror(rec[1]);
  std::string prefix = "spawn " + std::string(name) + ": ";
  switch (static_cast<Stage>(rec[0])) {
    case Stage::kCwd:
      return prefix + "working directory " + std::string(cwd) + ": " + reason;
    case Stage::kEnv:
      return prefix + "environment: " + reason;
    case Stage::kExec:
      if (rec[1] == ENOENT && argv0.find('/') == std::string_view::npos) {
        return prefix + std::string(argv0) + ": command not found in PATH";
      }
      return prefix + std::string(argv0) + ": " + reason;
    case Stage::kSetup:
      break;
  }
  return prefix + "setting up the process: " + reason;
}

}  // namespace jobset::runtime
