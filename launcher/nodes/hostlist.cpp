// Shared node-source syntax and hostlist expansion: see hostlist.hpp.
//
// A hostlist is expanded in two passes: the expression is cut into entries
// at commas outside brackets and each entry into literal text and bracket
// groups; then the number of names is computed (saturating) and checked
// against the cap before a single string is built, so "n[1-999999999999]"
// costs nothing. The expansion itself is a depth-first walk over the
// groups, which gives Slurm's order (the first group varies slowest).
#include "launcher/nodes/hostlist.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace jobset::launcher {
namespace {

constexpr size_t kMaxHostName = 253;  // RFC 1035, without the final dot
constexpr size_t kMaxHostPart = 63;
constexpr size_t kMaxDigits = 18;  // every such number fits in int64_t

// ASCII only, whatever the locale.
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c); }

// Where `s` has a byte that is neither a letter, a digit nor in `extra`.
size_t find_bad_char(std::string_view s, std::string_view extra) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!is_alnum(s[i]) && extra.find(s[i]) == std::string_view::npos) return i;
  }
  return std::string_view::npos;
}

// One item of a bracket group: the numbers lo..hi printed at least `width`
// wide, or a word.
struct Item {
  std::string word;  // non-empty for a word
  int64_t lo = 0, hi = 0;
  size_t width = 0;
  int64_t count() const { return word.empty() ? hi - lo + 1 : 1; }
};

// Literal text (items empty) or a bracket group.
struct Segment {
  std::string_view text;
  std::vector<Item> items;
};

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

int64_t to_number(std::string_view digits) {
  int64_t value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

Result<Item> parse_item(std::string_view item) {
  const std::string expected = "expected a number, a range lo-hi or a word in brackets, found ";
  if (item.empty()) return Error(expected + "nothing");
  const size_t dash = item.find('-');
  if (dash == std::string_view::npos && !all_digits(item)) {
    if (find_bad_char(item, "_.") != std::string_view::npos)
      return Error(expected + quote_text(item));
    return Item{std::string(item)};
  }
  const std::string_view lo = item.substr(0, dash);
  const std::string_view hi = dash == std::string_view::npos ? lo : item.substr(dash + 1);
  if (!all_digits(lo) || !all_digits(hi)) return Error(expected + quote_text(item));
  if (lo.size() > kMaxDigits || hi.size() > kMaxDigits) {
    return Error("expected numbers of at most " + std::to_string(kMaxDigits) + " digits, found " +
                 quote_text(item));
  }
  Item out{"", to_number(lo), to_number(hi), lo.size()};
  if (out.hi < out.lo) return Error("range end below start");
  return out;
}

// Cuts one entry into literal text and bracket groups.
Result<std::vector<Segment>> parse_entry(std::string_view entry) {
  std::vector<Segment> segments;
  size_t pos = 0;
  while (pos < entry.size()) {
    const size_t open = std::min(entry.find_first_of("[]", pos), entry.size());
    if (open > pos) segments.push_back(Segment{entry.substr(pos, open - pos), {}});
    if (open == entry.size()) break;
    if (entry[open] == ']') return Error("']' without '['");
    const size_t close = entry.find_first_of("[]", open + 1);
    if (close == std::string_view::npos) return Error("'[' without ']'");
    if (entry[close] == '[') return Error("'[' inside brackets");
    Segment group;
    const std::string_view inside = entry.substr(open + 1, close - open - 1);
    for (size_t start = 0; start <= inside.size();) {
      const size_t comma = std::min(inside.find(',', start), inside.size());
      Result<Item> item = parse_item(inside.substr(start, comma - start));
      if (!item) return item.error();
      group.items.push_back(std::move(*item));
      start = comma + 1;
    }
    segments.push_back(std::move(group));
    pos = close + 1;
  }
  return segments;
}

// Names an entry stands for, saturating at `cap`.
int64_t count_names(const std::vector<Segment>& segments, int64_t cap) {
  int64_t total = 1;
  for (const Segment& s : segments) {
    if (s.items.empty()) continue;
    int64_t n = 0;
    for (const Item& item : s.items) n = std::min(cap, n + item.count());
    total = total > cap / n ? cap : std::min(cap, total * n);
  }
  return total;
}

void emit(const std::vector<Segment>& segments, size_t i, std::string& name,
          std::vector<std::string>& out) {
  if (i == segments.size()) {
    out.push_back(name);
    return;
  }
  const size_t mark = name.size();
  const Segment& s = segments[i];
  if (s.items.empty()) {
    name += s.text;
    emit(segments, i + 1, name, out);
  }
  for (const Item& item : s.items) {
    if (!item.word.empty()) {
      name += item.word;
      emit(segments, i + 1, name, out);
      name.resize(mark);
      continue;
    }
    for (int64_t v = item.lo; v <= item.hi; ++v) {
      const std::string digits = std::to_string(v);
      if (digits.size() < item.width) name.append(item.width - digits.size(), '0');
      name += digits;
      emit(segments, i + 1, name, out);
      name.resize(mark);
    }
  }
  name.resize(mark);
}

// Splits at commas outside brackets. Unbalanced brackets stay inside an
// entry for parse_entry to report.
std::vector<std::string_view> split_entries(std::string_view expression) {
  std::vector<std::string_view> entries;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= expression.size(); ++i) {
    if (i == expression.size() || (expression[i] == ',' && depth == 0)) {
      entries.push_back(expression.substr(start, i - start));
      start = i + 1;
    } else if (expression[i] == '[') {
      ++depth;
    } else if (expression[i] == ']') {
      depth = std::max(0, depth - 1);
    }
  }
  return entries;
}

}  // namespace

std::string quote_text(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  constexpr size_t kMaxShown = 80;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxShown) out += "...";
  return out + "'";
}

std::optional<TextProblem> check_host_name(std::string_view name) {
  if (size_t bad = find_bad_char(name, "-_."); bad != std::string_view::npos) {
    return TextProblem{bad, "host name: expected letters, digits, '-', '_' or '.', found " +
                                quote_text(name.substr(bad, 1)) + " in " + quote_text(name)};
  }
  if (name.size() > kMaxHostName) {
    return TextProblem{0, "host name: expected at most " + std::to_string(kMaxHostName) +
                              " characters, found " + std::to_string(name.size())};
  }
  for (size_t start = 0; start <= name.size();) {
    const size_t end = std::min(name.find('.', start), name.size());
    const std::string_view part = name.substr(start, end - start);
    if (part.empty() || !is_alnum(part.front()) || !is_alnum(part.back())) {
      return TextProblem{start,
                         "host name: expected dot-separated parts that start and end with a "
                         "letter or digit, found " +
                             quote_text(name)};
    }
    if (part.size() > kMaxHostPart) {
      return TextProblem{start, "host name: expected at most " + std::to_string(kMaxHostPart) +
                                    " characters between dots, found " +
                                    std::to_string(part.size()) + " in " + quote_text(name)};
    }
    start = end + 1;
  }
  return std::nullopt;
}

std::optional<TextProblem> check_label_key(std::string_view key) {
  if (key.empty()) return TextProblem{0, "label: expected a key before '=', found nothing"};
  if (size_t bad = find_bad_char(key, "-_./"); bad != std::string_view::npos) {
    return TextProblem{bad, "label key: expected letters, digits, '-', '_', '.' or '/', found " +
                                quote_text(key.substr(bad, 1)) + " in " + quote_text(key)};
  }
  // No '/' at all gives find('/', npos + 1) == find('/', 0) == npos too.
  if (size_t second = key.find('/', key.find('/') + 1); second != std::string_view::npos) {
    return TextProblem{second, "label key: expected at most one '/', found " + quote_text(key)};
  }
  return std::nullopt;
}

Result<int64_t> parse_integer(std::string_view text, int64_t min, int64_t max) {
  const std::string expected =
      std::string("expected a ") + (min > 0 ? "positive" : "non-negative") + " integer, found ";
  if (text.empty()) return Error(expected + "nothing");
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Error(expected + quote_text(text));
    value = std::min<int64_t>(value * 10 + (c - '0'), max + 1);
  }
  if (value > max) {
    return Error("expected at most " + std::to_string(max) + ", found " + quote_text(text));
  }
  if (value < min) return Error(expected + quote_text(text));
  return value;
}

Result<int64_t> parse_size(std::string_view text) {
  const std::string expected = "expected a size like 512G, 64GiB or a byte count, found ";
  if (text.empty()) return Error(expected + "nothing");
  size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  if (digits == 0) return Error(expected + quote_text(text));
  std::string unit(text.substr(digits));
  for (char& c : unit) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  if (!unit.empty() && unit.back() == 'B') unit.pop_back();
  if (unit.size() == 2 && unit[1] == 'I') unit.pop_back();
  static constexpr std::string_view kUnits = "KMGTPE";
  int shift = 0;
  if (unit.size() == 1 && kUnits.find(unit[0]) != std::string_view::npos) {
    shift = 10 * (static_cast<int>(kUnits.find(unit[0])) + 1);
  } else if (!unit.empty()) {
    return Error(expected + quote_text(text));
  }
  // Both the number and the shifted value must stay below 2^63.
  const int64_t limit = std::numeric_limits<int64_t>::max() >> shift;
  int64_t value = 0;
  for (char c : text.substr(0, digits)) {
    if (value > limit / 10 || value * 10 > limit - (c - '0')) {
      return Error("expected a size below 8 EiB, found " + quote_text(text));
    }
    value = value * 10 + (c - '0');
  }
  return value << shift;
}

Result<std::vector<std::string>> expand_hostlist(std::string_view expression, int64_t max_names) {
  std::vector<std::pair<std::string_view, std::vector<Segment>>> entries;
  int64_t total = 0;
  size_t number = 0;
  for (std::string_view entry : split_entries(expression)) {
    ++number;
    if (entry.empty()) {
      return Error("entry " + std::to_string(number) + ": expected a name, found nothing");
    }
    Result<std::vector<Segment>> segments = parse_entry(entry);
    if (!segments) return segments.error().with_context("entry " + quote_text(entry));
    const int64_t n = count_names(*segments, max_names + 1);
    total = std::min(max_names + 1, total + n);
    if (total > max_names) {
      return Error("entry " + quote_text(entry) + ": too many names: expected at most " +
                   std::to_string(max_names) + " in all");
    }
    entries.emplace_back(entry, std::move(*segments));
  }
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(total));
  std::string name;
  for (const auto& [entry, segments] : entries) emit(segments, 0, name, names);
  return names;
}

}  // namespace jobset::launcher
