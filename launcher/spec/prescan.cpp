#include "launcher/spec/prescan.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <sstream>
#include <unordered_map>
#include <vector>

namespace jobset::launcher {

namespace {

// toml++ 3.3 bounds the nesting of inline arrays and tables but not of
// dotted keys: `a.a.a... = 1` with some 30,000 parts overflows the stack
// inside toml::parse (its parser's update_region_ends recurses once per
// level). So before parsing, this counts the dotted parts of keys and table
// headers, outside strings and comments, along the current nesting of
// brackets: a key's depth is the sum of the parts of the keys it is inside
// of. A number's single dot (1.5, 07:32:00.25) is not a key part.
class TomlKeyDepth {
 public:
  explicit TomlKeyDepth(std::string_view text) : t_(text) {}

  // Where a key first has more than `max_parts` parts, if anywhere.
  std::optional<Mark> scan(int max_parts) {
    std::vector<int> parts{0};  // per open bracket; [0] is the statement's
    int total = 0;
    bool word_has_dot = false;
    while (i_ < t_.size()) {
      char c = t_[i_];
      if (c == '.') {
        bool numeric = !word_has_dot && digit_at(i_ - 1) && digit_at(i_ + 1);
        word_has_dot = true;
        if (!numeric) {
          ++parts.back();
          if (++total >= max_parts) return Mark{line_, column()};  // total+1 parts
        }
        advance(1);
        continue;
      }
      if (std::string_view(" \t\r\n=,[]{}#\"'").find(c) == std::string_view::npos) {
        if (static_cast<unsigned char>(c) >= 0x80) {
          // Never valid outside strings and comments (bare keys are ASCII),
          // and toml++ 3.3 reaches an unreachable point on some of them
          // (its is_unicode_whitespace, e.g. on U+00AB): refused here.
          non_ascii_ = true;
          return Mark{line_, column()};
        }
        advance(1);  // inside a bare key, a number or a date
        continue;
      }
      word_has_dot = false;
      switch (c) {
        case '#':
          skip_comment();
          continue;
        case '"':
          skip_string(t_.substr(i_, 3) == "\"\"\"" ? "\"\"\"" : "\"", true);
          continue;
        case '\'':
          skip_string(t_.substr(i_, 3) == "\'\'\'" ? "\'\'\'" : "\'", false);
          continue;
        case '[':
        case '{':
          if (parts.size() > 1024) return std::nullopt;  // toml++ refuses such nesting itself
          parts.push_back(0);
          break;
        case ']':
        case '}':
          if (parts.size() > 1) total -= parts.back(), parts.pop_back();
          break;
        case ',':  // then comes a sibling key
          total -= parts.back(), parts.back() = 0;
          break;
        case '\n':  // end of a statement
          if (parts.size() == 1) parts[0] = total = 0;
          break;
        default:
          break;
      }
      advance(1);
    }
    return std::nullopt;
  }

 private:
  bool digit_at(size_t j) const { return j < t_.size() && t_[j] >= '0' && t_[j] <= '9'; }

 public:
  // Whether scan() stopped at a non-ASCII byte outside strings and comments.
  bool non_ascii() const { return non_ascii_; }

 private:
  int column() const { return static_cast<int>(i_ - line_start_) + 1; }

  void advance(size_t n) {
    for (; n > 0 && i_ < t_.size(); --n)
      if (t_[i_++] == '\n') ++line_, line_start_ = i_;
  }

  void skip_comment() {
    while (i_ < t_.size() && t_[i_] != '\n') advance(1);
  }

  // From an opening quote to past the closing one. An unterminated
  // one-line string ends at the line's end; toml++ reports it.
  void skip_string(std::string_view quote, bool escapes) {
    advance(quote.size());
    while (i_ < t_.size()) {
      if (escapes && t_[i_] == '\\') {
        advance(i_ + 1 < t_.size() && t_[i_ + 1] != '\n' ? 2 : 1);
      } else if (t_.substr(i_, quote.size()) == quote) {
        advance(quote.size());
        // """a"""" holds a" : up to two more quotes belong to the string
        for (int k = 0; quote.size() == 3 && k < 2 && i_ < t_.size() && t_[i_] == quote[0]; ++k)
          advance(1);
        return;
      } else if (quote.size() == 1 && t_[i_] == '\n') {
        return;
      } else {
        advance(1);
      }
    }
  }

  std::string_view t_;
  size_t i_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
  bool non_ascii_ = false;
};

// A first pass over the parser's events, before yaml-cpp builds its node
// graph (some 500 bytes a value), to refuse three kinds of file cheaply:
//  - a stray ',' where a document starts makes yaml-cpp 0.7's LoadAll loop
//    forever, allocating (jbeder/yaml-cpp#1040): a document that starts
//    where the previous one did means the parser is stuck;
//  - aliases let a few lines stand for a huge tree ("billion laughs": ten
//    levels of ten aliases are 10^10 values), which yaml-cpp shares but the
//    conversion would copy: each alias counts as the size of its anchor;
//  - more than kMaxNodes values: the pass stops at the first one too many.
// Map keys are not counted, as the conversion does not count them.
class YamlSurvey : public YAML::EventHandler {
 public:
  using Problem = PrescanProblem;

  // REQUIRES: text is what the parser reads. Parser errors propagate.
  static std::optional<Problem> run(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    YamlSurvey survey(text);
    try {
      while (parser.HandleNextDocument(survey)) {
      }
    } catch (const Problem& p) {
      return p;
    }
    return std::nullopt;
  }

  void OnDocumentStart(const YAML::Mark& m) override {
    if (documents_++ > 0 && m.pos == last_start_) throw Problem{mark(m), stuck_message(m)};
    last_start_ = m.pos;
    anchor_size_.clear();  // anchors are numbered per document
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { leaf(m, a); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                const std::string&) override {
    leaf(m, a);
  }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override {
    auto it = anchor_size_.find(a);
    node(m, it == anchor_size_.end() ? 1 : it->second);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                       YAML::EmitterStyle::value) override {
    open(m, a, false);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                  YAML::EmitterStyle::value) override {
    open(m, a, true);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    bool map;
    bool expect_key;
    size_t values_before;
    YAML::anchor_t anchor;
  };

  explicit YamlSurvey(const std::string& text) : text_(text) {}

  static Mark mark(const YAML::Mark& m) { return Mark{m.line + 1, m.column + 1}; }

  // A node of `size` values starts here (size 1 for a container, so far).
  void node(const YAML::Mark& m, size_t size) {
    bool key = !open_.empty() && open_.back().map && open_.back().expect_key;
    if (!open_.empty() && open_.back().map) open_.back().expect_key = !open_.back().expect_key;
    if (key) return;
    values_ += std::min(size, kMaxNodes + 1);
    if (values_ > kMaxNodes)
      throw Problem{mark(m), "document too large: more than " + std::to_string(kMaxNodes) +
                                 " values (after expanding aliases)"};
  }
  void leaf(const YAML::Mark& m, YAML::anchor_t a) {
    node(m, 1);
    if (a != YAML::NullAnchor) anchor_size_[a] = 1;
  }
  void open(const YAML::Mark& m, YAML::anchor_t a, bool map) {
    size_t before = values_;
    node(m, 1);
    open_.push_back(Open{map, true, before, a});
  }
  void close() {
    if (open_.empty()) return;
    const Open& o = open_.back();
    if (o.anchor != YAML::NullAnchor)
      anchor_size_[o.anchor] = std::max<size_t>(values_ - o.values_before, 1);
    open_.pop_back();
  }

  std::string stuck_message(const YAML::Mark& m) const {
    size_t at = 0;  // the offending character, found by line and column
    for (int line = 0; line < m.line && at != std::string::npos; ++line) {
      at = text_.find('\n', at);
      if (at != std::string::npos) ++at;
    }
    if (at != std::string::npos) at += static_cast<size_t>(m.column);
    if (at < text_.size() && text_[at] > ' ' && text_[at] < 0x7f)
      return std::string("YAML syntax: unexpected '") + text_[at] + "'";
    return "YAML syntax: unexpected text where a document starts";
  }

  const std::string& text_;
  std::vector<Open> open_;
  std::unordered_map<YAML::anchor_t, size_t> anchor_size_;
  size_t values_ = 0;
  int documents_ = 0;
  int last_start_ = -1;
};

// yaml-cpp passes bytes that are not UTF-8 through without a word, into
// commands and values (and `jobset convert` would then write a TOML file
// that does not load); TOML refuses them, and so does this for YAML.
// Returns where the first bad byte is.
std::optional<Mark> invalid_utf8(std::string_view t, unsigned char& bad) {
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < t.size();) {
    auto b = [&](size_t k) { return i + k < t.size() ? static_cast<unsigned char>(t[i + k]) : 0; };
    unsigned char c = b(0);
    size_t len = c < 0x80                 ? 1
                 : c >= 0xC2 && c <= 0xDF ? 2
                 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4
                                          : 0;
    // The second byte's range excludes overlong forms, surrogates and > U+10FFFF.
    unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    bool ok = len > 0 && (len == 1 || (b(1) >= lo && b(1) <= hi));
    for (size_t k = 2; ok && k < len; ++k) ok = b(k) >= 0x80 && b(k) <= 0xBF;
    if (!ok) {
      bad = c;
      return Mark{line, static_cast<int>(i - line_start) + 1};
    }
    if (c == '\n') ++line, line_start = i + 1;
    i += len;
  }
  return std::nullopt;
}

}  // namespace

std::optional<PrescanProblem> prescan_toml(std::string_view text) {
  TomlKeyDepth scanner(text);
  if (auto at = scanner.scan(kMaxDepth)) {
    if (scanner.non_ascii())
      return PrescanProblem{*at, "expected a key, a value or a comment, found a character that is "
                                 "not ASCII outside a quoted string (quote it)"};
    return PrescanProblem{*at, "document nested deeper than " + std::to_string(kMaxDepth) +
                                   " levels (a key or table header with too many dotted parts)"};
  }
  return std::nullopt;
}

std::optional<PrescanProblem> prescan_yaml(const std::string& text) {
  unsigned char bad = 0;
  if (auto at = invalid_utf8(text, bad)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", bad);
    return PrescanProblem{*at, std::string("expected UTF-8 text, found the byte ") + hex +
                                   ", which is not valid UTF-8 here"};
  }
  return YamlSurvey::run(text);
}

}  // namespace jobset::launcher
