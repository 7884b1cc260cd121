// LocalDaemons (local_daemons.hpp).
#include "launcher/run/local_daemons.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "runtime/auth.hpp"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace jobset::launcher {

namespace {

// One daemon between fork and the check of its exec.
struct Starting {
  pid_t pid = -1;
  int exec_fd = -1;  // EOF when exec worked, an errno when it failed
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// In the child: everything the launcher set up that a daemon must not
// inherit is undone, then exec. Returns only on failure.
void exec_daemon(char* const* argv, int key_fd, int exec_fd, pid_t parent) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(1);  // the launcher is already gone
  if (::dup2(key_fd, 0) < 0) return;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Descriptors the launcher opened without O_CLOEXEC stay out of the daemon.
  ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
  ::fcntl(exec_fd, F_SETFD, FD_CLOEXEC);
  ::execv(argv[0], argv);
}

Result<Starting> fork_daemon(const std::vector<std::string>& args, const std::string& key_line,
                             pid_t parent) {
  int key[2] = {-1, -1}, ex[2] = {-1, -1};
  if (::pipe2(key, O_CLOEXEC) != 0 || ::pipe2(ex, O_CLOEXEC) != 0) {
    int e = errno;
    for (int* fd : {&key[0], &key[1], &ex[0], &ex[1]}) close_fd(*fd);
    return Error(std::string("pipe: ") + std::strerror(e));
  }
  // The key goes into the pipe before the daemon exists: no SIGPIPE if it
  // dies early, and the line is there whenever it reads.
  ssize_t n = ::write(key[1], key_line.data(), key_line.size());
  close_fd(key[1]);
  if (n != static_cast<ssize_t>(key_line.size())) {
    close_fd(key[0]);
    close_fd(ex[0]);
    close_fd(ex[1]);
    return Error("cannot hand the key to jobsetd");
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    exec_daemon(argv.data(), key[0], ex[1], parent);
    int e = errno;
    (void)!::write(ex[1], &e, sizeof e);
    ::_exit(127);
  }
  int fork_errno = errno;
  close_fd(key[0]);
  close_fd(ex[1]);
  if (pid < 0) {
    close_fd(ex[0]);
    return Error(std::string("fork: ") + std::strerror(fork_errno));
  }
  ::setpgid(pid, pid);
  return Starting{pid, ex[0]};
}

// Blocks until the child exec'd (EOF) or reported why it could not.
int exec_errno(int fd) {
  int e = 0;
  ssize_t n;
  do {
    n = ::read(fd, &e, sizeof e);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof e) ? e : 0;
}

}  // namespace

LocalDaemons& LocalDaemons::operator=(LocalDaemons&& o) noexcept {
  if (this != &o) {
    wait_or_kill(0);
    pids_ = std::move(o.pids_);
    o.pids_.clear();
  }
  return *this;
}

int LocalDaemons::reap_exited() {
  size_t before = pids_.size();
  std::erase_if(pids_, [](pid_t p) { return ::waitpid(p, nullptr, WNOHANG) != 0; });
  return static_cast<int>(before - pids_.size());
}

void LocalDaemons::terminate() {
  for (pid_t p : pids_) ::kill(p, SIGTERM);
}

void LocalDaemons::wait_or_kill(double seconds) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(seconds));
  while (!pids_.empty()) {
    reap_exited();
    if (pids_.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (pid_t p : pids_) ::kill(p, SIGKILL);
  for (pid_t p : pids_) {
    while (::waitpid(p, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pids_.clear();
}

Result<LocalDaemons> start_local_daemons(const std::vector<std::string>& node_names,
                                         const std::string& launcher_address,
                                         const std::string& key_bytes,
                                         const std::string& jobsetd_path) {
  LocalDaemons out;  // on any error, its destructor kills what was started
  std::string key_line = runtime::to_hex(key_bytes) + "\n";
  pid_t parent = ::getpid();
  std::vector<int> exec_fds;
  Status failed;
  for (const std::string& node : node_names) {
    auto child = fork_daemon({jobsetd_path, "--connect", launcher_address, "--node", node},
                             key_line, parent);
    if (!child.ok()) {
      failed = child.error().with_context("cannot start the node daemon for " + node);
      break;
    }
    out.pids_.push_back(child->pid);
    exec_fds.push_back(child->exec_fd);
  }
  // All forked: now see whether they exec'd (they did so in parallel).
  for (int fd : exec_fds) {
    int e = exec_errno(fd);
    ::close(fd);
    if (e != 0 && failed.ok()) {
      failed = Error("cannot start the node daemon " + jobsetd_path + ": " + std::strerror(e));
    }
  }
  if (!failed.ok()) return failed.error();
  return out;
}

std::string find_jobsetd(const std::string& argv0) {
  if (const char* env = std::getenv("JOBSET_JOBSETD"); env && *env) return env;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) self = fs::absolute(argv0, ec);
  fs::path dir = self.parent_path();
  for (const fs::path& candidate : {dir / "jobsetd", dir / ".." / "runtime" / "jobsetd"}) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.lexically_normal().string();
  }
  return "jobsetd";
}

}  // namespace jobset::launcher
