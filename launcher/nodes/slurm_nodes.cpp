// `scontrol show node` into a Cluster (see slurm_text.hpp): the node
// records, their numbers, GRES, features and partitions. Records are
// parsed as they end, into a cluster that is returned only when the whole
// text parsed.
#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "launcher/nodes/hostlist.hpp"
#include "launcher/nodes/slurm_text.hpp"
#include "launcher/nodes/slurm_words.hpp"

namespace jobset::launcher {

using topology::kMaxClusterNodes;
using topology::kMaxSlotsPerNode;

namespace slurm {
namespace {

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

}  // namespace
}  // namespace slurm

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
      if (std::optional<int64_t> n = slurm::gres_count(last)) count = *n;
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
  return slurm::NodeParser(filename).parse(text);
}

}  // namespace jobset::launcher
