// The cluster file and the file entry points: see cluster_file.hpp.
//
// The TOML goes through the same reader as JobSet files (document.hpp:
// a plain tree with the line and column of every key and value; its fields
// read by field_reader.hpp, which words every type error), then one pass
// over [[nodes]] builds the cluster: each entry's values are read once,
// its hostlist expanded, each name checked and de-duplicated, and the
// values copied to its nodes. A topology is loaded on its first use and
// its index remembered. The first step that finds a problem ends the
// parse, and the first of its problems in the file is told.
#include "launcher/nodes/cluster_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#include "launcher/nodes/hostfile.hpp"
#include "launcher/nodes/hostlist.hpp"
#include "launcher/nodes/slurm_text.hpp"
#include "launcher/spec/document.hpp"
#include "launcher/spec/field_reader.hpp"

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

// Every problem goes into diags_ as FieldReader reports it; the parse stops
// after the step that found one and returns the first in file order.
class ClusterFileParser {
 public:
  ClusterFileParser(const std::string& file, const std::string& base_dir)
      : file_(file.empty() ? "<cluster file>" : file), base_dir_(base_dir), diags_(file_) {}

  Result<topology::Cluster> parse(std::string_view text);

 private:
  Error first_error() const;
  void error(Mark m, const std::string& path, const std::string& message) {
    diags_.error(m, path, message);
  }
  void read_topologies(const Node& table);
  void read_nodes(const Node& nodes);
  void read_entry(const Node& table, const std::string& path);
  void read_counts(FieldReader& r, Entry& entry);
  void read_memory(FieldReader& r, Entry& entry);
  void read_labels(FieldReader& r, Entry& entry);
  void use_topology(Entry& entry);
  void add_nodes(const std::string& hostlist, Mark mark, const std::string& path,
                 const Entry& entry);
  std::optional<int32_t> topology_index(const std::string& name, Mark used_at);
  void apply_slurm_topology(const Node& value);

  std::string file_, base_dir_;
  Diagnostics diags_;
  SourceMap where_;
  ReadContext ctx_{diags_, where_, {}};
  struct Definition {
    std::string reference;
    Mark mark;
    int32_t index = -1;  // in cluster_.topologies once loaded
  };
  std::map<std::string, Definition> topologies_;
  std::unordered_map<std::string, int> first_line_;  // node name -> line
  topology::Cluster cluster_;
};

// "FILE:LINE:COL: PATH: message", as the JobSet reader words it, without
// its "error:" (the first problem is the only one told).
Error ClusterFileParser::first_error() const {
  const Diagnostic* first = nullptr;
  for (const Diagnostic& d : diags_.all()) {
    if (d.severity != Severity::kError) continue;
    if (!first || d.mark.line < first->mark.line ||
        (d.mark.line == first->mark.line && d.mark.column < first->mark.column))
      first = &d;
  }
  const Mark m = first->mark;
  return Error(file_ + ":" + std::to_string(m.line) + ":" + std::to_string(m.column) + ": " +
               (first->path.empty() ? "" : first->path + ": ") + first->message);
}

Result<topology::Cluster> ClusterFileParser::parse(std::string_view text) {
  std::optional<Node> root = parse_toml(text, diags_);
  if (!root) return first_error();
  FieldReader top(*root, "", "", ctx_);
  const Node* topologies = top.take("topologies");
  const Node* nodes = top.take("nodes");
  const Node* slurm_topology = top.take("slurm_topology");
  top.finish(Severity::kError);
  if (topologies) read_topologies(*topologies);
  if (slurm_topology) read_string(*slurm_topology, ctx_, "slurm_topology", "a path");
  if (!diags_.has_errors()) {
    if (nodes) read_nodes(*nodes);
    if (cluster_.nodes.empty() && !diags_.has_errors())
      error(nodes ? nodes->mark : Mark{1, 1}, "",
            "expected at least one [[nodes]] entry, found none");
  }
  if (slurm_topology && !diags_.has_errors()) apply_slurm_topology(*slurm_topology);
  if (diags_.has_errors()) return first_error();
  return std::move(cluster_);
}

void ClusterFileParser::read_topologies(const Node& table) {
  if (table.kind != Node::Kind::kTable)
    return report_expected(table, ctx_, "topologies", "a table of name = \"reference\"");
  for (const auto& [name, value] : table.fields) {
    if (auto reference = read_string(value, ctx_, "topologies." + name,
                                     "an hwloc XML path or synthetic description"))
      topologies_[name] = Definition{*reference, value.mark};
  }
}

void ClusterFileParser::read_nodes(const Node& nodes) {
  if (nodes.kind != Node::Kind::kArray)
    return report_expected(nodes, ctx_, "nodes", "[[nodes]] tables");
  for (size_t i = 0; i < nodes.items.size() && !diags_.has_errors(); ++i)
    read_entry(nodes.items[i], indexed("nodes", i));
}

void ClusterFileParser::apply_slurm_topology(const Node& value) {
  const std::string path = join_path(base_dir_, value.text);
  Result<std::string> topo = read_text_file(path);
  Status s = topo ? apply_switch_topology(cluster_, *topo, path) : Status(topo.error());
  if (!s) error(value.mark, "slurm_topology", s.error().message());
}

std::optional<int32_t> ClusterFileParser::topology_index(const std::string& name, Mark used_at) {
  auto it = topologies_.find(name);
  if (it == topologies_.end()) {
    error(used_at, "", "topology " + quote_text(name) + " is not defined in [topologies]");
    return std::nullopt;
  }
  Definition& d = it->second;
  if (d.index < 0) {
    Result<topology::NodeTopology> t = topology::topology_from_reference(d.reference, base_dir_);
    if (!t) {
      error(d.mark, "", "topology " + quote_text(name) + ": " + t.error().message());
      return std::nullopt;
    }
    d.index = static_cast<int32_t>(cluster_.topologies.size());
    cluster_.topologies.push_back(std::move(*t));
  }
  return d.index;
}

void ClusterFileParser::read_entry(const Node& table, const std::string& path) {
  FieldReader r(table, path, path, ctx_);
  if (!r.is_table()) return;
  Entry entry;
  const std::string expression = "a hostlist expression like \"gpu[01-16]\"";
  r.require("name", "the entry's nodes, " + expression);
  const Node* name = r.take("name");
  std::optional<std::string> hostlist;
  if (name) hostlist = read_string(*name, ctx_, r.child_display("name"), expression);
  if (const Node* t = r.take("topology")) {
    auto s = read_string(*t, ctx_, r.child_display("topology"), "a name from [topologies]");
    if (s) {
      entry.topology = *s;
      entry.topology_mark = t->mark;
    }
  }
  read_labels(r, entry);
  read_counts(r, entry);
  read_memory(r, entry);
  std::optional<bool> local;
  r.read("local", local);
  r.finish(Severity::kError);
  if (diags_.has_errors()) return;
  if (local && entry.node.labels.contains("local")) {
    return error(where_.find(r.child_native("local")).mark, r.child_display("local"),
                 "give local = true or labels.local, not both");
  }
  if (local.value_or(false)) entry.node.labels["local"] = "true";
  if (!entry.topology.empty()) use_topology(entry);
  if (!diags_.has_errors()) add_nodes(*hostlist, name->mark, r.child_display("name"), entry);
}

// What the entry does not say comes from its node model.
void ClusterFileParser::use_topology(Entry& entry) {
  std::optional<int32_t> index = topology_index(entry.topology, entry.topology_mark);
  if (!index) return;
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

void ClusterFileParser::read_counts(FieldReader& r, Entry& entry) {
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
    std::optional<int64_t> count;
    r.read(f.key, count, f.min, kMaxSlotsPerNode);
    if (!count) continue;
    entry.node.*f.member = *count;
    entry.*f.given = true;
  }
}

void ClusterFileParser::read_memory(FieldReader& r, Entry& entry) {
  const Node* value = r.take("memory");
  if (!value) return;
  const std::string path = r.child_display("memory");
  if (value->kind == Node::Kind::kInt && value->integer >= 0) {
    entry.node.memory = value->integer;
  } else if (value->kind == Node::Kind::kString) {
    Result<int64_t> size = parse_size(value->text);
    if (!size) return error(value->mark, path, size.error().message());
    entry.node.memory = *size;
  } else {
    return report_expected(*value, ctx_, path, "a size like \"512G\" or a number of bytes");
  }
  entry.memory = true;
}

void ClusterFileParser::read_labels(FieldReader& r, Entry& entry) {
  const Node* table = r.take("labels");
  if (!table) return;
  const std::string path = r.child_display("labels");
  if (table->kind != Node::Kind::kTable)
    return report_expected(*table, ctx_, path, "a table of key = \"value\"");
  for (size_t i = 0; i < table->fields.size(); ++i) {
    const auto& [key, value] = table->fields[i];
    std::string at = path;
    at.append(".").append(key);
    if (auto problem = check_label_key(key)) {
      error(table->key_marks[i], path, problem->message);
    } else if (value.kind == Node::Kind::kTable) {
      // labels.example.com = "x" makes nested tables in TOML.
      std::string message = "expected a string, found ";
      message.append(describe(value)).append(" (quote keys with dots: \"example.com/x\" = \"v\")");
      error(value.mark, at, message);
    } else if (auto s = read_string(value, ctx_, at)) {
      entry.node.labels[key] = *s;
    }
  }
}

void ClusterFileParser::add_nodes(const std::string& hostlist, Mark mark, const std::string& path,
                                  const Entry& entry) {
  Result<std::vector<std::string>> names = expand_hostlist(hostlist, kMaxClusterNodes);
  if (!names) return error(mark, path, names.error().message());
  if (static_cast<int64_t>(names->size()) >
      kMaxClusterNodes - static_cast<int64_t>(cluster_.nodes.size())) {
    return error(
        mark, path,
        "too many nodes: expected at most " + std::to_string(kMaxClusterNodes) + " in the file");
  }
  for (std::string& n : *names) {
    if (auto problem = check_host_name(n)) return error(mark, path, problem->message);
    auto [it, inserted] = first_line_.emplace(n, mark.line);
    if (!inserted) {
      return error(mark, "",
                   "node " + quote_text(n) + " is listed twice (first on line " +
                       std::to_string(it->second) + ")");
    }
    cluster_.nodes.push_back(entry.node);
    cluster_.nodes.back().name = std::move(n);
  }
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
