// Binding inside a node: see binding.hpp. Three steps, each over the
// node's processes in ascending rank:
//  1. mapping: hand out cores in the --map-by order (fill, round-robin over
//     NUMA nodes or packages, or N per object), which says how many
//     processes each "rank object" (the level --rank-by names, else the map
//     level) receives;
//  2. ranking: decide which rank object each process goes to, contiguously
//     (rank-by slot/core) or round-robin (rank-by numa/package), keeping
//     those counts;
//  3. allocation: each process takes the next free cores of its object,
//     then devices nearest to those cores.
#include "topology/binding.hpp"

#include <algorithm>
#include <cstdint>
#include <set>

namespace jobset::topology {
namespace {

using Bind = MapPolicy::Bind;

bool round_robin(Level l) { return l == Level::kNuma || l == Level::kPackage; }

// The object of `level` holding core `c` (a whole node is object 0; a core
// is its own object).
int32_t object_of(const NodeTopology& t, int32_t c, Level level) {
  switch (level) {
    case Level::kNuma: return t.cores[c].numa;
    case Level::kPackage: return t.cores[c].package;
    case Level::kCore: return c;
    default: return 0;
  }
}

// Free cores, taken in core order; once all are taken (oversubscription,
// allowed unless binding to cores) a new round starts.
class CorePool {
 public:
  explicit CorePool(const NodeTopology& t) : t_(t), used_(t.cores.size(), false) {}

  // `n` cores for one process, preferring object `obj` of `level`: its free
  // cores first, then the free cores that follow in core order.
  std::vector<int32_t> take(int64_t n, int32_t obj, Level level) {
    std::vector<int32_t> got;
    const auto total = static_cast<int32_t>(t_.cores.size());
    for (int pass = 0; pass < 2 && static_cast<int64_t>(got.size()) < n; ++pass) {
      for (int32_t c = 0; c < total && static_cast<int64_t>(got.size()) < n; ++c) {
        if (used_[c] || (pass == 0 && object_of(t_, c, level) != obj)) continue;
        used_[c] = true;
        got.push_back(c);
      }
    }
    while (static_cast<int64_t>(got.size()) < n) {  // every core taken: next round
      std::fill(used_.begin(), used_.end(), false);
      for (int32_t c : got) used_[c] = true;
      if (std::count(used_.begin(), used_.end(), false) == 0) break;  // n > cores
      auto more = take(n - static_cast<int64_t>(got.size()), obj, level);
      got.insert(got.end(), more.begin(), more.end());
    }
    std::sort(got.begin(), got.end());
    return got;
  }

  bool has_free(int32_t obj, Level level, int64_t n) const {
    int64_t free = 0;
    for (size_t c = 0; c < used_.size(); ++c)
      if (!used_[c] && object_of(t_, static_cast<int32_t>(c), level) == obj) ++free;
    return free >= n;
  }

 private:
  const NodeTopology& t_;
  std::vector<bool> used_;
};

// Step 1: mapping. Hands out cores in the --map-by order (fill, N per
// object, or round-robin over the objects with room) and returns the first
// core each process (in rank order) got, or an error for ppr overflow.
Result<std::vector<int32_t>> map_first_cores(const std::string& node, const NodeTopology& t,
                                             const std::vector<ProcessNeeds>& procs,
                                             const MapPolicy& policy, Level map_level) {
  const int32_t objects = object_count(t, map_level);
  if (policy.ppr > 0 && static_cast<int64_t>(procs.size()) > static_cast<int64_t>(policy.ppr) * objects)
    return Error("--map-by ppr:" + std::to_string(policy.ppr) + ":" + level_name(map_level) + " allows " +
                 std::to_string(static_cast<int64_t>(policy.ppr) * objects) + " processes on " + node + " (" +
                 std::to_string(objects) + " " + level_name(map_level) + " objects); found " +
                 std::to_string(procs.size()));
  CorePool pool(t);
  std::vector<int32_t> first(procs.size(), 0);
  int32_t next = 0;
  for (size_t k = 0; k < procs.size(); ++k) {
    int32_t obj = 0;  // fill: the node's cores in order
    if (policy.ppr > 0) {
      obj = static_cast<int32_t>(k / policy.ppr);
    } else if (round_robin(map_level)) {
      obj = next;
      for (int32_t tries = 0; tries < objects; ++tries) {  // the next object with room
        const int32_t o = (next + tries) % objects;
        if (pool.has_free(o, map_level, procs[k].cores)) {
          obj = o;
          break;
        }
      }
      next = (obj + 1) % objects;
    }
    auto cores = pool.take(procs[k].cores, obj, map_level);
    first[k] = cores.empty() ? 0 : cores.front();
  }
  return first;
}

// Step 2: the rank-level object of each process: as many per object as
// mapping put there, handed out contiguously or round-robin (`cycle`).
std::vector<int32_t> rank_objects(const NodeTopology& t, const std::vector<int32_t>& first_cores,
                                  Level rank_level, bool cycle) {
  const int32_t objects = object_count(t, rank_level);
  std::vector<int64_t> count(objects, 0);
  for (int32_t core : first_cores) ++count[object_of(t, core, rank_level)];
  std::vector<int32_t> order;
  order.reserve(first_cores.size());
  if (cycle) {
    for (int32_t o = 0; order.size() < first_cores.size(); o = (o + 1) % objects)
      if (count[o] > 0) {
        --count[o];
        order.push_back(o);
      }
  } else {
    for (int32_t o = 0; o < objects; ++o)
      for (int64_t i = 0; i < count[o]; ++i) order.push_back(o);
  }
  return order;
}

std::vector<int32_t> cpuset_of(const NodeTopology& t, const std::vector<int32_t>& cores, Bind bind) {
  if (bind == Bind::kNone) return {};
  std::set<int32_t> pus;
  for (size_t c = 0; c < t.cores.size(); ++c) {
    const Core& core = t.cores[c];
    bool in = false;
    for (int32_t mine : cores) {
      const Core& m = t.cores[mine];
      in = in || (bind == Bind::kCore && mine == static_cast<int32_t>(c)) ||
           (bind == Bind::kNuma && m.numa == core.numa) ||
           (bind == Bind::kPackage && m.package == core.package);
    }
    if (in) pus.insert(core.pus.begin(), core.pus.end());
  }
  return {pus.begin(), pus.end()};
}

// Step 3b: devices. Free ones whose local cores overlap the process's
// cores most, then the lowest index.
class DevicePool {
 public:
  DevicePool(int64_t count, const std::vector<Device>* known) : free_(count, true), known_(known) {}

  Result<std::vector<int32_t>> take(int64_t n, const std::vector<int32_t>& cores, const char* kind,
                                    const std::string& node) {
    std::vector<std::pair<int64_t, int32_t>> ranked;  // (-overlap, index)
    for (size_t d = 0; d < free_.size(); ++d) {
      if (!free_[d]) continue;
      int64_t overlap = 0;
      if (known_ && d < known_->size())
        for (int32_t c : (*known_)[d].local_cores)
          overlap += std::binary_search(cores.begin(), cores.end(), c) ? 1 : 0;
      ranked.emplace_back(-overlap, static_cast<int32_t>(d));
    }
    if (static_cast<int64_t>(ranked.size()) < n)
      return Error(node + " has " + std::to_string(ranked.size()) + " free " + kind + ", a process needs " +
                   std::to_string(n));
    std::sort(ranked.begin(), ranked.end());
    std::vector<int32_t> got;
    for (int64_t i = 0; i < n; ++i) {
      got.push_back(ranked[i].second);
      free_[ranked[i].second] = false;
    }
    std::sort(got.begin(), got.end());
    return got;
  }

 private:
  std::vector<bool> free_;
  const std::vector<Device>* known_;
};

Status check_policy(const std::string& node, const NodeTopology* t, const MapPolicy& policy,
                    const std::vector<ProcessNeeds>& procs) {
  const bool needs_topology = needs_node_model(policy);
  if (t == nullptr && needs_topology)
    return Error(node + " has no known topology, which --map-by numa|package|ppr, --rank-by numa|package "
                        "and --bind-to core|numa|package need (give it one with --node-topology or a cluster file, or "
                        "bind to none)");
  if (t != nullptr && t->cores.empty() && needs_topology) return Error(node + " has no cores in its topology");
  if (t == nullptr || policy.bind_to != Bind::kCore) return {};
  int64_t wanted = 0;
  for (const auto& p : procs) wanted += std::max<int64_t>(p.cores, 1);
  if (wanted > static_cast<int64_t>(t->cores.size()))
    return Error(node + " has " + std::to_string(t->cores.size()) + " cores" +
                 (t->source.find("CPU set") != std::string::npos ? " in " + t->source : "") + "; its " +
                 std::to_string(procs.size()) + " processes need " + std::to_string(wanted) +
                 " with --bind-to core (use fewer processes per node, or --bind-to none)");
  return {};
}

}  // namespace

std::string level_name(Level level) {
  switch (level) {
    case Level::kSlot: return "slot";
    case Level::kCore: return "core";
    case Level::kNuma: return "numa";
    case Level::kPackage: return "package";
    case Level::kNode: return "node";
  }
  return "slot";
}

int32_t object_count(const NodeTopology& t, Level level) {
  switch (level) {
    case Level::kNuma: return std::max(t.numas, 1);
    case Level::kPackage: return std::max(t.packages, 1);
    case Level::kCore: return static_cast<int32_t>(t.cores.size());
    default: return 1;
  }
}

bool needs_node_model(const MapPolicy& p) {
  return p.bind_to != Bind::kNone || p.ppr > 0 || round_robin(p.map_by) || round_robin(p.rank_by);
}

Result<std::vector<Binding>> bind_node(const std::string& node_name, const NodeTopology* topology,
                                       int64_t gpus_on_node, int64_t tpus_on_node,
                                       const std::vector<ProcessNeeds>& processes,
                                       const MapPolicy& policy) {
  if (auto ok = check_policy(node_name, topology, policy, processes); !ok) return ok.error();
  std::vector<ProcessNeeds> procs = processes;
  for (auto& p : procs) p.cores = std::max<int64_t>(p.cores, 1);
  std::vector<Binding> out(procs.size());
  std::vector<int32_t> rank_obj(procs.size(), 0);
  Level rank_level = Level::kNode;
  if (topology != nullptr && !topology->cores.empty()) {
    const Level map_level = policy.ppr > 0 ? policy.ppr_level : policy.map_by;
    auto mapped = map_first_cores(node_name, *topology, procs, policy, map_level);
    if (!mapped) return mapped.error();
    // Ranking: round-robin over the --rank-by objects, or contiguous over
    // the objects mapping spread over (the whole node when it filled).
    rank_level = round_robin(policy.rank_by)                       ? policy.rank_by
                 : (policy.ppr > 0 || round_robin(map_level)) ? map_level
                                                                   : Level::kNode;
    rank_obj = rank_objects(*topology, *mapped, rank_level, round_robin(policy.rank_by));
    CorePool pool(*topology);
    for (size_t k = 0; k < procs.size(); ++k) {
      out[k].cores = pool.take(procs[k].cores, rank_obj[k], rank_level);
      out[k].pus = cpuset_of(*topology, out[k].cores, policy.bind_to);
    }
  }
  DevicePool gpus(gpus_on_node, topology ? &topology->gpus : nullptr);
  DevicePool tpus(tpus_on_node, topology ? &topology->accelerators : nullptr);
  for (size_t k = 0; k < procs.size(); ++k) {
    if (procs[k].gpus > 0) {
      auto got = gpus.take(procs[k].gpus, out[k].cores, "gpus", node_name);
      if (!got) return got.error();
      out[k].gpus = std::move(*got);
    }
    if (procs[k].tpus > 0) {
      auto got = tpus.take(procs[k].tpus, out[k].cores, "tpus", node_name);
      if (!got) return got.error();
      out[k].tpus = std::move(*got);
    }
  }
  return out;
}

}  // namespace jobset::topology
