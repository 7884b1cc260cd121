// Parsing of --map-by, --rank-by, --bind-to: see map_policy.hpp.
#include "launcher/plan/map_policy.hpp"

#include <cstdlib>
#include <optional>

namespace jobset::launcher {
namespace {

using topology::Level;
using Bind = topology::MapPolicy::Bind;

std::optional<Level> level_of(const std::string& s) {
  if (s == "slot") return Level::kSlot;
  if (s == "core") return Level::kCore;
  if (s == "numa") return Level::kNuma;
  if (s == "package" || s == "socket") return Level::kPackage;
  if (s == "node") return Level::kNode;
  return std::nullopt;
}

Result<topology::MapPolicy> parse_map_by(const std::string& s, topology::MapPolicy p) {
  const std::string expected = "--map-by: expected slot, node, core, numa, package or ppr:N:core|numa|package, found '" + s + "'";
  if (s.rfind("ppr:", 0) == 0) {
    size_t colon = s.find(':', 4);
    if (colon == std::string::npos) return Error(expected);
    std::string count = s.substr(4, colon - 4);
    char* end = nullptr;
    long n = std::strtol(count.c_str(), &end, 10);
    auto level = level_of(s.substr(colon + 1));
    if (count.empty() || *end != '\0' || n < 1 || n > 1'000'000 || !level ||
        (*level != Level::kCore && *level != Level::kNuma && *level != Level::kPackage))
      return Error(expected);
    p.ppr = static_cast<int32_t>(n);
    p.ppr_level = *level;
    p.map_by = *level;
    p.rank_by = Level::kSlot;
    return p;
  }
  auto level = level_of(s);
  if (!level) return Error(expected);
  p.map_by = p.rank_by = *level;
  return p;
}

}  // namespace

Result<topology::MapPolicy> parse_map_policy(const MapFlags& flags) {
  topology::MapPolicy p;
  if (!flags.map_by.empty()) {
    auto m = parse_map_by(flags.map_by, p);
    if (!m) return m.error();
    p = *m;
  }
  if (!flags.rank_by.empty()) {
    auto level = level_of(flags.rank_by);
    if (!level)
      return Error("--rank-by: expected slot, node, core, numa or package, found '" + flags.rank_by + "'");
    p.rank_by = *level;
  }
  const std::string& b = flags.bind_to;
  if (b.empty() || b == "none") p.bind_to = Bind::kNone;
  else if (b == "core") p.bind_to = Bind::kCore;
  else if (b == "numa") p.bind_to = Bind::kNuma;
  else if (b == "package" || b == "socket") p.bind_to = Bind::kPackage;
  else return Error("--bind-to: expected none, core, numa or package, found '" + b + "'");
  return p;
}

std::string map_by_name(const topology::MapPolicy& p) {
  if (p.ppr > 0) return "ppr:" + std::to_string(p.ppr) + ":" + topology::level_name(p.ppr_level);
  return topology::level_name(p.map_by);
}

std::string bind_name(Bind bind) {
  switch (bind) {
    case Bind::kNone: return "none";
    case Bind::kCore: return "core";
    case Bind::kNuma: return "numa";
    case Bind::kPackage: return "package";
  }
  return "none";
}

}  // namespace jobset::launcher
