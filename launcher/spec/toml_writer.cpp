#include "launcher/spec/toml_writer.hpp"

#include "launcher/spec/diagnostic.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace jobset::launcher {

std::string toml_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {

// Bare keys need no quotes; label keys like "cloud.google.com/x" do.
std::string key(const std::string& k) {
  bool bare = !k.empty();
  for (char c : k)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) bare = false;
  return bare ? k : toml_quote(k);
}

std::string strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + toml_quote(v[i]);
  return out + "]";
}

template <typename T>
std::string numbers(const std::vector<T>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

std::string inline_table(const std::map<std::string, std::string>& m) {
  std::string out = "{ ";
  bool first = true;
  for (const auto& [k, v] : m) {
    out += (first ? "" : ", ") + key(k) + " = " + toml_quote(v);
    first = false;
  }
  return out + " }";
}

// TOML keys are unique: of a name that repeats, the last entry (the one
// Kubernetes keeps) is written, at its first place.
std::string env_table(const EnvList& env) {
  std::string out = "{ ";
  std::vector<std::string> written;
  for (const EnvVar& e : env) {
    if (std::find(written.begin(), written.end(), e.name) != written.end()) continue;
    written.push_back(e.name);
    const EnvVar& last = *env.find(e.name);
    out += (written.size() > 1 ? ", " : "") + key(e.name) + " = ";
    out += last.field_ref.empty() ? toml_quote(last.value) : "{ field_ref = " + toml_quote(last.field_ref) + " }";
  }
  return out + " }";
}

std::string number(double d) {
  std::ostringstream s;
  s.precision(17);
  s << d;
  std::string out = s.str();
  return out.find_first_of(".e") == std::string::npos ? out + ".0" : out;
}

void write_resources(std::ostringstream& o, const Resources& r) {
  if (r == Resources{}) return;
  std::vector<std::string> parts;
  if (r.cpus > 0) parts.push_back("cpus = " + number(r.cpus));
  if (r.memory) parts.push_back("memory = " + std::to_string(r.memory));
  if (r.gpus) parts.push_back("gpus = " + std::to_string(r.gpus));
  if (r.tpus) parts.push_back("tpus = " + std::to_string(r.tpus));
  o << "resources = { ";
  for (size_t i = 0; i < parts.size(); ++i) o << (i ? ", " : "") << parts[i];
  o << " }\n";
}

void write_pod_failure_policy(std::ostringstream& o, const std::vector<PodFailureRule>& rules) {
  if (rules.empty()) return;
  o << "pod_failure_policy = { rules = [\n";
  for (const PodFailureRule& r : rules) {
    o << "  { action = " << toml_quote(to_string(r.action));
    if (r.on_exit_codes)
      o << ", on_exit_codes = { operator = " << toml_quote(to_string(r.on_exit_codes->op))
        << ", values = " << numbers(r.on_exit_codes->values) << " }";
    if (!r.on_pod_conditions.empty()) {
      o << ", on_pod_conditions = [";
      for (size_t i = 0; i < r.on_pod_conditions.size(); ++i)
        o << (i ? ", " : "") << "{ type = " << toml_quote(r.on_pod_conditions[i].type)
          << ", status = " << toml_quote(r.on_pod_conditions[i].status) << " }";
      o << "]";
    }
    o << " },\n";
  }
  o << "] }\n";
}

void write_replicated_job(std::ostringstream& o, const ReplicatedJob& rj) {
  o << "\n[[replicated_jobs]]\nname = " << toml_quote(rj.name) << "\n";
  if (rj.replicas != 1) o << "replicas = " << rj.replicas << "\n";
  if (rj.group_name != "default") o << "group_name = " << toml_quote(rj.group_name) << "\n";
  if (!rj.exclusive_topology.empty())
    o << "exclusive_topology = " << toml_quote(rj.exclusive_topology) << "\n";
  if (rj.node_selector_strategy)
    o << "node_selector_strategy = " << (*rj.node_selector_strategy ? "true" : "false") << "\n";
  if (!rj.depends_on.empty()) {
    o << "depends_on = [";
    for (size_t i = 0; i < rj.depends_on.size(); ++i)
      o << (i ? ", " : "") << "{ name = " << toml_quote(rj.depends_on[i].name)
        << ", status = " << toml_quote(to_string(rj.depends_on[i].status)) << " }";
    o << "]\n";
  }
  const JobTemplate& t = rj.tmpl;
  o << "\n[replicated_jobs.template]\n";
  if (t.parallelism != 1) o << "parallelism = " << t.parallelism << "\n";
  if (t.completions) o << "completions = " << *t.completions << "\n";
  if (t.backoff_limit != 6) o << "backoff_limit = " << t.backoff_limit << "\n";
  if (t.active_deadline_seconds) o << "active_deadline_seconds = " << *t.active_deadline_seconds << "\n";
  if (!t.command.empty()) o << "command = " << strings(t.command) << "\n";
  if (!t.args.empty()) o << "args = " << strings(t.args) << "\n";
  if (!t.working_dir.empty()) o << "working_dir = " << toml_quote(t.working_dir) << "\n";
  if (!t.env.empty()) o << "env = " << env_table(t.env) << "\n";
  if (!t.ports.empty()) o << "ports = " << numbers(t.ports) << "\n";
  if (!t.node_selector.empty()) o << "node_selector = " << inline_table(t.node_selector) << "\n";
  write_resources(o, t.resources);
  write_pod_failure_policy(o, t.pod_failure_policy);
}

void write_failure_policy(std::ostringstream& o, const FailurePolicy& fp) {
  o << "\n[failure_policy]\nmax_restarts = " << fp.max_restarts << "\n";
  if (fp.restart_strategy != RestartStrategy::kRecreate)
    o << "restart_strategy = " << toml_quote(to_string(fp.restart_strategy)) << "\n";
  for (const FailurePolicyRule& r : fp.rules) {
    o << "\n[[failure_policy.rules]]\nname = " << toml_quote(r.name)
      << "\naction = " << toml_quote(to_string(r.action)) << "\n";
    if (!r.on_job_failure_reasons.empty())
      o << "on_job_failure_reasons = " << strings(r.on_job_failure_reasons) << "\n";
    if (!r.on_job_failure_message_patterns.empty())
      o << "on_job_failure_message_patterns = " << strings(r.on_job_failure_message_patterns) << "\n";
    if (!r.target_replicated_jobs.empty())
      o << "target_replicated_jobs = " << strings(r.target_replicated_jobs) << "\n";
  }
}

}  // namespace

std::string to_toml(const JobSet& js, const std::vector<std::string>& ignored) {
  std::ostringstream o;
  o << "# JobSet " << js.name << " (jobset native format; see jobset-file(5))\n";
  if (!ignored.empty()) {
    o << "# Kubernetes-only fields of the original, ignored by jobset:\n";
    for (const std::string& f : ignored) o << "#   " << printable(f) << "\n";
  }
  o << "name = " << toml_quote(js.name) << "\n";
  if (!js.exclusive_topology.empty())
    o << "exclusive_topology = " << toml_quote(js.exclusive_topology) << "\n";
  if (js.node_selector_strategy)
    o << "node_selector_strategy = " << (*js.node_selector_strategy ? "true" : "false") << "\n";
  if (js.suspend) o << "suspend = true\n";
  if (js.ttl_seconds_after_finished)
    o << "ttl_seconds_after_finished = " << *js.ttl_seconds_after_finished << "\n";
  if (!js.managed_by.empty()) o << "managed_by = " << toml_quote(js.managed_by) << "\n";
  if (!js.namespace_name.empty()) o << "namespace = " << toml_quote(js.namespace_name) << "\n";
  if (js.expand_references) o << "expand_references = true\n";
  if (js.network != Network{}) {
    o << "\n[network]\n";
    if (!js.network.enable_dns_hostnames) o << "enable_dns_hostnames = false\n";
    if (!js.network.subdomain.empty()) o << "subdomain = " << toml_quote(js.network.subdomain) << "\n";
    if (!js.network.publish_not_ready_addresses) o << "publish_not_ready_addresses = false\n";
  }
  if (js.success_policy != SuccessPolicy{}) {
    o << "\n[success_policy]\noperator = " << toml_quote(to_string(js.success_policy.op)) << "\n";
    if (!js.success_policy.target_replicated_jobs.empty())
      o << "target_replicated_jobs = " << strings(js.success_policy.target_replicated_jobs) << "\n";
  }
  if (js.startup_order != StartupOrder::kAnyOrder)
    o << "\n[startup_policy]\nstartup_policy_order = " << toml_quote(to_string(js.startup_order)) << "\n";
  if (js.coordinator)
    o << "\n[coordinator]\nreplicated_job = " << toml_quote(js.coordinator->replicated_job)
      << "\njob_index = " << js.coordinator->job_index << "\npod_index = " << js.coordinator->pod_index
      << "\n";
  if (js.failure_policy) write_failure_policy(o, *js.failure_policy);
  for (const ReplicatedJob& rj : js.replicated_jobs) write_replicated_job(o, rj);
  return o.str();
}

}  // namespace jobset::launcher
