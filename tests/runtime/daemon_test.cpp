// Integration tests of the real jobsetd binary against a DaemonListener in
// the test's own event loop: handshake, spawning, output, exit reports,
// kill and signal requests, and what happens when either side goes away.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <csignal>

#include "tests/runtime/harness.hpp"

using namespace jobset::runtime;
using namespace jobset::runtime::testing;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int exit_code(std::optional<int> status) {
  if (!status) return -1;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
}

std::optional<pid_t> first_number(const std::string& s) {
  size_t i = s.find_first_of("0123456789");
  if (i == std::string::npos) return std::nullopt;
  return static_cast<pid_t>(std::stol(s.substr(i)));
}

}  // namespace

#define NEED_JOBSETD() \
  if (!have_jobsetd()) JOBSET_SKIP("jobsetd not built at " + jobsetd_path())

TEST_CASE("daemon: --help says users do not run it; bad arguments exit 2", "[daemon]") {
  NEED_JOBSETD();
  std::string exe = jobsetd_path();
  Scratch s;
  std::string out = s.path("out");
  CHECK(std::system((exe + " --help >" + out).c_str()) == 0);
  CHECK_THAT(slurp(out), Catch::Contains("You do not run jobsetd yourself"));
  CHECK(WEXITSTATUS(std::system((exe + " --node n 2>" + out).c_str())) == 2);
  CHECK_THAT(slurp(out), Catch::Contains("--connect"));
  CHECK(WEXITSTATUS(std::system((exe + " --connect nocolon --node n 2>" + out).c_str())) == 2);
  CHECK_THAT(slurp(out), Catch::Contains("HOST:PORT"));
  CHECK(WEXITSTATUS(std::system(
            ("echo nothex | " + exe + " --connect 127.0.0.1:1 --node n 2>" + out).c_str())) == 2);
  CHECK_THAT(slurp(out), Catch::Contains("key"));
}

TEST_CASE("daemon: the handshake with the run's key gives a link named after the node",
          "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  CHECK(h.link().node() == "node-0");
  CHECK(h.link().node_index() == 0);
  CHECK(h.rejects().empty());
  h.link().send(Shutdown{1000});
  CHECK(h.loop().run_until([&] { return h.daemon().exited().has_value(); }, 5));
  CHECK(exit_code(h.daemon().exited()) == 0);
  CHECK(h.loop().run_until([&] { return h.rec().closed.has_value(); }, 5));
}

TEST_CASE("daemon: a daemon with another key is rejected and exits 2", "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.start_daemon(to_hex(*make_key()) + "\n");
  REQUIRE(h.loop().run_until([&] { return h.daemon().exited().has_value(); }, 10));
  CHECK(exit_code(h.daemon().exited()) == 2);
  CHECK_THAT(h.daemon().stderr_text(), Catch::Contains("handshake failed"));
  CHECK(h.link_ptr() == nullptr);
  REQUIRE(h.loop().run_until([&] { return !h.rejects().empty(); }, 5));
  CHECK_THAT(h.rejects()[0], Catch::Contains("rejected"));
}

namespace {

// A launcher that does not know the key: it listens, reads the Hello,
// answers with a forged Challenge and goes straight on to a Welcome and a
// Spawn. The daemon must spawn nothing.
class FakeLauncher {
 public:
  FakeLauncher() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd_, 4) == 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~FakeLauncher() {
    if (conn_ >= 0) close(conn_);
    close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  bool accept_within(int ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, ms) != 1) return false;
    conn_ = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    return conn_ >= 0;
  }
  // Reads one message (blocking, bounded by `ms` per read).
  std::optional<Message> read_message(int ms) {
    FrameDecoder d;
    char buf[4096];
    for (;;) {
      if (auto m = d.next()) {
        if (!m->ok()) return std::nullopt;
        return m->value();
      }
      pollfd p{conn_, POLLIN, 0};
      if (poll(&p, 1, ms) != 1) return std::nullopt;
      ssize_t n = read(conn_, buf, 1);  // one byte at a time: never read past a frame
      if (n <= 0) return std::nullopt;
      d.feed(buf, static_cast<size_t>(n));
    }
  }
  void send(const Message& m) {
    std::string f = encode(m);
    (void)!::send(conn_, f.data(), f.size(), MSG_NOSIGNAL);
  }

 private:
  int fd_ = -1, conn_ = -1;
  uint16_t port_ = 0;
};

}  // namespace

TEST_CASE("daemon: a fake launcher without the key gets no process spawned", "[daemon]") {
  NEED_JOBSETD();
  Alarm alarm(30);
  Scratch s;
  FakeLauncher fake;
  std::string key = *make_key();
  DaemonProcess d(fake.address(), "node-x", to_hex(key) + "\n", s.path("err"));
  REQUIRE(fake.accept_within(5000));
  auto hello = fake.read_message(5000);
  REQUIRE(hello.has_value());
  REQUIRE(std::holds_alternative<Hello>(*hello));
  // The fake does its best without the key: a challenge made with another key.
  Challenge forged = *make_challenge(*make_key(), std::get<Hello>(*hello));
  fake.send(forged);
  fake.send(Welcome{0});
  ProcessSpec p;
  p.launch = 1;
  p.name = "evil";
  p.argv = {"/bin/sh", "-c", "touch " + s.path("marker")};
  fake.send(Spawn{{p}});
  auto st = d.wait_exit(5);
  CHECK(exit_code(st) == 2);
  CHECK_THAT(d.stderr_text(), Catch::Contains("did not prove the run's key"));
  usleep(200 * 1000);
  CHECK(access(s.path("marker").c_str(), F_OK) != 0);
}

TEST_CASE("daemon: spawn reports start, output on both streams and the exit code", "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  h.spawn({Harness::sh(1, "echo hello; echo oops >&2; printf 'no newline'; exit 3")});
  REQUIRE(h.wait_exited(1));
  CHECK(h.rec().started.count(1) == 1);
  CHECK(h.rec().started[1].pid > 0);
  CHECK(h.rec().out[1] == "hello\nno newline");
  CHECK(h.rec().err[1] == "oops\n");
  CHECK(h.rec().exited[1].exit_code == 3);
  CHECK(h.rec().exited[1].signal == 0);
  CHECK(h.rec().order.front() == "started:1");
  CHECK_FALSE(h.rec().output_after_exit);
}

TEST_CASE("daemon: env goes on top of the daemon's, cwd applies, argv[0] is looked up in PATH",
          "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  ProcessSpec p = Harness::spec(1, {"sh", "-c", "echo \"$FOO|$BAR|${HOME:+home}\"; pwd"});
  p.env = {{"FOO", "first"}, {"FOO", "second"}, {"BAR", "with space"}};
  p.cwd = h.scratch().dir().string();
  h.spawn({p});
  REQUIRE(h.wait_exited(1));
  std::string dir = std::filesystem::canonical(h.scratch().dir()).string();
  CHECK(h.rec().out[1] == "second|with space|home\n" + dir + "\n");
  CHECK(h.rec().exited[1].exit_code == 0);
}

TEST_CASE("daemon: a process killed by a signal is reported with that signal", "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  h.spawn({Harness::sh(1, "kill -SEGV $$"), Harness::spec(2, {"/bin/sleep", "0"})});
  REQUIRE(h.wait_exited(1));
  REQUIRE(h.wait_exited(2));
  CHECK(h.rec().exited[1].signal == SIGSEGV);
  CHECK(h.rec().exited[2].signal == 0);
  CHECK(h.rec().exited[2].exit_code == 0);
}

TEST_CASE("daemon: a missing or non-executable program is a spawn failure naming it, not an exit",
          "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  std::string plain = h.scratch().write("plain.sh", "#!/bin/sh\necho hi\n");
  chmod(plain.c_str(), 0644);
  ProcessSpec bad_cwd = Harness::spec(4, {"/bin/true"});
  bad_cwd.cwd = "/nonexistent/dir";
  h.spawn({Harness::spec(1, {"./does-not-exist"}), Harness::spec(2, {"no-such-command-xyz"}),
           Harness::spec(3, {plain}), bad_cwd, Harness::spec(5, {}),
           Harness::spec(6, {"/bin/true"})});
  REQUIRE(h.wait_done(6));
  h.loop().run_for(0.3);  // nothing else may follow
  CHECK(h.rec().failed[1] == "spawn test-0-1: ./does-not-exist: No such file or directory");
  CHECK(h.rec().failed[2] == "spawn test-0-2: no-such-command-xyz: command not found in PATH");
  CHECK(h.rec().failed[3] == "spawn test-0-3: " + plain + ": Permission denied");
  CHECK(h.rec().failed[4] ==
        "spawn test-0-4: working directory /nonexistent/dir: No such file or directory");
  CHECK(h.rec().failed[5] == "spawn test-0-5: empty command");
  CHECK(h.rec().failed.size() == 5);
  CHECK(h.rec().started.size() == 1);
  CHECK(h.rec().exited.size() == 1);
  CHECK(h.rec().exited.count(6) == 1);
}

TEST_CASE("daemon: a launch id already in use is refused", "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  h.spawn({Harness::spec(1, {"/bin/sleep", "0.3"}), Harness::spec(1, {"/bin/true"})});
  REQUIRE(h.wait_exited(1));
  CHECK_THAT(h.rec().failed[1], Catch::Contains("launch id 1 is already in use"));
}

TEST_CASE("daemon: Exited waits for the output, but not for a background process holding the pipe",
          "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  auto t0 = std::chrono::steady_clock::now();
  h.spawn({Harness::sh(1, "sleep 30 & echo $!; echo parent-done")});
  REQUIRE(h.wait_exited(1, 5));
  CHECK(seconds_since(t0) < 2.0);
  CHECK_THAT(h.rec().out[1], Catch::EndsWith("parent-done\n"));
  auto bg = first_number(h.rec().out[1]);
  REQUIRE(bg.has_value());
  KillOnExit cleanup("sleep");
  cleanup.add(*bg);
  // The rest of its process group went with it.
  CHECK(h.loop().run_until([&] { return process_gone(*bg); }, 2));
}

TEST_CASE("daemon: Kill sends TERM, then KILL after the grace period", "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  h.spawn({Harness::sh(1, "trap 'echo got-term' TERM; echo ready; while :; do sleep 0.05; done"),
           Harness::spec(2, {"/bin/sleep", "100"})});
  REQUIRE(h.loop().run_until(
      [&] { return h.rec().out[1] == "ready\n" && h.rec().started.count(2); }, 5));
  auto t0 = std::chrono::steady_clock::now();
  h.link().send(Kill{false, {1, 2}, 600});
  REQUIRE(h.wait_exited(2, 5));
  CHECK(seconds_since(t0) < 0.5);  // plain sleep dies at TERM
  CHECK(h.rec().exited[2].signal == SIGTERM);
  REQUIRE(h.wait_exited(1, 5));
  double took = seconds_since(t0);
  CHECK(took >= 0.55);
  CHECK(took < 2.0);
  CHECK(h.rec().exited[1].signal == SIGKILL);
  CHECK_THAT(h.rec().out[1], Catch::Contains("got-term"));
}

TEST_CASE("daemon: Signal forwards the signal to the process group", "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  h.spawn({Harness::sh(
               1, "trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done"),
           Harness::sh(
               2, "trap 'echo got-usr2; exit 8' USR2; echo ready; while :; do sleep 0.05; done")});
  REQUIRE(h.loop().run_until(
      [&] { return h.rec().out[1] == "ready\n" && h.rec().out[2] == "ready\n"; }, 5));
  h.link().send(Signal{false, {1}, SIGUSR1});
  REQUIRE(h.wait_exited(1, 5));
  CHECK(h.rec().out[1] == "ready\ngot-usr1\n");
  CHECK(h.rec().exited[1].exit_code == 7);
  CHECK(h.rec().exited.count(2) == 0);
  h.link().send(Signal{true, {}, SIGUSR2});
  REQUIRE(h.wait_exited(2, 5));
  CHECK(h.rec().exited[2].exit_code == 8);
}

TEST_CASE("daemon: Shutdown stops everything, reports every exit, exits 0", "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  std::vector<ProcessSpec> specs;
  for (uint64_t i = 1; i <= 4; ++i) specs.push_back(Harness::spec(i, {"/bin/sleep", "100"}));
  specs.push_back(Harness::sh(5, "trap '' TERM; echo ready; while :; do sleep 0.05; done"));
  h.spawn(specs);
  REQUIRE(h.loop().run_until([&] { return h.rec().out[5] == "ready\n"; }, 5));
  h.link().send(Shutdown{300});
  REQUIRE(h.loop().run_until([&] { return h.rec().closed.has_value(); }, 5));
  CHECK(h.rec().exited.size() == 5);
  CHECK(h.rec().exited[1].signal == SIGTERM);
  CHECK(h.rec().exited[5].signal == SIGKILL);
  CHECK(exit_code(h.daemon().wait_exit(5)) == 0);
  for (auto& [launch, s] : h.rec().started) CHECK(process_gone(s.pid));
}

TEST_CASE("daemon: when the launcher connection is lost the daemon kills everything and exits 1",
          "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  h.spawn({Harness::spec(1, {"/bin/sleep", "100"}), Harness::sh(2, "sleep 100 & echo $!; wait")});
  REQUIRE(h.loop().run_until([&] { return h.rec().started.size() == 2 && !h.rec().out[2].empty(); },
                             5));
  auto grandchild = first_number(h.rec().out[2]);
  REQUIRE(grandchild.has_value());
  KillOnExit cleanup("sleep");
  cleanup.add(*grandchild);
  h.link().close();
  auto st = h.daemon().wait_exit(5);
  CHECK(exit_code(st) == 1);
  CHECK_THAT(h.daemon().stderr_text(), Catch::Contains("lost connection"));
  CHECK(process_gone(h.rec().started[1].pid));
  CHECK(process_gone(h.rec().started[2].pid));
  CHECK(h.loop().run_until([&] { return process_gone(*grandchild); }, 2));
}

TEST_CASE("daemon: SIGTERM to the daemon stops its processes and exits 143", "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  h.spawn({Harness::spec(1, {"/bin/sleep", "100"})});
  REQUIRE(h.loop().run_until([&] { return h.rec().started.size() == 1; }, 5));
  kill(h.daemon().pid(), SIGTERM);
  REQUIRE(h.wait_exited(1, 5));
  CHECK(h.rec().exited[1].signal == SIGTERM);
  CHECK(h.loop().run_until([&] { return h.daemon().exited().has_value(); }, 5));
  CHECK(exit_code(h.daemon().exited()) == 143);
}

TEST_CASE("daemon: when the daemon is SIGKILLed, its watchdog kills the grandchildren",
          "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  h.spawn({Harness::sh(1, "sleep 100 & echo $!; wait"), Harness::spec(2, {"/bin/sleep", "100"})});
  REQUIRE(h.loop().run_until([&] { return h.rec().started.size() == 2 && !h.rec().out[1].empty(); },
                             5));
  auto grandchild = first_number(h.rec().out[1]);
  REQUIRE(grandchild.has_value());
  KillOnExit cleanup("sleep");
  cleanup.add(*grandchild);
  REQUIRE_FALSE(process_gone(*grandchild));
  kill(h.daemon().pid(), SIGKILL);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(h.daemon().wait_exit(2).has_value());
  CHECK(h.loop().run_until(
      [&] {
        return process_gone(*grandchild) && process_gone(h.rec().started[1].pid) &&
               process_gone(h.rec().started[2].pid);
      },
      2));
  INFO("took " << seconds_since(t0) << " s");
  CHECK(seconds_since(t0) < 2.0);
}

TEST_CASE("daemon: the fork spawner (JOBSETD_SPAWN=fork) behaves as the default one", "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  setenv("JOBSETD_SPAWN", "fork", 1);
  h.connect();
  unsetenv("JOBSETD_SPAWN");
  ProcessSpec env = Harness::spec(1, {"sh", "-c", "echo \"$FOO\"; pwd; echo err >&2; exit 5"});
  env.env = {{"FOO", "first"}, {"FOO", "second"}};
  env.cwd = "/";
  ProcessSpec bad_cwd = Harness::spec(4, {"/bin/true"});
  bad_cwd.cwd = "/nonexistent/dir";
  h.spawn({env, Harness::spec(2, {"./does-not-exist"}), Harness::spec(3, {"no-such-command-xyz"}),
           bad_cwd});
  REQUIRE(h.wait_done(4));
  CHECK(h.rec().out[1] == "second\n/\n");
  CHECK(h.rec().err[1] == "err\n");
  CHECK(h.rec().exited[1].exit_code == 5);
  CHECK(h.rec().failed[2] == "spawn test-0-2: ./does-not-exist: No such file or directory");
  CHECK(h.rec().failed[3] == "spawn test-0-3: no-such-command-xyz: command not found in PATH");
  CHECK(h.rec().failed[4] ==
        "spawn test-0-4: working directory /nonexistent/dir: No such file or directory");
  CHECK(h.rec().exited.size() == 1);
}

TEST_CASE("daemon: a PATH in the spec's env is the one searched", "[daemon]") {
  NEED_JOBSETD();
  Harness h;
  h.connect();
  std::string prog = h.scratch().write("my-tool", "#!/bin/sh\necho tool ran\n");
  std::string plain = h.scratch().write("not-exec-tool", "#!/bin/sh\necho never\n");
  chmod(prog.c_str(), 0755);
  chmod(plain.c_str(), 0644);
  ProcessSpec a = Harness::spec(1, {"my-tool"});
  a.env = {{"PATH", h.scratch().dir().string() + ":/usr/bin:/bin"}};
  ProcessSpec b = Harness::spec(2, {"not-exec-tool"});
  b.env = a.env;
  h.spawn({a, b, Harness::spec(3, {"my-tool"})});
  REQUIRE(h.wait_done(3));
  CHECK(h.rec().out[1] == "tool ran\n");
  CHECK(h.rec().failed[2] == "spawn test-0-2: not-exec-tool: Permission denied");
  CHECK(h.rec().failed[3] == "spawn test-0-3: my-tool: command not found in PATH");
}

namespace {
// The highest CPU this process may run on.
int32_t last_allowed_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  int32_t last = 0;
  for (int32_t c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) last = c;
  return last;
}
}  // namespace

TEST_CASE(
    "daemon: a bound process runs on its CPUs, with device variables only from its spec; an "
    "impossible binding is a spawn failure",
    "[daemon]") {
  NEED_JOBSETD();
  for (const char* mode : {"vfork", "fork"}) {
    INFO("spawner " << mode);
    Harness h;
    setenv("JOBSETD_SPAWN", mode, 1);
    h.connect();
    unsetenv("JOBSETD_SPAWN");
    const int32_t cpu = last_allowed_cpu();
    ProcessSpec bound = Harness::spec(1, {"sh", "-c",
                                          "grep Cpus_allowed_list /proc/self/status | cut -f2; "
                                          "echo "
                                          "\"$CUDA_VISIBLE_DEVICES|$ROCR_VISIBLE_DEVICES|$JOBSET_"
                                          "ACCELERATORS|${TPU_VISIBLE_CHIPS-unset}\""});
    bound.cpus = {cpu};
    bound.gpus = {1, 3};  // the launcher's process_spec exports them, not the daemon
    ProcessSpec tpu =
        Harness::spec(2, {"sh", "-c", "echo \"$TPU_VISIBLE_CHIPS|$JOBSET_ACCELERATORS\""});
    tpu.tpus = {0, 1, 2, 3};
    tpu.env = {{"TPU_VISIBLE_CHIPS", "2,3"}, {"JOBSET_ACCELERATORS", "2,3"}};
    ProcessSpec impossible = Harness::spec(3, {"/bin/true"});
    impossible.cpus = {4000};  // no such CPU
    h.spawn({bound, tpu, impossible});
    REQUIRE(h.wait_done(3));
    REQUIRE(h.wait_exited(1));
    REQUIRE(h.wait_exited(2));
    CHECK(h.rec().out[1] == std::to_string(cpu) + "\n|||unset\n");
    CHECK(h.rec().out[2] == "2,3|2,3\n");
    CHECK(h.rec().failed[3] == "spawn test-0-3: binding to its CPUs: Invalid argument");
  }
}
