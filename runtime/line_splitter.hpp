// Cuts a byte stream (a process's stdout or stderr) into batches of whole
// lines, so that a line is never torn between two Output messages and
// lines of different processes never mix. Pure: bytes in, batches out.
//
// A line longer than max_piece bytes (1 MiB by default: jobset(1)'s bound
// on a line delivered whole) is handed out in max_piece pieces as it
// arrives, so that one endless line cannot hold memory without bound; the
// reader sees those pieces as consecutive Output data without a '\n'
// between them. finish() hands out the partial line held back: at end of
// stream, or when the program left it waiting (the supervisor's timer).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace jobset::runtime {

class LineSplitter {
 public:
  static constexpr size_t kDefaultMaxPiece = size_t{1} << 20;

  explicit LineSplitter(size_t max_piece = kDefaultMaxPiece) : max_piece_(max_piece) {}

  // Appends `data`; returns what can be sent now: every whole line, or
  // pieces of a line that outgrew max_piece. Empty when nothing is ready.
  std::string feed(std::string_view data);

  // The partial line held back (possibly empty); the splitter goes on.
  std::string finish();

  // Bytes held back (the current partial line).
  size_t pending() const { return partial_.size(); }

 private:
  std::string partial_;
  size_t max_piece_;
};

}  // namespace jobset::runtime
