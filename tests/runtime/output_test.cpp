// Output under load and the daemon's memory: many writers at full speed,
// a launcher that stops reading for a while, many processes at once.
// The [.bench] cases measure spawn and output speed and are not run by
// default (runtime_tests "[bench]" runs them).
#include <algorithm>
#include <csignal>
#include <iostream>

#include "tests/runtime/harness.hpp"

using namespace jobset::runtime;
using namespace jobset::runtime::testing;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// kB from a "Name:   123 kB" line of /proc/PID/status.
long status_kb(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

bool have_awk() { return access("/usr/bin/awk", X_OK) == 0; }

constexpr long kDaemonLimitKb = 10L * 1024;  // what the daemon may take: 10 MB
constexpr int kLineBytes = 93;               // "w%d %08d " + 80 digits + "\n" for one-digit ids

// A writer of `lines` numbered lines at full speed, then a last line
// without '\n'.
ProcessSpec writer(uint64_t launch, int id, int lines, bool to_stderr = false) {
  std::string prog =
      "BEGIN { pad = sprintf(\"%080d\", 0); for (i = 0; i < n; i++) printf \"w%d %08d %s\\n\", id, "
      "i, pad" +
      std::string(to_stderr ? " > \"/dev/stderr\"" : "") + "; printf \"end-%d\", id" +
      (to_stderr ? " > \"/dev/stderr\"" : "") + " }";
  return Harness::spec(
      launch, {"awk", "-v", "id=" + std::to_string(id), "-v", "n=" + std::to_string(lines), prog});
}

std::string expected_output(int id, int lines) {
  std::string pad(80, '0');
  std::string out;
  out.reserve(static_cast<size_t>(lines) * kLineBytes + 8);
  char buf[32];
  for (int i = 0; i < lines; ++i) {
    snprintf(buf, sizeof buf, "w%d %08d ", id, i);
    out += buf;
    out += pad;
    out += '\n';
  }
  out += "end-" + std::to_string(id);
  return out;
}

// A stdout frame ends a line, except where the writer stalled mid-line for
// 40 ms (the daemon then sends the partial line; the launcher continues
// it in place): rare for a writer at full speed, even on a busy machine.
void check_untorn(const std::vector<std::string>& frames) {
  size_t partial = 0;
  for (size_t i = 0; i + 1 < frames.size(); ++i)
    if (frames[i].empty() || frames[i].back() != '\n') ++partial;
  INFO(partial << " of " << frames.size() << " frames end inside a line");
  CHECK(partial * 20 <= frames.size());
}

}  // namespace

#define NEED_JOBSETD_AND_AWK()                                                \
  if (!have_jobsetd()) JOBSET_SKIP("jobsetd not built at " + jobsetd_path()); \
  if (!have_awk()) JOBSET_SKIP("needs /usr/bin/awk for the writers")

TEST_CASE("output: 8 writers of 5 MB each: every line once, untorn, partial last line kept",
          "[output]") {
  NEED_JOBSETD_AND_AWK();
  Harness h(120);
  h.connect();
  const int kLines = 5 * 1000 * 1000 / kLineBytes;
  std::vector<ProcessSpec> specs;
  specs.reserve(8);
  for (int i = 0; i < 8; ++i)
    specs.push_back(writer(static_cast<uint64_t>(i) + 1, i, kLines, i == 7));
  auto t0 = std::chrono::steady_clock::now();
  h.spawn(specs);
  REQUIRE(h.wait_done(8, 60));
  double took = seconds_since(t0);
  for (int i = 0; i < 8; ++i) {
    auto launch = static_cast<uint64_t>(i) + 1;
    INFO("writer " << i);
    CHECK(h.rec().exited[launch].exit_code == 0);
    const std::string& got = i == 7 ? h.rec().err[launch] : h.rec().out[launch];
    CHECK(got.size() == expected_output(i, kLines).size());
    CHECK((got == expected_output(i, kLines)));
    if (i != 7) check_untorn(h.rec().out_frames[launch]);
  }
  CHECK_FALSE(h.rec().output_after_exit);
  long hwm = status_kb(h.daemon().pid(), "VmHWM");
  std::cout << "output: 8 x " << kLines * kLineBytes / 1e6 << " MB through one daemon in " << took
            << " s (" << 8 * kLines * kLineBytes / 1e6 / took << " MB/s); daemon VmHWM " << hwm
            << " kB (now: anon " << status_kb(h.daemon().pid(), "RssAnon") << " kB, file "
            << status_kb(h.daemon().pid(), "RssFile") << " kB)\n";
  CHECK(hwm < kDaemonLimitKb);
}

TEST_CASE("output: a launcher that stops reading does not grow the daemon", "[output]") {
  NEED_JOBSETD_AND_AWK();
  Harness h(120);
  h.connect();
  const int kLines = 20 * 1000 * 1000 / kLineBytes;
  std::vector<ProcessSpec> specs;
  specs.reserve(4);
  for (int i = 0; i < 4; ++i) specs.push_back(writer(static_cast<uint64_t>(i) + 1, i, kLines));
  h.spawn(specs);
  REQUIRE(h.loop().run_until([&] { return h.rec().started.size() == 4; }, 5));
  // The launcher is busy elsewhere: nothing is read for a while.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  long rss = status_kb(h.daemon().pid(), "VmRSS");
  CHECK(rss < kDaemonLimitKb);
  REQUIRE(h.wait_done(4, 60));
  for (int i = 0; i < 4; ++i) {
    CHECK((h.rec().out[static_cast<uint64_t>(i) + 1] == expected_output(i, kLines)));
  }
  long hwm = status_kb(h.daemon().pid(), "VmHWM");
  std::cout << "output with a stalled launcher: daemon VmRSS while stalled " << rss << " kB, VmHWM "
            << hwm << " kB\n";
  CHECK(hwm < kDaemonLimitKb);
}

TEST_CASE("output: 64 writers of 1 MB each keep the daemon under 10 MB", "[output]") {
  NEED_JOBSETD_AND_AWK();
  Harness h(120);
  h.connect();
  const int kLines = 1000 * 1000 / kLineBytes;
  std::vector<ProcessSpec> specs;
  specs.reserve(64);
  for (int i = 0; i < 64; ++i)
    specs.push_back(writer(static_cast<uint64_t>(i) + 1, i % 10, kLines));
  auto t0 = std::chrono::steady_clock::now();
  h.spawn(specs);
  REQUIRE(h.wait_done(64, 60));
  double took = seconds_since(t0);
  for (int i = 0; i < 64; ++i) {
    CHECK((h.rec().out[static_cast<uint64_t>(i) + 1] == expected_output(i % 10, kLines)));
  }
  long hwm = status_kb(h.daemon().pid(), "VmHWM");
  std::cout << "output: 64 x " << kLines * kLineBytes / 1e6 << " MB in " << took << " s ("
            << 64 * kLines * kLineBytes / 1e6 / took << " MB/s); daemon VmHWM " << hwm << " kB\n";
  CHECK(hwm < kDaemonLimitKb);
}

TEST_CASE("output: 64 processes at once stay under 10 MB of daemon memory", "[output]") {
  if (!have_jobsetd()) JOBSET_SKIP("jobsetd not built at " + jobsetd_path());
  Harness h(60);
  h.connect();
  std::vector<ProcessSpec> specs;
  for (uint64_t i = 1; i <= 64; ++i) {
    specs.push_back(Harness::sh(i, "echo started " + std::to_string(i) + "; exec sleep 100"));
  }
  h.spawn(specs);
  REQUIRE(h.loop().run_until(
      [&] {
        size_t lines = 0;
        for (auto& [l, s] : h.rec().out) lines += !s.empty();
        return lines == 64;
      },
      20));
  long hwm = status_kb(h.daemon().pid(), "VmHWM");
  std::cout << "64 sleeping processes: daemon VmHWM " << hwm << " kB\n";
  CHECK(hwm < kDaemonLimitKb);
  h.link().send(Kill{true, {}, 1000});
  REQUIRE(h.wait_done(64, 10));
  for (auto& [l, e] : h.rec().exited) CHECK(e.signal == SIGTERM);
}

TEST_CASE("output: spawn and reap N true through one daemon (benchmark)", "[output][.bench]") {
  if (!have_jobsetd()) JOBSET_SKIP("jobsetd not built at " + jobsetd_path());
  const int reps =
      std::getenv("JOBSET_BENCH_REPS") ? std::atoi(std::getenv("JOBSET_BENCH_REPS")) : 5;
  uint64_t launch = 0;
  for (int n : {64, 256, 1024}) {
    Harness h(300);
    h.connect();
    std::vector<double> times;
    for (int rep = 0; rep < reps; ++rep) {
      h.rec() = Record{};
      std::vector<ProcessSpec> specs;
      specs.reserve(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) specs.push_back(Harness::spec(++launch, {"true"}));
      auto t0 = std::chrono::steady_clock::now();
      h.spawn(specs);
      REQUIRE(
          h.loop().run_until([&] { return h.rec().exited.size() == static_cast<size_t>(n); }, 60));
      times.push_back(seconds_since(t0));
      for (auto& [l, e] : h.rec().exited) REQUIRE(e.exit_code == 0);
    }
    std::sort(times.begin(), times.end());
    std::cout << "spawn+reap " << n << " x true through one daemon: min " << times.front()
              << " s, median " << times[times.size() / 2] << " s (" << reps << " runs)\n";
  }
}

TEST_CASE("output: losing the launcher while writers are blocked still stops them all",
          "[output]") {
  NEED_JOBSETD_AND_AWK();
  Harness h(60);
  h.connect();
  std::vector<ProcessSpec> specs;
  specs.reserve(4);
  for (int i = 0; i < 4; ++i) specs.push_back(writer(static_cast<uint64_t>(i) + 1, i, 1000 * 1000));
  h.spawn(specs);
  REQUIRE(h.loop().run_until([&] { return h.rec().started.size() == 4; }, 5));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));  // the daemon parks the pipes
  h.link_ptr().reset();  // the launcher goes away without reading
  auto st = h.daemon().wait_exit(5);
  REQUIRE(st.has_value());
  CHECK(WEXITSTATUS(*st) == 1);
  for (auto& [l, s] : h.rec().started) CHECK(process_gone(s.pid));
}
