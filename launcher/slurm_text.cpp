// Parsers of scontrol's text: see slurm_text.hpp.
//
// Both outputs are words of the form Key=Value separated by blanks; a
// record starts at "NodeName=" (show node, whose multi-line form only
// breaks the same words over lines) or at the start of a line (show
// topology). So the text is cut into words that remember their line and
// column, and each parser walks its records. The switch tree is resolved in
// a temporary (levels, then each switch's ancestors, then each node's
// switch per level) and written into the cluster's labels on the last step,
// so a failed call changes nothing.
#include "launcher/slurm_text.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "launcher/hostlist.hpp"

namespace jobset::launcher {
namespace {

using topology::kMaxClusterNodes;
using topology::kMaxSlotsPerNode;

// Real switch trees have a handful of levels; the cap bounds the recursion
// and the work on a hostile file.
constexpr int64_t kMaxSwitchLevel = 64;

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

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// The words of one line, with their positions; `#` ends the line when
// `comments` is set.
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

class Where {
 public:
  explicit Where(const std::string& file) : file_(file) {}
  Error at(const Word& w, const std::string& message) const {
    return Error(file_ + ":" + std::to_string(w.line) + ":" + std::to_string(w.column) + ": " +
                 message);
  }
  // The position of the value of `w` (after '=').
  Error at_value(const Word& w, const std::string& message) const {
    Word v = w;
    v.column += static_cast<int64_t>(w.key().size()) + 1;
    return at(v, message);
  }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

// A decimal integer in [min, max].
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

// A GRES count: digits with an optional K, M, G or T (powers of 1024).
std::optional<int64_t> gres_count(std::string_view text) {
  int shift = 0;
  if (!text.empty()) {
    static constexpr std::string_view kSuffixes = "KMGT";
    if (size_t s = kSuffixes.find(text.back()); s != std::string_view::npos) {
      shift = 10 * static_cast<int>(s + 1);
      text.remove_suffix(1);
    }
  }
  Result<int64_t> n = parse_integer(text, 0, kMaxSlotsPerNode);
  if (!n) return std::nullopt;
  if (*n > (kMaxSlotsPerNode >> shift)) return kMaxSlotsPerNode + 1;  // too many, whatever it is
  return *n << shift;
}

// ---- scontrol show node -------------------------------------------------

class NodeParser {
 public:
  explicit NodeParser(const std::string& file) : where_(file.empty() ? "<slurm nodes>" : file) {}
  Result<topology::Cluster> parse(std::string_view text);

 private:
  Status parse_record(const std::vector<Word>& words);
  const Word* field(std::string_view key) const {
    for (const Word* w : fields_) {
      if (w->key() == key) return w;
    }
    return nullptr;
  }
  Result<int64_t> number(std::string_view key, int64_t min, int64_t max, int64_t fallback) const;
  static void add_feature_labels(std::string_view features, topology::Node& node);
  static void add_partition_labels(std::string_view partitions, topology::Node& node);

  Where where_;
  std::vector<const Word*> fields_;  // of the current record, first of each key
  std::unordered_map<std::string, int64_t> first_line_;
  topology::Cluster cluster_;
};

Result<topology::Cluster> NodeParser::parse(std::string_view text) {
  // Records are parsed as they end, so only one record's words are held.
  std::vector<Word> line_words, record;
  std::optional<Error> error;
  for_each_line(text, [&](std::string_view line, int64_t n) {
    line_words.clear();
    split_line(line, n, false, line_words);
    for (const Word& w : line_words) {
      if (error) return;
      if (w.text.starts_with("NodeName=")) {
        if (!record.empty()) {
          if (Status s = parse_record(record); !s) return void(error = s.error());
        }
        record.clear();
      } else if (record.empty()) {
        return void(error = where_.at(w, "expected NodeName=, found " + quote_text(w.text)));
      }
      record.push_back(w);
    }
  });
  if (!error && !record.empty()) {
    if (Status s = parse_record(record); !s) error = s.error();
  }
  if (error) return *error;
  if (cluster_.nodes.empty())
    return Error(where_.file() + ": expected at least one node, found none");
  return std::move(cluster_);
}

Result<int64_t> NodeParser::number(std::string_view key, int64_t min, int64_t max,
                                   int64_t fallback) const {
  const Word* w = field(key);
  if (w == nullptr) return fallback;
  Result<int64_t> n = parse_integer(w->value(), min, max);
  if (!n) return where_.at_value(*w, n.error().with_context(std::string(key)).message());
  return n;
}

Status NodeParser::parse_record(const std::vector<Word>& words) {
  fields_.clear();
  for (const Word& w : words) {
    // Words without '=' are free text (Reason=, OS=): skipped.
    if (w.text.find('=') == std::string_view::npos) continue;
    if (field(w.key()) == nullptr) fields_.push_back(&w);
  }
  const Word& name = words.front();
  if (name.value().empty())
    return where_.at_value(name, "NodeName: expected a name, found nothing");
  if (static_cast<int64_t>(cluster_.nodes.size()) >= kMaxClusterNodes) {
    return where_.at(name, "too many nodes: expected at most " + std::to_string(kMaxClusterNodes));
  }
  auto [it, inserted] = first_line_.emplace(std::string(name.value()), name.line);
  if (!inserted) {
    return Error(where_.file() + ":" + std::to_string(name.line) + ": node " +
                 quote_text(name.value()) + " is listed twice (first on line " +
                 std::to_string(it->second) + ")");
  }
  topology::Node node;
  node.name = std::string(name.value());
  Result<int64_t> slots = number("CPUTot", 1, kMaxSlotsPerNode, 1);
  Result<int64_t> sockets = number("Sockets", 0, kMaxSlotsPerNode, 0);
  Result<int64_t> cores = number("CoresPerSocket", 0, kMaxSlotsPerNode, 0);
  // Checked only: CPUTot already counts the threads.
  Result<int64_t> threads = number("ThreadsPerCore", 0, kMaxSlotsPerNode, 0);
  Result<int64_t> memory = number("RealMemory", 0, INT64_MAX >> 20, 0);
  for (const auto* r : {&slots, &sockets, &cores, &threads, &memory}) {
    if (!*r) return r->error();
  }
  node.slots = *slots;
  node.cpus = *sockets * *cores;
  node.memory = *memory > 1 ? *memory << 20 : 0;
  if (const Word* gres = field("Gres")) {
    Result<GresCounts> counts = parse_gres(gres->value());
    if (!counts) return where_.at_value(*gres, counts.error().with_context("Gres").message());
    node.gpus = counts->gpus;
    node.tpus = counts->tpus;
  }
  if (const Word* p = field("Partitions")) add_partition_labels(p->value(), node);
  for (std::string_view key : {"ActiveFeatures", "AvailableFeatures", "Features"}) {
    if (const Word* f = field(key)) {
      add_feature_labels(f->value(), node);
      break;
    }
  }
  cluster_.nodes.push_back(std::move(node));
  return {};
}

// Calls `each` for the non-empty comma-separated items of a list, none for
// Slurm's "(null)".
template <typename F>
void for_each_item(std::string_view list, F&& each) {
  if (list == "(null)") return;
  for (size_t start = 0; start <= list.size();) {
    const size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) each(list.substr(start, comma - start));
    start = comma + 1;
  }
}

void NodeParser::add_feature_labels(std::string_view features, topology::Node& node) {
  for_each_item(features, [&](std::string_view feature) {
    const size_t split = feature.find_first_of("=:");
    const std::string_view key = feature.substr(0, split);
    const std::string_view value =
        split == std::string_view::npos ? std::string_view("true") : feature.substr(split + 1);
    if (key == "local" || check_label_key(key)) return;
    node.labels.emplace(key, value);
  });
}

void NodeParser::add_partition_labels(std::string_view partitions, topology::Node& node) {
  std::vector<std::string_view> names;
  for_each_item(partitions, [&](std::string_view p) {
    const std::string key = std::string(kSlurmPartitionLabel) + "." + std::string(p);
    if (check_label_key(key)) return;
    node.labels.emplace(key, "true");
    names.push_back(p);
  });
  if (names.size() == 1) node.labels.emplace(kSlurmPartitionLabel, names[0]);
}

// ---- scontrol show topology ---------------------------------------------

struct Switch {
  std::string name;
  Word where;
  std::optional<int64_t> level;
  std::vector<std::string> nodes, children;
  std::vector<size_t> parents;
};

Result<Switch> parse_switch_line(const std::vector<Word>& words, const Where& where) {
  if (words[0].key() != "SwitchName" || words[0].text.find('=') == std::string_view::npos) {
    return where.at(words[0], "expected SwitchName=, found " + quote_text(words[0].text));
  }
  Switch s;
  s.name = std::string(words[0].value());
  s.where = words[0];
  if (s.name.empty()) return where.at_value(words[0], "SwitchName: expected a name, found nothing");
  for (size_t i = 1; i < words.size(); ++i) {
    const Word& w = words[i];
    if (w.text.find('=') == std::string_view::npos) {
      return where.at(w, "expected Key=Value, found " + quote_text(w.text));
    }
    const std::string key(w.key());
    if (key == "Level") {
      Result<int64_t> level = parse_integer(w.value(), 0, kMaxSwitchLevel);
      if (!level) return where.at_value(w, level.error().with_context(key).message());
      s.level = *level;
    } else if (key == "Nodes" || key == "Switches") {
      Result<std::vector<std::string>> names = expand_hostlist(w.value());
      if (!names) return where.at_value(w, names.error().with_context(key).message());
      (key == "Nodes" ? s.nodes : s.children) = std::move(*names);
    }
  }
  return s;
}

// The switches of `text`, with levels resolved and each one's parents.
Result<std::vector<Switch>> read_switches(std::string_view text, const Where& where) {
  std::vector<Switch> switches;
  std::unordered_map<std::string, size_t> index;
  std::vector<Word> words;
  std::optional<Error> error;
  for_each_line(text, [&](std::string_view line, int64_t n) {
    words.clear();
    split_line(line, n, true, words);
    if (error || words.empty()) return;
    Result<Switch> s = parse_switch_line(words, where);
    if (!s) return void(error = s.error());
    auto [it, inserted] = index.emplace(s->name, switches.size());
    if (!inserted) {
      return void(error = where.at(s->where, "switch " + quote_text(s->name) +
                                                 " is defined twice (first on line " +
                                                 std::to_string(switches[it->second].where.line) +
                                                 ")"));
    }
    switches.push_back(std::move(*s));
  });
  if (error) return *error;
  for (size_t i = 0; i < switches.size(); ++i) {
    for (const std::string& child : switches[i].children) {
      if (auto it = index.find(child); it != index.end()) switches[it->second].parents.push_back(i);
    }
  }
  // Levels: depth-first over children; state 1 marks a switch on the path.
  std::vector<int> state(switches.size(), 0);
  std::function<Status(size_t, int64_t)> resolve = [&](size_t i, int64_t depth) -> Status {
    Switch& s = switches[i];
    if (state[i] == 2) return {};
    if (state[i] == 1) {
      return where.at(s.where,
                      "switch " + quote_text(s.name) + " is below itself (a cycle of Switches=)");
    }
    const auto too_deep = [&] {
      return where.at(s.where, "switch " + quote_text(s.name) + ": expected at most " +
                                   std::to_string(kMaxSwitchLevel) +
                                   " levels of switches below it");
    };
    if (depth > kMaxSwitchLevel) return too_deep();
    state[i] = 1;
    int64_t level = 0;
    for (const std::string& child : s.children) {
      auto it = index.find(child);
      if (it == index.end()) continue;
      if (Status st = resolve(it->second, depth + 1); !st) return st;
      level = std::max(level, *switches[it->second].level + 1);
    }
    if (level > kMaxSwitchLevel) return too_deep();
    if (!s.level) s.level = level;
    state[i] = 2;
    return {};
  };
  for (size_t i = 0; i < switches.size(); ++i) {
    if (Status s = resolve(i, 0); !s) return s.error();
  }
  return switches;
}

}  // namespace

Result<GresCounts> parse_gres(std::string_view gres) {
  GresCounts counts;
  if (gres.empty() || gres == "(null)") return counts;
  const std::string expected = "expected name[:type][:count][(S:sockets)], found ";
  size_t start = 0;
  while (start <= gres.size()) {
    // An entry ends at a comma outside parentheses ("gpu:2(S:0,1),tpu:4").
    size_t end = start;
    int depth = 0;
    for (; end < gres.size() && !(gres[end] == ',' && depth == 0); ++end) {
      if (gres[end] == '(') ++depth;
      if (gres[end] == ')' && --depth < 0) break;
    }
    std::string_view entry = gres.substr(start, end - start);
    if (depth != 0 || (end < gres.size() && gres[end] == ')')) {
      return Error(expected + quote_text(gres.substr(start)));
    }
    if (size_t paren = entry.find('('); paren != std::string_view::npos) {
      if (entry.back() != ')') return Error(expected + quote_text(entry));
      entry = entry.substr(0, paren);
    }
    const size_t colon = entry.find(':');
    const std::string_view name = entry.substr(0, colon);
    if (name.empty()) return Error(expected + quote_text(entry));
    int64_t count = 1;
    if (colon != std::string_view::npos) {
      const std::string_view last = entry.substr(entry.rfind(':') + 1);
      if (last.empty()) return Error(expected + quote_text(entry));
      // A last part that is not a count is a type: "gpu:a100" is one GPU.
      if (std::optional<int64_t> n = gres_count(last)) count = *n;
    }
    int64_t* total = name == "gpu" ? &counts.gpus : name == "tpu" ? &counts.tpus : nullptr;
    if (total != nullptr) {
      *total += count;
      if (*total > kMaxSlotsPerNode) {
        return Error(std::string(name) + ": expected at most " + std::to_string(kMaxSlotsPerNode) +
                     " in all, found " + quote_text(gres));
      }
    }
    start = end + 1;
  }
  return counts;
}

Result<topology::Cluster> parse_slurm_nodes(std::string_view text, const std::string& filename) {
  return NodeParser(filename).parse(text);
}

Status apply_switch_topology(topology::Cluster& cluster, std::string_view text,
                             const std::string& filename) {
  const Where where(filename.empty() ? "<slurm topology>" : filename);
  Result<std::vector<Switch>> read = read_switches(text, where);
  if (!read) return read.error();
  const std::vector<Switch>& switches = *read;
  // Each switch's ancestors, itself included, in no particular order.
  std::vector<std::vector<size_t>> over(switches.size());
  for (size_t i = 0; i < switches.size(); ++i) {
    std::vector<size_t> todo{i};
    while (!todo.empty()) {
      const size_t s = todo.back();
      todo.pop_back();
      if (std::find(over[i].begin(), over[i].end(), s) != over[i].end()) continue;
      over[i].push_back(s);
      todo.insert(todo.end(), switches[s].parents.begin(), switches[s].parents.end());
    }
  }
  std::unordered_map<std::string_view, size_t> node_index;
  node_index.reserve(cluster.nodes.size());
  for (size_t i = 0; i < cluster.nodes.size(); ++i) node_index.emplace(cluster.nodes[i].name, i);
  // Per node: (level, switch) pairs, at most one switch per level.
  std::vector<std::vector<std::pair<int64_t, size_t>>> levels(cluster.nodes.size());
  for (size_t i = 0; i < switches.size(); ++i) {
    for (const std::string& name : switches[i].nodes) {
      auto n = node_index.find(name);
      if (n == node_index.end()) continue;
      auto& mine = levels[n->second];
      for (size_t s : over[i]) {
        const int64_t level = *switches[s].level;
        auto same =
            std::find_if(mine.begin(), mine.end(), [&](auto& p) { return p.first == level; });
        if (same == mine.end()) {
          mine.emplace_back(level, s);
        } else if (same->second != s) {
          const Switch& first = switches[same->second];
          return where.at(switches[i].where,
                          "node " + quote_text(name) + " is under two switches at level " +
                              std::to_string(level) + ": " + quote_text(first.name) + " (line " +
                              std::to_string(first.where.line) + ") and " +
                              quote_text(switches[s].name));
        }
      }
    }
  }
  for (size_t i = 0; i < cluster.nodes.size(); ++i) {
    if (levels[i].empty()) continue;
    auto& labels = cluster.nodes[i].labels;
    std::sort(levels[i].begin(), levels[i].end());
    labels[std::string(kSlurmSwitchLabel)] = switches[levels[i].front().second].name;
    for (const auto& [level, s] : levels[i]) {
      labels[std::string(kSlurmSwitchLevelLabelPrefix) + std::to_string(level)] = switches[s].name;
    }
  }
  return {};
}

}  // namespace jobset::launcher
