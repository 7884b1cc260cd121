// Where the processes' output goes: the launcher's stdout/stderr (each line
// whole, optionally tagged with the stable name and a timestamp), or one
// file per process, stream and restart attempt under --output-dir.
//
// Lines arrive whole from the daemons (up to jobsetd's line bound), and so
// do partial lines: text a program left without a newline for a moment (a
// progress bar, a prompt) or at its end. A partial line stays open on its
// stream: the same process's next output continues it in place; another
// process's output waits behind it (up to kHoldSeconds and kHoldBytes) so
// that a writer stalled mid-line is not cut. Past that, the open line is
// ended with a newline, so lines of different processes never mix, what
// waited is written, and the rest of the cut line later starts a line of
// its own, tagged "[name]+ " with --tag-output. At the end, an open line
// gets its newline in tagged mode. The terminal status line, when there is
// one, is erased before output and drawn again after (not while a line is
// open there), so that it never mixes into the program's lines.
#pragma once

#include <cstdint>
#include <functional>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace jobset::launcher {

struct OutputOptions {
  bool tag = false;        // --tag-output: "[name] line"
  bool timestamp = false;  // --timestamp-output: "2026-11-28T16:00:00.123 line"
  std::string dir;         // --output-dir: files instead of the terminal
};

class OutputSink {
 public:
  // `write(fd, bytes)` does the I/O (tests capture it) and returns 0 or
  // the errno that stopped it; `now()` gives seconds since the epoch for
  // timestamps.
  using Writer = std::function<int(int fd, std::string_view bytes)>;
  OutputSink(OutputOptions options, Writer writer, std::function<double()> now);
  ~OutputSink();

  // `stream` 1 = stdout, 2 = stderr. `data` is whole lines, or a final
  // partial line (no trailing newline). An error names where the output
  // could not go ("standard output: Broken pipe"); nothing more is written
  // there afterwards, and lost() tells why.
  Status write(const std::string& name, int attempt, int stream, std::string_view data);
  // The errno of the first output that could not be written, or 0.
  int lost() const { return lost_; }

  // jobset's own words to the user (stderr, never tagged or redirected).
  void message(std::string_view text);

  // Output waiting behind another process's open line: when it is due to
  // be written anyway (seconds since the epoch, as now()), or nothing; the
  // owner calls release_overdue() then.
  std::optional<double> hold_deadline() const;
  void release_overdue();

  static constexpr double kHoldSeconds = 1.0;
  static constexpr size_t kHoldBytes = size_t{4} << 20;

  // The status line to keep at the bottom of a terminal ("" for none).
  void set_status_line(std::string line, int fd);
  void flush();

 private:
  // Prefixes each line of `data`; the first one continues an open line
  // (`continues`: no prefix) or the rest of a cut one (`cut`: "[name]+ ").
  std::string decorate(const std::string& name, std::string_view data, bool continues,
                       bool cut) const;
  Result<int> file_for(const std::string& name, int attempt, int stream);
  void clear_status();
  void end_open_line(int fd);  // a newline after a line left open on stream fd
  // Writes `data` of `name` to terminal stream fd (1 or 2), continuing or
  // marking its open line; returns 0 or the errno.
  int emit(const std::string& name, int fd, std::string_view data);
  int drain_held(int fd);  // what waited, in order, while no other line is open
  void draw_status();

  OutputOptions options_;
  Writer writer_;
  std::function<double()> now_;
  std::map<std::string, int> files_;  // path -> fd
  std::map<int, bool> file_open_;     // fd -> its last line is open
  // Per terminal stream (1, 2): the process whose line is open there ("":
  // none), and the processes whose open line another process's output cut.
  std::string open_[3];
  std::set<std::string> cut_[3];
  double opened_at_[3] = {0, 0, 0};  // when the open line there began
  struct Held {
    std::string name, data;
  };
  std::deque<Held> held_[3];  // others' output waiting behind the open line
  size_t held_bytes_[3] = {0, 0, 0};
  std::string status_;
  int status_fd_ = -1;
  bool status_shown_ = false;
  int lost_ = 0;
};

// The default writer: write(2) until done, retrying on EINTR; returns 0 or
// the errno that stopped it (EPIPE: the reader is gone; ENOSPC: a full disk).
int write_all(int fd, std::string_view bytes);

}  // namespace jobset::launcher
