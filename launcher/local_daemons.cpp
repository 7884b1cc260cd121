#include "launcher/local_daemons.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "runtime/auth.hpp"

namespace jobset::launcher {

LocalDaemons& LocalDaemons::operator=(LocalDaemons&& o) noexcept {
  wait_or_kill(0);
  pids_ = std::move(o.pids_);
  o.pids_.clear();
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
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!pids_.empty()) {
    std::erase_if(pids_, [](pid_t p) { return ::waitpid(p, nullptr, WNOHANG) != 0; });
    if (pids_.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (pid_t p : pids_) ::kill(p, SIGKILL);
  for (pid_t p : pids_) ::waitpid(p, nullptr, 0);
  pids_.clear();
}

Result<LocalDaemons> start_local_daemons(const std::vector<std::string>& node_names,
                                         const std::string& launcher_address, const std::string& key_bytes,
                                         const std::string& jobsetd_path) {
  LocalDaemons out;
  std::string key_line = runtime::to_hex(key_bytes) + "\n";
  pid_t parent = ::getpid();
  for (const std::string& node : node_names) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return Error(std::string("pipe: ") + std::strerror(errno));
    std::vector<std::string> args = {jobsetd_path, "--connect", launcher_address, "--node", node};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return Error(std::string("fork jobsetd: ") + std::strerror(errno));
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);  // the launcher is already gone
      ::setpgid(0, 0);
      ::dup2(fds[0], 0);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execv(argv[0], argv.data());
      char msg[512];
      int len = std::snprintf(msg, sizeof msg, "jobset: cannot start the node daemon %s: %s\n", argv[0],
                              std::strerror(errno));
      (void)!::write(2, msg, static_cast<size_t>(std::max(len, 0)));
      ::_exit(127);
    }
    ::setpgid(pid, pid);
    out.pids_.push_back(pid);
    ::close(fds[0]);
    ssize_t n = ::write(fds[1], key_line.data(), key_line.size());
    ::close(fds[1]);
    if (n != static_cast<ssize_t>(key_line.size()))
      return Error("cannot hand the key to jobsetd for node " + node + ": " + std::strerror(errno));
  }
  return out;
}

std::string find_jobsetd(const std::string& argv0) {
  if (const char* env = std::getenv("JOBSET_JOBSETD"); env && *env) return env;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) self = fs::absolute(argv0, ec);
  fs::path dir = self.parent_path();
  for (const fs::path& candidate : {dir / "jobsetd", dir / ".." / "runtime" / "jobsetd"})
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.lexically_normal().string();
  return "jobsetd";
}

}  // namespace jobset::launcher
