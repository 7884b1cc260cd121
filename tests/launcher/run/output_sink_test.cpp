// Output as the user sees it: tags, timestamps, partial last lines, the
// status line never mixed into program output, per-process files.
#include "launcher/run/output_sink.hpp"

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>
#include <vector>

#include "tests/scratch.hpp"

using namespace jobset::launcher;

namespace {

struct Capture {
  std::vector<std::pair<int, std::string>> writes;
  OutputSink::Writer writer() {
    return [this](int fd, std::string_view b) {
      writes.emplace_back(fd, std::string(b));
      return 0;
    };
  }
  std::string on(int fd) const {
    std::string s;
    for (const auto& [f, b] : writes)
      if (f == fd) s += b;
    return s;
  }
};

double fixed_time() { return 1795881600.25; }  // 2026-11-28T16:00:00.250Z

}  // namespace

TEST_CASE("output sink: untagged lines pass through unchanged, stdout and stderr apart",
          "[output_sink]") {
  Capture c;
  OutputSink sink({}, c.writer(), fixed_time);
  REQUIRE(sink.write("js-w-0-0", 0, 1, "a\nb\n").ok());
  REQUIRE(sink.write("js-w-0-0", 0, 2, "err\n").ok());
  REQUIRE(sink.write("js-w-0-0", 0, 1, "partial").ok());
  CHECK(c.on(1) == "a\nb\npartial");
  CHECK(c.on(2) == "err\n");
}

TEST_CASE("output sink: --tag-output prefixes every line, a partial last line gets its newline",
          "[output_sink]") {
  Capture c;
  OutputSink sink({.tag = true, .timestamp = false, .dir = ""}, c.writer(), fixed_time);
  REQUIRE(sink.write("js-w-0-1", 0, 1, "one\ntwo\n").ok());
  REQUIRE(sink.write("js-w-0-1", 0, 1, "end").ok());
  CHECK(c.on(1) == "[js-w-0-1] one\n[js-w-0-1] two\n[js-w-0-1] end");
  sink.flush();  // the end of the run
  CHECK(c.on(1) == "[js-w-0-1] one\n[js-w-0-1] two\n[js-w-0-1] end\n");
}

TEST_CASE("output sink: a partial line continues in place, and another process's line never "
          "mixes into it",
          "[output_sink]") {
  SECTION("tagged: another process's line waits until the open line ends") {
    Capture c;
    OutputSink sink({.tag = true, .timestamp = false, .dir = ""}, c.writer(), fixed_time);
    REQUIRE(sink.write("a", 0, 1, "progress 10%").ok());
    REQUIRE(sink.write("a", 0, 1, "\rprogress 20%").ok());  // the same line, in place
    REQUIRE(sink.write("b", 0, 1, "hello\n").ok());         // waits behind a's line
    CHECK(c.on(1) == "[a] progress 10%\rprogress 20%");
    CHECK(sink.hold_deadline() == Approx(fixed_time() + OutputSink::kHoldSeconds));
    REQUIRE(sink.write("a", 0, 1, " done\nnext\n").ok());
    CHECK(c.on(1) == "[a] progress 10%\rprogress 20% done\n[a] next\n[b] hello\n");
    CHECK_FALSE(sink.hold_deadline());
  }
  SECTION("untagged: the programs' bytes, lines whole and in order") {
    Capture c;
    OutputSink sink({}, c.writer(), fixed_time);
    REQUIRE(sink.write("a", 0, 1, "Password: ").ok());
    REQUIRE(sink.write("b", 0, 1, "x\n").ok());
    REQUIRE(sink.write("a", 0, 1, "ok\n").ok());
    REQUIRE(sink.write("a", 0, 2, "err").ok());  // streams are apart
    REQUIRE(sink.write("b", 0, 1, "y").ok());
    sink.flush();
    CHECK(c.on(1) == "Password: ok\nx\ny");
    CHECK(c.on(2) == "err");
  }
  SECTION("a line left open too long is ended; what waited goes out, the rest is marked") {
    Capture c;
    double now = 1000;
    OutputSink sink({.tag = true, .timestamp = false, .dir = ""}, c.writer(), [&now] { return now; });
    REQUIRE(sink.write("a", 0, 1, "epoch 1: 50%").ok());
    now += 0.5;
    REQUIRE(sink.write("b", 0, 1, "one\n").ok());
    sink.release_overdue();  // not yet due
    CHECK(c.on(1) == "[a] epoch 1: 50%");
    now += 0.6;
    REQUIRE(sink.hold_deadline());
    CHECK(*sink.hold_deadline() <= now);
    sink.release_overdue();
    CHECK(c.on(1) == "[a] epoch 1: 50%\n[b] one\n");
    REQUIRE(sink.write("a", 0, 1, "\repoch 1: 100%\n").ok());
    CHECK(c.on(1) == "[a] epoch 1: 50%\n[b] one\n[a]+ \repoch 1: 100%\n");
    // Past the bound, a writer does not wait either.
    REQUIRE(sink.write("a", 0, 1, "again").ok());
    now += 2;
    REQUIRE(sink.write("b", 0, 1, "two\n").ok());
    CHECK(c.on(1).ends_with("[a] again\n[b] two\n"));
  }
  SECTION("past the bound, what waited goes out first and in order, each process's lines too") {
    Capture c;
    double now = 1000;
    OutputSink sink({}, c.writer(), [&now] { return now; });
    REQUIRE(sink.write("a", 0, 1, "a-open").ok());
    REQUIRE(sink.write("b", 0, 1, "b1\n").ok());
    REQUIRE(sink.write("c", 0, 1, "c-open").ok());
    REQUIRE(sink.write("b", 0, 1, "b2\n").ok());
    now += 2;
    REQUIRE(sink.write("b", 0, 1, "b3\n").ok());
    CHECK(c.on(1) == "a-open\nb1\nc-open\nb2\nb3\n");
  }
  SECTION("a process whose line opens while its later output waits sends that output first") {
    Capture c;
    OutputSink sink({}, c.writer(), fixed_time);
    REQUIRE(sink.write("a", 0, 1, "a-open").ok());
    REQUIRE(sink.write("z", 0, 1, "z1-open").ok());  // waits
    REQUIRE(sink.write("x", 0, 1, "x1\n").ok());     // waits
    REQUIRE(sink.write("z", 0, 1, " z1-end\n").ok()); // waits, after x1
    REQUIRE(sink.write("a", 0, 1, " a-end\n").ok());  // a's line ends: what waited goes
    REQUIRE(sink.write("z", 0, 1, "z2\n").ok());
    CHECK(c.on(1) == "a-open a-end\nz1-open z1-end\nx1\nz2\n");
  }
  SECTION("what waits is never lost: the end of the run writes it") {
    Capture c;
    OutputSink sink({}, c.writer(), fixed_time);
    REQUIRE(sink.write("a", 0, 1, "no newline ever").ok());
    REQUIRE(sink.write("b", 0, 1, "b line\n").ok());
    sink.flush();
    CHECK(c.on(1) == "no newline ever\nb line\n");
  }
  SECTION("jobset's own words start on a line of their own") {
    Capture c;
    OutputSink sink({.tag = true, .timestamp = false, .dir = ""}, c.writer(), fixed_time);
    REQUIRE(sink.write("a", 0, 2, "warn").ok());
    sink.message("jobset: note\n");
    REQUIRE(sink.write("a", 0, 2, "ing\n").ok());
    CHECK(c.on(2) == "[a] warn\njobset: note\n[a]+ ing\n");
  }
  SECTION("the status line waits while a line is open on its stream") {
    Capture c;
    OutputSink sink({}, c.writer(), fixed_time);
    sink.set_status_line("status", 2);
    REQUIRE(sink.write("a", 0, 2, "50%").ok());
    REQUIRE(sink.write("a", 0, 2, "\n").ok());
    std::vector<std::pair<int, std::string>> expected = {
        {2, "status"}, {2, "\r\033[K"}, {2, "50%"}, {2, "\n"}, {2, "status"}};
    CHECK(c.writes == expected);
  }
}

TEST_CASE("output sink: --timestamp-output prefixes the UTC time with milliseconds",
          "[output_sink]") {
  Capture c;
  OutputSink sink({.tag = true, .timestamp = true, .dir = ""}, c.writer(), fixed_time);
  REQUIRE(sink.write("p", 0, 1, "x\n").ok());
  CHECK(c.on(1) == "2026-11-28T16:00:00.250Z [p] x\n");
}

TEST_CASE("output sink: the status line is erased before output and drawn again after",
          "[output_sink]") {
  Capture c;
  OutputSink sink({}, c.writer(), fixed_time);
  sink.set_status_line("status 1", 2);
  REQUIRE(sink.write("p", 0, 1, "line\n").ok());
  sink.message("jobset: note\n");
  sink.flush();
  std::vector<std::pair<int, std::string>> expected = {
      {2, "status 1"}, {2, "\r\033[K"},       {1, "line\n"},   {2, "status 1"},
      {2, "\r\033[K"}, {2, "jobset: note\n"}, {2, "status 1"}, {2, "\r\033[K"}};
  CHECK(c.writes == expected);
}

TEST_CASE("output sink: --output-dir writes one file per process, stream and attempt",
          "[output_sink]") {
  jobset_test::Scratch dir;
  {
    OutputSink sink({.dir = dir.path("sub")}, write_all, fixed_time);
    REQUIRE(sink.write("js-w-0-0", 0, 1, "first\n").ok());
    REQUIRE(sink.write("js-w-0-0", 1, 1, "second\n").ok());
    REQUIRE(sink.write("js-w-0-0", 1, 2, "oops\n").ok());
    REQUIRE(sink.write("js-w-0-0", 1, 1, "more\n").ok());
  }
  CHECK(dir.read("sub/js-w-0-0.0.out") == "first\n");
  CHECK(dir.read("sub/js-w-0-0.1.out") == "second\nmore\n");
  CHECK(dir.read("sub/js-w-0-0.1.err") == "oops\n");
  OutputSink bad({.dir = "/proc/no/such/dir"}, write_all, fixed_time);
  auto s = bad.write("p", 0, 1, "x\n");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message().find("--output-dir: /proc/no/such/dir/p.0.out:") == 0);
}

TEST_CASE("output sink: output that cannot be written is an error once, naming where, and nothing more is written",
          "[output_sink]") {
  int calls = 0;
  OutputSink sink({}, [&](int, std::string_view) { return ++calls == 1 ? 0 : EPIPE; }, fixed_time);
  REQUIRE(sink.write("js-w-0-0", 0, 1, "first\n").ok());
  auto broken = sink.write("js-w-0-0", 0, 1, "second\n");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().message() == "standard output: Broken pipe");
  CHECK(sink.lost() == EPIPE);
  CHECK(sink.write("js-w-0-0", 0, 2, "third\n").ok());  // dropped: the run is being stopped
  CHECK(calls == 2);
}
