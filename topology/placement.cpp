// Placement with labels, resources and exclusive islands: see placement.hpp.
// State is one Free per node (what is left, the next slot index, who owns
// it). Both passes keep cursors: what is left on a node only shrinks and
// reservations only grow, so a node (or island) that cannot take a job of
// some shape now never can, and the next job of that shape starts where the
// last one stopped. That keeps 80,000 processes on 10,000 nodes linear.
#include "topology/placement.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>

namespace jobset::topology {
namespace {

constexpr int32_t kUnowned = -1, kShared = -2;

struct Free {
  int64_t slots = 0, gpus = 0, tpus = 0;
  int32_t next_slot = 0;
  int32_t owner = kUnowned;  // a job index when taken exclusively
};

Free fresh(const Node& n) {
  return Free{std::clamp<int64_t>(n.slots, 0, std::numeric_limits<int32_t>::max()), n.gpus, n.tpus,
              0, kUnowned};
}

// How many processes of `d` fit in what `f` has left.
int64_t room(const Free& f, const Demand& d) {
  int64_t r = f.slots / d.slots;
  if (d.gpus > 0) r = std::min(r, std::max<int64_t>(f.gpus, 0) / d.gpus);
  if (d.tpus > 0) r = std::min(r, std::max<int64_t>(f.tpus, 0) / d.tpus);
  return std::max<int64_t>(r, 0);
}

void take(Free& f, const Demand& d, Slot& out, int32_t node) {
  out = Slot{node, f.next_slot};
  f.next_slot += static_cast<int32_t>(d.slots);
  f.slots -= d.slots;
  f.gpus -= d.gpus;
  f.tpus -= d.tpus;
}

std::string shape_key(const JobRequest& j, bool with_count) {
  std::string k = j.exclusive_key + '\n' + std::to_string(j.demand.slots) + ',' +
                  std::to_string(j.demand.gpus) + ',' + std::to_string(j.demand.tpus);
  if (with_count) k += ',' + std::to_string(j.processes);
  for (const auto& [key, value] : j.node_selector) k += '\n' + key + '=' + value;
  return k;
}

std::string demand_text(const JobRequest& j, int64_t processes, bool with_selector) {
  std::string s = std::to_string(processes * j.demand.slots) + " free slot" +
                  (processes * j.demand.slots == 1 ? "" : "s");
  std::string acc;
  if (j.demand.gpus > 0) acc = std::to_string(j.demand.gpus) + " gpus";
  if (j.demand.tpus > 0)
    acc += (acc.empty() ? "" : " and ") + std::to_string(j.demand.tpus) + " tpus";
  if (!acc.empty()) s += " of " + acc + " each";
  if (with_selector && !j.node_selector.empty()) {
    s += " on nodes with ";
    bool first = true;
    for (const auto& [key, value] : j.node_selector) {
      s += (first ? "" : ", ") + key + "=" + value;
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

struct Islands {
  std::vector<std::string> values;
  std::vector<std::vector<int32_t>> nodes;
};

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

class Placer {
 public:
  Placer(const Cluster& c, const std::vector<JobRequest>& jobs) : cluster_(c), jobs_(jobs) {
    free_.reserve(c.nodes.size());
    for (const auto& n : c.nodes) free_.push_back(fresh(n));
    first_.resize(jobs.size() + 1);
    for (size_t j = 0; j < jobs.size(); ++j) first_[j + 1] = first_[j] + jobs[j].processes;
    out_.slots.resize(first_.back());
    out_.island.assign(first_.back(), -1);
  }

  Result<Placement> run() {
    for (size_t j = 0; j < jobs_.size(); ++j) {
      if (jobs_[j].exclusive_key.empty()) continue;
      if (auto s = place_exclusive(j); !s) return s.error();
    }
    for (size_t j = 0; j < jobs_.size(); ++j) {
      if (!jobs_[j].exclusive_key.empty()) continue;
      if (auto s = place_shared(j); !s) return s.error();
    }
    return std::move(out_);
  }

 private:
  bool usable(size_t n, const JobRequest& j) const {
    return free_[n].owner < 0 && matches(cluster_.nodes[n], j.node_selector);
  }

  Status place_shared(size_t j) {
    const JobRequest& job = jobs_[j];
    size_t& cursor = cursors_[shape_key(job, false)];
    for (int64_t p = first_[j]; p < first_[j + 1]; ++p) {
      while (cursor < free_.size() && !(usable(cursor, job) && room(free_[cursor], job.demand) > 0))
        ++cursor;
      if (cursor == free_.size()) return explain_shared(j, p - first_[j]);
      take(free_[cursor], job.demand, out_.slots[p], static_cast<int32_t>(cursor));
      free_[cursor].owner = kShared;
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
      if (free_[n].owner != kUnowned) return false;
    return true;
  }

  const Islands& islands(const std::string& key) {
    auto it = islands_.find(key);
    if (it == islands_.end()) it = islands_.emplace(key, islands_of(cluster_, key)).first;
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
    int64_t p = first_[j];
    const int32_t value = static_cast<int32_t>(out_.island_values.size());
    out_.island_values.push_back(is.values[cursor]);
    for (int32_t n : is.nodes[cursor]) {
      free_[n].owner = static_cast<int32_t>(j);
      if (!matches(cluster_.nodes[n], job.node_selector)) continue;
      for (int64_t k = room(free_[n], job.demand); k > 0 && p < first_[j + 1]; --k, ++p) {
        take(free_[n], job.demand, out_.slots[p], n);
        out_.island[p] = value;
      }
    }
    ++cursor;
    return {};
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
    for (size_t n = 0; n < free_.size(); ++n) {
      if (!matches(cluster_.nodes[n], job.node_selector)) continue;
      names.push_back(cluster_.nodes[n].name);
      if (free_[n].owner >= 0) {
        reserved = true;
        continue;
      }
      total += room(free_[n], job.demand);
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
  std::vector<Free> free_;
  std::vector<int64_t> first_{0};
  Placement out_;
  std::unordered_map<std::string, size_t> cursors_;
  std::unordered_map<std::string, Islands> islands_;
};

}  // namespace

bool matches(const Node& node, const std::map<std::string, std::string>& selector) {
  for (const auto& [key, value] : selector) {
    auto it = node.labels.find(key);
    if (it == node.labels.end() || it->second != value) return false;
  }
  return true;
}

Result<Placement> place(const Cluster& cluster, const std::vector<JobRequest>& jobs) {
  if (cluster.nodes.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return Error("needs at most 2^31-1 nodes, found " + std::to_string(cluster.nodes.size()));
  for (const auto& j : jobs) {
    if (j.processes < 0 || j.demand.slots < 1 || j.demand.gpus < 0 || j.demand.tpus < 0)
      return Error(j.rjob + " needs at least 1 slot and no negative resources per process");
  }
  return Placer(cluster, jobs).run();
}

}  // namespace jobset::topology
