#include "launcher/document.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <toml++/toml.h>
#include <unordered_map>

namespace jobset::launcher {

Node::Node() = default;

const Node* Node::get(std::string_view key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}

std::string describe(const Node& n) {
  auto clip = [](const std::string& s) {
    return printable(s.size() > 40 ? s.substr(0, 37) + "..." : s);
  };
  switch (n.kind) {
    case Node::Kind::kNull: return "nothing (null)";
    case Node::Kind::kBool: return n.boolean ? "boolean true" : "boolean false";
    case Node::Kind::kInt: return "integer " + std::to_string(n.integer);
    case Node::Kind::kFloat: {
      std::ostringstream s;
      s << "number " << n.number;
      return s.str();
    }
    case Node::Kind::kString: return "string \"" + clip(n.text) + "\"";
    case Node::Kind::kScalar: return (n.quoted ? "string \"" : "'") + clip(n.text) + (n.quoted ? "\"" : "'");
    case Node::Kind::kArray: return "a list";
    case Node::Kind::kTable: return "a table";
    case Node::Kind::kOther: return clip(n.text);
  }
  return "?";
}

// ---- TOML -------------------------------------------------------------

namespace {

Mark mark_of(const toml::source_region& r) {
  return Mark{static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)};
}

Node from_toml(const toml::node& t) {
  Node n;
  n.mark = mark_of(t.source());
  if (auto* tbl = t.as_table()) {
    n.kind = Node::Kind::kTable;
    for (auto&& [k, v] : *tbl) {
      n.fields.emplace_back(std::string(k.str()), from_toml(v));
      n.key_marks.push_back(mark_of(k.source()));
    }
  } else if (auto* arr = t.as_array()) {
    n.kind = Node::Kind::kArray;
    for (auto&& v : *arr) n.items.push_back(from_toml(v));
  } else if (auto* s = t.as_string()) {
    n.kind = Node::Kind::kString;
    n.text = s->get();
  } else if (auto* i = t.as_integer()) {
    n.kind = Node::Kind::kInt;
    n.integer = i->get();
  } else if (auto* f = t.as_floating_point()) {
    n.kind = Node::Kind::kFloat;
    n.number = f->get();
  } else if (auto* b = t.as_boolean()) {
    n.kind = Node::Kind::kBool;
    n.boolean = b->get();
  } else {
    std::ostringstream out;
    t.visit([&out](auto&& v) {
      if constexpr (toml::is_date<decltype(v)> || toml::is_time<decltype(v)> ||
                    toml::is_date_time<decltype(v)>)
        out << "date/time " << v;
    });
    n.kind = Node::Kind::kOther;
    n.text = out.str();
  }
  return n;
}

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
        advance(1);  // inside a bare key, a number or a date
        continue;
      }
      word_has_dot = false;
      switch (c) {
        case '#': skip_comment(); continue;
        case '"': skip_string(t_.substr(i_, 3) == "\"\"\"" ? "\"\"\"" : "\"", true); continue;
        case '\'': skip_string(t_.substr(i_, 3) == "\'\'\'" ? "\'\'\'" : "\'", false); continue;
        case '[':
        case '{':
          if (parts.size() > 1024) return std::nullopt;  // toml++ refuses such nesting itself
          parts.push_back(0);
          break;
        case ']':
        case '}':
          if (parts.size() > 1) total -= parts.back(), parts.pop_back();
          break;
        case ',': total -= parts.back(), parts.back() = 0; break;  // then comes a sibling key
        case '\n': if (parts.size() == 1) parts[0] = total = 0; break;  // end of a statement
        default: break;
      }
      advance(1);
    }
    return std::nullopt;
  }

 private:
  bool digit_at(size_t j) const { return j < t_.size() && t_[j] >= '0' && t_[j] <= '9'; }
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
};

}  // namespace

std::optional<Node> parse_toml(std::string_view text, Diagnostics& diags) {
  if (auto deep = TomlKeyDepth(text).scan(kMaxDepth)) {
    diags.error(*deep, "", "document nested deeper than " + std::to_string(kMaxDepth) +
                               " levels (a key or table header with too many dotted parts)");
    return std::nullopt;
  }
  try {
    toml::table tbl = toml::parse(text, diags.file());
    Node root = from_toml(tbl);
    root.mark = Mark{1, 1};
    return root;
  } catch (const toml::parse_error& e) {
    diags.error(mark_of(e.source()), "", "TOML syntax: " + std::string(e.description()));
    return std::nullopt;
  }
}

// ---- YAML -------------------------------------------------------------

namespace {

struct YamlConverter {
  Diagnostics& diags;
  size_t nodes = 0;
  bool failed = false;

  static Mark mark_of(const YAML::Mark& m) {
    if (m.is_null()) return Mark{};
    return Mark{m.line + 1, m.column + 1};
  }

  Node convert(const YAML::Node& y, int depth) {
    Node n;
    n.mark = mark_of(y.Mark());
    if (failed) return n;
    if (++nodes > kMaxNodes || depth > kMaxDepth) {
      failed = true;
      diags.error(n.mark, "",
                  nodes > kMaxNodes
                      ? "document too large: more than " + std::to_string(kMaxNodes) +
                            " values (after expanding aliases)"
                      : "document nested deeper than " + std::to_string(kMaxDepth) + " levels");
      return n;
    }
    switch (y.Type()) {
      case YAML::NodeType::Map: {
        n.kind = Node::Kind::kTable;
        // YAML forbids a key twice in one map; yaml-cpp keeps both.
        std::unordered_map<std::string, int> first_line;
        for (auto it = y.begin(); it != y.end() && !failed; ++it) {
          Mark key = mark_of(it->first.Mark());
          if (!it->first.IsScalar()) {
            diags.error(key, "", "a map key must be a plain string");
            continue;
          }
          auto [seen, added] = first_line.emplace(it->first.Scalar(), key.line);
          if (!added) {
            diags.error(key, "", "duplicate key '" + it->first.Scalar() + "' (first on line " +
                                     std::to_string(seen->second) + ")");
            continue;
          }
          n.key_marks.push_back(key);
          n.fields.emplace_back(it->first.Scalar(), convert(it->second, depth + 1));
        }
        break;
      }
      case YAML::NodeType::Sequence:
        n.kind = Node::Kind::kArray;
        for (auto it = y.begin(); it != y.end() && !failed; ++it)
          n.items.push_back(convert(*it, depth + 1));
        break;
      case YAML::NodeType::Scalar:
        n.kind = Node::Kind::kScalar;
        n.text = y.Scalar();
        n.quoted = y.Tag() == "!";
        break;
      default:
        n.kind = Node::Kind::kNull;
    }
    return n;
  }
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
  struct Problem {
    Mark mark;
    std::string message;
  };

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
    if (o.anchor != YAML::NullAnchor) anchor_size_[o.anchor] = std::max<size_t>(values_ - o.values_before, 1);
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
    size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
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

std::optional<Node> parse_yaml(std::string_view text, Diagnostics& diags) {
  unsigned char bad = 0;
  if (auto at = invalid_utf8(text, bad)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", bad);
    diags.error(*at, "", std::string("expected UTF-8 text, found the byte ") + hex +
                             ", which is not valid UTF-8 here");
    return std::nullopt;
  }
  std::vector<YAML::Node> docs;
  try {
    std::string copy(text);
    if (auto problem = YamlSurvey::run(copy)) {
      diags.error(problem->mark, "", problem->message);
      return std::nullopt;
    }
    docs = YAML::LoadAll(copy);
  } catch (const YAML::DeepRecursion& e) {  // yaml-cpp's own message is "bad file"
    diags.error(YamlConverter::mark_of(e.mark), "",
                "document nested deeper than " + std::to_string(kMaxDepth) + " levels");
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    diags.error(YamlConverter::mark_of(e.mark), "", "YAML syntax: " + e.msg);
    return std::nullopt;
  }
  std::vector<YAML::Node> real;
  for (const auto& d : docs)
    if (!d.IsNull()) real.push_back(d);
  if (real.size() > 1) {
    diags.error(YamlConverter::mark_of(real[1].Mark()), "",
                "expected one YAML document, found " + std::to_string(real.size()) +
                    " (put one JobSet in each file)");
    return std::nullopt;
  }
  if (real.empty()) return Node{};
  YamlConverter conv{diags};
  Node root = conv.convert(real[0], 0);
  if (conv.failed) return std::nullopt;
  return root;
}

Format guess_format(const std::string& path, std::string_view text) {
  auto ends_with = [&](const char* suffix) {
    size_t n = std::strlen(suffix);
    return path.size() >= n && path.compare(path.size() - n, n, suffix) == 0;
  };
  if (ends_with(".toml")) return Format::kToml;
  if (ends_with(".yaml") || ends_with(".yml") || ends_with(".json")) return Format::kYaml;
  std::string_view t = text;
  size_t pos = 0;
  while (pos < t.size()) {
    size_t end = t.find('\n', pos);
    std::string_view line = t.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (line.rfind("apiVersion:", 0) == 0 || line.rfind("---", 0) == 0 || line.rfind("kind:", 0) == 0)
      return Format::kYaml;
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return Format::kToml;
}

}  // namespace jobset::launcher
