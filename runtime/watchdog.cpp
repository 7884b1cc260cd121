// Watchdog (watchdog.hpp).
#include "runtime/watchdog.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <unordered_set>

namespace jobset::runtime {

namespace {

[[noreturn]] void watchdog_main(int fd) {
  setpgid(0, 0);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGTSTP}) {
    signal(sig, SIG_IGN);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
  }
  // Keep stderr and the pipe; drop everything else the daemon had.
  int keep = dup2(fd, 3);
  if (fd != 3) close(fd);
  syscall(SYS_close_range, 4u, ~0u, 0u);
  std::unordered_set<pid_t> groups;
  char buf[4096];
  size_t have = 0;
  for (;;) {
    ssize_t n = read(keep, buf + have, sizeof buf - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += static_cast<size_t>(n);
    size_t used = 0;
    for (; have - used >= sizeof(int32_t); used += sizeof(int32_t)) {
      int32_t r;
      memcpy(&r, buf + used, sizeof r);
      if (r > 0) groups.insert(r);
      if (r < 0) groups.erase(-r);
    }
    memmove(buf, buf + used, have - used);
    have -= used;
  }
  for (pid_t g : groups) kill(-g, SIGKILL);
  _exit(0);
}

}  // namespace

Result<std::unique_ptr<Watchdog>> Watchdog::start(event_base* base) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Error(std::string("watchdog: pipe: ") + strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    return Error(std::string("watchdog: fork: ") + strerror(e));
  }
  if (pid == 0) {
    close(p[1]);
    watchdog_main(p[0]);
  }
  close(p[0]);
  fcntl(p[1], F_SETFL, O_NONBLOCK);
  return std::unique_ptr<Watchdog>(new Watchdog(base, pid, p[1]));
}

Watchdog::Watchdog(event_base* base, pid_t pid, int fd) : pid_(pid), fd_(fd) {
  write_ev_ = event_new(base, fd_, EV_WRITE, on_writable, this);
}

Watchdog::~Watchdog() {
  if (write_ev_) event_free(write_ev_);
  close(fd_);  // EOF: the watchdog kills what it still knows and exits
  // Reap it (briefly, at most 200 ms) rather than leave a zombie to init.
  // It exits within microseconds of the EOF: poll finely, this is on the
  // path of every run's end.
  for (int i = 0; i < 2000; ++i) {
    pid_t r = waitpid(pid_, nullptr, WNOHANG);
    if (r != 0) break;
    usleep(100);
  }
}

void Watchdog::send(int32_t record) {
  queued_.append(reinterpret_cast<const char*>(&record), sizeof record);
  flush();
}

void Watchdog::flush() {
  while (!queued_.empty()) {
    ssize_t n = write(fd_, queued_.data(), queued_.size());
    if (n > 0) {
      queued_.erase(0, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  if (!queued_.empty()) event_add(write_ev_, nullptr);
}

void Watchdog::on_writable(evutil_socket_t, short, void* arg) {
  static_cast<Watchdog*>(arg)->flush();
}

}  // namespace jobset::runtime
