#include "launcher/spec/validate.hpp"

#include <algorithm>
#include <regex>
#include <set>

namespace jobset::launcher {

namespace {

// Reports at the position recorded for a model path, spelled as the file
// spells it.
class Reporter {
 public:
  Reporter(const SourceMap& where, Diagnostics& diags, Format format)
      : where_(where), diags_(diags), format_(format) {}
  // A field's name as the user's file spells it.
  const char* name(const char* snake, const char* camel) const {
    return format_ == Format::kYaml ? camel : snake;
  }
  bool yaml() const { return format_ == Format::kYaml; }
  bool recorded(const std::string& path) const { return where_.has(path); }
  void error(const std::string& path, const std::string& message) {
    Location l = where_.find(path);
    diags_.error(l.mark, l.display_path, message);
  }
  void warning(const std::string& path, const std::string& message) {
    Location l = where_.find(path);
    diags_.warning(l.mark, l.display_path, message);
  }

 private:
  const SourceMap& where_;
  Diagnostics& diags_;
  Format format_;
};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> rjob_names(const JobSet& js) {
  std::vector<std::string> names;
  for (const auto& rj : js.replicated_jobs) names.push_back(rj.name);
  return names;
}

void check_targets(Reporter& rep, const std::vector<std::string>& names,
                   const std::vector<std::string>& targets, const std::string& path) {
  for (size_t i = 0; i < targets.size(); ++i) {
    if (contains(names, targets[i])) continue;
    std::string guess = did_you_mean(targets[i], names);
    rep.error(indexed(path, i), "expected the name of a replicated job, found \"" + targets[i] +
                                    "\"" + (guess.empty() ? "" : "; did you mean \"" + guess + "\"?"));
  }
}

// Kubernetes' IsDomainPrefixedPath: "acme.io/foo", a DNS-1123 subdomain,
// "/", then HTTP path characters. Empty when `s` is one.
std::string domain_prefixed_path_problem(const std::string& s) {
  static const std::regex host("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  static const std::regex path("[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+");
  std::string want = "expected a domain-prefixed path such as \"kueue.x-k8s.io/multikueue\" (a "
                     "lowercase DNS subdomain, '/', a path), found \"" + s + "\"";
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size()) return want;
  std::string h = s.substr(0, slash);
  if (h.size() > 253 || !std::regex_match(h, host)) return want;
  if (!std::regex_match(s.substr(slash + 1), path)) return want;
  return "";
}

void check_names(const JobSet& js, Reporter& rep) {
  if (js.name.empty()) {
    rep.error("name", "a JobSet name is required (a DNS-1035 label such as \"training\")");
  } else if (auto p = dns1035_problem(js.name); !p.empty()) {
    rep.error("name", p);
  }
  if (!js.network.subdomain.empty())
    if (auto p = dns1035_problem(js.network.subdomain); !p.empty()) rep.error("network.subdomain", p);
  if (js.managed_by.size() > 63)
    rep.error("managed_by", "expected at most 63 characters, found " + std::to_string(js.managed_by.size()));
  else if (auto p = domain_prefixed_path_problem(js.managed_by);
           !p.empty() && (!js.managed_by.empty() || rep.recorded("managed_by")))
    rep.error("managed_by", p);
  if (js.replicated_jobs.empty())
    rep.error("replicated_jobs", "expected at least one replicated job, found none");
}

void check_generated_names(const JobSet& js, const ReplicatedJob& rj, const std::string& path,
                           Reporter& rep) {
  if (js.name.empty() || rj.name.empty()) return;
  int64_t last_job = std::max<int64_t>(rj.replicas - 1, 0);
  std::string job = js.name + "-" + rj.name + "-" + std::to_string(last_job);
  std::string proc = job + "-" + std::to_string(rj.tmpl.effective_completions() - 1);
  if (job.size() > kMaxDnsLabelLength) {
    rep.error(path + ".name", "the generated job name \"" + job + "\" has " +
                                  std::to_string(job.size()) + " characters; at most " +
                                  std::to_string(kMaxDnsLabelLength) + " fit a DNS label");
  } else if (proc.size() > kMaxProcessNameLength) {
    rep.error(path + ".name", "the generated process name \"" + proc + "\" has " +
                                  std::to_string(proc.size()) + " characters; at most " +
                                  std::to_string(kMaxProcessNameLength) +
                                  " (63 less the 6 Kubernetes keeps for a pod suffix)");
  }
}

void check_pod_failure_policy(const JobTemplate& t, const std::string& path, Reporter& rep) {
  // Positions below are recorded under the model's (snake_case) paths.
  for (size_t i = 0; i < t.pod_failure_policy.size(); ++i) {
    const PodFailureRule& r = t.pod_failure_policy[i];
    std::string rp = indexed(path + ".pod_failure_policy.rules", i);
    if (r.on_exit_codes.has_value() == !r.on_pod_conditions.empty())
      rep.error(rp, std::string("expected exactly one of ") + rep.name("on_exit_codes", "onExitCodes") +
                        " and " + rep.name("on_pod_conditions", "onPodConditions"));
    if (r.action == PodFailureAction::kFailIndex)
      rep.error(rp + ".action",
                "FailIndex is not supported off Kubernetes because it needs per-index backoff "
                "(backoffLimitPerIndex), which jobset does not implement; use FailJob, Ignore or Count");
    if (!r.on_exit_codes) continue;
    const auto& v = r.on_exit_codes->values;
    std::set<int64_t> seen(v.begin(), v.end());
    if (v.empty() || v.size() > 255)
      rep.error(rp + ".on_exit_codes.values", "expected 1 to 255 exit codes, found " + std::to_string(v.size()));
    else if (seen.size() != v.size())
      rep.error(rp + ".on_exit_codes.values", "exit codes must not repeat");
    if (r.on_exit_codes->op == ExitCodeOperator::kIn && seen.count(0))
      rep.error(rp + ".on_exit_codes.values", "0 (success) cannot be matched by operator In");
  }
}

bool valid_env_name(const std::string& s) {
  static const std::regex re("[-._a-zA-Z][-._a-zA-Z0-9]*");
  return std::regex_match(s, re);
}

void check_template(const ReplicatedJob& rj, const std::string& path, Reporter& rep) {
  const JobTemplate& t = rj.tmpl;
  std::string tp = path + ".template";
  if (t.command.empty())
    rep.error(tp + ".command", "a command is required (there is no container image to supply one)");
  else if (t.command[0].empty())
    rep.error(tp + ".command", "the program name (first element) is empty");
  if (int64_t(rj.replicas) * std::max(t.parallelism, t.effective_completions()) > INT32_MAX)
    rep.error(path + ".replicas", "replicas x parallelism must not exceed 2147483647, found " +
                                      std::to_string(rj.replicas) + " x " +
                                      std::to_string(std::max(t.parallelism, t.effective_completions())));
  if (t.completions && *t.completions != t.parallelism)
    rep.warning(tp + ".completions",
                "completions (" + std::to_string(*t.completions) + ") differs from parallelism (" +
                    std::to_string(t.parallelism) + "): at most " + std::to_string(t.parallelism) +
                    " of the job's indexes run at once");
  for (const EnvVar& var : t.env) {
    const std::string& k = var.name;
    if (valid_env_name(k)) continue;
    std::string at = tp;
    at.append(".env.").append(k);
    std::string message = "expected a variable name ([-._a-zA-Z][-._a-zA-Z0-9]*), found \"";
    message.append(k).append("\"");
    rep.error(at, message);
  }
  std::set<int64_t> ports(t.ports.begin(), t.ports.end());
  if (ports.size() != t.ports.size()) rep.error(tp + ".ports", "ports must not repeat");
  check_pod_failure_policy(t, tp, rep);
}

void check_depends_on(const JobSet& js, size_t i, const std::string& path, Reporter& rep) {
  const ReplicatedJob& rj = js.replicated_jobs[i];
  if (rj.depends_on.empty()) return;
  std::string dp = path + ".depends_on";
  if (i == 0) rep.error(dp, "the first replicated job cannot depend on another");
  if (rj.depends_on.size() > 5)
    rep.error(dp, "expected at most 5 dependencies, found " + std::to_string(rj.depends_on.size()));
  if (js.startup_order == StartupOrder::kInOrder)
    rep.error(dp, std::string(rep.name("depends_on", "dependsOn")) + " cannot be used together with " +
                      rep.name("startup_policy.startup_policy_order", "startupPolicy.startupPolicyOrder") +
                      " InOrder (upstream: StartupPolicy and DependsOn APIs are mutually exclusive)");
  std::set<std::string> seen;
  for (size_t d = 0; d < rj.depends_on.size(); ++d) {
    const std::string& name = rj.depends_on[d].name;
    std::string np = indexed(dp, d) + ".name";
    auto it = std::find_if(js.replicated_jobs.begin(), js.replicated_jobs.end(),
                           [&](const ReplicatedJob& o) { return o.name == name; });
    size_t at = it - js.replicated_jobs.begin();
    if (!seen.insert(name).second)
      rep.error(np, "\"" + name + "\" is listed twice");
    else if (it == js.replicated_jobs.end())
      rep.error(np, "expected the name of an earlier replicated job, found unknown \"" + name + "\"");
    else if (at >= i)
      rep.error(np, "expected the name of an earlier replicated job, found \"" + name +
                        "\", which " + (at == i ? "is this one" : "comes later"));
  }
}

void check_replicated_jobs(const JobSet& js, Reporter& rep) {
  std::set<std::string> seen;
  for (size_t i = 0; i < js.replicated_jobs.size(); ++i) {
    const ReplicatedJob& rj = js.replicated_jobs[i];
    std::string path = indexed("replicated_jobs", i);
    if (rj.name.empty()) {
      rep.error(path + ".name", "a replicated job name is required");
    } else if (auto p = dns1035_problem(rj.name); !p.empty()) {
      rep.error(path + ".name", p);
    } else if (!seen.insert(rj.name).second) {
      rep.error(path + ".name", "duplicate replicated job name \"" + rj.name + "\"");
    }
    if (auto p = dns1035_problem(rj.group_name); !p.empty()) rep.error(path + ".group_name", p);
    check_generated_names(js, rj, path, rep);
    check_template(rj, path, rep);
    check_depends_on(js, i, path, rep);
  }
}

const std::regex& rule_name_re() {
  static const std::regex re("[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?");
  return re;
}

void check_failure_policy(const JobSet& js, Reporter& rep) {
  if (!js.failure_policy) return;
  std::vector<std::string> names = rjob_names(js);
  std::set<std::string> seen;
  for (size_t i = 0; i < js.failure_policy->rules.size(); ++i) {
    const FailurePolicyRule& r = js.failure_policy->rules[i];
    std::string rp = indexed("failure_policy.rules", i);
    if (r.name.empty() || r.name.size() > 128)
      rep.error(rp + ".name", "expected 1 to 128 characters, found " + std::to_string(r.name.size()));
    else if (!std::regex_match(r.name, rule_name_re()))
      rep.error(rp + ".name", "expected a letter, then letters, digits, '_', ',' or ':', ending in a letter, digit or '_', found \"" + r.name + "\"");
    else if (!seen.insert(r.name).second)
      rep.error(rp + ".name", "duplicate rule name \"" + r.name + "\"");
    for (size_t k = 0; k < r.on_job_failure_reasons.size(); ++k) {
      const std::string& reason = r.on_job_failure_reasons[k];
      if (contains(job_failure_reasons(), reason)) continue;
      std::string guess = did_you_mean(reason, job_failure_reasons());
      rep.error(indexed(rp + ".on_job_failure_reasons", k),
                "expected BackoffLimitExceeded, DeadlineExceeded, FailedIndexes, "
                "MaxFailedIndexesExceeded or PodFailurePolicy, found \"" + reason + "\"" +
                    (guess.empty() ? "" : "; did you mean \"" + guess + "\"?"));
    }
    for (size_t k = 0; k < r.on_job_failure_message_patterns.size(); ++k) {
      try {
        std::regex re(r.on_job_failure_message_patterns[k]);
      } catch (const std::regex_error& e) {
        rep.error(indexed(rp + ".on_job_failure_message_patterns", k),
                  std::string("expected a regular expression: ") + e.what());
      }
    }
    check_targets(rep, names, r.target_replicated_jobs, rp + ".target_replicated_jobs");
  }
}

// Upstream allows RestartJob only with at most 1024 replicas per replicated
// job (its status keeps one restart count per job, at most 1024).
void check_restart_job_replicas(const JobSet& js, Reporter& rep) {
  if (!js.failure_policy) return;
  const FailurePolicyRule* restart_job = nullptr;
  for (const FailurePolicyRule& r : js.failure_policy->rules)
    if (r.action == FailureAction::kRestartJob || r.action == FailureAction::kRestartJobAndIgnoreMaxRestarts) {
      restart_job = &r;
      break;
    }
  if (!restart_job) return;
  for (size_t i = 0; i < js.replicated_jobs.size(); ++i)
    if (js.replicated_jobs[i].replicas > kMaxReplicasWithRestartJob)
      rep.error(indexed("replicated_jobs", i) + ".replicas",
                "expected at most " + std::to_string(kMaxReplicasWithRestartJob) +
                    " replicas when a failure policy rule restarts single jobs (rule \"" +
                    restart_job->name + "\" is " + to_string(restart_job->action) + "), found " +
                    std::to_string(js.replicated_jobs[i].replicas));
}

// A Kubernetes Job in Indexed mode needs completions; it defaults them only
// when parallelism is unset too. Upstream refuses a coordinator in a job
// without completions; elsewhere Kubernetes would refuse the child Job, and
// jobset runs completions = parallelism, with a warning. TOML files have
// jobset's own default (completions = parallelism) and no such rule.
void check_yaml_completions(const JobSet& js, Reporter& rep) {
  if (!rep.yaml()) return;
  for (size_t i = 0; i < js.replicated_jobs.size(); ++i) {
    const ReplicatedJob& rj = js.replicated_jobs[i];
    std::string tp = indexed("replicated_jobs", i) + ".template";
    if (rj.tmpl.completions) continue;
    bool coordinator = js.coordinator && js.coordinator->replicated_job == rj.name;
    bool parallelism = rep.recorded(tp + ".parallelism");
    if (coordinator)
      rep.error(parallelism ? tp + ".parallelism" : tp,
                "the coordinator's replicated job needs completions set (upstream: \"job for "
                "coordinator pod must be indexed completion mode, and completions number must be set\")");
    else if (parallelism)
      rep.warning(tp + ".parallelism",
                  "parallelism without completions: Kubernetes refuses an Indexed Job without "
                  "completions; jobset runs completions = parallelism (" +
                      std::to_string(rj.tmpl.parallelism) + ")");
  }
}

void check_coordinator(const JobSet& js, Reporter& rep) {
  if (!js.coordinator || js.coordinator->replicated_job.empty()) return;  // reported as missing
  const Coordinator& c = *js.coordinator;
  auto it = std::find_if(js.replicated_jobs.begin(), js.replicated_jobs.end(),
                         [&](const ReplicatedJob& rj) { return rj.name == c.replicated_job; });
  if (it == js.replicated_jobs.end()) {
    std::string guess = did_you_mean(c.replicated_job, rjob_names(js));
    rep.error("coordinator.replicated_job", "expected the name of a replicated job, found \"" +
                                                c.replicated_job + "\"" +
                                                (guess.empty() ? "" : "; did you mean \"" + guess + "\"?"));
    return;
  }
  if (c.job_index >= it->replicas)
    rep.error("coordinator.job_index", "expected a job index below " + std::to_string(it->replicas) +
                                           " (replicas of " + it->name + "), found " + std::to_string(c.job_index));
  if (c.pod_index >= it->tmpl.effective_completions())
    rep.error("coordinator.pod_index",
              "expected a pod index below " + std::to_string(it->tmpl.effective_completions()) +
                  " (completions of " + it->name + "), found " + std::to_string(c.pod_index));
  // Upstream labels every pod with the endpoint; a label value holds 63.
  std::string endpoint = js.name + "-" + c.replicated_job + "-" + std::to_string(c.job_index) + "-" +
                         std::to_string(c.pod_index) + "." + js.subdomain();
  if (endpoint.size() > kMaxDnsLabelLength)
    rep.error("coordinator", "the coordinator's endpoint \"" + endpoint + "\" has " +
                                 std::to_string(endpoint.size()) +
                                 " characters; at most 63 fit the jobset.sigs.k8s.io/coordinator "
                                 "label Kubernetes puts on every pod (shorten the JobSet, replicated "
                                 "job or subdomain name)");
}

}  // namespace

std::string dns1035_problem(const std::string& s) {
  std::string found = " found \"" + s + "\"";
  if (s.empty()) return "expected a DNS-1035 label, found an empty name";
  if (s.size() > kMaxDnsLabelLength)
    return "expected at most 63 characters (a DNS-1035 label), found " + std::to_string(s.size());
  if (!(s[0] >= 'a' && s[0] <= 'z'))
    return "expected a DNS-1035 label (lowercase letters, digits and '-', starting with a letter),"
           + found;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return "expected a DNS-1035 label (lowercase letters, digits and '-' only)," + found;
  if (s.back() == '-') return "expected a DNS-1035 label (ending with a letter or digit)," + found;
  return "";
}

void apply_defaults(JobSet& js) {
  if (!js.failure_policy) return;
  for (size_t i = 0; i < js.failure_policy->rules.size(); ++i)
    if (js.failure_policy->rules[i].name.empty())
      js.failure_policy->rules[i].name = "failurePolicyRule" + std::to_string(i);
}

void validate(const JobSet& js, const SourceMap& where, Diagnostics& diags, Format format) {
  Reporter rep(where, diags, format);
  check_names(js, rep);
  check_replicated_jobs(js, rep);
  check_targets(rep, rjob_names(js), js.success_policy.target_replicated_jobs,
                "success_policy.target_replicated_jobs");
  check_failure_policy(js, rep);
  check_coordinator(js, rep);
  check_restart_job_replicas(js, rep);
  check_yaml_completions(js, rep);
  if (js.suspend)
    rep.warning("suspend", "the JobSet is suspended: jobset run will not start it until suspend is false");
}

}  // namespace jobset::launcher
