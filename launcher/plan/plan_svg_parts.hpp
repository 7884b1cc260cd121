// Internal to the plan pictures: what the detailed picture (plan_svg.cpp)
// and the summarised one (plan_svg_summary.cpp) share. The palette, the
// grouping of nodes into islands, and the page: its size, its header
// (headline, subline, legend of replicated jobs) and the group the body is
// drawn in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "launcher/plan/plan.hpp"
#include "launcher/spec/spec.hpp"
#include "launcher/plan/svg_writer.hpp"

namespace jobset::launcher::svg {

// Okabe-Ito without black: distinguishable with the common colour-vision
// deficiencies. `ink` is the text colour readable on `fill`.
struct Swatch {
  const char* fill;
  const char* ink;
};
// The colour of replicated job `rjob`.
const Swatch& swatch(size_t rjob);

// Geometry in px, of both pictures.
inline constexpr int kMargin = 16, kGap = 10, kPad = 8;

template <typename N>
std::string plural(N n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The label key of the islands drawn: the first a replicated job names.
const std::string& island_key(const JobSet& js);

struct Group {
  std::string title;  // key=value, or which nodes these are
  std::string note;   // who holds the island
  std::vector<int32_t> nodes;
  bool island = false;
};

// Islands of the key in order of first appearance, then the other nodes.
std::vector<Group> node_groups(const JobSet& js, const Plan& plan);

struct Page {
  int w = 0, h = 0, body_y = 0;
  int legend_w = 0, legend_cols = 1;
};

// The page around a body of body_w x body_h px.
Page page(const JobSet& js, const Plan& plan, const std::string& headline,
          const std::string& subline, int body_w, int body_h);

// The document up to the body's group (whose origin is the body's top
// left), and its end.
void open_document(std::string& out, const JobSet& js, const Plan& plan, const Page& p,
                   const std::string& headline, const std::string& subline);
void close_document(std::string& out);

// The summarised picture (plan_svg_summary.cpp): one box per island or run
// of nodes.
std::string summary_svg(const JobSet& js, const Plan& plan);

}  // namespace jobset::launcher::svg
