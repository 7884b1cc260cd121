// The exact placement search: see placement_search.hpp for how it searches.
// State: what each node has left (cap_), which nodes the chosen islands
// hold (held_), the island each exclusive job took (pick_) and, per shared
// group, one Level of decisions. Every loop that can run long spends steps,
// so max_steps bounds the time whatever the input.
#include "topology/placement_search.hpp"

#include <map>
#include <tuple>
#include <unordered_map>

namespace jobset::topology::detail {
namespace {

using Selector = std::map<std::string, std::string>;

// An exclusive job, in search order.
struct Exclusive {
  size_t job = 0;
  const Islands* islands = nullptr;
  const std::vector<int32_t>* candidates = nullptr;  // islands that could hold it, in order
  size_t shape = 0;  // equal: interchangeable jobs (adjacent in search order)
  size_t after = 0;  // jobs of its shape after it
};

// The shared processes of one demand and selector, all alike.
struct Group {
  Demand demand;
  const Selector* selector = nullptr;
  int64_t count = 0;
  std::vector<size_t> jobs;    // in job order
  std::vector<int32_t> nodes;  // matching nodes, in cluster order
};

// One group's decisions: how many of it go on each of its usable nodes.
struct Level {
  std::vector<int32_t> nodes;   // matching and not held
  std::vector<int64_t> suffix;  // room on nodes[i..] when the group starts
  std::vector<int64_t> left;    // processes to place before decision i
  std::vector<int64_t> k;       // decision i
  std::vector<char> alike;      // nodes[i] interchangeable with nodes[i-1]
  size_t end = 0;               // decisions made; the rest take none
};

std::string demand_key(const Demand& d, const Selector& selector) {
  std::string k;
  for (int64_t v : {d.slots, d.gpus, d.tpus, d.cpus, d.memory}) k += std::to_string(v) + ',';
  for (const auto& [key, value] : selector) k.append("\n").append(key).append("=").append(value);
  return k;
}

class Search {
 public:
  Search(const Cluster& c, const std::vector<JobRequest>& jobs, int64_t max_steps)
      : cluster_(c), jobs_(jobs), max_steps_(max_steps), held_(c.nodes.size(), -1) {
    for (const Node& n : c.nodes) cap_.push_back(fresh(n));
  }

  SearchResult run() {
    SearchResult r;
    collect_exclusive();
    collect_groups();
    label_classes();
    if (!out_ && choose_islands()) {
      r.end = SearchEnd::kFound;
      r.arrangement = answer();
    } else {
      r.end = out_ ? SearchEnd::kOutOfSteps : SearchEnd::kNoFit;
    }
    r.steps = std::min(steps_, max_steps_);
    return r;
  }

 private:
  bool spend(int64_t n = 1) {
    steps_ += n;
    if (steps_ > max_steps_) out_ = true;
    return !out_;
  }

  // Room for one job of this demand and selector in each island of `is`.
  std::vector<int64_t> island_rooms(const Islands& is, const JobRequest& job) {
    std::vector<int64_t> rooms;
    for (const auto& nodes : is.nodes) {
      spend(static_cast<int64_t>(nodes.size()));
      int64_t r = 0;
      for (int32_t n : nodes)
        if (matches(cluster_.nodes[n], job.node_selector))
          r += room(fresh(cluster_.nodes[n]), job.demand);
      rooms.push_back(r);
    }
    return rooms;
  }

  // Exclusive jobs by shape; shapes with fewer candidate islands first.
  void collect_exclusive() {
    std::unordered_map<std::string, size_t> shape_of;
    std::unordered_map<std::string, std::vector<int64_t>> rooms;
    std::vector<std::vector<size_t>> members;
    std::vector<const Islands*> shape_islands;
    for (size_t j = 0; j < jobs_.size() && !out_; ++j) {
      const JobRequest& job = jobs_[j];
      if (job.exclusive_key.empty()) continue;
      const std::string fit = job.exclusive_key + '\n' + demand_key(job.demand, job.node_selector);
      auto [it, added] =
          shape_of.emplace(fit + '\n' + std::to_string(job.processes), members.size());
      if (added) {
        auto is = islands_.find(job.exclusive_key);
        if (is == islands_.end())
          is = islands_.emplace(job.exclusive_key, islands_of(cluster_, job.exclusive_key)).first;
        auto r = rooms.find(fit);
        if (r == rooms.end()) r = rooms.emplace(fit, island_rooms(is->second, job)).first;
        spend(static_cast<int64_t>(r->second.size()));
        candidates_.emplace_back();
        for (size_t i = 0; i < r->second.size(); ++i)
          if (r->second[i] >= job.processes) candidates_.back().push_back(static_cast<int32_t>(i));
        members.emplace_back();
        shape_islands.push_back(&is->second);
      }
      members[it->second].push_back(j);
    }
    std::vector<size_t> order(members.size());
    for (size_t s = 0; s < order.size(); ++s) order[s] = s;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return candidates_[a].size() < candidates_[b].size();
    });
    for (size_t s : order)
      for (size_t m = 0; m < members[s].size(); ++m)
        excl_.push_back(Exclusive{members[s][m], shape_islands[s], &candidates_[s], s,
                                  members[s].size() - m - 1});
    pick_.assign(excl_.size(), 0);
  }

  // Shared processes by demand and selector; groups with fewer matching
  // nodes, then bigger demands, first.
  void collect_groups() {
    std::unordered_map<std::string, size_t> index;
    for (size_t j = 0; j < jobs_.size() && !out_; ++j) {
      const JobRequest& job = jobs_[j];
      if (!job.exclusive_key.empty() || job.processes == 0) continue;
      auto [it, added] = index.emplace(demand_key(job.demand, job.node_selector), groups_.size());
      if (added) {
        Group g{job.demand, &job.node_selector, 0, {}, {}};
        spend(static_cast<int64_t>(cluster_.nodes.size()));
        for (size_t n = 0; n < cluster_.nodes.size(); ++n)
          if (matches(cluster_.nodes[n], job.node_selector))
            g.nodes.push_back(static_cast<int32_t>(n));
        groups_.push_back(std::move(g));
      }
      groups_[it->second].count += job.processes;
      groups_[it->second].jobs.push_back(j);
    }
    auto size = [](const Demand& d) {
      return std::tuple(d.gpus, d.tpus, d.slots, d.cpus, d.memory);
    };
    std::stable_sort(groups_.begin(), groups_.end(), [&](const Group& a, const Group& b) {
      if (a.nodes.size() != b.nodes.size()) return a.nodes.size() < b.nodes.size();
      return size(a.demand) > size(b.demand);
    });
    for (size_t g = 0; g < groups_.size(); ++g) avail_.push_back(room_outside_held(g));
    levels_.resize(groups_.size());
  }

  // Nodes alike in the labels some selector reads share a class.
  void label_classes() {
    std::map<std::string, int> keys;
    for (const Group& g : groups_)
      for (const auto& kv : *g.selector) keys.emplace(kv.first, 0);
    std::unordered_map<std::string, int32_t> ids;
    for (const Node& node : cluster_.nodes) {
      std::string seen;
      for (const auto& kv : keys) {
        auto it = node.labels.find(kv.first);
        seen +=
            it == node.labels.end() ? "-" : std::to_string(it->second.size()) + ':' + it->second;
      }
      class_.push_back(ids.emplace(seen, static_cast<int32_t>(ids.size())).first->second);
    }
  }

  int64_t room_outside_held(size_t g) {
    spend(static_cast<int64_t>(groups_[g].nodes.size()));
    int64_t r = 0;
    for (int32_t n : groups_[g].nodes)
      if (held_[n] < 0) r += room(cap_[n], groups_[g].demand);
    return r;
  }

  const std::vector<int32_t>& island_nodes(size_t e) const {
    return excl_[e].islands->nodes[(*excl_[e].candidates)[pick_[e]]];
  }

  // Exclusive job e holds (or lets go of) the island pick_[e] names.
  void hold(size_t e, bool on) {
    for (int32_t n : island_nodes(e)) {
      held_[n] = on ? static_cast<int32_t>(e) : -1;
      for (size_t g = 0; g < groups_.size(); ++g)
        if (matches(cluster_.nodes[n], *groups_[g].selector))
          avail_[g] += (on ? -1 : 1) * room(fresh(cluster_.nodes[n]), groups_[g].demand);
    }
  }

  bool shared_room_left() const {
    for (size_t g = 0; g < groups_.size(); ++g)
      if (avail_[g] < groups_[g].count) return false;
    return true;
  }

  // Exclusive job e takes the first free candidate from position `from`
  // that leaves room for the shared groups.
  bool try_island(size_t e, size_t from) {
    const Exclusive& x = excl_[e];
    for (size_t c = from; c + x.after < x.candidates->size(); ++c) {
      const auto& nodes = x.islands->nodes[(*x.candidates)[c]];
      // Holding costs a look at each node for each group.
      if (!spend(1 + static_cast<int64_t>(nodes.size() * (1 + groups_.size())))) return false;
      if (std::any_of(nodes.begin(), nodes.end(), [&](int32_t n) { return held_[n] >= 0; }))
        continue;
      pick_[e] = c;
      hold(e, true);
      if (shared_room_left()) return true;
      hold(e, false);
    }
    return false;
  }

  size_t first_candidate(size_t e) const {
    return e > 0 && excl_[e].shape == excl_[e - 1].shape ? pick_[e - 1] + 1 : 0;
  }

  bool choose_islands() {
    const size_t count = excl_.size();
    size_t e = 0, from = 0;
    while (true) {
      if (e == count) {
        if (place_groups()) return true;
      } else if (try_island(e, from)) {
        ++e;
        if (e < count) from = first_candidate(e);
        continue;
      }
      if (out_ || e == 0) return false;
      hold(--e, false);
      from = pick_[e] + 1;
    }
  }

  // Starts group g's decisions, or fails when it, or a later group, lacks
  // room in aggregate.
  bool begin_group(size_t g) {
    const Group& group = groups_[g];
    Level& l = levels_[g];
    if (!spend(static_cast<int64_t>(group.nodes.size()))) return false;
    l.nodes.clear();
    for (int32_t n : group.nodes)
      if (held_[n] < 0) l.nodes.push_back(n);
    const size_t m = l.nodes.size();
    l.suffix.assign(m + 1, 0);
    for (size_t i = m; i-- > 0;)
      l.suffix[i] = l.suffix[i + 1] + room(cap_[l.nodes[i]], group.demand);
    if (l.suffix[0] < group.count) return false;
    for (size_t h = g + 1; h < groups_.size(); ++h)
      if (room_outside_held(h) < groups_[h].count) return false;
    l.alike.assign(m, 0);
    for (size_t i = 1; i < m; ++i) {
      const int32_t a = l.nodes[i - 1], b = l.nodes[i];
      l.alike[i] = static_cast<char>(class_[a] == class_[b] && cap_[a] == cap_[b]);
    }
    l.left.assign(m + 1, 0);
    l.left[0] = group.count;
    l.k.assign(m, 0);
    l.end = 0;
    return true;
  }

  // Fewest on decision i that still leaves no more than the nodes after
  // it can take.
  static int64_t lower(const Level& l, size_t i) {
    return std::max<int64_t>(0, l.left[i] - l.suffix[i + 1]);
  }

  int64_t upper(size_t g, size_t i) const {
    const Level& l = levels_[g];
    int64_t hi = std::min(room(cap_[l.nodes[i]], groups_[g].demand), l.left[i]);
    if (l.alike[i]) hi = std::min(hi, l.k[i - 1]);
    return hi;
  }

  void decide(size_t g, size_t i, int64_t k) {
    Level& l = levels_[g];
    take(cap_[l.nodes[i]], groups_[g].demand, k);
    l.k[i] = k;
    l.left[i + 1] = l.left[i] - k;
  }

  // Undoes decisions back to the latest one that can take one fewer, and
  // takes one fewer there; (g, i) becomes the decision after it.
  bool backtrack(size_t& g, size_t& i) {
    while (true) {
      if (i == 0) {
        if (g == 0) return false;
        i = levels_[--g].end;
        continue;
      }
      Level& l = levels_[g];
      const int64_t k = l.k[--i];
      take(cap_[l.nodes[i]], groups_[g].demand, -k);
      if (k > lower(l, i)) {
        if (!spend()) return false;
        decide(g, i++, k - 1);
        return true;
      }
    }
  }

  bool place_groups() {
    if (groups_.empty()) return true;
    if (!begin_group(0)) return false;
    size_t g = 0, i = 0;
    while (true) {
      Level& l = levels_[g];
      if (l.left[i] == 0) {
        l.end = i;
        if (g + 1 == groups_.size()) return true;
        if (begin_group(g + 1)) {
          ++g;
          i = 0;
          continue;
        }
      } else if (const int64_t hi = upper(g, i); hi >= lower(l, i) && spend()) {
        decide(g, i++, hi);
        continue;
      }
      if (out_ || !backtrack(g, i)) return false;
    }
  }

  Arrangement answer() const {
    Arrangement a;
    a.island.assign(jobs_.size(), -1);
    a.counts.resize(jobs_.size());
    for (size_t e = 0; e < excl_.size(); ++e)
      a.island[excl_[e].job] = (*excl_[e].candidates)[pick_[e]];
    for (size_t g = 0; g < groups_.size(); ++g) {
      // The group's processes in node order, to its jobs in job order.
      size_t job = 0;
      int64_t placed = 0;
      for (size_t i = 0; i < levels_[g].end; ++i) {
        for (int64_t k = levels_[g].k[i]; k > 0;) {
          const size_t j = groups_[g].jobs[job];
          const int64_t t = std::min(k, jobs_[j].processes - placed);
          a.counts[j].emplace_back(levels_[g].nodes[i], t);
          k -= t;
          placed += t;
          if (placed == jobs_[j].processes) {
            ++job;
            placed = 0;
          }
        }
      }
    }
    return a;
  }

  const Cluster& cluster_;
  const std::vector<JobRequest>& jobs_;
  const int64_t max_steps_;
  int64_t steps_ = 0;
  bool out_ = false;
  std::vector<Capacity> cap_;
  std::vector<int32_t> held_;  // per node: the exclusive job holding it, or -1
  std::map<std::string, Islands> islands_;
  std::vector<std::vector<int32_t>> candidates_;  // per exclusive shape
  std::vector<Exclusive> excl_;
  std::vector<size_t> pick_;  // per exclusive job: position in its candidates
  std::vector<Group> groups_;
  std::vector<int64_t> avail_;  // per group: room outside held islands, nothing placed
  std::vector<int32_t> class_;  // per node
  std::vector<Level> levels_;
};

}  // namespace

SearchResult search_placement(const Cluster& cluster, const std::vector<JobRequest>& jobs,
                              int64_t max_steps) {
  return Search(cluster, jobs, max_steps).run();
}

}  // namespace jobset::topology::detail
