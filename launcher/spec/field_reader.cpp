#include "launcher/spec/field_reader.hpp"

#include <charconv>
#include <cmath>

#include "launcher/spec/spec.hpp"

namespace jobset::launcher {

namespace {

bool plain_scalar(const Node& n) { return n.kind == Node::Kind::kScalar && !n.quoted; }

std::optional<int64_t> parse_int(const std::string& s) {
  int64_t v = 0;
  const char* begin = s.data();
  if (!s.empty() && s[0] == '+') ++begin;
  auto [end, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || begin == s.data() + s.size())
    return std::nullopt;
  return v;
}

// "a, b or c", each name between `quote`s.
std::string or_list(const std::vector<std::string>& names, const std::string& quote) {
  std::string list;
  for (size_t i = 0; i < names.size(); ++i)
    list.append(i ? (i + 1 == names.size() ? " or " : ", ") : "").append(quote).append(names[i]).append(quote);
  return list;
}

std::string range_text(int64_t min, int64_t max) {
  if (max == INT64_MAX) return "an integer >= " + std::to_string(min);
  return "an integer from " + std::to_string(min) + " to " + std::to_string(max);
}

}  // namespace

void report_expected(const Node& n, ReadContext& ctx, const std::string& path,
                     const std::string& what) {
  ctx.diags.error(n.mark, path, "expected " + what + ", found " + describe(n));
}

std::optional<int64_t> read_int(const Node& n, ReadContext& ctx, const std::string& path,
                                int64_t min, int64_t max) {
  std::optional<int64_t> v;
  if (n.kind == Node::Kind::kInt) v = n.integer;
  if (plain_scalar(n)) v = parse_int(n.text);
  if (!v) {
    bool digits = plain_scalar(n) && !n.text.empty() &&
                  n.text.find_first_not_of("+-0123456789") == std::string::npos;
    report_expected(n, ctx, path,
                    digits ? range_text(min, max) + " (too large)" : range_text(min, max));
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    report_expected(n, ctx, path, range_text(min, max));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> read_bool(const Node& n, ReadContext& ctx, const std::string& path) {
  if (n.kind == Node::Kind::kBool) return n.boolean;
  if (plain_scalar(n)) {
    if (n.text == "true" || n.text == "True" || n.text == "TRUE") return true;
    if (n.text == "false" || n.text == "False" || n.text == "FALSE") return false;
  }
  report_expected(n, ctx, path, "true or false");
  return std::nullopt;
}

std::optional<std::string> read_string(const Node& n, ReadContext& ctx, const std::string& path,
                                       const std::string& what) {
  if ((n.kind == Node::Kind::kString || n.kind == Node::Kind::kScalar) &&
      n.text.find('\0') != std::string::npos) {
    ctx.diags.error(
        n.mark, path,
        "expected text, found a string with a NUL character (\\0), which no program can receive");
    return std::nullopt;
  }
  if (n.kind == Node::Kind::kString || n.kind == Node::Kind::kScalar) return n.text;
  report_expected(n, ctx, path, what);
  return std::nullopt;
}

std::optional<double> read_number(const Node& n, ReadContext& ctx, const std::string& path) {
  if (n.kind == Node::Kind::kInt) return static_cast<double>(n.integer);
  if (n.kind == Node::Kind::kFloat && std::isfinite(n.number)) return n.number;
  if (plain_scalar(n)) {
    double v = 0;
    auto [end, ec] = std::from_chars(n.text.data(), n.text.data() + n.text.size(), v);
    if (ec == std::errc() && end == n.text.data() + n.text.size() && std::isfinite(v)) return v;
  }
  report_expected(n, ctx, path, "a number");
  return std::nullopt;
}

FieldReader::FieldReader(const Node& table, std::string native, std::string display,
                         ReadContext& ctx)
    : native_(std::move(native)), display_(std::move(display)), ctx_(ctx) {
  if (table.kind != Node::Kind::kTable) {
    report_expected(table, ctx_, display_, "a table of fields");
    return;
  }
  table_ = &table;
  used_.assign(table.fields.size(), false);
  // Tables inside lists (rules[0]) have no key of their own to mark them.
  if (!native_.empty()) ctx_.where.add_if_absent(native_, table.mark, display_);
}

std::string FieldReader::child_native(const std::string& native_key) const {
  return native_.empty() ? native_key : native_ + "." + native_key;
}

std::string FieldReader::child_display(const std::string& key) const {
  return display_.empty() ? key : display_ + "." + key;
}

const Node* FieldReader::take(const std::string& key, const std::string& native_key) {
  known_.push_back(key);
  if (!table_) return nullptr;
  for (size_t i = 0; i < table_->fields.size(); ++i) {
    if (table_->fields[i].first != key) continue;
    used_[i] = true;
    const Node& n = table_->fields[i].second;
    Mark m = i < table_->key_marks.size() ? table_->key_marks[i] : n.mark;
    ctx_.where.add(child_native(native_key.empty() ? key : native_key), m, child_display(key));
    return &n;
  }
  return nullptr;
}

void FieldReader::read(const std::string& key, std::string& out, const std::string& nk) {
  if (const Node* n = take(key, nk))
    if (auto v = read_string(*n, ctx_, child_display(key))) out = *v;
}

void FieldReader::read(const std::string& key, bool& out, const std::string& nk) {
  if (const Node* n = take(key, nk))
    if (auto v = read_bool(*n, ctx_, child_display(key))) out = *v;
}

void FieldReader::read(const std::string& key, std::optional<bool>& out, const std::string& nk) {
  if (const Node* n = take(key, nk))
    if (auto v = read_bool(*n, ctx_, child_display(key))) out = *v;
}

void FieldReader::read(const std::string& key, int64_t& out, int64_t min, int64_t max,
                       const std::string& nk) {
  if (const Node* n = take(key, nk))
    if (auto v = read_int(*n, ctx_, child_display(key), min, max)) out = *v;
}

void FieldReader::read(const std::string& key, std::optional<int64_t>& out, int64_t min,
                       int64_t max, const std::string& nk) {
  if (const Node* n = take(key, nk))
    if (auto v = read_int(*n, ctx_, child_display(key), min, max)) out = *v;
}

void read_strings(const Node& n, ReadContext& ctx, const std::string& path,
                  std::vector<std::string>& out) {
  if (n.kind != Node::Kind::kArray) return report_expected(n, ctx, path, "a list of strings");
  out.clear();
  for (size_t i = 0; i < n.items.size(); ++i)
    if (auto v = read_string(n.items[i], ctx, indexed(path, i))) out.push_back(*v);
}

void FieldReader::record_items(const Node& n, const std::string& key, const std::string& nk) {
  std::string native = child_native(nk.empty() ? key : nk);
  for (size_t i = 0; i < n.items.size(); ++i)
    ctx_.where.add(indexed(native, i), n.items[i].mark, indexed(child_display(key), i));
}

void FieldReader::read(const std::string& key, std::vector<std::string>& out,
                       const std::string& nk) {
  const Node* n = take(key, nk);
  if (!n) return;
  record_items(*n, key, nk);
  read_strings(*n, ctx_, child_display(key), out);
}

void FieldReader::read(const std::string& key, std::map<std::string, std::string>& out,
                       const std::string& nk) {
  const Node* n = take(key, nk);
  if (!n) return;
  if (n->kind != Node::Kind::kTable)
    return report_expected(*n, ctx_, child_display(key), "a table of strings");
  out.clear();
  for (const auto& [k, v] : n->fields) {
    // Numbers and booleans are fine as label and variable values: TOML
    // users write `OMP_NUM_THREADS = 4`, YAML users `topology: 2x4`.
    if (v.kind == Node::Kind::kInt) {
      out[k] = std::to_string(v.integer);
    } else if (v.kind == Node::Kind::kBool) {
      out[k] = v.boolean ? "true" : "false";
    } else if (auto s = read_string(v, ctx_, child_display(key) + "." + k)) {
      out[k] = *s;
    }
  }
}

void FieldReader::read(const std::string& key, std::vector<int64_t>& out, int64_t min, int64_t max,
                       const std::string& nk) {
  const Node* n = take(key, nk);
  if (!n) return;
  if (n->kind != Node::Kind::kArray)
    return report_expected(*n, ctx_, child_display(key), "a list of integers");
  record_items(*n, key, nk);
  out.clear();
  for (size_t i = 0; i < n->items.size(); ++i)
    if (auto v = read_int(n->items[i], ctx_, indexed(child_display(key), i), min, max))
      out.push_back(*v);
}

void FieldReader::require(const std::string& key, const std::string& what) {
  if (!table_) return;
  for (const auto& [k, v] : table_->fields)
    if (k == key) return;
  ctx_.diags.error(table_->mark, display_, "'" + key + "' is required: " + what);
}

void FieldReader::ignore(const std::vector<std::string>& keys) {
  for (const std::string& k : keys)
    if (take(k)) ctx_.ignored.push_back(child_display(k));
}

void FieldReader::unsupported(const std::string& key, const std::string& why, Severity severity) {
  if (!take(key)) return;
  Location at = ctx_.where.find(child_native(key));
  std::string message = "not supported off Kubernetes because " + why;
  if (severity == Severity::kError)
    ctx_.diags.error(at.mark, at.display_path, message);
  else
    ctx_.diags.warning(at.mark, at.display_path, message + " (ignored)");
}

void FieldReader::finish(Severity unknown) {
  if (!table_) return;
  for (size_t i = 0; i < table_->fields.size(); ++i) {
    if (used_[i]) continue;
    const std::string& key = table_->fields[i].first;
    std::string msg = "unknown field '" + printable(key) + "'";
    std::string guess = did_you_mean(key, known_);
    if (!guess.empty()) msg += "; did you mean '" + guess + "'?";
    if (unknown == Severity::kWarning) {
      ctx_.diags.warning(table_->key_marks[i], display_, msg + " (ignored)");
      continue;
    }
    if (guess.empty()) msg += ": expected " + or_list(known_, "");
    ctx_.diags.error(table_->key_marks[i], display_, msg);
  }
}

void FieldReader::bad_enum(const Node& n, const std::string& key, const std::string& found,
                           const std::vector<std::string>& names) {
  std::string msg = "expected " + or_list(names, "\"") + ", found \"" + found + "\"";
  std::string guess = did_you_mean(found, names);
  if (!guess.empty()) msg += "; did you mean \"" + guess + "\"?";
  ctx_.diags.error(n.mark, child_display(key), msg);
}

}  // namespace jobset::launcher
