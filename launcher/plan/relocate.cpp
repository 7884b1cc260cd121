// Moving processes off lost nodes (relocate.hpp).
#include "launcher/plan/relocate.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace jobset::launcher {
namespace {

using JobId = std::pair<int32_t, int32_t>;  // (replicated job, job index)

// What the processes already on a node take from it.
struct Use {
  topology::Demand taken{0, 0, 0, 0, 0};
  int32_t next_slot = 0;
  std::set<JobId> jobs;
};

bool fits(const topology::Node& n, const Use& u, const topology::Demand& d) {
  const topology::Demand& t = u.taken;
  return t.slots + d.slots <= n.slots && t.gpus + d.gpus <= n.gpus && t.tpus + d.tpus <= n.tpus &&
         (n.cpus <= 0 || t.cpus + d.cpus <= n.cpus) && (n.memory <= 0 || t.memory + d.memory <= n.memory);
}

void take(Use& u, const topology::Demand& d, int32_t slot, JobId job) {
  u.taken.slots += d.slots;
  u.taken.gpus += d.gpus;
  u.taken.tpus += d.tpus;
  u.taken.cpus += d.cpus;
  u.taken.memory += d.memory;
  u.next_slot = std::max<int32_t>(u.next_slot, slot + static_cast<int32_t>(d.slots));
  u.jobs.insert(job);
}

std::string demand_text(const topology::Demand& d) {
  std::string s = std::to_string(d.slots) + (d.slots == 1 ? " slot" : " slots");
  if (d.gpus) s += ", " + std::to_string(d.gpus) + " gpus";
  if (d.tpus) s += ", " + std::to_string(d.tpus) + " tpus";
  if (d.cpus) s += ", " + std::to_string(d.cpus) + " cpus";
  if (d.memory) s += ", " + std::to_string(d.memory) + " bytes of memory";
  return s;
}

// The smallest `count` indexes below `total` not in `used`; fewer when
// not enough are free.
std::vector<int32_t> free_indexes(int64_t total, const std::set<int32_t>& used, int64_t count) {
  std::vector<int32_t> out;
  for (int32_t i = 0; i < total && static_cast<int64_t>(out.size()) < count; ++i)
    if (!used.count(i)) out.push_back(i);
  return out;
}

// A binding for a process moved onto `node`, beside the bindings the
// node's other processes hold: devices and cores nobody there uses, bound
// as the policy says. Cores stay unbound when too few are free.
topology::Binding bind_moved(const Plan& plan, int32_t node, const std::vector<int32_t>& others,
                             const topology::ProcessNeeds& needs) {
  std::set<int32_t> gpus, tpus, cores;
  for (int32_t r : others) {
    const topology::Binding& b = plan.bindings[r];
    gpus.insert(b.gpus.begin(), b.gpus.end());
    tpus.insert(b.tpus.begin(), b.tpus.end());
    cores.insert(b.cores.begin(), b.cores.end());
  }
  const topology::Node& n = plan.cluster.nodes[node];
  topology::Binding b;
  b.gpus = free_indexes(n.gpus, gpus, needs.gpus);
  b.tpus = free_indexes(n.tpus, tpus, needs.tpus);
  if (n.topology < 0) return b;
  const topology::NodeTopology& model = plan.cluster.topologies[n.topology];
  std::vector<int32_t> mine = free_indexes(static_cast<int64_t>(model.cores.size()), cores, needs.cores);
  if (static_cast<int64_t>(mine.size()) < needs.cores) return b;
  b.cores = mine;
  using Bind = topology::MapPolicy::Bind;
  const Bind how = plan.policy.bind_to;
  if (how == Bind::kNone) return b;
  for (size_t c = 0; c < model.cores.size(); ++c) {
    const topology::Core& core = model.cores[c];
    bool in = std::any_of(mine.begin(), mine.end(), [&](int32_t m) {
      const topology::Core& own = model.cores[m];
      return how == Bind::kCore      ? static_cast<int32_t>(c) == m
             : how == Bind::kNuma    ? core.numa == own.numa
                                     : core.package == own.package;
    });
    if (in) b.pus.insert(b.pus.end(), core.pus.begin(), core.pus.end());
  }
  std::sort(b.pus.begin(), b.pus.end());
  return b;
}

class Relocation {
 public:
  Relocation(const JobSet& js, const Plan& plan, const std::vector<bool>& lost,
             const std::vector<int32_t>& ranks)
      : js_(js), plan_(plan), lost_(lost), use_(plan.cluster.nodes.size()),
        moving_(plan.slots.size(), false) {
    for (int32_t r : ranks) moving_[r] = true;
    const auto& procs = plan.expansion.processes;
    for (size_t r = 0; r < procs.size(); ++r) {
      if (moving_[r]) continue;
      const topology::Slot& s = plan.slots[r];
      take(use_[s.node], process_demand(js, procs[r].rjob), s.slot, job_of(static_cast<int32_t>(r)));
      if (plan.island[r] >= 0) held_[island_of(static_cast<int32_t>(r))] = job_of(static_cast<int32_t>(r));
    }
  }

  // Places every process of one job that moves (`ranks`, in rank order);
  // the slots go to `out`. False with `why_` set when they do not fit.
  bool place_job(const std::vector<int32_t>& ranks, std::vector<std::pair<int32_t, topology::Slot>>& out) {
    const int32_t first = ranks.front();
    const JobId job = job_of(first);
    const std::string& key = exclusive_key(js_, job.first);
    if (key.empty()) return place_in(ranks, nullptr, out);
    std::vector<std::pair<std::string, std::string>> islands;
    for (const auto& [island, holder] : held_)
      if (holder == job) islands.push_back(island);
    if (islands.empty()) {  // the job's island went with its nodes: any free one
      islands.emplace_back(island_of(first));
      for (size_t n = 0; n < plan_.cluster.nodes.size(); ++n) {
        auto it = plan_.cluster.nodes[n].labels.find(key);
        if (lost_[n] || it == plan_.cluster.nodes[n].labels.end()) continue;
        std::pair<std::string, std::string> island{key, it->second};
        if (std::find(islands.begin(), islands.end(), island) == islands.end()) islands.push_back(island);
      }
    }
    for (const auto& island : islands) {
      if (!island_free_for(island, job)) continue;
      std::vector<Use> saved = use_;
      size_t before = out.size();
      if (place_in(ranks, &island, out)) {
        held_[island] = job;
        for (size_t k = before; k < out.size(); ++k) islands_[out[k].first] = island.second;
        return true;
      }
      use_ = std::move(saved);
      out.resize(before);
    }
    why_ = "no live island of " + key + " has room for the " + std::to_string(ranks.size()) +
           " moving processes of job " + js_.replicated_jobs[job.first].name + "-" + std::to_string(job.second) + " (each " +
           demand_text(process_demand(js_, job.first)) + ")";
    return false;
  }

  const std::string& why() const { return why_; }
  // The island value each moved process of an exclusive job went to.
  const std::map<int32_t, std::string>& islands() const { return islands_; }

 private:
  JobId job_of(int32_t rank) const {
    const Process& p = plan_.expansion.processes[rank];
    return {p.rjob, p.job_index};
  }
  std::pair<std::string, std::string> island_of(int32_t rank) const {
    return {exclusive_key(js_, plan_.expansion.processes[rank].rjob), plan_.island_values[plan_.island[rank]]};
  }
  bool in_island(const topology::Node& n, const std::pair<std::string, std::string>& island) const {
    auto it = n.labels.find(island.first);
    return it != n.labels.end() && it->second == island.second;
  }
  // An island `job` may use: nobody else holds it or has a process there.
  bool island_free_for(const std::pair<std::string, std::string>& island, JobId job) const {
    if (auto it = held_.find(island); it != held_.end() && it->second != job) return false;
    for (size_t n = 0; n < use_.size(); ++n)
      if (in_island(plan_.cluster.nodes[n], island))
        for (const JobId& other : use_[n].jobs)
          if (other != job) return false;
    return true;
  }
  // Whether a node lies in an island some job other than `job` holds.
  bool held_by_other(const topology::Node& n, JobId job) const {
    for (const auto& [island, holder] : held_)
      if (holder != job && in_island(n, island)) return true;
    return false;
  }

  bool place_in(const std::vector<int32_t>& ranks, const std::pair<std::string, std::string>* island,
                std::vector<std::pair<int32_t, topology::Slot>>& out) {
    for (int32_t r : ranks) {
      const Process& p = plan_.expansion.processes[r];
      const JobId job = job_of(r);
      const topology::Demand d = process_demand(js_, p.rjob);
      const auto& selector = js_.replicated_jobs[p.rjob].tmpl.node_selector;
      bool placed = false;
      for (size_t n = 0; n < plan_.cluster.nodes.size() && !placed; ++n) {
        const topology::Node& node = plan_.cluster.nodes[n];
        if (lost_[n] || !topology::matches(node, selector) || held_by_other(node, job)) continue;
        if (island ? !in_island(node, *island) : false) continue;
        if (!fits(node, use_[n], d)) continue;
        topology::Slot s{static_cast<int32_t>(n), use_[n].next_slot};
        take(use_[n], d, s.slot, job);
        out.emplace_back(r, s);
        placed = true;
      }
      if (!placed) {
        why_ = p.name + " (" + js_.replicated_jobs[p.rjob].name + ") needs " + demand_text(d) +
               (selector.empty() ? "" : " on a node matching its node selector") +
               (island ? " in island " + island->first + "=" + island->second : "") +
               ", and no live node has that left";
        return false;
      }
    }
    return true;
  }

  const JobSet& js_;
  const Plan& plan_;
  const std::vector<bool>& lost_;
  std::vector<Use> use_;
  std::vector<bool> moving_;
  std::map<std::pair<std::string, std::string>, JobId> held_;  // exclusive islands in use
  std::map<int32_t, std::string> islands_;
  std::string why_;
};

}  // namespace

Result<std::vector<Move>> relocate(const JobSet& js, Plan& plan, const std::vector<bool>& lost,
                                   const std::vector<int32_t>& ranks) {
  if (ranks.empty()) return std::vector<Move>{};
  // Jobs in order of their first moving rank; exclusive ones first, as
  // the first placement does, so that shared processes do not fill a
  // spare island an exclusive job needs.
  std::vector<int32_t> sorted(ranks);
  std::sort(sorted.begin(), sorted.end());
  std::map<JobId, std::vector<int32_t>> by_job;
  std::vector<JobId> order;
  for (int32_t r : sorted) {
    const Process& p = plan.expansion.processes[r];
    JobId job{p.rjob, p.job_index};
    if (!by_job.count(job)) order.push_back(job);
    by_job[job].push_back(r);
  }
  std::stable_partition(order.begin(), order.end(),
                        [&](const JobId& j) { return !exclusive_key(js, j.first).empty(); });

  Relocation where(js, plan, lost, sorted);
  std::vector<std::pair<int32_t, topology::Slot>> slots;
  for (const JobId& job : order)
    if (!where.place_job(by_job[job], slots)) return Error(where.why());

  std::vector<Move> moves;
  moves.reserve(slots.size());
  for (const auto& [rank, slot] : slots) moves.push_back({rank, plan.slots[rank].node, slot.node});
  for (const auto& [rank, slot] : slots) plan.slots[rank] = slot;
  for (const auto& [rank, value] : where.islands()) {
    auto it = std::find(plan.island_values.begin(), plan.island_values.end(), value);
    if (it == plan.island_values.end()) it = plan.island_values.insert(plan.island_values.end(), value);
    plan.island[rank] = static_cast<int32_t>(it - plan.island_values.begin());
  }
  if (!plan.bindings.empty()) {
    std::set<int32_t> unbound;  // moved, binding not yet chosen on the new node
    for (const auto& [rank, slot] : slots) unbound.insert(rank);
    for (const auto& [rank, slot] : slots) {
      std::vector<int32_t> others;
      for (size_t r = 0; r < plan.slots.size(); ++r)
        if (plan.slots[r].node == slot.node && !unbound.count(static_cast<int32_t>(r)))
          others.push_back(static_cast<int32_t>(r));
      const Resources& res = js.replicated_jobs[plan.expansion.processes[rank].rjob].tmpl.resources;
      topology::ProcessNeeds needs{std::max<int64_t>(process_demand(js, plan.expansion.processes[rank].rjob).cpus, 1),
                                   res.gpus, res.tpus};
      plan.bindings[rank] = bind_moved(plan, slot.node, others, needs);
      unbound.erase(rank);
    }
  }
  return moves;
}

}  // namespace jobset::launcher
