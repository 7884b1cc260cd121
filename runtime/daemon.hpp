// jobsetd, the node daemon: dials the launcher, proves the run's key,
// then spawns and supervises the processes the launcher asks for, on one
// libevent loop without threads.
//
// Exit codes: 0 after Shutdown; 1 when the launcher connection is lost
// (or could not be made); 2 bad arguments or a failed handshake;
// 128+N after signal N (SIGTERM, SIGINT, SIGHUP). In every case
// everything the daemon started is stopped first: SIGTERM, a grace
// period (Shutdown's, or 2 s), SIGKILL; and a watchdog process covers the
// case where the daemon itself is SIGKILLed.
#pragma once

#include <iosfwd>
#include <string>

namespace jobset::runtime {

inline constexpr int kDaemonExitShutdown = 0;
inline constexpr int kDaemonExitLostConnection = 1;
inline constexpr int kDaemonExitBadStart = 2;

struct DaemonOptions {
  std::string host;  // the launcher's address: IPv4, IPv6 or a host name
  std::string port;
  std::string node;  // the node name this daemon stands for
  std::string key;   // raw key bytes
};

// Runs the daemon until it is done; returns the exit code. One-line
// reasons go to `err` ("jobsetd[node1]: lost connection to the launcher").
int run_daemon(const DaemonOptions& options, std::ostream& err);

}  // namespace jobset::runtime
