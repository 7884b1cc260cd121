// Internal to the Slurm parsers (slurm_nodes.cpp, slurm_switches.cpp):
// what they share. Both scontrol outputs are words of the form Key=Value
// separated by blanks; a record starts at "NodeName=" (show node, whose
// multi-line form only breaks the same words over lines) or at the start of
// a line (show topology). So the text is cut into words that remember their
// line and column, and each parser walks its records, reporting errors at a
// word with Where.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace jobset::launcher::slurm {

struct Word {
  std::string_view text;
  int64_t line = 0;
  int64_t column = 0;
  std::string_view key() const { return text.substr(0, text.find('=')); }
  std::string_view value() const {
    const size_t eq = text.find('=');
    return eq == std::string_view::npos ? std::string_view() : text.substr(eq + 1);
  }
};

// The words of one line, with their positions; `#` ends the line when
// `comments` is set.
void split_line(std::string_view line, int64_t line_no, bool comments, std::vector<Word>& out);

// Calls `each(line, line_no)` for every line; a UTF-8 byte order mark is
// dropped.
template <typename F>
void for_each_line(std::string_view text, F&& each) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  int64_t line_no = 0;
  while (!text.empty()) {
    const size_t newline = std::min(text.find('\n'), text.size());
    each(text.substr(0, newline), ++line_no);
    text.remove_prefix(std::min(newline + 1, text.size()));
  }
}

// Errors at a word: "file:line:column: message".
class Where {
 public:
  explicit Where(const std::string& file) : file_(file) {}
  Error at(const Word& w, const std::string& message) const;
  // The position of the value of `w` (after '=').
  Error at_value(const Word& w, const std::string& message) const;
  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

}  // namespace jobset::launcher::slurm
