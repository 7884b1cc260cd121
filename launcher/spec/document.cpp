#include "launcher/spec/document.hpp"

#include <algorithm>

#include "launcher/spec/prescan.hpp"

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
    // toml++ keeps a table sorted by key; the file's order matters (env
    // entries see the ones before them), so fields go in source order.
    std::vector<std::pair<const toml::key*, const toml::node*>> order;
    for (auto&& [k, v] : *tbl) order.emplace_back(&k, &v);
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      const auto &x = a.first->source().begin, &y = b.first->source().begin;
      return x.line != y.line ? x.line < y.line : x.column < y.column;
    });
    for (const auto& [k, v] : order) {
      n.fields.emplace_back(std::string(k->str()), from_toml(*v));
      n.key_marks.push_back(mark_of(k->source()));
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

}  // namespace

std::optional<Node> parse_toml(std::string_view text, Diagnostics& diags) {
  if (auto problem = prescan_toml(text)) {
    diags.error(problem->mark, "", problem->message);
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

}  // namespace

std::optional<Node> parse_yaml(std::string_view text, Diagnostics& diags) {
  std::vector<YAML::Node> docs;
  try {
    std::string copy(text);
    if (auto problem = prescan_yaml(copy)) {
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
