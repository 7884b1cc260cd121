// The parts both plan pictures share: see plan_svg_parts.hpp.
#include "launcher/plan/plan_svg_parts.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>

namespace jobset::launcher::svg {
namespace {

constexpr Swatch kPalette[] = {
    {"#E69F00", "#000000"}, {"#56B4E9", "#000000"}, {"#009E73", "#000000"}, {"#F0E442", "#000000"},
    {"#0072B2", "#FFFFFF"}, {"#D55E00", "#000000"}, {"#CC79A7", "#000000"}};

const std::string& exclusive_key(const JobSet& js, const ReplicatedJob& rj) {
  return rj.exclusive_topology.empty() ? js.exclusive_topology : rj.exclusive_topology;
}

std::string legend_entry(const JobSet& js, const Plan& plan, size_t r) {
  return js.replicated_jobs[r].name + ": " +
         plural(plan.expansion.rjobs[r].processes, "process", "processes");
}

}  // namespace

const Swatch& swatch(size_t rjob) { return kPalette[rjob % std::size(kPalette)]; }

const std::string& island_key(const JobSet& js) {
  for (const auto& rj : js.replicated_jobs)
    if (!rj.exclusive_topology.empty()) return rj.exclusive_topology;
  return js.exclusive_topology;
}

std::vector<Group> node_groups(const JobSet& js, const Plan& plan) {
  const std::string& key = island_key(js);
  const auto& nodes = plan.cluster.nodes;
  std::vector<Group> groups;
  Group rest{key.empty() ? "all nodes" : "no " + key + " label", "", {}};
  std::unordered_map<std::string, size_t> index;
  for (size_t n = 0; n < nodes.size(); ++n) {
    auto it = key.empty() ? nodes[n].labels.end() : nodes[n].labels.find(key);
    if (it == nodes[n].labels.end()) {
      rest.nodes.push_back(static_cast<int32_t>(n));
      continue;
    }
    auto [pos, fresh] = index.try_emplace(it->second, groups.size());
    if (fresh) groups.push_back({key + "=" + it->second, "not held", {}, true});
    groups[pos->second].nodes.push_back(static_cast<int32_t>(n));
  }
  std::vector<bool> keyed;
  for (const auto& rj : js.replicated_jobs)
    keyed.push_back(!key.empty() && exclusive_key(js, rj) == key);
  const auto& procs = plan.expansion.processes;
  for (size_t i = 0; i < procs.size() && i < plan.island.size(); ++i) {
    const int32_t v = plan.island[i];
    if (v < 0 || !keyed[procs[i].rjob]) continue;
    auto g = index.find(plan.island_values[v]);
    if (g == index.end() || groups[g->second].note != "not held") continue;
    groups[g->second].note = "held by " + js.replicated_jobs[procs[i].rjob].name + " job " +
                             std::to_string(procs[i].job_index);
  }
  if (!rest.nodes.empty()) groups.push_back(std::move(rest));
  return groups;
}

Page page(const JobSet& js, const Plan& plan, const std::string& headline,
          const std::string& subline, int body_w, int body_h) {
  Page p;
  for (size_t r = 0; r < js.replicated_jobs.size(); ++r)
    p.legend_w = std::max(p.legend_w, text_w(chars(legend_entry(js, plan, r)), 10) + 18);
  const int inner =
      std::max({body_w, text_w(chars(headline), 16), text_w(chars(subline), 10), p.legend_w});
  p.legend_cols = std::max(1, (inner + kGap) / (p.legend_w + kGap));
  const int rows =
      static_cast<int>((js.replicated_jobs.size() + p.legend_cols - 1) / p.legend_cols);
  p.body_y = kMargin + 44 + rows * 18 + 8;
  p.w = inner + 2 * kMargin;
  p.h = p.body_y + body_h + kMargin;
  return p;
}

void open_document(std::string& out, const JobSet& js, const Plan& plan, const Page& p,
                   const std::string& headline, const std::string& subline) {
  emit(out,
       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
       "version=\"1.1\" width=\"",
       p.w, "\" height=\"", p.h, "\" viewBox=\"0 0 ", p.w, " ", p.h, "\">\n");
  out +=
      "<style type=\"text/css\">text{font-family:'DejaVu Sans Mono',monospace;font-size:10px}"
      ".h{font-size:16px;font-weight:bold}.t{font-size:12px;font-weight:bold}"
      ".n{font-size:11px;font-weight:bold}.s{fill:#444444}</style>\n";
  emit(out, "<rect width=\"", p.w, "\" height=\"", p.h, "\" fill=\"#FFFFFF\"/>\n");
  text(out, kMargin, kMargin + 14, "h", headline);
  out += '\n';
  text(out, kMargin, kMargin + 32, "s", subline);
  out += '\n';
  for (size_t r = 0; r < js.replicated_jobs.size(); ++r) {
    const int x = kMargin + static_cast<int>(r % p.legend_cols) * (p.legend_w + kGap);
    const int y = kMargin + 44 + static_cast<int>(r / p.legend_cols) * 18;
    emit(out, "<g class=\"legend\"><rect x=\"", x, "\" y=\"", y,
         "\" width=\"12\" height=\"12\" fill=\"", swatch(r).fill, "\" stroke=\"#555555\"/>");
    text(out, x + 18, y + 10, nullptr, legend_entry(js, plan, r));
    out += "</g>\n";
  }
  emit(out, "<g transform=\"translate(", kMargin, ",", p.body_y, ")\">\n");
}

void close_document(std::string& out) { out += "</g>\n</svg>\n"; }

}  // namespace jobset::launcher::svg
