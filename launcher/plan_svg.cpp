// The plan as an SVG picture. Nodes are grouped by the exclusive label key
// the plan used (islands in order of first appearance, then the nodes
// without that label); each group is a box laid out as a grid of node
// boxes, and the group boxes are packed on shelves into a page of roughly
// 4:3. Inside a node, its processes (rank order) and then its free slots
// fill a grid of cells, all as wide as the longest process label.
// Above kSvgDetailMaxNodes / kSvgDetailMaxProcesses the picture is
// summarised: one box per island or per run of nodes, with a stacked bar.
// Text is monospace, so widths are estimated as 0.6 em a character.
// Coordinates are integers (the few square roots are IEEE, correctly
// rounded), so the output is the same on every machine. The two pictures
// share their helpers, hence one file longer than most.
#include "launcher/plan_svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace jobset::launcher {
namespace {

// Okabe-Ito without black: distinguishable with the common colour-vision
// deficiencies. `ink` is the text colour readable on `fill`.
struct Swatch {
  const char* fill;
  const char* ink;
};
constexpr Swatch kPalette[] = {
    {"#E69F00", "#000000"}, {"#56B4E9", "#000000"}, {"#009E73", "#000000"}, {"#F0E442", "#000000"},
    {"#0072B2", "#FFFFFF"}, {"#D55E00", "#000000"}, {"#CC79A7", "#000000"}};
const Swatch& swatch(size_t rjob) { return kPalette[rjob % std::size(kPalette)]; }

// Geometry in px.
constexpr int kMargin = 16, kGap = 10, kPad = 8;
constexpr int kCellH = 16, kCellGap = 2, kNodeHeadH = 32, kIslandHeadH = 38;
constexpr size_t kMaxLabelChars = 40;      // longer process names are labelled by rank
constexpr size_t kMaxTitleChars = 48;      // longer titles are cut; the tooltip has them whole
constexpr int64_t kMaxFreeCells = 64;      // free slots drawn per node, at most
constexpr size_t kSummaryChunkNodes = 64;  // nodes without an island, per summary box
constexpr int kBoxW = 240, kBoxH = 64, kBarH = 14;

int text_w(size_t chars, int px) {
  return static_cast<int>(std::min<size_t>(chars, 100000)) * px * 3 / 5 + 2;
}

size_t chars(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// `s` cut to `max` characters, the last being an ellipsis.
std::string cut(const std::string& s, size_t max) {
  if (chars(s) <= max) return s;
  size_t n = 0, i = 0;
  for (; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && n++ == max - 1) break;
  return s.substr(0, i) + "\u2026";
}

// Length of the UTF-8 sequence at s[i] when it encodes a character XML
// allows, else 0.
size_t xml_char_len(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return (c >= 0x20 || c == '\t' || c == '\n') ? 1 : 0;
  const size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
  uint32_t cp = c & (0x3F >> (n - 1));
  for (size_t k = 1; k < n; ++k) {
    const auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  const uint32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
    return 0;
  return n;
}

// Text content: markup characters as entities; bytes that are not an XML
// character in UTF-8 (label values come from files) as U+FFFD.
void put_text(std::string& out, std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = xml_char_len(s, i);
    if (n == 0) {
      out += "\uFFFD";
      ++i;
      continue;
    }
    switch (s[i]) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out.append(s, i, n);
    }
    i += n;
  }
}

// Markup and numbers: appended as they are.
void add(std::string& out, std::string_view s) { out += s; }
void add(std::string& out, int64_t v) { out += std::to_string(v); }
template <typename... A>
void emit(std::string& out, const A&... a) {
  (add(out, a), ...);
}

void text(std::string& out, int x, int y, const char* cls, std::string_view s,
          const char* fill = nullptr) {
  emit(out, "<text x=\"", x, "\" y=\"", y, "\"");
  if (cls) emit(out, " class=\"", cls, "\"");
  if (fill) emit(out, " fill=\"", fill, "\"");
  out += '>';
  put_text(out, s);
  out += "</text>";
}

void title(std::string& out, std::string_view s) {
  out += "<title>";
  put_text(out, s);
  out += "</title>";
}

template <typename N>
std::string plural(N n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

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

const std::string& exclusive_key(const JobSet& js, const ReplicatedJob& rj) {
  return rj.exclusive_topology.empty() ? js.exclusive_topology : rj.exclusive_topology;
}

// The label key of the islands drawn: the first a replicated job names.
const std::string& island_key(const JobSet& js) {
  for (const auto& rj : js.replicated_jobs)
    if (!rj.exclusive_topology.empty()) return rj.exclusive_topology;
  return js.exclusive_topology;
}

struct Group {
  std::string title;  // key=value, or which nodes these are
  std::string note;   // who holds the island
  std::vector<int32_t> nodes;
  bool island = false;
};

// Islands of the key in order of first appearance, then the other nodes.
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

// ---- Header and legend, shared by both pictures.

std::string legend_entry(const JobSet& js, const Plan& plan, size_t r) {
  return js.replicated_jobs[r].name + ": " +
         plural(plan.expansion.rjobs[r].processes, "process", "processes");
}

struct Page {
  int w = 0, h = 0, body_y = 0;
  int legend_w = 0, legend_cols = 1;
};

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

// ---- The detailed picture: islands, nodes, processes.

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

// ---- The summarised picture: one box per island or run of nodes.

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

}  // namespace

std::string plan_to_svg(const JobSet& js, const Plan& plan) {
  if (plan.cluster.nodes.size() > kSvgDetailMaxNodes ||
      plan.expansion.processes.size() > kSvgDetailMaxProcesses)
    return summary_svg(js, plan);
  return detailed_svg(js, plan);
}

}  // namespace jobset::launcher
