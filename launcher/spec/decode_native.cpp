// jobset's native TOML layout: the Kubernetes JobSet spec in snake_case,
// with a replicated job's Job template and its single process flattened
// into one [replicated_jobs.template] table. See jobset-file(5).
#include <climits>

#include "launcher/spec/decode.hpp"

namespace jobset::launcher {

namespace {

constexpr int64_t kInt32Max = INT32_MAX;

void read_resources(const Node& n, ReadContext& ctx, const std::string& native,
                    Resources& out) {
  FieldReader r(n, native, native, ctx);
  if (const Node* c = r.take("cpus")) read_cpus(*c, ctx, r.child_display("cpus"), out.cpus);
  if (const Node* m = r.take("memory"))
    read_memory(*m, ctx, r.child_display("memory"), out.memory);
  r.read("gpus", out.gpus, 0, 1 << 20);
  r.read("tpus", out.tpus, 0, 1 << 20);
  r.finish();
}

void read_pod_failure_policy(const Node& n, ReadContext& ctx, const std::string& native,
                             std::vector<PodFailureRule>& out) {
  FieldReader policy(n, native, native, ctx);
  if (const Node* rules = policy.take("rules"))
    read_pod_failure_rules(*rules, ctx, policy.child_native("rules"), policy.child_native("rules"),
                           Spelling::kSnake, out);
  policy.finish();
}

// env = { NAME = "value", RANK0 = 4, NODE = { field_ref = "spec.nodeName" } }:
// in file order; numbers and booleans are values too, and a table holds
// what Kubernetes writes as valueFrom.fieldRef.fieldPath.
void read_env(const Node& n, ReadContext& ctx, const std::string& native, EnvList& out) {
  if (n.kind != Node::Kind::kTable) return report_expected(n, ctx, native, "a table of strings");
  for (const auto& [k, v] : n.fields) {
    std::string at = native;
    at.append(".").append(k);
    if (v.kind == Node::Kind::kInt) {
      out.add(k, std::to_string(v.integer));
    } else if (v.kind == Node::Kind::kBool) {
      out.add(k, v.boolean ? "true" : "false");
    } else if (v.kind == Node::Kind::kTable) {
      FieldReader f(v, at, at, ctx);
      std::string path;
      f.require("field_ref", "the pod field to read, such as \"spec.nodeName\"");
      f.read("field_ref", path);
      f.finish();
      if (!path.empty()) add_field_ref(k, path, {}, v.mark, at, ctx, out);
    } else if (auto s = read_string(v, ctx, at, "a string or a { field_ref = \"...\" } table")) {
      out.add(k, *s);
    }
  }
}

void read_template(const Node& n, ReadContext& ctx, const std::string& native, JobTemplate& t) {
  FieldReader r(n, native, native, ctx);
  r.read("parallelism", t.parallelism, 1, kInt32Max);
  r.read("completions", t.completions, 1, kInt32Max);
  r.read("backoff_limit", t.backoff_limit, 0, kInt32Max);
  r.read("active_deadline_seconds", t.active_deadline_seconds, 1, INT64_MAX / 1000);
  if (const Node* p = r.take("pod_failure_policy"))
    read_pod_failure_policy(*p, ctx, r.child_native("pod_failure_policy"), t.pod_failure_policy);
  // A command may be written as one string; it is then run by /bin/sh -c.
  if (const Node* c = r.take("command")) {
    if (c->kind == Node::Kind::kString)
      t.command = {"/bin/sh", "-c", c->text};
    else
      read_strings(*c, ctx, r.child_display("command"), t.command);
  }
  r.read("args", t.args);
  if (const Node* env = r.take("env")) read_env(*env, ctx, r.child_native("env"), t.env);
  r.read("working_dir", t.working_dir);
  r.read("ports", t.ports, 0, 65535);
  if (const Node* res = r.take("resources"))
    read_resources(*res, ctx, r.child_native("resources"), t.resources);
  r.read("node_selector", t.node_selector);
  r.finish();
}

void read_replicated_job(const Node& n, ReadContext& ctx, const std::string& native,
                         ReplicatedJob& rj) {
  FieldReader r(n, native, native, ctx);
  r.read("name", rj.name);
  r.read("replicas", rj.replicas, 0, kInt32Max);
  r.read("group_name", rj.group_name);
  r.read("exclusive_topology", rj.exclusive_topology);
  r.read("node_selector_strategy", rj.node_selector_strategy);
  if (const Node* d = r.take("depends_on"))
    read_dependencies(*d, ctx, r.child_native("depends_on"), r.child_native("depends_on"), rj.depends_on);
  if (const Node* t = r.take("template")) read_template(*t, ctx, r.child_native("template"), rj.tmpl);
  r.finish();
}

void read_failure_policy(const Node& n, ReadContext& ctx, FailurePolicy& fp) {
  FieldReader r(n, "failure_policy", "failure_policy", ctx);
  r.read("max_restarts", fp.max_restarts, 0, kInt32Max);
  r.read_enum("restart_strategy", fp.restart_strategy);
  if (const Node* rules = r.take("rules")) read_failure_rules(*rules, ctx, "failure_policy.rules", Spelling::kSnake, fp.rules);
  r.finish();
}

}  // namespace

JobSet decode_native(const Node& root, ReadContext& ctx) {
  JobSet js;
  FieldReader r(root, "", "", ctx);
  r.read("name", js.name);
  if (const Node* rjs = r.take("replicated_jobs")) {
    if (rjs->kind != Node::Kind::kArray) {
      ctx.diags.error(rjs->mark, "replicated_jobs",
                      "expected a list of [[replicated_jobs]] tables, found " + describe(*rjs));
    } else {
      for (size_t i = 0; i < rjs->items.size(); ++i) {
        ReplicatedJob rj;
        read_replicated_job(rjs->items[i], ctx, indexed("replicated_jobs", i), rj);
        js.replicated_jobs.push_back(std::move(rj));
      }
    }
  }
  if (const Node* n = r.take("network")) {
    FieldReader nr(*n, "network", "network", ctx);
    nr.read("enable_dns_hostnames", js.network.enable_dns_hostnames);
    nr.read("subdomain", js.network.subdomain);
    nr.read("publish_not_ready_addresses", js.network.publish_not_ready_addresses);
    nr.finish();
  }
  if (const Node* n = r.take("success_policy")) {
    FieldReader sr(*n, "success_policy", "success_policy", ctx);
    sr.read_enum("operator", js.success_policy.op);
    sr.read("target_replicated_jobs", js.success_policy.target_replicated_jobs);
    sr.finish();
  }
  if (const Node* n = r.take("failure_policy")) {
    js.failure_policy.emplace();
    read_failure_policy(*n, ctx, *js.failure_policy);
  }
  if (const Node* n = r.take("startup_policy")) {
    FieldReader sr(*n, "startup_policy", "startup_policy", ctx);
    sr.read_enum("startup_policy_order", js.startup_order);
    sr.finish();
  }
  if (const Node* n = r.take("coordinator")) {
    Coordinator c;
    FieldReader cr(*n, "coordinator", "coordinator", ctx);
    cr.require("replicated_job", "the replicated job of the coordinator process");
    cr.read("replicated_job", c.replicated_job);
    cr.read("job_index", c.job_index, 0, kInt32Max);
    cr.read("pod_index", c.pod_index, 0, kInt32Max);
    cr.finish();
    js.coordinator = c;
  }
  r.read("exclusive_topology", js.exclusive_topology);
  r.read("node_selector_strategy", js.node_selector_strategy);
  r.read("suspend", js.suspend);
  r.read("ttl_seconds_after_finished", js.ttl_seconds_after_finished, 0, kInt32Max);
  r.read("managed_by", js.managed_by);
  r.read("namespace", js.namespace_name, "namespace_name");
  r.read("expand_references", js.expand_references);
  r.finish();
  return js;
}

}  // namespace jobset::launcher
