// What both readers share: Kubernetes resource quantities ("500m", "16Gi"),
// which both formats accept for cpus and memory, and the parts of the spec
// that differ between the formats only in the spelling of their keys
// (snake_case in TOML, camelCase in YAML): lists of tables, pod failure
// rules, dependencies and failure policy rules.
#include <charconv>
#include <climits>
#include <cmath>

#include "launcher/spec/decode.hpp"
#include "launcher/spec/field_ref.hpp"

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

namespace {
const char* key(Spelling s, const char* snake, const char* camel) { return s == Spelling::kSnake ? snake : camel; }
}  // namespace

void read_list(const Node& n, ReadContext& ctx, const std::string& native, const std::string& display,
               const std::string& what, const std::function<void(FieldReader&)>& item) {
  if (n.kind != Node::Kind::kArray) {
    ctx.diags.error(n.mark, display, "expected a list of " + what + ", found " + describe(n));
    return;
  }
  for (size_t i = 0; i < n.items.size(); ++i) {
    FieldReader r(n.items[i], indexed(native, i), indexed(display, i), ctx);
    item(r);
    r.finish();
  }
}

void read_pod_failure_rules(const Node& n, ReadContext& ctx, const std::string& native,
                            const std::string& display, Spelling sp, std::vector<PodFailureRule>& out) {
  read_list(n, ctx, native, display, "rules", [&](FieldReader& r) {
    PodFailureRule rule;
    r.require("action", "FailJob, Ignore or Count");
    r.read_enum("action", rule.action);
    const char* codes_key = key(sp, "on_exit_codes", "onExitCodes");
    if (const Node* codes = r.take(codes_key, "on_exit_codes")) {
      OnExitCodes oc;
      FieldReader c(*codes, r.child_native("on_exit_codes"), r.child_display(codes_key), ctx);
      c.read_enum("operator", oc.op);
      c.read("values", oc.values, INT32_MIN, INT32_MAX);
      c.ignore({key(sp, "container_name", "containerName")});
      c.finish();
      rule.on_exit_codes = oc;
    }
    const char* conds_key = key(sp, "on_pod_conditions", "onPodConditions");
    if (const Node* conds = r.take(conds_key, "on_pod_conditions"))
      read_list(*conds, ctx, r.child_native("on_pod_conditions"), r.child_display(conds_key), "conditions",
                [&](FieldReader& cr) {
                  PodCondition pc;
                  cr.read("type", pc.type);
                  cr.read("status", pc.status);
                  rule.on_pod_conditions.push_back(pc);
                });
    out.push_back(rule);
  });
}

void read_dependencies(const Node& n, ReadContext& ctx, const std::string& native, const std::string& display,
                       std::vector<Dependency>& out) {
  read_list(n, ctx, native, display, "{name, status} tables", [&](FieldReader& r) {
    Dependency d;
    r.require("name", "the replicated job this one waits for");
    r.require("status", "Ready or Complete");
    r.read("name", d.name);
    r.read_enum("status", d.status);
    out.push_back(d);
  });
}

void add_field_ref(const std::string& name, const std::string& path,
                   const std::map<std::string, std::string>& pod_metadata, Mark mark,
                   const std::string& display, ReadContext& ctx, EnvList& env) {
  if (field_ref_source(path)) return env.add(name, "", path);
  std::string quoted = path;  // pod_metadata is keyed as metadata.labels['KEY']
  if (auto key = field_ref_key(path)) quoted = path.substr(0, path.find('[')) + "['" + *key + "']";
  if (auto it = pod_metadata.find(quoted); it != pod_metadata.end()) return env.add(name, it->second);
  std::string why = field_ref_key(path)
                        ? "no label or annotation of that name is set on the pod here (jobset sets "
                          "the jobset.sigs.k8s.io ones Kubernetes' JobSet controller sets, and "
                          "batch.kubernetes.io/job-completion-index)"
                        : "it has no meaning off Kubernetes (jobset resolves metadata.name, "
                          "metadata.namespace, the JobSet's labels and annotations, spec.nodeName, "
                          "status.podIP and status.hostIP)";
  ctx.diags.warning(mark, display, name + " is left unset: fieldRef '" + printable(path) + "': " + why);
}

void read_failure_rules(const Node& n, ReadContext& ctx, const std::string& display, Spelling sp,
                        std::vector<FailurePolicyRule>& out) {
  read_list(n, ctx, "failure_policy.rules", display, "rules", [&](FieldReader& r) {
    FailurePolicyRule rule;
    r.require("action", "what to do when the rule matches");
    r.read("name", rule.name);
    r.read_enum("action", rule.action);
    r.read(key(sp, "on_job_failure_reasons", "onJobFailureReasons"), rule.on_job_failure_reasons,
           "on_job_failure_reasons");
    r.read(key(sp, "on_job_failure_message_patterns", "onJobFailureMessagePatterns"),
           rule.on_job_failure_message_patterns, "on_job_failure_message_patterns");
    r.read(key(sp, "target_replicated_jobs", "targetReplicatedJobs"), rule.target_replicated_jobs,
           "target_replicated_jobs");
    out.push_back(rule);
  });
}

}  // namespace jobset::launcher
