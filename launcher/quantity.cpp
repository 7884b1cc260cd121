// Kubernetes resource quantities ("500m", "2", "16Gi", "1e3", "128M"),
// which both file formats accept for cpus and memory.
#include <charconv>
#include <cmath>

#include "launcher/decode.hpp"

namespace jobset::launcher {

namespace {

struct Split {
  double number = 0;
  std::string suffix;
};

std::optional<Split> split(const std::string& s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || !std::isfinite(v) || v < 0) return std::nullopt;
  return Split{v, std::string(end, s.data() + s.size())};
}

}  // namespace

std::optional<double> parse_cpu_quantity(const std::string& s) {
  auto q = split(s);
  if (!q) return std::nullopt;
  if (q->suffix.empty()) return q->number;
  if (q->suffix == "m") return q->number / 1000.0;
  return std::nullopt;
}

std::optional<int64_t> parse_memory_quantity(const std::string& s) {
  auto q = split(s);
  if (!q) return std::nullopt;
  static const std::pair<const char*, double> kSuffixes[] = {
      {"", 1},          {"k", 1e3},          {"M", 1e6},          {"G", 1e9},
      {"T", 1e12},      {"P", 1e15},         {"Ki", 1024.0},      {"Mi", 1048576.0},
      {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}, {"Pi", 1125899906842624.0}};
  for (const auto& [suffix, factor] : kSuffixes) {
    if (q->suffix != suffix) continue;
    double bytes = std::ceil(q->number * factor);
    if (bytes > 9.0e18) return std::nullopt;
    return static_cast<int64_t>(bytes);
  }
  return std::nullopt;
}

void read_cpus(const Node& n, ReadContext& ctx, const std::string& display, double& out) {
  std::optional<double> v;
  if (n.kind == Node::Kind::kInt && n.integer >= 0) v = static_cast<double>(n.integer);
  if (n.kind == Node::Kind::kFloat && n.number >= 0 && std::isfinite(n.number)) v = n.number;
  if (n.kind == Node::Kind::kString || n.kind == Node::Kind::kScalar) v = parse_cpu_quantity(n.text);
  if (!v || *v > 1e6) {
    ctx.diags.error(n.mark, display,
                    "expected a CPU count such as 2, 0.5 or \"500m\", found " + describe(n));
    return;
  }
  out = *v;
}

void read_memory(const Node& n, ReadContext& ctx, const std::string& display, int64_t& out) {
  std::optional<int64_t> v;
  if (n.kind == Node::Kind::kInt && n.integer >= 0) v = n.integer;
  if (n.kind == Node::Kind::kString || n.kind == Node::Kind::kScalar) v = parse_memory_quantity(n.text);
  if (!v) {
    ctx.diags.error(n.mark, display,
                    "expected bytes or a quantity such as \"16Gi\" or \"512M\", found " + describe(n));
    return;
  }
  out = *v;
}

}  // namespace jobset::launcher
