#include "launcher/spec/diagnostic.hpp"

#include <algorithm>
#include <sstream>

namespace jobset::launcher {

std::string format(const Diagnostic& d) {
  std::ostringstream out;
  out << (d.file.empty() ? "<input>" : d.file);
  if (d.mark.line > 0) out << ':' << d.mark.line << ':' << d.mark.column;
  out << (d.severity == Severity::kError ? ": error: " : ": warning: ");
  if (!d.path.empty()) out << d.path << ": ";
  out << d.message;
  return out.str();
}

void Diagnostics::error(Mark m, std::string path, std::string message) {
  all_.push_back({Severity::kError, file_, m, std::move(path), std::move(message)});
}

void Diagnostics::warning(Mark m, std::string path, std::string message) {
  all_.push_back({Severity::kWarning, file_, m, std::move(path), std::move(message)});
}

size_t Diagnostics::error_count() const {
  return std::count_if(all_.begin(), all_.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

std::string Diagnostics::to_string() const {
  std::vector<Diagnostic> sorted = all_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.mark.line != b.mark.line) return a.mark.line < b.mark.line;
    return a.severity < b.severity;
  });
  std::string out;
  for (const Diagnostic& d : sorted) out += format(d) + "\n";
  return out;
}

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

Location SourceMap::find(const std::string& path) const {
  std::string p = path;
  while (!p.empty()) {
    auto it = entries_.find(p);
    if (it != entries_.end()) {
      if (p == path) return it->second;
      // A child of a recorded field: keep the parent's position and spell
      // the rest of the path after the parent's display path.
      return Location{it->second.mark, it->second.display_path + path.substr(p.size())};
    }
    size_t cut = p.find_last_of(".[");
    if (cut == std::string::npos) break;
    p.resize(cut);
  }
  return Location{Mark{}, path};
}

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      size_t cost = (std::tolower(a[i - 1]) == std::tolower(b[j - 1])) ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
      diag = up;
    }
  }
  return row[b.size()];
}

// camelCase and snake_case spell the same word; compare without them.
std::string squash(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '_' && c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& c : candidates) {
    size_t d = squash(c) == squash(word) ? 0 : edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

}  // namespace jobset::launcher
