// `jobset plan --format svg`: the plan as a picture. Islands of the
// exclusive label key are boxes, nodes are boxes inside them, processes
// are small rectangles coloured by replicated job (tooltips give rank,
// node, cores and devices). Past a size where one shape per process stops
// being readable, the picture is summarised: one box per island (or per
// run of nodes) with a stacked bar of processes per replicated job.
// A standalone SVG 1.1 document, streamed into a string (no DOM), every
// text escaped, deterministic.
#pragma once

#include <cstddef>
#include <string>

#include "launcher/plan/plan.hpp"
#include "launcher/spec/spec.hpp"

namespace jobset::launcher {

// More nodes or processes than these: the summarised picture.
inline constexpr size_t kSvgDetailMaxNodes = 256;
inline constexpr size_t kSvgDetailMaxProcesses = 4096;
// The summarised picture has at most this many boxes (runs of islands or
// nodes merge beyond it), so its size is bounded whatever the cluster.
inline constexpr size_t kSvgMaxSummaryBoxes = 1024;

std::string plan_to_svg(const JobSet& js, const Plan& plan);

}  // namespace jobset::launcher
