// The OS edge of `jobset run` (run.hpp): libevent, the daemon listener and
// links, signals, the events file. Everything it decides comes from the
// run driver.
#include "launcher/run/run.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>

#include "launcher/run/local_claims.hpp"
#include "launcher/run/run_driver.hpp"
#include "runtime/auth.hpp"
#include "runtime/link.hpp"

namespace jobset::launcher {
namespace {

timeval to_timeval(double seconds) {
  double whole = std::floor(seconds);
  return timeval{static_cast<time_t>(whole), static_cast<suseconds_t>((seconds - whole) * 1e6)};
}

// Whether `port` can be bound on every address of this machine now.
bool port_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Whether this machine resolves the run's names through jobset's NSS
// module: nsswitch.conf names it and the module can be loaded.
bool names_resolve() {
  std::ifstream in("/etc/nsswitch.conf");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!nsswitch_uses_jobset(text)) return false;
  void* module = dlopen("libnss_jobset.so.2", RTLD_LAZY | RTLD_LOCAL);
  if (!module) return false;
  dlclose(module);
  return true;
}

// Every node runs on this machine (the only Starter so far): one node is
// reached at 127.0.0.1 (or the --address-from address), several simulated
// ones each at an address of their own, in a loopback block this run claims
// (local_claims.hpp). Ports that replace declared ones are reserved for the
// run's lifetime.
Result<Names> local_names(const JobSet& js, const Plan& plan, const std::string& node_address,
                          PortReservations& reserved, std::optional<LoopbackBlock>& block) {
  size_t nodes = plan.cluster.nodes.size();
  std::vector<std::string> addresses = {node_address.empty() ? "127.0.0.1" : node_address};
  if (nodes > 1) {
    auto claimed = LoopbackBlock::claim(1 + static_cast<int>(getpid() % 254));
    if (!claimed) return claimed.error();
    block.emplace(std::move(*claimed));
    addresses = simulated_addresses(nodes, block->block());
  }
  std::optional<Error> failed;
  auto pick = [&reserved, &failed](int32_t) {
    auto port = reserved.reserve();
    if (!port && !failed) failed = port.error();
    return port ? *port : 0;
  };
  auto ports = assign_ports(
      js, plan, [](int32_t, int port) { return port_free(port); }, pick,
      /*one_host=*/true);
  if (failed) return *failed;
  return Names(js, plan, std::move(addresses), std::move(ports));
}

class EventTimer final : public Timer {
 public:
  EventTimer(event_base* base, std::function<void()> fire) : fire_(std::move(fire)) {
    ev_ = evtimer_new(
        base, [](evutil_socket_t, short, void* self) { static_cast<EventTimer*>(self)->fire_(); },
        this);
  }
  ~EventTimer() override { event_free(ev_); }
  void arm(double seconds) override {
    timeval tv = to_timeval(seconds);
    evtimer_add(ev_, &tv);
  }
  void cancel() override { evtimer_del(ev_); }

 private:
  event* ev_;
  std::function<void()> fire_;
};

class EventLoop final : public Loop {
 public:
  explicit EventLoop(event_base* base) : base_(base) {}
  double monotonic() const override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  double wall() const override {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::unique_ptr<Timer> timer(std::function<void()> fire) override {
    return std::make_unique<EventTimer>(base_, std::move(fire));
  }
  void stop() override { event_base_loopbreak(base_); }
  void suspend() override { ::kill(::getpid(), SIGSTOP); }

 private:
  event_base* base_;
};

class DaemonNodeLink final : public NodeLink {
 public:
  explicit DaemonNodeLink(std::unique_ptr<runtime::DaemonLink> link) : link_(std::move(link)) {}
  void send(const runtime::Message& m) override { link_->send(m); }
  void close() override { link_->close(); }

 private:
  std::unique_ptr<runtime::DaemonLink> link_;
};

// Hands an authenticated daemon to the driver, its reports wired to it.
void accept_daemon(RunDriver& driver, std::unique_ptr<runtime::DaemonLink> link) {
  int32_t n = driver.node_index(link->node());
  if (n < 0) {
    link->close();
    return;
  }
  runtime::DaemonLink::Handlers h;
  h.started = [&driver](const runtime::Started& s) { driver.started(s); };
  h.spawn_failed = [&driver](const runtime::SpawnFailed& s) { driver.spawn_failed(s); };
  h.exited = [&driver](const runtime::Exited& e) { driver.exited(e); };
  h.output = [&driver](const runtime::Output& o) { driver.output(o); };
  h.rdzv_request = [&driver, n](const runtime::RdzvRequest& r) { driver.rdzv_request(n, r); };
  h.rdzv_gone = [&driver, n](const runtime::RdzvGone& g) { driver.rdzv_gone(n, g); };
  h.closed = [&driver, n](const std::string& reason) { driver.link_closed(n, reason); };
  link->set_handlers(std::move(h));
  driver.connected(n, std::make_unique<DaemonNodeLink>(std::move(link)));
}

// The libevent objects of one run, freed in the right order.
struct EventBase {
  event_base* base = event_base_new();
  std::vector<event*> signals;
  ~EventBase() {
    for (event* e : signals) event_free(e);
    if (base) event_base_free(base);
  }
};

int run(const JobSet& js, const Plan& first_plan, const RunOptions& o, Starter& starter,
        std::ostream& err) {
  Plan plan = first_plan;  // the run's own: processes move off lost nodes
  EventBase ev;
  if (!ev.base) {
    err << "jobset: cannot create the event loop\n";
    return 1;
  }
  std::ofstream events;
  if (!o.events_file.empty()) {
    events.open(o.events_file, std::ios::trunc);
    if (!events) {
      err << "jobset: --events " << o.events_file << ": cannot be written\n";
      return 1;
    }
  }
  auto key = runtime::make_key();
  if (!key) {
    err << "jobset: " << key.error().message() << "\n";
    return 1;
  }
  auto listener = runtime::DaemonListener::create(ev.base, *key);
  if (!listener) {
    err << "jobset: "
        << listener.error().with_context("cannot listen for the node daemons").message() << "\n";
    return 1;
  }
  EventLoop loop(ev.base);
  OutputSink sink(o.output, write_all, [&loop] { return loop.wall(); });
  PortReservations reserved;  // the run's ports and loopback block, held until it ends
  std::optional<LoopbackBlock> block;
  auto local = local_names(js, plan, o.node_address, reserved, block);
  if (!local) {
    err << "jobset: " << local.error().message() << "\n";
    return 1;
  }
  Names& names = *local;
  bool resolve = names_resolve();
  if (std::string ref = fqdn_reference(js, plan); !ref.empty() && !resolve && !o.quiet)
    err << "jobset: warning: " << ref
        << " names a peer by FQDN, but this machine does not resolve the run's names (the NSS "
           "module is not enabled; see jobset(1), STABLE HOSTNAMES); programs can read "
           "JOBSET_HOSTS_FILE, or use MASTER_ADDR, which holds an address\n";
  // MASTER_PORT and the JAX and Megascale coordinator ports, per run.
  std::vector<int> ports;
  for (int i = 0; i < 3; ++i) {
    auto port = reserved.reserve();
    if (!port) {
      err << "jobset: " << port.error().message() << "\n";
      return 1;
    }
    ports.push_back(*port);
  }
  SpecSettings specs;
  specs.max_restarts = effective_max_restarts(js, o.max_restarts);
  specs.mpi = o.mpi;
  specs.coordinator_host = resolve ? names.coordinator_fqdn()
                                   : names.address_of(names.coordinator_rank());
  for (size_t r = 0; r < plan.expansion.processes.size(); ++r)
    specs.ports.push_back(names.ports_of(static_cast<int32_t>(r)));
  specs.master_port = ports[0];
  specs.jax_port = ports[1];
  specs.megascale_port = ports[2];
  specs.default_omp_threads = std::getenv("OMP_NUM_THREADS") == nullptr;
  specs.exports = o.exports;
  for (size_t n = 0; n < plan.cluster.nodes.size(); ++n)
    specs.node_addresses.push_back(names.node_address(static_cast<int32_t>(n)));
  bool status_line = !o.quiet && o.output.dir.empty() && isatty(2);
  DriverIo io{loop, starter, sink, err, events.is_open() ? &events : nullptr, status_line};
  RunDriver driver(js, plan, o, std::move(specs), names, io);

  (*listener)->on_daemon = [&driver](std::unique_ptr<runtime::DaemonLink> l) {
    accept_daemon(driver, std::move(l));
  };
  (*listener)->on_reject = [&](const std::string& why) {
    err << "jobset: refused a connection: " << why << "\n";  // also under -q: security
  };
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGTSTP, SIGCONT, SIGCHLD}) {
    event* e = evsignal_new(
        ev.base, sig,
        [](evutil_socket_t s, short, void* d) {
          static_cast<RunDriver*>(d)->signal(static_cast<int>(s));
        },
        &driver);
    event_add(e, nullptr);
    ev.signals.push_back(e);
  }
  if (auto s = driver.start((*listener)->address(), *key); !s) {
    err << "jobset: " << s.error().message() << "\n";
    return 1;
  }
  runtime::warm_up_crypto();  // while the daemons start
  event_base_dispatch(ev.base);
  int code = driver.finish();
  listener->reset();
  return code;
}

}  // namespace

int run_jobset(const JobSet& js, const Plan& plan, const RunOptions& options, Starter& starter,
               std::ostream& err) {
  signal(SIGPIPE, SIG_IGN);
  return run(js, plan, options, starter, err);
}

}  // namespace jobset::launcher
