// Text node sources: see hostfile.hpp. The hostfile parser walks the text
// line by line without copying it: tokens are string_views into the input,
// and a node name is remembered (for the duplicate check) as a view too.
// Every check reports the byte column of what it rejects, so a user can go
// straight to the character. The first problem ends the parse; nothing is
// returned half-built.
#include "launcher/nodes/hostfile.hpp"

#include <unistd.h>

#include <algorithm>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "launcher/nodes/hostlist.hpp"

namespace jobset::launcher {
namespace {

using topology::kMaxClusterNodes;
using topology::kMaxSlotsPerNode;

constexpr std::string_view kBlank = " \t\r\v\f";

// A decimal count in [min, 2^31-1]; "positive" or "non-negative" by `min`.
Result<int64_t> parse_count(std::string_view text, const std::string& what, int64_t min) {
  auto n = parse_integer(text, min, kMaxSlotsPerNode);
  if (!n) return n.error().with_context(what);
  return n;
}

struct Token {
  std::string_view text;
  size_t offset = 0;  // in the line
};

void split_fields(std::string_view line, std::vector<Token>& out) {
  out.clear();
  size_t pos = line.find_first_not_of(kBlank);
  while (pos != std::string_view::npos) {
    const size_t end = std::min(line.find_first_of(kBlank, pos), line.size());
    out.push_back(Token{line.substr(pos, end - pos), pos});
    pos = line.find_first_not_of(kBlank, end);
  }
}

class HostfileParser {
 public:
  explicit HostfileParser(const std::string& file) : file_(file.empty() ? "<hostfile>" : file) {}

  Result<topology::Cluster> parse(std::string_view text);

 private:
  Error at(size_t offset, const std::string& message) const {
    return Error(file_ + ":" + std::to_string(line_no_) + ":" + std::to_string(offset + 1) + ": " +
                 message);
  }
  Status parse_line();
  Status parse_field(size_t index, topology::Node& node);

  std::string file_;
  int64_t line_no_ = 0;
  std::vector<Token> tokens_;                                   // of the current line, reused
  std::vector<std::pair<std::string_view, size_t>> seen_keys_;  // current line: key, offset
  std::unordered_map<std::string_view, int64_t> first_line_;    // node name -> line
  topology::Cluster cluster_;
};

Result<topology::Cluster> HostfileParser::parse(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  const bool blank = text.find_first_not_of("\n \t\r\v\f") == std::string_view::npos;
  // Sizing the duplicate index up front saves rehashing a million entries.
  const auto lines = static_cast<int64_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  first_line_.reserve(static_cast<size_t>(std::min(lines, kMaxClusterNodes + 1)));
  while (!text.empty()) {
    ++line_no_;
    const size_t newline = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(std::min(newline + 1, text.size()));
    line = line.substr(0, line.find('#'));
    split_fields(line, tokens_);
    if (tokens_.empty()) continue;
    if (Status s = parse_line(); !s) return s.error();
  }
  if (cluster_.nodes.empty()) {
    return Error(file_ + ": expected at least one node, found " +
                 (blank ? "an empty file" : "only comments and blank lines"));
  }
  return std::move(cluster_);
}

Status HostfileParser::parse_line() {
  const Token& name = tokens_[0];
  if (name.text.find('=') != std::string_view::npos) {
    return at(name.offset, "expected a host name first, found " + quote_text(name.text));
  }
  if (auto problem = check_host_name(name.text)) {
    return at(name.offset + problem->offset, problem->message);
  }
  auto [it, inserted] = first_line_.emplace(name.text, line_no_);
  if (!inserted) {
    return Error(file_ + ":" + std::to_string(line_no_) + ": node " + quote_text(name.text) +
                 " is listed twice (first on line " + std::to_string(it->second) + ")");
  }
  if (static_cast<int64_t>(cluster_.nodes.size()) >= kMaxClusterNodes) {
    return Error(file_ + ":" + std::to_string(line_no_) + ": too many nodes: expected at most " +
                 std::to_string(kMaxClusterNodes));
  }
  topology::Node node;
  node.name = std::string(name.text);
  seen_keys_.clear();
  for (size_t i = 1; i < tokens_.size(); ++i) {
    if (Status s = parse_field(i, node); !s) return s;
  }
  cluster_.nodes.push_back(std::move(node));
  return {};
}

Status HostfileParser::parse_field(size_t index, topology::Node& node) {
  const Token& field = tokens_[index];
  const size_t eq = field.text.find('=');
  if (eq == std::string_view::npos) {
    const bool spaced = index + 1 < tokens_.size() && tokens_[index + 1].text.front() == '=';
    return at(field.offset, "label: expected key=value, found " + quote_text(field.text) +
                                (spaced ? " (no spaces around '=')" : ""));
  }
  const std::string_view key = field.text.substr(0, eq);
  const std::string_view value = field.text.substr(eq + 1);
  const size_t value_offset = field.offset + eq + 1;
  for (const auto& [seen, offset] : seen_keys_) {
    if (seen == key) {
      return at(field.offset, quote_text(key) + " is given twice on this line (first at column " +
                                  std::to_string(offset + 1) + ")");
    }
  }
  seen_keys_.emplace_back(key, field.offset);

  int64_t* count = nullptr;
  int64_t min = 0;
  if (key == "slots") {
    count = &node.slots;
    min = 1;
  } else if (key == "gpus") {
    count = &node.gpus;
  } else if (key == "tpus") {
    count = &node.tpus;
  } else if (key == "cpus") {
    count = &node.cpus;
  } else if (key == "memory") {
    Result<int64_t> size = parse_size(value);
    if (!size) return at(value_offset, size.error().with_context("memory").message());
    node.memory = *size;
    return {};
  }
  if (count != nullptr || key == "max_slots" || key == "max-slots") {
    Result<int64_t> n = parse_count(value, std::string(key), min);
    if (!n) return at(value_offset, n.error().message());
    if (count != nullptr) *count = *n;  // max_slots: Open MPI's, accepted and ignored
    return {};
  }
  if (auto problem = check_label_key(key)) {
    return at(field.offset + problem->offset, problem->message);
  }
  node.labels.emplace(key, value);
  return {};
}

// A count given on the command line must be in 1..max.
Status check_flag_count(const std::string& flag, int64_t value, int64_t max) {
  if (value < 1) {
    return Error(flag + ": expected a positive integer, found " + std::to_string(value));
  }
  if (value > max) {
    return Error(flag + ": expected at most " + std::to_string(max) + ", found " +
                 std::to_string(value));
  }
  return {};
}

std::string_view trim(std::string_view s) {
  const size_t start = s.find_first_not_of(kBlank);
  if (start == std::string_view::npos) return {};
  return s.substr(start, s.find_last_not_of(kBlank) - start + 1);
}

}  // namespace

Result<topology::Cluster> parse_hostfile(std::string_view text, const std::string& filename) {
  return HostfileParser(filename).parse(text);
}

Result<topology::Cluster> parse_host_list(std::string_view spec) {
  if (trim(spec).empty()) return Error("expected name[:slots], found nothing");
  topology::Cluster cluster;
  std::unordered_map<std::string_view, size_t> index;  // name -> position in cluster.nodes
  size_t number = 0;
  for (size_t start = 0; start <= spec.size();) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string_view entry = trim(spec.substr(start, comma - start));
    start = comma + 1;
    const std::string where = "entry " + std::to_string(++number);
    if (entry.empty()) return Error(where + ": expected name[:slots], found nothing");
    const std::string context = where + " " + quote_text(entry);
    const size_t colon = entry.find(':');
    const std::string_view name = entry.substr(0, colon);
    if (name.empty()) return Error(context + ": expected a host name before ':'");
    if (auto problem = check_host_name(name)) return Error(context + ": " + problem->message);
    int64_t slots = 1;
    if (colon != std::string_view::npos) {
      Result<int64_t> n = parse_count(entry.substr(colon + 1), "slots", 1);
      if (!n) return n.error().with_context(context);
      slots = *n;
    }
    auto [it, inserted] = index.emplace(name, cluster.nodes.size());
    if (inserted) {
      if (static_cast<int64_t>(cluster.nodes.size()) >= kMaxClusterNodes) {
        return Error("too many nodes: expected at most " + std::to_string(kMaxClusterNodes));
      }
      cluster.nodes.push_back(topology::Node{std::string(name), slots, 0, 0, {}});
      continue;
    }
    topology::Node& node = cluster.nodes[it->second];
    if (slots > kMaxSlotsPerNode - node.slots) {
      return Error(context + ": slots of " + quote_text(name) + " add up to " +
                   std::to_string(node.slots + slots) + ", expected at most " +
                   std::to_string(kMaxSlotsPerNode));
    }
    node.slots += slots;
  }
  return cluster;
}

Result<topology::Cluster> synthetic_cluster(int64_t nodes, int64_t slots) {
  if (Status s = check_flag_count("--nodes", nodes, kMaxClusterNodes); !s) return s.error();
  if (Status s = check_flag_count("--slots", slots, kMaxSlotsPerNode); !s) return s.error();
  const size_t width = std::to_string(nodes).size();
  topology::Cluster cluster;
  cluster.nodes.resize(static_cast<size_t>(nodes));
  for (int64_t i = 0; i < nodes; ++i) {
    std::string digits = std::to_string(i + 1);
    topology::Node& node = cluster.nodes[static_cast<size_t>(i)];
    node.name = "n" + std::string(width - digits.size(), '0') + digits;
    node.slots = slots;
  }
  return cluster;
}

topology::Cluster local_cluster() {
  char buffer[256] = {};
  std::string name = "localhost";
  if (gethostname(buffer, sizeof(buffer) - 1) == 0 && buffer[0] != '\0') name = buffer;
  topology::Node node;
  node.name = std::move(name);
  node.slots = std::max<int64_t>(1, std::thread::hardware_concurrency());
  topology::Cluster cluster;
  cluster.nodes.push_back(std::move(node));
  return cluster;
}

}  // namespace jobset::launcher
