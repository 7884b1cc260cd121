// Words of scontrol's text, with their positions: see slurm_words.hpp.
#include "launcher/nodes/slurm_words.hpp"

namespace jobset::launcher::slurm {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

void split_line(std::string_view line, int64_t line_no, bool comments, std::vector<Word>& out) {
  if (comments) line = line.substr(0, line.find('#'));
  size_t i = 0;
  while (i < line.size()) {
    if (is_blank(line[i])) {
      ++i;
      continue;
    }
    const size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    out.push_back(Word{line.substr(start, i - start), line_no, static_cast<int64_t>(start) + 1});
  }
}

Error Where::at(const Word& w, const std::string& message) const {
  return Error(file_ + ":" + std::to_string(w.line) + ":" + std::to_string(w.column) + ": " +
               message);
}

Error Where::at_value(const Word& w, const std::string& message) const {
  Word v = w;
  v.column += static_cast<int64_t>(w.key().size()) + 1;
  return at(v, message);
}

}  // namespace jobset::launcher::slurm
