// Placement with labels, resources and exclusive islands: see placement.hpp.
// The greedy pass keeps one NodeState per node (what is left, the next slot
// index, who owns it) and cursors: what is left on a node only shrinks and
// reservations only grow, so a node (or island) that cannot take a job of
// some shape now never can, and the next job of that shape starts where the
// last one stopped. That keeps 80,000 processes on 10,000 nodes linear.
// When it fails, the search (placement_search.hpp) looks for another
// arrangement and this file's Placer lays it out the same way.
#include "topology/placement.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <unordered_map>

#include "topology/placement_search.hpp"

namespace jobset::topology {
namespace {

using detail::Arrangement;
using detail::Capacity;
using detail::fresh;
using detail::Islands;
using detail::room;

constexpr int32_t kUnowned = -1, kShared = -2;

// By node: the nodes a shape of shared job may still have room on.
struct Ring {
  std::vector<int32_t> nodes;  // ascending
  size_t skipped = 0;          // full nodes passed since the last clean-up
};

struct NodeState {
  Capacity left;
  int32_t next_slot = 0;
  int32_t owner = kUnowned;  // a job index when taken exclusively
};

std::string shape_key(const JobRequest& j, bool with_count) {
  const Demand& d = j.demand;
  std::string k = j.exclusive_key;
  for (int64_t v : {d.slots, d.gpus, d.tpus, d.cpus, d.memory}) k += ',' + std::to_string(v);
  if (with_count) k += ',' + std::to_string(j.processes);
  for (const auto& [key, value] : j.node_selector)
    k.append("\n").append(key).append("=").append(value);
  return k;
}

// "16 GiB", "1.5 GiB", "512 bytes".
std::string bytes_text(int64_t bytes) {
  static const char* const kUnits[] = {"TiB", "GiB", "MiB", "KiB"};
  for (int u = 0; u < 4; ++u) {
    const int64_t size = int64_t{1} << (40 - 10 * u);
    if (bytes < size) continue;
    if (bytes % size == 0) return std::to_string(bytes / size) + " " + kUnits[u];
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.1f %s",
                  static_cast<double>(bytes) / static_cast<double>(size), kUnits[u]);
    return buf;
  }
  return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}

// "a", "a and b", "a, b and c".
std::string join_and(const std::vector<std::string>& items) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i)
    s += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
  return s;
}

std::string demand_text(const JobRequest& j, int64_t processes, bool with_selector) {
  std::string s = std::to_string(processes * j.demand.slots) + " free slot" +
                  (processes * j.demand.slots == 1 ? "" : "s");
  std::vector<std::string> each;
  if (j.demand.gpus > 0) each.push_back(std::to_string(j.demand.gpus) + " gpus");
  if (j.demand.tpus > 0) each.push_back(std::to_string(j.demand.tpus) + " tpus");
  if (j.demand.cpus > 0) each.push_back(std::to_string(j.demand.cpus) + " cpus");
  if (j.demand.memory > 0) each.push_back(bytes_text(j.demand.memory));
  if (!each.empty()) s += " of " + join_and(each) + " each";
  if (with_selector && !j.node_selector.empty()) {
    s += " on nodes with ";
    bool first = true;
    for (const auto& [key, value] : j.node_selector) {
      s.append(first ? "" : ", ").append(key).append("=").append(value);
      first = false;
    }
  }
  return s;
}

std::string list(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < 8; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > 8) s += ", ...";
  return s;
}

class Placer {
 public:
  Placer(const Cluster& c, const std::vector<JobRequest>& jobs, const PlaceOptions& options)
      : cluster_(c), jobs_(jobs), by_node_(options.by_node) {
    state_.reserve(c.nodes.size());
    for (const auto& n : c.nodes) state_.push_back(NodeState{fresh(n)});
    first_.resize(jobs.size() + 1);
    for (size_t j = 0; j < jobs.size(); ++j) first_[j + 1] = first_[j] + jobs[j].processes;
    out_.slots.resize(first_.back());
    out_.island.assign(first_.back(), -1);
  }

  // The greedy pass.
  Result<Placement> run() {
    for (size_t j = 0; j < jobs_.size(); ++j) {
      if (jobs_[j].exclusive_key.empty()) continue;
      if (auto s = place_exclusive(j); !s) return s.error();
    }
    for (size_t j = 0; j < jobs_.size(); ++j) {
      if (!jobs_[j].exclusive_key.empty()) continue;
      auto s = by_node_ ? place_shared_by_node(j) : place_shared(j);
      if (!s) return s.error();
    }
    return std::move(out_);
  }

  // Lays out what the search chose. REQUIRES: `a` fits (search_placement
  // found it for these jobs), on a fresh Placer.
  Placement apply(const Arrangement& a) {
    for (size_t j = 0; j < jobs_.size(); ++j)
      if (!jobs_[j].exclusive_key.empty()) occupy(j, islands(jobs_[j].exclusive_key), a.island[j]);
    for (size_t j = 0; j < jobs_.size(); ++j) {
      if (!jobs_[j].exclusive_key.empty()) continue;
      auto counts = a.counts[j];
      for (int64_t p = first_[j]; p < first_[j + 1];) {
        size_t keep = 0;  // by node: one per node and pass; else all of a node at once
        for (auto& [node, k] : counts) {
          for (int64_t i = by_node_ ? std::min<int64_t>(k, 1) : k; i > 0; --i, --k)
            put(j, p++, node, -1);
          if (k > 0) counts[keep++] = {node, k};
        }
        counts.resize(keep);
      }
    }
    return std::move(out_);
  }

 private:
  bool usable(size_t n, const JobRequest& j) const {
    return state_[n].owner < 0 && matches(cluster_.nodes[n], j.node_selector);
  }

  // Process p of job j goes on `node`, in island `island` (or -1).
  void put(size_t j, int64_t p, int32_t node, int32_t island) {
    NodeState& s = state_[node];
    out_.slots[p] = Slot{node, s.next_slot};
    out_.island[p] = island;
    s.next_slot += static_cast<int32_t>(jobs_[j].demand.slots);
    detail::take(s.left, jobs_[j].demand, 1);
    if (s.owner == kUnowned) s.owner = kShared;
  }

  Status place_shared(size_t j) {
    const JobRequest& job = jobs_[j];
    size_t& cursor = cursors_[shape_key(job, false)];
    for (int64_t p = first_[j]; p < first_[j + 1]; ++p) {
      while (cursor < state_.size() &&
             !(usable(cursor, job) && room(state_[cursor].left, job.demand) > 0))
        ++cursor;
      if (cursor == state_.size()) return explain_shared(j, p - first_[j]);
      put(j, p, static_cast<int32_t>(cursor), -1);
    }
    return {};
  }

  // Places job j's processes from p on, one per node of `ring` and pass,
  // dropping a node when it is full. Returns the first process not placed.
  int64_t round_robin(std::vector<int32_t> ring, size_t j, int64_t p, int32_t island) {
    while (p < first_[j + 1] && !ring.empty()) {
      size_t keep = 0;
      for (size_t i = 0; i < ring.size() && p < first_[j + 1]; ++i) {
        put(j, p++, ring[i], island);
        if (room(state_[ring[i]].left, jobs_[j].demand) > 0) ring[keep++] = ring[i];
      }
      ring.resize(keep);
    }
    return p;
  }

  // By node, the cycle goes on across jobs: a job starts on the first
  // usable node after the last node the previous shared job used. Jobs of
  // one shape share a ring of the nodes that had room for it; full nodes
  // are skipped, and dropped once the skips add up to the ring's size, so
  // the cost stays linear.
  Status place_shared_by_node(size_t j) {
    const JobRequest& job = jobs_[j];
    auto [it, added] = rings_.try_emplace(shape_key(job, false));
    Ring& ring = it->second;
    if (added)
      for (size_t n = 0; n < state_.size(); ++n)
        if (usable(n, job) && room(state_[n].left, job.demand) > 0)
          ring.nodes.push_back(static_cast<int32_t>(n));
    auto i = static_cast<size_t>(
        std::upper_bound(ring.nodes.begin(), ring.nodes.end(), last_shared_) - ring.nodes.begin());
    size_t idle = 0;  // nodes passed since the last process placed
    for (int64_t p = first_[j]; p < first_[j + 1];) {
      if (idle == ring.nodes.size()) return explain_shared(j, p - first_[j]);
      if (i == ring.nodes.size()) i = 0;
      const int32_t n = ring.nodes[i++];
      if (room(state_[n].left, job.demand) == 0) {
        ++idle;
        ++ring.skipped;
        continue;
      }
      put(j, p++, n, -1);
      idle = 0;
      last_shared_ = n;
    }
    if (ring.skipped > ring.nodes.size()) {
      std::erase_if(ring.nodes, [&](int32_t n) { return room(state_[n].left, job.demand) == 0; });
      ring.skipped = 0;
    }
    return {};
  }

  // Room for one job of `job`'s shape in island `nodes`, as if all were free.
  int64_t island_room(const std::vector<int32_t>& nodes, const JobRequest& job) const {
    int64_t r = 0;
    for (int32_t n : nodes)
      if (matches(cluster_.nodes[n], job.node_selector))
        r += room(fresh(cluster_.nodes[n]), job.demand);
    return r;
  }

  bool island_free(const std::vector<int32_t>& nodes) const {
    for (int32_t n : nodes)
      if (state_[n].owner != kUnowned) return false;
    return true;
  }

  const Islands& islands(const std::string& key) {
    auto it = islands_.find(key);
    if (it == islands_.end()) it = islands_.emplace(key, detail::islands_of(cluster_, key)).first;
    return it->second;
  }

  Status place_exclusive(size_t j) {
    const JobRequest& job = jobs_[j];
    const Islands& is = islands(job.exclusive_key);
    size_t& cursor = cursors_[shape_key(job, true)];
    while (cursor < is.nodes.size() &&
           !(island_free(is.nodes[cursor]) && island_room(is.nodes[cursor], job) >= job.processes))
      ++cursor;
    if (cursor == is.nodes.size()) return explain_exclusive(j, is);
    occupy(j, is, cursor++);
    return {};
  }

  // Job j holds island `i` of `is` and places all its processes there.
  void occupy(size_t j, const Islands& is, size_t i) {
    const JobRequest& job = jobs_[j];
    const int32_t value = static_cast<int32_t>(out_.island_values.size());
    out_.island_values.push_back(is.values[i]);
    std::vector<int32_t> ring;
    int64_t p = first_[j];
    for (int32_t n : is.nodes[i]) {
      state_[n].owner = static_cast<int32_t>(j);
      if (!matches(cluster_.nodes[n], job.node_selector)) continue;
      if (by_node_) {
        if (room(state_[n].left, job.demand) > 0) ring.push_back(n);
        continue;
      }
      for (int64_t k = room(state_[n].left, job.demand); k > 0 && p < first_[j + 1]; --k)
        put(j, p++, n, value);
    }
    if (by_node_) round_robin(std::move(ring), j, p, value);
  }

  Error explain_exclusive(size_t j, const Islands& is) const {
    const JobRequest& job = jobs_[j];
    int64_t wanted = 0, ours = 0;
    for (size_t k = 0; k < jobs_.size(); ++k) {
      if (jobs_[k].rjob != job.rjob || jobs_[k].exclusive_key != job.exclusive_key) continue;
      ++wanted;
      if (k < j) ++ours;
    }
    std::vector<std::string> found;
    int64_t free_now = 0;
    for (size_t i = 0; i < is.nodes.size(); ++i) {
      if (island_room(is.nodes[i], job) < job.processes) continue;
      found.push_back(is.values[i]);
      if (island_free(is.nodes[i])) ++free_now;
    }
    std::string msg = job.rjob + " needs " + std::to_string(wanted) + " island" +
                      (wanted == 1 ? "" : "s") + " of " + job.exclusive_key + " with " +
                      demand_text(job, job.processes, false) + "; found " +
                      std::to_string(found.size());
    if (!found.empty()) msg += ": " + list(found);
    // With none found the selector may be why: say what a node must have.
    if (found.empty() && !job.node_selector.empty())
      msg += " (" + demand_text(job, job.processes, true) + ")";
    if (static_cast<int64_t>(found.size()) >= wanted)
      msg += ", but only " + std::to_string(ours + free_now) + " free of other jobs";
    return Error(msg);
  }

  Error explain_shared(size_t j, int64_t own_placed) const {
    const JobRequest& job = jobs_[j];
    int64_t wanted = 0, placed = own_placed;
    for (size_t k = 0; k < jobs_.size(); ++k) {
      if (jobs_[k].rjob != job.rjob || !jobs_[k].exclusive_key.empty()) continue;
      wanted += jobs_[k].processes;
      if (k < j) placed += jobs_[k].processes;
    }
    std::vector<std::string> names;
    int64_t total = 0;
    bool reserved = false;
    for (size_t n = 0; n < state_.size(); ++n) {
      if (!matches(cluster_.nodes[n], job.node_selector)) continue;
      names.push_back(cluster_.nodes[n].name);
      if (state_[n].owner >= 0) {
        reserved = true;
        continue;
      }
      total += room(state_[n].left, job.demand);
    }
    std::string msg = job.rjob + " needs " + demand_text(job, wanted, true) + "; found " +
                      std::to_string(names.size()) + " matching node" +
                      (names.size() == 1 ? "" : "s");
    if (!names.empty()) msg += " (" + list(names) + ")";
    msg += " with room for " + std::to_string(placed + total);
    if (reserved) msg += " outside the islands other jobs hold exclusively";
    return Error(msg);
  }

  const Cluster& cluster_;
  const std::vector<JobRequest>& jobs_;
  const bool by_node_;
  std::vector<NodeState> state_;
  std::vector<int64_t> first_{0};
  Placement out_;
  int32_t last_shared_ = -1;  // by node: the node of the last shared process
  std::unordered_map<std::string, size_t> cursors_;
  std::unordered_map<std::string, Ring> rings_;  // by node, per shared shape
  std::unordered_map<std::string, Islands> islands_;
};

}  // namespace

namespace detail {

Islands islands_of(const Cluster& cluster, const std::string& key) {
  Islands is;
  std::unordered_map<std::string, size_t> index;
  for (size_t n = 0; n < cluster.nodes.size(); ++n) {
    auto it = cluster.nodes[n].labels.find(key);
    if (it == cluster.nodes[n].labels.end()) continue;
    auto [pos, added] = index.emplace(it->second, is.values.size());
    if (added) {
      is.values.push_back(it->second);
      is.nodes.emplace_back();
    }
    is.nodes[pos->second].push_back(static_cast<int32_t>(n));
  }
  return is;
}

}  // namespace detail

bool matches(const Node& node, const std::map<std::string, std::string>& selector) {
  for (const auto& [key, value] : selector) {
    auto it = node.labels.find(key);
    if (it == node.labels.end() || it->second != value) return false;
  }
  return true;
}

Result<Placement> place(const Cluster& cluster, const std::vector<JobRequest>& jobs,
                        const PlaceOptions& options) {
  if (cluster.nodes.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return Error("needs at most 2^31-1 nodes, found " + std::to_string(cluster.nodes.size()));
  for (const auto& j : jobs) {
    const Demand& d = j.demand;
    if (j.processes < 0 || d.slots < 1 || d.gpus < 0 || d.tpus < 0 || d.cpus < 0 || d.memory < 0)
      return Error(j.rjob + " needs at least 1 slot and no negative resources per process");
  }
  auto greedy = Placer(cluster, jobs, options).run();
  if (greedy || options.search_steps <= 0) return greedy;
  auto found = detail::search_placement(cluster, jobs, options.search_steps);
  switch (found.end) {
    case detail::SearchEnd::kFound:
      return Placer(cluster, jobs, options).apply(found.arrangement);
    case detail::SearchEnd::kOutOfSteps:
      return Error(greedy.error().message() + " (searched " + std::to_string(found.steps) +
                   " steps for another arrangement without finding one)");
    case detail::SearchEnd::kNoFit:
      break;
  }
  return greedy;
}

}  // namespace jobset::topology
