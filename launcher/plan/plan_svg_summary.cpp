// The summarised picture of a plan, for clusters and jobs past the
// detailed picture's limits (plan_svg.hpp): one box per island of the
// exclusive key, or per run of kSummaryChunkNodes nodes without one, each
// with a stacked bar of its processes per replicated job over its slots.
// Past kSvgMaxSummaryBoxes, consecutive boxes merge, so the size of the
// picture is bounded whatever the cluster. The boxes are laid out as a grid
// of about 4:3, at most 12 wide.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "launcher/plan/plan_svg.hpp"
#include "launcher/plan/plan_svg_parts.hpp"

namespace jobset::launcher::svg {
namespace {

constexpr size_t kSummaryChunkNodes = 64;  // nodes without an island, per summary box
constexpr int kBoxW = 240, kBoxH = 64, kBarH = 14;

// Islands stay whole; other nodes go in runs of kSummaryChunkNodes; past
// kSvgMaxSummaryBoxes, consecutive units merge.
std::vector<Group> summary_units(std::vector<Group> groups, const Plan& plan) {
  const auto& nodes = plan.cluster.nodes;
  std::vector<Group> units;
  for (auto& g : groups) {
    if (g.island || g.nodes.size() <= kSummaryChunkNodes) {
      units.push_back(std::move(g));
      continue;
    }
    for (size_t k = 0; k < g.nodes.size(); k += kSummaryChunkNodes) {
      const size_t end = std::min(g.nodes.size(), k + kSummaryChunkNodes);
      units.push_back(
          {cut(nodes[g.nodes[k]].name, 15) + " \u2026 " + cut(nodes[g.nodes[end - 1]].name, 15),
           g.title, std::vector<int32_t>(g.nodes.data() + k, g.nodes.data() + end), false});
    }
  }
  if (units.size() <= kSvgMaxSummaryBoxes) return units;
  const size_t run = (units.size() + kSvgMaxSummaryBoxes - 1) / kSvgMaxSummaryBoxes;
  std::vector<Group> merged;
  for (size_t k = 0; k < units.size(); k += run) {
    const size_t end = std::min(units.size(), k + run);
    Group m{cut(units[k].title, 15) + " \u2026 " + cut(units[end - 1].title, 15),
            std::to_string(end - k) + " groups merged",
            {},
            false};
    for (size_t u = k; u < end; ++u)
      m.nodes.insert(m.nodes.end(), units[u].nodes.begin(), units[u].nodes.end());
    merged.push_back(std::move(m));
  }
  return merged;
}

struct Tally {
  int64_t slots = 0, procs = 0;
  std::vector<std::pair<int32_t, int64_t>>
      by_rjob;  // (replicated job, processes), by replicated job
};

std::vector<Tally> tally(const std::vector<Group>& units, const Plan& plan) {
  std::vector<Tally> t(units.size());
  std::vector<int32_t> unit_of(plan.cluster.nodes.size(), 0);
  for (size_t u = 0; u < units.size(); ++u)
    for (int32_t n : units[u].nodes) {
      unit_of[n] = static_cast<int32_t>(u);
      const int64_t s = std::max<int64_t>(plan.cluster.nodes[n].slots, 0);
      t[u].slots = s > INT64_MAX - t[u].slots ? INT64_MAX : t[u].slots + s;
    }
  const auto& procs = plan.expansion.processes;
  for (size_t i = 0; i < procs.size(); ++i) {
    Tally& x = t[unit_of[plan.slots[i].node]];
    ++x.procs;
    const int32_t r = procs[i].rjob;
    // Ranks follow replicated jobs, so the last entry is nearly always it.
    auto it = !x.by_rjob.empty() && x.by_rjob.back().first == r
                  ? x.by_rjob.end() - 1
                  : std::find_if(x.by_rjob.begin(), x.by_rjob.end(),
                                 [r](const auto& e) { return e.first == r; });
    if (it == x.by_rjob.end())
      x.by_rjob.emplace_back(r, 1);
    else
      ++it->second;
  }
  for (auto& x : t) std::sort(x.by_rjob.begin(), x.by_rjob.end());
  return t;
}

void add_tenths(std::string& out, int64_t v) {
  out += std::to_string(v / 10) + "." + std::to_string(v % 10);
}

void emit_box(std::string& out, const JobSet& js, const Group& u, const Tally& t, int x, int y) {
  std::string tip = u.title + (u.note.empty() ? "" : "\n" + u.note) + "\n" +
                    plural(u.nodes.size(), "node", "nodes") + ", " +
                    plural(t.slots, "slot", "slots") + ", " +
                    plural(t.procs, "process", "processes");
  for (const auto& [r, c] : t.by_rjob)
    tip += "\n" + js.replicated_jobs[r].name + ": " + std::to_string(c);
  out += "<g class=\"box\">";
  title(out, tip);
  emit(out, "<rect x=\"", x, "\" y=\"", y, "\" width=\"", kBoxW, "\" height=\"", kBoxH,
       "\" rx=\"4\" fill=\"#F2F2F2\" stroke=\"#999999\"/>");
  text(out, x + kPad, y + 16, "n", cut(u.title, 32));
  text(out, x + kPad, y + 31, "s",
       plural(u.nodes.size(), "node", "nodes") + " \u00B7 " +
           plural(t.procs, "process", "processes"));
  // The bar is the box's slots (free ones grey), or its processes if more.
  const int bx = x + kPad, by = y + 40, bw = kBoxW - 2 * kPad;
  emit(out, "<rect x=\"", bx, "\" y=\"", by, "\" width=\"", bw, "\" height=\"", kBarH,
       "\" fill=\"#DDDDDD\"/>");
  const int64_t cap = std::max<int64_t>({t.slots, t.procs, 1});
  int64_t done = 0;
  for (const auto& [r, c] : t.by_rjob) {
    // In tenths of a px, from the running total so that rounding does not drift.
    const auto at = [&](int64_t n) {
      return static_cast<int64_t>(bw * 10.0 * (static_cast<double>(n) / static_cast<double>(cap)));
    };
    const int64_t x0 = at(done), x1 = at(done + c);
    done += c;
    out += "<rect class=\"seg\" x=\"";
    add_tenths(out, int64_t{bx} * 10 + x0);
    emit(out, "\" y=\"", by, "\" width=\"");
    add_tenths(out, x1 - x0);
    emit(out, "\" height=\"", kBarH, "\" fill=\"", swatch(r).fill, "\">");
    title(out, js.replicated_jobs[r].name + ": " + plural(c, "process", "processes"));
    out += "</rect>";
  }
  out += "</g>\n";
}

}  // namespace

std::string summary_svg(const JobSet& js, const Plan& plan) {
  const auto units = summary_units(node_groups(js, plan), plan);
  const auto tallies = tally(units, plan);
  const int64_t n = std::max<int64_t>(static_cast<int64_t>(units.size()), 1);
  const int64_t cols = std::clamp<int64_t>(
      static_cast<int64_t>(std::ceil(std::sqrt(double(n) * kBoxH * 4 / (3.0 * kBoxW)))), 1, 12);
  const int64_t rows = (n + cols - 1) / cols;
  const std::string& key = island_key(js);
  const std::string headline =
      "JobSet " + js.name + ", summarised: " + plural(plan.cluster.nodes.size(), "node", "nodes") +
      ", " + plural(plan.expansion.processes.size(), "process", "processes");
  const std::string subline = (key.empty() ? "" : "one box per island of " + key + ", ") +
                              "nodes without one by " + std::to_string(kSummaryChunkNodes) +
                              " \u00B7 bars: processes per replicated job, grey: free slots";
  const Page p = page(js, plan, headline, subline, static_cast<int>(cols) * (kBoxW + kGap) - kGap,
                      static_cast<int>(rows) * (kBoxH + kGap) - kGap);
  std::string out;
  out.reserve(4096 + units.size() * (700 + 150 * js.replicated_jobs.size()));
  open_document(out, js, plan, p, headline, subline);
  for (size_t u = 0; u < units.size(); ++u)
    emit_box(out, js, units[u], tallies[u], static_cast<int>(u % cols) * (kBoxW + kGap),
             static_cast<int>(u / cols) * (kBoxH + kGap));
  close_document(out);
  return out;
}

}  // namespace jobset::launcher::svg
