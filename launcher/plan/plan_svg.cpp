// The plan as an SVG picture (plan_svg.hpp): the choice between the two
// pictures, and the detailed one. Nodes are grouped by the exclusive label
// key the plan used (islands in order of first appearance, then the nodes
// without that label); each group is a box laid out as a grid of node
// boxes, and the group boxes are packed on shelves into a page of roughly
// 4:3. Inside a node, its processes (rank order) and then its free slots
// fill a grid of cells, all as wide as the longest process label.
// Above kSvgDetailMaxNodes / kSvgDetailMaxProcesses the picture is
// summarised instead (plan_svg_summary.cpp); the parts both share are in
// plan_svg_parts.hpp, the SVG text in svg_writer.hpp.
// Coordinates are integers (the few square roots are IEEE, correctly
// rounded), so the output is the same on every machine.
#include "launcher/plan/plan_svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "launcher/plan/plan_svg_parts.hpp"

namespace jobset::launcher {
namespace svg {
namespace {

// Geometry in px.
constexpr int kCellH = 16, kCellGap = 2, kNodeHeadH = 32, kIslandHeadH = 38;
constexpr size_t kMaxLabelChars = 40;  // longer process names are labelled by rank
constexpr size_t kMaxTitleChars = 48;  // longer titles are cut; the tooltip has them whole
constexpr int64_t kMaxFreeCells = 64;  // free slots drawn per node, at most

// "0,1,3": devices, as CUDA_VISIBLE_DEVICES lists them.
std::string list(const std::vector<int32_t>& v) {
  std::string s;
  for (int32_t x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

// "0-3,8,10-11": cores.
std::string compact(const std::vector<int32_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    s += (s.empty() ? "" : ",") + std::to_string(v[i]) + (j > i ? "-" + std::to_string(v[j]) : "");
    i = j + 1;
  }
  return s;
}

// The processes of node n are procs[first[n]] .. procs[first[n+1]-1], by rank.
struct ByNode {
  std::vector<int32_t> first, procs;
  int64_t count(int32_t n) const { return first[n + 1] - first[n]; }
};

ByNode by_node(const Plan& plan) {
  ByNode b;
  b.first.assign(plan.cluster.nodes.size() + 1, 0);
  for (const auto& s : plan.slots) ++b.first[s.node + 1];
  for (size_t n = 1; n < b.first.size(); ++n) b.first[n] += b.first[n - 1];
  b.procs.resize(plan.slots.size());
  std::vector<int32_t> next(b.first.begin(), b.first.end() - 1);
  for (size_t i = 0; i < plan.slots.size(); ++i)
    b.procs[next[plan.slots[i].node]++] = static_cast<int32_t>(i);
  return b;
}

std::string resources(const topology::Node& n) {
  std::string s = plural(n.slots, "slot", "slots");
  if (n.gpus > 0) s += " \u00B7 " + plural(n.gpus, "gpu", "gpus");
  if (n.tpus > 0) s += " \u00B7 " + plural(n.tpus, "tpu", "tpus");
  return s;
}

// A process cell's label: its name, or its rank when the name is too long.
std::string cell_label(const Process& p) {
  return chars(p.name) <= kMaxLabelChars ? p.name : "#" + std::to_string(p.global_rank);
}

struct Box {
  const Group* group = nullptr;
  int x = 0, y = 0, w = 0, h = 0;
  int cell_w = 0;                    // a process cell
  int64_t cells = 0, cell_cols = 0;  // per node
  int node_w = 0, node_h = 0;
  int64_t cols = 0;  // nodes per row
};

// Cells all fit the longest label (so that like nodes look alike across
// islands); a node's cells make a square, and the nodes of a group a grid
// of about 4:3 whose rows are as full as they can be.
int cell_width(const Plan& plan) {
  size_t label = 2;
  for (const auto& p : plan.expansion.processes) label = std::max(label, chars(cell_label(p)));
  return text_w(label, 10) + 6;
}

Box measure(const Group& g, const Plan& plan, const ByNode& bn, int cell_w) {
  Box b;
  b.group = &g;
  b.cells = 1;
  b.cell_w = cell_w;
  int head = 0;
  for (int32_t n : g.nodes) {
    const auto& node = plan.cluster.nodes[n];
    b.cells = std::max({b.cells, bn.count(n), std::min(node.slots, kMaxFreeCells)});
    head = std::max({head, text_w(chars(cut(node.name, kMaxTitleChars)), 11),
                     text_w(chars(resources(node)), 10)});
  }
  b.cell_cols = std::clamp<int64_t>(
      std::llround(std::sqrt(double(b.cells) * (kCellH + kCellGap) / (b.cell_w + kCellGap))), 1,
      b.cells);
  const int64_t cell_rows = (b.cells + b.cell_cols - 1) / b.cell_cols;
  b.node_w =
      std::max(static_cast<int>(b.cell_cols) * (b.cell_w + kCellGap) - kCellGap + 12, head + 12);
  b.node_h = kNodeHeadH + static_cast<int>(cell_rows) * (kCellH + kCellGap) - kCellGap + 6;
  const int64_t n = std::max<int64_t>(static_cast<int64_t>(g.nodes.size()), 1);
  b.cols = std::clamp<int64_t>(
      static_cast<int64_t>(std::ceil(std::sqrt(double(n) * b.node_h * 4 / (3.0 * b.node_w)))), 1,
      n);
  const int64_t rows = (n + b.cols - 1) / b.cols;
  b.cols = (n + rows - 1) / rows;
  const std::string sub = g.note + (g.note.empty() ? "" : " \u00B7 ") + plural(n, "node", "nodes");
  b.w = std::max({static_cast<int>(b.cols) * (b.node_w + kGap) - kGap + 2 * kPad,
                  text_w(chars(cut(g.title, kMaxTitleChars)), 12) + 2 * kPad,
                  text_w(chars(sub), 10) + 2 * kPad});
  b.h = kIslandHeadH + static_cast<int>(rows) * (b.node_h + kGap) - kGap + kPad;
  return b;
}

// Shelves, left to right then down, in a width giving about 4:3.
// Returns the width and height used.
std::pair<int, int> shelve(std::vector<Box>& boxes) {
  double area = 0;
  int widest = 0;
  for (const auto& b : boxes) {
    area += double(b.w + kGap) * (b.h + kGap);
    widest = std::max(widest, b.w);
  }
  const int width = std::max(widest, static_cast<int>(std::sqrt(area * 4 / 3)));
  int x = 0, y = 0, shelf = 0, used = 0;
  for (auto& b : boxes) {
    if (x > 0 && x + b.w > width) {
      y += shelf + kGap;
      x = shelf = 0;
    }
    b.x = x;
    b.y = y;
    x += b.w + kGap;
    shelf = std::max(shelf, b.h);
    used = std::max(used, b.x + b.w);
  }
  return {used, y + shelf};
}

void emit_process(std::string& out, const JobSet& js, const Plan& plan, int32_t i, int x, int y,
                  int w) {
  const auto& p = plan.expansion.processes[i];
  const auto& rj = js.replicated_jobs[p.rjob];
  std::string tip = p.name + "\nrank " + std::to_string(p.global_rank) + " \u00B7 " + rj.name +
                    " job " + std::to_string(p.job_index) + " pod " + std::to_string(p.pod_index) +
                    "\nnode " + plan.cluster.nodes[plan.slots[i].node].name + " slot " +
                    std::to_string(plan.slots[i].slot);
  static const topology::Binding kUnbound;
  const auto& b = static_cast<size_t>(i) < plan.bindings.size() ? plan.bindings[i] : kUnbound;
  if (!b.cores.empty()) tip += "\ncores " + compact(b.cores);
  if (!b.gpus.empty())
    tip += "\ngpus " + list(b.gpus);
  else if (rj.tmpl.resources.gpus > 0)
    tip += "\n" + plural(rj.tmpl.resources.gpus, "gpu", "gpus");
  if (!b.tpus.empty())
    tip += "\ntpus " + list(b.tpus);
  else if (rj.tmpl.resources.tpus > 0)
    tip += "\n" + plural(rj.tmpl.resources.tpus, "tpu", "tpus");
  out += "<g class=\"proc\">";
  title(out, tip);
  emit(out, "<rect x=\"", x, "\" y=\"", y, "\" width=\"", w, "\" height=\"", kCellH,
       "\" rx=\"2\" fill=\"", swatch(p.rjob).fill, "\"/>");
  text(out, x + 3, y + 12, nullptr, cell_label(p), swatch(p.rjob).ink);
  out += "</g>\n";
}

void emit_node(std::string& out, const JobSet& js, const Plan& plan, const ByNode& bn, const Box& b,
               int32_t n, int x, int y) {
  const auto& node = plan.cluster.nodes[n];
  std::string tip = node.name + "\n" + resources(node);
  for (const auto& [k, v] : node.labels) tip.append("\n").append(k).append("=").append(v);
  out += "<g class=\"node\">";
  title(out, tip);
  emit(out, "<rect x=\"", x, "\" y=\"", y, "\" width=\"", b.node_w, "\" height=\"", b.node_h,
       "\" rx=\"3\" fill=\"#F2F2F2\" stroke=\"#999999\"/>");
  text(out, x + 6, y + 13, "n", cut(node.name, kMaxTitleChars));
  text(out, x + 6, y + 26, "s", resources(node));
  out += '\n';
  const int64_t procs = bn.count(n), drawn = std::max(procs, std::min(node.slots, b.cells));
  for (int64_t c = 0; c < drawn; ++c) {
    const int cx = x + 6 + static_cast<int>(c % b.cell_cols) * (b.cell_w + kCellGap);
    const int cy = y + kNodeHeadH + static_cast<int>(c / b.cell_cols) * (kCellH + kCellGap);
    if (c < procs) {
      emit_process(out, js, plan, bn.procs[bn.first[n] + c], cx, cy, b.cell_w);
    } else {
      emit(out, "<rect class=\"free\" x=\"", cx, "\" y=\"", cy, "\" width=\"", b.cell_w,
           "\" height=\"", kCellH,
           "\" rx=\"2\" fill=\"none\" stroke=\"#BBBBBB\" stroke-dasharray=\"3,2\"/>\n");
    }
  }
  out += "</g>\n";
}

void emit_island(std::string& out, const JobSet& js, const Plan& plan, const ByNode& bn,
                 const Box& b) {
  const Group& g = *b.group;
  const std::string sub =
      g.note + (g.note.empty() ? "" : " \u00B7 ") + plural(g.nodes.size(), "node", "nodes");
  out += "<g class=\"island\">";
  title(out, g.title + "\n" + sub);
  emit(out, "<rect x=\"", b.x, "\" y=\"", b.y, "\" width=\"", b.w, "\" height=\"", b.h,
       "\" rx=\"6\" fill=\"#FFFFFF\" stroke=\"#555555\" stroke-width=\"1.5\"/>");
  text(out, b.x + kPad, b.y + 16, "t", cut(g.title, kMaxTitleChars));
  text(out, b.x + kPad, b.y + 30, "s", sub);
  out += '\n';
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const int x = b.x + kPad + static_cast<int>(k % b.cols) * (b.node_w + kGap);
    const int y = b.y + kIslandHeadH + static_cast<int>(k / b.cols) * (b.node_h + kGap);
    emit_node(out, js, plan, bn, b, g.nodes[k], x, y);
  }
  out += "</g>\n";
}

std::string detailed_svg(const JobSet& js, const Plan& plan) {
  const auto groups = node_groups(js, plan);
  const ByNode bn = by_node(plan);
  std::vector<Box> boxes;
  const int cell_w = cell_width(plan);
  boxes.reserve(groups.size());
  for (const auto& g : groups) boxes.push_back(measure(g, plan, bn, cell_w));
  const auto [body_w, body_h] = shelve(boxes);
  const std::string& key = island_key(js);
  const std::string headline = "JobSet " + js.name + ": " +
                               plural(plan.expansion.processes.size(), "process", "processes") +
                               " on " + plural(plan.cluster.nodes.size(), "node", "nodes");
  const std::string subline =
      (key.empty() ? std::string("no exclusive islands") : "islands: " + key) +
      " \u00B7 hover a process for its rank, node, cores and gpus";
  const Page p = page(js, plan, headline, subline, body_w, body_h);
  std::string out;
  out.reserve(4096 + plan.expansion.processes.size() * 320 + plan.cluster.nodes.size() * 400);
  open_document(out, js, plan, p, headline, subline);
  for (const auto& b : boxes) emit_island(out, js, plan, bn, b);
  close_document(out);
  return out;
}

}  // namespace
}  // namespace svg

std::string plan_to_svg(const JobSet& js, const Plan& plan) {
  if (plan.cluster.nodes.size() > kSvgDetailMaxNodes ||
      plan.expansion.processes.size() > kSvgDetailMaxProcesses)
    return svg::summary_svg(js, plan);
  return svg::detailed_svg(js, plan);
}

}  // namespace jobset::launcher
