// jobsetd: the per-node daemon of jobset. Started by the launcher (fork,
// srun or ssh), never by users: it reads the run's key from stdin, dials
// the launcher and runs what it is told (see daemon.hpp).
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "runtime/auth.hpp"
#include "runtime/daemon.hpp"

namespace {

using jobset::Error;
using jobset::Result;
using jobset::runtime::kDaemonExitBadStart;

constexpr int kKeyTimeoutMs = 10000;

const char kDescription[] =
    "jobsetd - the per-node daemon of jobset.\n"
    "\n"
    "You do not run jobsetd yourself: `jobset run` starts one on every node\n"
    "it uses (by fork, srun or ssh) and stops it at the end. The daemon reads\n"
    "the run's secret key as one hex line on stdin, connects to the launcher\n"
    "at --connect, proves it holds the key, then starts, watches and stops\n"
    "the processes the launcher asks for and forwards their output. When the\n"
    "launcher goes away, the daemon stops everything it started and exits.\n"
    "\n"
    "Exit status: 0 after the launcher's shutdown request, 1 when the\n"
    "launcher connection is lost or cannot be made, 2 on bad arguments or a\n"
    "failed handshake, 128+N when stopped by signal N.\n";

// One line of at most 200 bytes from stdin, waiting at most kKeyTimeoutMs.
// stdin carries nothing but the key, so reading past the newline loses
// nothing.
Result<std::string> read_key_line() {
  std::string line;
  char buf[256];
  while (line.size() < 200 && line.find('\n') == std::string::npos) {
    pollfd p{0, POLLIN, 0};
    int rc = poll(&p, 1, kKeyTimeoutMs);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) return Error("no key on stdin within 10 s");
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  if (size_t nl = line.find('\n'); nl != std::string::npos) line.resize(nl + 1);
  return line;
}

std::pair<std::string, std::string> split_host_port(const std::string& s) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return {};
  std::string host = s.substr(0, colon), port = s.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (port.find_first_not_of("0123456789") != std::string::npos) return {};
  return {host, port};
}

}  // namespace

int main(int argc, char** argv) {
  // Die with the local parent (the launcher, srun's step daemon or sshd's session).
  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (parent != 1 && getppid() != parent) return jobset::runtime::kDaemonExitLostConnection;
  // Orphans of the processes it starts (setsid, double fork) become its
  // children, so that it can stop them with their rank (sweep.hpp).
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  // Descriptors 0-2 must be open, or pipes would take their numbers.
  for (int fd = 0; fd < 3; ++fd) {
    if (fcntl(fd, F_GETFD) < 0) open("/dev/null", O_RDWR);
  }

  CLI::App app(kDescription, "jobsetd");
  std::string connect, node;
  app.add_option("--connect", connect, "the launcher's address, HOST:PORT")->required();
  app.add_option("--node", node, "the name of the node this daemon stands for")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << "jobsetd: " << e.what() << " (jobsetd is started by jobset; see jobsetd --help)\n";
    return kDaemonExitBadStart;
  }
  auto [host, port] = split_host_port(connect);
  if (host.empty()) {
    std::cerr << "jobsetd: --connect: expected HOST:PORT, found '" << connect << "'\n";
    return kDaemonExitBadStart;
  }
  if (node.empty() || node.size() > 255) {
    std::cerr << "jobsetd: --node: expected a name of 1 to 255 characters\n";
    return kDaemonExitBadStart;
  }
  auto line = read_key_line();
  auto key = line.ok() ? jobset::runtime::parse_key_line(*line) : Result<std::string>(line.error());
  if (!key.ok()) {
    std::cerr << "jobsetd[" << node << "]: " << key.error().message() << "\n";
    return kDaemonExitBadStart;
  }
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull > 0) {
    dup2(devnull, 0);
    close(devnull);
  }
  jobset::runtime::DaemonOptions options{host, port, node, *key};
  return jobset::runtime::run_daemon(options, std::cerr);
}
