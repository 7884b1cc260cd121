// The cluster file and the file entry points: see cluster_file.hpp.
//
// The TOML goes through the same reader as JobSet files (document.hpp:
// a plain tree with the line and column of every key and value), then one
// pass over [[nodes]] builds the cluster: each entry's hostlist is
// expanded, each name checked and de-duplicated, the entry's values read
// once and copied to its nodes. A topology is loaded on its first use and
// its index remembered. The first problem ends the parse.
#include "launcher/nodes/cluster_file.hpp"

#include "launcher/nodes/hostfile.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#include "launcher/spec/document.hpp"
#include "launcher/nodes/hostlist.hpp"
#include "launcher/nodes/slurm_text.hpp"

namespace jobset::launcher {
namespace {

using topology::kMaxClusterNodes;
using topology::kMaxSlotsPerNode;

Result<std::string> read_text_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return Error(path + ": cannot be read: Is a directory");
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error(path + ": cannot be read: " + std::strerror(errno));
  std::stringstream s;
  s << f.rdbuf();
  if (f.bad()) return Error(path + ": cannot be read: " + std::strerror(errno));
  return s.str();
}

std::string join_path(const std::string& base_dir, const std::string& path) {
  if (base_dir.empty() || path.starts_with('/')) return path;
  return base_dir + "/" + path;
}

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// What an entry of [[nodes]] says, before it is copied to its nodes.
struct Entry {
  topology::Node node;  // name empty
  bool slots = false, gpus = false, tpus = false, cpus = false, memory = false;
  std::string topology;
  Mark topology_mark;
};

class ClusterFileParser {
 public:
  ClusterFileParser(const std::string& file, const std::string& base_dir)
      : file_(file.empty() ? "<cluster file>" : file), base_dir_(base_dir) {}

  Result<topology::Cluster> parse(std::string_view text);

 private:
  Error at(Mark m, const std::string& message) const {
    return Error(file_ + ":" + std::to_string(m.line) + ":" + std::to_string(m.column) + ": " +
                 message);
  }
  Status read_topologies(const Node& table);
  Status read_entry(const Node& table);
  Status read_field(const std::string& key, const Node& value, Mark key_mark, Entry& entry);
  Status read_labels(const Node& table, Entry& entry);
  Status add_nodes(const Node& name, Entry& entry);
  Result<int32_t> topology_index(const std::string& name, Mark used_at);
  Result<int64_t> count(const std::string& key, const Node& value, int64_t min) const;

  std::string file_, base_dir_;
  struct Definition {
    std::string reference;
    Mark mark;
    int32_t index = -1;  // in cluster_.topologies once loaded
  };
  std::map<std::string, Definition> topologies_;
  std::unordered_map<std::string, int> first_line_;  // node name -> line
  topology::Cluster cluster_;
};

Result<topology::Cluster> ClusterFileParser::parse(std::string_view text) {
  Diagnostics diags(file_);
  std::optional<Node> root = parse_toml(text, diags);
  if (!root) {
    const Diagnostic& d = diags.all().front();
    return at(d.mark, d.message);
  }
  const Node* slurm_topology = nullptr;
  const Node* nodes = nullptr;
  for (size_t i = 0; i < root->fields.size(); ++i) {
    const auto& [key, value] = root->fields[i];
    if (key == "topologies") {
      if (Status s = read_topologies(value); !s) return s.error();
    } else if (key == "nodes") {
      nodes = &value;
    } else if (key == "slurm_topology") {
      slurm_topology = &value;
    } else {
      return at(root->key_marks[i], "unknown key " + quote_text(key) +
                                        ": expected topologies, nodes or slurm_topology");
    }
  }
  if (nodes == nullptr) return at(Mark{1, 1}, "expected at least one [[nodes]] entry, found none");
  if (nodes->kind != Node::Kind::kArray) {
    return at(nodes->mark, "nodes: expected [[nodes]] tables, found " + describe(*nodes));
  }
  for (const Node& entry : nodes->items) {
    if (Status s = read_entry(entry); !s) return s.error();
  }
  if (cluster_.nodes.empty()) {
    return at(nodes->mark, "expected at least one [[nodes]] entry, found none");
  }
  if (slurm_topology != nullptr) {
    if (slurm_topology->kind != Node::Kind::kString) {
      return at(slurm_topology->mark,
                "slurm_topology: expected a path, found " + describe(*slurm_topology));
    }
    const std::string path = join_path(base_dir_, slurm_topology->text);
    Result<std::string> topo = read_text_file(path);
    Status s = topo ? apply_switch_topology(cluster_, *topo, path) : Status(topo.error());
    if (!s) return at(slurm_topology->mark, "slurm_topology: " + s.error().message());
  }
  return std::move(cluster_);
}

Status ClusterFileParser::read_topologies(const Node& table) {
  if (table.kind != Node::Kind::kTable) {
    return at(table.mark,
              "topologies: expected a table of name = \"reference\", found " + describe(table));
  }
  for (const auto& [name, value] : table.fields) {
    if (value.kind != Node::Kind::kString) {
      return at(value.mark, "topologies." + name +
                                ": expected an hwloc XML path or synthetic description, found " +
                                describe(value));
    }
    topologies_[name] = Definition{value.text, value.mark};
  }
  return {};
}

Result<int32_t> ClusterFileParser::topology_index(const std::string& name, Mark used_at) {
  auto it = topologies_.find(name);
  if (it == topologies_.end()) {
    return at(used_at, "topology " + quote_text(name) + " is not defined in [topologies]");
  }
  Definition& d = it->second;
  if (d.index < 0) {
    Result<topology::NodeTopology> t = topology::topology_from_reference(d.reference, base_dir_);
    if (!t) return at(d.mark, "topology " + quote_text(name) + ": " + t.error().message());
    d.index = static_cast<int32_t>(cluster_.topologies.size());
    cluster_.topologies.push_back(std::move(*t));
  }
  return d.index;
}

Result<int64_t> ClusterFileParser::count(const std::string& key, const Node& value,
                                         int64_t min) const {
  if (value.kind != Node::Kind::kInt || value.integer < min || value.integer > kMaxSlotsPerNode) {
    const std::string what = min > 0 ? "a positive integer" : "a non-negative integer";
    if (value.kind == Node::Kind::kInt && value.integer > kMaxSlotsPerNode) {
      return at(value.mark, key + ": expected at most " + std::to_string(kMaxSlotsPerNode) +
                                ", found " + describe(value));
    }
    return at(value.mark, key + ": expected " + what + ", found " + describe(value));
  }
  return value.integer;
}

Status ClusterFileParser::read_entry(const Node& table) {
  if (table.kind != Node::Kind::kTable) {
    return at(table.mark, "nodes: expected a table, found " + describe(table));
  }
  Entry entry;
  const Node* name = nullptr;
  Mark local_mark;
  for (size_t i = 0; i < table.fields.size(); ++i) {
    const auto& [key, value] = table.fields[i];
    if (key == "name") {
      name = &value;
    } else if (Status s = read_field(key, value, table.key_marks[i], entry); !s) {
      return s;
    }
    if (key == "local") local_mark = table.key_marks[i];
  }
  if (name == nullptr) return at(table.mark, "nodes: expected a name, found none");
  if (local_mark.line > 0 && table.get("labels") && table.get("labels")->get("local")) {
    return at(local_mark, "local: give local = true or labels.local, not both");
  }
  if (!entry.topology.empty()) {
    Result<int32_t> index = topology_index(entry.topology, entry.topology_mark);
    if (!index) return index.error();
    const topology::NodeTopology& t = cluster_.topologies[static_cast<size_t>(*index)];
    topology::Node& n = entry.node;
    n.topology = *index;
    const auto cores = static_cast<int64_t>(t.cores.size());
    if (!entry.slots && cores > 0) n.slots = std::min(cores, kMaxSlotsPerNode);
    if (!entry.gpus) n.gpus = static_cast<int64_t>(t.gpus.size());
    if (!entry.tpus) n.tpus = static_cast<int64_t>(t.accelerators.size());
    if (!entry.cpus) n.cpus = cores;
    if (!entry.memory) n.memory = t.memory;
  }
  return add_nodes(*name, entry);
}

Status ClusterFileParser::read_field(const std::string& key, const Node& value, Mark key_mark,
                                     Entry& entry) {
  topology::Node& n = entry.node;
  struct CountField {
    const char* key;
    int64_t topology::Node::*member;
    bool Entry::*given;
    int64_t min;
  };
  static constexpr CountField kCounts[] = {
      {"slots", &topology::Node::slots, &Entry::slots, 1},
      {"gpus", &topology::Node::gpus, &Entry::gpus, 0},
      {"tpus", &topology::Node::tpus, &Entry::tpus, 0},
      {"cpus", &topology::Node::cpus, &Entry::cpus, 0},
  };
  for (const CountField& f : kCounts) {
    if (key != f.key) continue;
    Result<int64_t> c = count(key, value, f.min);
    if (!c) return c.error();
    n.*f.member = *c;
    entry.*f.given = true;
    return {};
  }
  if (key == "memory") {
    if (value.kind == Node::Kind::kInt && value.integer >= 0) {
      n.memory = value.integer;
    } else if (value.kind == Node::Kind::kString) {
      Result<int64_t> size = parse_size(value.text);
      if (!size) return at(value.mark, "memory: " + size.error().message());
      n.memory = *size;
    } else {
      return at(value.mark, "memory: expected a size like \"512G\" or a number of bytes, found " +
                                describe(value));
    }
    entry.memory = true;
  } else if (key == "topology") {
    if (value.kind != Node::Kind::kString) {
      return at(value.mark,
                "topology: expected a name from [topologies], found " + describe(value));
    }
    entry.topology = value.text;
    entry.topology_mark = value.mark;
  } else if (key == "labels") {
    return read_labels(value, entry);
  } else if (key == "local") {
    if (value.kind != Node::Kind::kBool) {
      return at(value.mark, "local: expected true or false, found " + describe(value));
    }
    if (value.boolean) n.labels["local"] = "true";
  } else {
    return at(key_mark, "unknown key " + quote_text(key) +
                            " in [[nodes]]: expected name, topology, labels, slots, gpus, tpus, "
                            "cpus, memory or local");
  }
  return {};
}

Status ClusterFileParser::read_labels(const Node& table, Entry& entry) {
  if (table.kind != Node::Kind::kTable) {
    return at(table.mark, "labels: expected a table of key = \"value\", found " + describe(table));
  }
  for (size_t i = 0; i < table.fields.size(); ++i) {
    const auto& [key, value] = table.fields[i];
    if (auto problem = check_label_key(key))
      return at(table.key_marks[i], "labels: " + problem->message);
    if (value.kind != Node::Kind::kString) {
      std::string message = "labels." + key;
      message += ": expected a string, found " + describe(value);
      // labels.example.com = "x" makes nested tables in TOML.
      if (value.kind == Node::Kind::kTable)
        message += " (quote keys with dots: \"example.com/x\" = \"v\")";
      return at(value.mark, message);
    }
    entry.node.labels[key] = value.text;
  }
  return {};
}

Status ClusterFileParser::add_nodes(const Node& name, Entry& entry) {
  if (name.kind != Node::Kind::kString) {
    return at(name.mark,
              "name: expected a hostlist expression like \"gpu[01-16]\", found " + describe(name));
  }
  Result<std::vector<std::string>> names = expand_hostlist(name.text, kMaxClusterNodes);
  if (!names) return at(name.mark, "name: " + names.error().message());
  if (static_cast<int64_t>(names->size()) >
      kMaxClusterNodes - static_cast<int64_t>(cluster_.nodes.size())) {
    return at(name.mark, "name: too many nodes: expected at most " +
                             std::to_string(kMaxClusterNodes) + " in the file");
  }
  for (std::string& n : *names) {
    if (auto problem = check_host_name(n)) return at(name.mark, "name: " + problem->message);
    auto [it, inserted] = first_line_.emplace(n, name.mark.line);
    if (!inserted) {
      return at(name.mark, "node " + quote_text(n) + " is listed twice (first on line " +
                               std::to_string(it->second) + ")");
    }
    cluster_.nodes.push_back(entry.node);
    cluster_.nodes.back().name = std::move(n);
  }
  return {};
}

}  // namespace

Result<topology::Cluster> parse_cluster_file(std::string_view text, const std::string& filename,
                                             const std::string& base_dir) {
  return ClusterFileParser(filename, base_dir).parse(text);
}

Result<topology::Cluster> load_cluster_file(const std::string& path) {
  Result<std::string> text = read_text_file(path);
  if (!text) return text.error();
  return parse_cluster_file(*text, path, dir_of(path));
}

Result<topology::Cluster> load_hostfile(const std::string& path) {
  Result<std::string> text = read_text_file(path);
  if (!text) return Error("hostfile " + text.error().message());
  return parse_hostfile(*text, path);
}

Result<topology::Cluster> load_slurm_nodes(const std::string& path) {
  Result<std::string> text = read_text_file(path);
  if (!text) return text.error();
  return parse_slurm_nodes(*text, path);
}

Status load_switch_topology(topology::Cluster& cluster, const std::string& path) {
  Result<std::string> text = read_text_file(path);
  if (!text) return text.error();
  return apply_switch_topology(cluster, *text, path);
}

}  // namespace jobset::launcher
