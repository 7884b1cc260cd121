// `scontrol show topology` into switch labels (see slurm_text.hpp). The
// switch tree is resolved in a temporary (levels, then each switch's
// ancestors, then each node's switch per level) and written into the
// cluster's labels on the last step, so a failed call changes nothing.
#include <algorithm>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "launcher/nodes/hostlist.hpp"
#include "launcher/nodes/slurm_text.hpp"
#include "launcher/nodes/slurm_words.hpp"

namespace jobset::launcher {
namespace slurm {
namespace {

// Real switch trees have a handful of levels; the cap bounds the recursion
// and the work on a hostile file.
constexpr int64_t kMaxSwitchLevel = 64;

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
}  // namespace slurm

Status apply_switch_topology(topology::Cluster& cluster, std::string_view text,
                             const std::string& filename) {
  const slurm::Where where(filename.empty() ? "<slurm topology>" : filename);
  Result<std::vector<slurm::Switch>> read = slurm::read_switches(text, where);
  if (!read) return read.error();
  const std::vector<slurm::Switch>& switches = *read;
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
          const slurm::Switch& first = switches[same->second];
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
