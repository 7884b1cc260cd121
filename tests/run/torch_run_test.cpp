// Real PyTorch under `jobset run` (Debian's python3-torch, gloo on CPUs):
// DDP training killed and resumed beside a reference run (two gloo runs
// at the same time), a torchrun-free program that finds rank 0 by its FQDN
// through the NSS module, and the run's ports and loopback addresses. Skipped, saying why, when
// torch (or what a test needs to make namespaces) is missing.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <map>
#include <regex>

#include "tests/run/run_util.hpp"
#include "tests/skip.hpp"

namespace {

using namespace runtest;

std::optional<std::string> torch_missing() {
  if (access("/usr/bin/python3", X_OK) != 0)
    return "needs /usr/bin/python3 (apt-get install python3)";
  if (!fs::exists("/usr/lib/python3/dist-packages/torch/distributed/__init__.py"))
    return "needs PyTorch (apt-get install python3-torch)";
  return std::nullopt;
}

bool on_path(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

void copy_example(const Scratch& s, const std::string& from) {
  fs::path src = fs::path(JOBSET_SRCDIR) / "examples" / from;
  fs::copy_file(src, s.path(src.filename().string()), fs::copy_options::overwrite_existing);
}

// Every match of `pattern` in `text`, each as its groups.
std::vector<std::vector<std::string>> matches(const std::string& text, const std::string& pattern) {
  std::vector<std::vector<std::string>> out;
  std::regex re(pattern);
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
    std::vector<std::string> groups;
    for (size_t i = 1; i < it->size(); ++i) groups.push_back((*it)[i].str());
    out.push_back(groups);
  }
  return out;
}

// rank -> the address it reported, from lines "<prefix>rank R ... at A".
std::map<int, std::string> rank_addresses(const std::string& out, const std::string& pattern) {
  std::map<int, std::string> at;
  for (const auto& m : matches(out, pattern)) at[std::stoi(m[0])] = m[1];
  return at;
}

std::set<std::string> values(const std::map<int, std::string>& m) {
  std::set<std::string> out;
  for (const auto& [k, v] : m) out.insert(v);
  return out;
}

TEST_CASE(
    "torch run: DDP (gloo, env://) on 2 simulated nodes x 2 ranks: a rank SIGKILLed mid-run, "
    "the failure policy restarts, training resumes from its checkpoint and ends with exactly "
    "the loss of a run never interrupted; the two runs, at the same time, never share a "
    "MASTER_PORT or a loopback block",
    "[torch][ports]") {
  if (auto why = torch_missing()) JOBSET_SKIP(*why);
  Scratch s;
  copy_example(s, "pytorch-ddp/ddp.py");
  copy_example(s, "pytorch-ddp/ddp.toml");  // max_restarts = 2, backoff_limit = 0
  auto args = [&](const std::string& checkpoints) {
    return std::vector<std::string>{"run",
                                    "-q",
                                    "--simulate-nodes",
                                    "2",
                                    "-x",
                                    "CHECKPOINT_DIR=" + s.path(checkpoints),
                                    "-x",
                                    "STEPS=30",
                                    "-x",
                                    "CHECKPOINT_EVERY=1",
                                    "-x",
                                    "CRASH_AT_STEP=-1",
                                    "-x",
                                    "STEP_SECONDS=0.1",
                                    "--events",
                                    s.path(checkpoints + ".events"),
                                    "ddp.toml"};
  };
  // The reference and the run to interrupt go at the same time (two runs
  // of four gloo ranks side by side, each with ports of its own).
  Launch reference(s, args("reference"), "reference");
  Launch run(s, args("killed"), "killed");
  // Once a checkpoint exists, training is under way: SIGKILL rank 3.
  std::string checkpoint = s.path("killed/checkpoint.pt");
  REQUIRE(eventually(240, [&] { return fs::exists(checkpoint) || run.poll(); }));
  INFO(run.report());
  REQUIRE(!run.poll());
  std::optional<Proc> victim;
  for (const Proc& p : run.procs())
    if (p.env("RANK") == "3" && p.env("JOBSET_RESTART_ATTEMPT") == "0" &&
        p.cmdline().find("ddp.py") != std::string::npos)
      victim = p;
  REQUIRE(victim);
  REQUIRE(::kill(victim->pid, SIGKILL) == 0);

  REQUIRE(reference.wait(300) == 0);
  REQUIRE(run.wait(300) == 0);
  std::string ref_out = reference.out(), out = run.out();
  INFO("reference:\n" << ref_out << "interrupted:\n" << out);

  // Restarted once, resumed mid-way from rank 0's checkpoint.
  auto events = read_events(s.path("killed.events"));
  CHECK(count_events(events, "jobset_restart") == 1);
  CHECK(count_events(read_events(s.path("reference.events")), "jobset_restart") == 0);
  CHECK(ref_out.find("ddp: 4 ranks, starting, 30 steps (attempt 0)") != std::string::npos);
  auto resumed = matches(out, "ddp: 4 ranks, resuming at step (\\d+), 30 steps \\(attempt 1\\)");
  REQUIRE(resumed.size() == 1);
  int step = std::stoi(resumed[0][0]);
  CHECK(step > 0);
  CHECK(step < 30);

  // The same final loss, to the last bit Python prints.
  auto ref_final = matches(ref_out, "(ddp: final loss .* after 30 steps \\(exactly .*\\))");
  auto final = matches(out, "(ddp: final loss .* after 30 steps \\(exactly .*\\))");
  REQUIRE(ref_final.size() == 1);
  REQUIRE(final.size() == 1);
  CHECK(final[0][0] == ref_final[0][0]);

  // Gloo listened on each node's own address: two addresses, two ranks
  // at each; the two runs on loopback blocks of their own.
  const std::string at = "ddp: rank (\\d) of 4 at (127\\.\\d+\\.\\d+\\.\\d+),";
  auto ref_at = rank_addresses(ref_out, at), run_at = rank_addresses(out, at);
  REQUIRE(ref_at.size() == 4);
  REQUIRE(run_at.size() == 4);
  CHECK(values(ref_at).size() == 2);
  CHECK(values(run_at).size() == 2);
  CHECK(ref_at[0] == ref_at[1]);
  CHECK(ref_at[2] == ref_at[3]);
  CHECK(ref_at[0] != run_at[0]);
  // Two 4-process gloo runs at the same time, each on its own MASTER_PORT
  // (the one every rank of the run used, attempts included).
  const std::string rendezvous = "ddp: rank \\d of 4 at \\S+, rendezvous at (\\S+)";
  std::set<std::string> ref_master, run_master;
  for (const auto& m : matches(ref_out, rendezvous)) ref_master.insert(m[0]);
  for (const auto& m : matches(out, rendezvous)) run_master.insert(m[0]);
  REQUIRE(ref_master.size() == 1);
  REQUIRE(run_master.size() == 1);
  std::string ref_port = ref_master.begin()->substr(ref_master.begin()->rfind(':'));
  std::string run_port = run_master.begin()->substr(run_master.begin()->rfind(':'));
  CHECK(ref_port != run_port);
}

TEST_CASE(
    "torch run: a torchrun-free program reads MASTER_ADDR as rank 0's FQDN, resolves it and its "
    "own name through the NSS module, and does a gloo all_reduce across 2 simulated nodes",
    "[torch][nss]") {
  if (auto why = torch_missing()) JOBSET_SKIP(*why);
  std::string why;
  Scratch s;
  copy_example(s, "torch-fqdn/allreduce.py");
  copy_example(s, "torch-fqdn/fqdn.toml");  // MASTER_ADDR = "fqdn-workers-0-0.train"
  auto wrapper = names_resolve_wrapper(s, &why);
  if (!wrapper) JOBSET_SKIP(why);
  Launch r(s, {"run", "--simulate-nodes", "2", "fqdn.toml"}, "run", *wrapper);
  REQUIRE(r.wait(240) == 0);
  std::string out = r.out();
  INFO(r.report() << "\nstdout:\n" << out);
  // Every rank resolved rank 0's FQDN to rank 0's address, on node 0.
  auto master = rank_addresses(
      out, "allreduce: rank (\\d): MASTER_ADDR fqdn-workers-0-0\\.train resolves to (\\S+)");
  auto own = rank_addresses(out, "allreduce: rank (\\d) is fqdn-workers-0-\\d\\.train at (\\S+)");
  REQUIRE(master.size() == 4);
  REQUIRE(own.size() == 4);
  CHECK(values(master).size() == 1);
  CHECK(master[0] == own[0]);
  CHECK(master[0].rfind("127.", 0) == 0);
  CHECK(master[0] != "127.0.0.1");
  CHECK(values(own).size() == 2);  // two simulated nodes, two addresses
  CHECK(count_substr(out, "sum 10, expected 10") == 4);
  // The launcher saw the module active: no warning about FQDNs.
  CHECK(r.err().find("warning") == std::string::npos);
}

// A process of the run writes MASTER_PORT, waits for the test's word, then
// listens on it as servers do (SO_REUSEADDR).
const char* kHoldScript = R"SH(#!/bin/sh
echo "$MASTER_PORT" >port.tmp && mv port.tmp port
i=0
while [ ! -e go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
exec python3 -c '
import os, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", int(os.environ["MASTER_PORT"])))
s.listen()
print("listening on", s.getsockname()[1])
'
)SH";

// Whether a plain socket (no SO_REUSEADDR, as a program's ephemeral or
// careless bind) can bind `port` on `address`; the errno when not.
int plain_bind(uint32_t address, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(address);
  a.sin_port = htons(static_cast<uint16_t>(port));
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

TEST_CASE(
    "run: MASTER_PORT stays reserved while the run lasts (no other socket can be given it), and "
    "a server of the run binds it with SO_REUSEADDR",
    "[ports]") {
  if (!on_path("python3")) JOBSET_SKIP("needs python3 (apt-get install python3)");
  Scratch s;
  s.write("hold.sh", kHoldScript);
  Launch r(s, {"run", "-q", "-n", "1", "sh", "hold.sh"});
  REQUIRE(eventually(60, [&] { return fs::exists(s.path("port")) || r.poll(); }));
  INFO(r.report());
  int port = std::stoi(s.read("port"));
  REQUIRE(port > 0);
  // Before the process binds it, the port is still the run's: a concurrent
  // run's bind or any program's would fail (and port 0 never yields it).
  CHECK(plain_bind(INADDR_ANY, port) == EADDRINUSE);
  CHECK(plain_bind(INADDR_LOOPBACK, port) == EADDRINUSE);
  s.write("go", "");
  REQUIRE(r.wait(60) == 0);
  CHECK(r.out() == "listening on " + std::to_string(port) + "\n");
}

// The claim of loopback block B by a run (launcher/run/local_claims.hpp):
// the abstract Unix socket "@jobset-loopback-block-B".
int claim_block(int block) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::string name = "jobset-loopback-block-" + std::to_string(block);
  std::memcpy(a.sun_path + 1, name.data(), name.size());
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0) return fd;
  ::close(fd);
  return -1;
}

struct Claims {
  std::vector<int> fds;
  ~Claims() {
    for (int fd : fds) ::close(fd);
  }
};

TEST_CASE(
    "run: a run of simulated nodes takes a loopback block no other run holds; with all 254 "
    "held, it says so and ends",
    "[ports]") {
  Scratch s;
  // Hold every block but one, as 253 other runs would.
  Claims claims;
  int left = 0;
  for (int b = 1; b <= 254; ++b) {
    int fd = claim_block(b);
    if (fd < 0) continue;  // another run of this machine holds it
    if (left == 0) {
      left = b;
      ::close(fd);
      continue;
    }
    claims.fds.push_back(fd);
  }
  REQUIRE(left > 0);
  std::vector<std::string> args = {"run", "-q", "--simulate-nodes",          "2", "-n", "2",
                                   "sh",  "-c", "cat \"$JOBSET_HOSTS_FILE\""};
  {
    Launch r(s, args);
    REQUIRE(r.wait(60) == 0);
    std::string out = r.out();
    INFO(r.report() << "\nstdout:\n" << out);
    std::string block = "127." + std::to_string(left) + ".0.";
    CHECK(out.find(block + "1\t") != std::string::npos);
    CHECK(out.find(block + "2\t") != std::string::npos);
  }
  int fd = claim_block(left);
  REQUIRE(fd >= 0);  // the run ended: its claim went with it
  claims.fds.push_back(fd);
  Launch full(s, args, "full");
  CHECK(full.wait(60) != 0);
  CHECK_THAT(full.err(), Catch::Contains("other runs hold all 254"));
}

}  // namespace
