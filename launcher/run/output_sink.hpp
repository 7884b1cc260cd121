// Where the processes' output goes: the launcher's stdout/stderr (each line
// whole, optionally tagged with the stable name and a timestamp), or one
// file per process, stream and restart attempt under --output-dir. Lines
// arrive whole from the daemons; a stream's last partial line arrives at
// its end and is written with a newline added in tagged mode. The terminal
// status line, when there is one, is erased before output and drawn again
// after, so that it never mixes into the program's lines.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
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

  // The status line to keep at the bottom of a terminal ("" for none).
  void set_status_line(std::string line, int fd);
  void flush();

 private:
  std::string decorate(const std::string& name, std::string_view data) const;
  Result<int> file_for(const std::string& name, int attempt, int stream);
  void clear_status();
  void draw_status();

  OutputOptions options_;
  Writer writer_;
  std::function<double()> now_;
  std::map<std::string, int> files_;  // path -> fd
  std::string status_;
  int status_fd_ = -1;
  bool status_shown_ = false;
  int lost_ = 0;
};

// The default writer: write(2) until done, retrying on EINTR; returns 0 or
// the errno that stopped it (EPIPE: the reader is gone; ENOSPC: a full disk).
int write_all(int fd, std::string_view bytes);

}  // namespace jobset::launcher
