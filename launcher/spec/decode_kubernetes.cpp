// A Kubernetes JobSet manifest, read unchanged. The Job template and the
// pod's first container become the replicated job's template; annotations
// that mean something to placement are kept; fields that only mean
// something to Kubernetes are accepted and listed as ignored, never
// silently dropped. Every field is recorded under its native path so that
// validation messages point at the YAML line.
#include <climits>

#include "launcher/spec/decode.hpp"

namespace jobset::launcher {

namespace {

constexpr int64_t kInt32Max = INT32_MAX;
constexpr const char* kApiVersion = "jobset.x-k8s.io/v1alpha2";
constexpr const char* kExclusiveTopology = "alpha.jobset.sigs.k8s.io/exclusive-topology";
constexpr const char* kNodeSelectorStrategy = "alpha.jobset.sigs.k8s.io/node-selector";

// The metadata of a JobSet or of a replicated job's Job template: the two
// placement annotations are kept, all other annotations are ignored and
// listed. `name` receives metadata.name where it means something (the
// JobSet's); a Job template's name is accepted and unused.
void read_metadata(const Node& metadata, ReadContext& ctx, const std::string& native,
                   const std::string& display, std::string* name, std::string& exclusive,
                   std::optional<bool>& strategy, std::string* namespace_name = nullptr) {
  FieldReader m(metadata, native, display, ctx);
  if (namespace_name)
    m.read("namespace", *namespace_name, "namespace_name");
  else
    m.ignore({"namespace"});
  m.ignore({"labels", "generateName", "uid", "resourceVersion", "generation",
            "creationTimestamp", "managedFields", "ownerReferences", "finalizers"});
  if (const Node* a = m.take("annotations")) {
    FieldReader ar(*a, native, m.child_display("annotations"), ctx);
    ar.read(kExclusiveTopology, exclusive, "exclusive_topology");
    ar.read(kNodeSelectorStrategy, strategy, "node_selector_strategy");
    if (a->kind == Node::Kind::kTable)
      for (const auto& [k, v] : a->fields)
        if (k != kExclusiveTopology && k != kNodeSelectorStrategy) ar.ignore({k});
  }
  if (name)
    m.read("name", *name);
  else
    m.take("name", "metadata_name");
  m.finish();
}

void read_resource_list(const Node& n, ReadContext& ctx, const std::string& native,
                        const std::string& display, Resources& out) {
  FieldReader r(n, native, display, ctx);
  if (const Node* c = r.take("cpu", "cpus")) read_cpus(*c, ctx, r.child_display("cpu"), out.cpus);
  if (const Node* m = r.take("memory")) read_memory(*m, ctx, r.child_display("memory"), out.memory);
  r.read("nvidia.com/gpu", out.gpus, 0, 1 << 20, "gpus");
  r.read("amd.com/gpu", out.gpus, 0, 1 << 20, "gpus");
  r.read("google.com/tpu", out.tpus, 0, 1 << 20, "tpus");
  r.ignore({"ephemeral-storage", "hugepages-2Mi", "hugepages-1Gi"});
  r.finish();
}

// valueFrom of the env entry `name`: a fieldRef is resolved where it has a
// meaning (field_ref.hpp); Secrets, ConfigMaps, files and resource fields
// do not exist here, so those variables are left unset, with a warning.
void read_value_from(const Node& n, ReadContext& ctx, const std::string& native,
                     const std::string& display, const std::string& name,
                     const std::map<std::string, std::string>& pod_metadata, EnvList& env) {
  FieldReader v(n, native, display, ctx);
  if (const Node* ref = v.take("fieldRef")) {
    FieldReader f(*ref, v.child_native("fieldRef"), v.child_display("fieldRef"), ctx);
    std::string path;
    f.require("fieldPath", "the pod field to read, such as metadata.name");
    f.read("fieldPath", path);
    f.take("apiVersion");
    f.finish();
    if (!path.empty()) add_field_ref(name, path, pod_metadata, ref->mark, v.child_display("fieldRef"), ctx, env);
  }
  static const std::pair<const char*, const char*> kAbsent[] = {
      {"secretKeyRef", "there are no Secrets off Kubernetes"},
      {"configMapKeyRef", "there are no ConfigMaps off Kubernetes"},
      {"fileKeyRef", "there are no pod volumes off Kubernetes"},
      {"resourceFieldRef", "jobset does not resolve resource fields"},
  };
  for (const auto& [key, why] : kAbsent)
    if (const Node* r = v.take(key)) {
      std::string message = name;
      message.append(" is left unset: ").append(why).append("; give it with -x ").append(name).append("=VALUE");
      ctx.diags.warning(r->mark, v.child_display(key), message);
    }
  v.finish();
}

void read_container(const Node& n, ReadContext& ctx, const std::string& native,
                    const std::string& display, const std::map<std::string, std::string>& pod_metadata,
                    JobTemplate& t) {
  FieldReader c(n, native, display, ctx);
  c.read("command", t.command);
  c.read("args", t.args);
  c.read("workingDir", t.working_dir, "working_dir");
  if (const Node* env = c.take("env"))
    read_list(*env, ctx, c.child_native("env"), c.child_display("env"), "{name, value}", [&](FieldReader& e) {
      std::string name, value;
      e.read("name", name);
      e.read("value", value);
      const Node* from = e.take("valueFrom");
      if (name.empty()) return;
      if (!from) return t.env.add(name, value);
      read_value_from(*from, ctx, e.child_native("valueFrom"), e.child_display("valueFrom"), name,
                      pod_metadata, t.env);
    });
  if (const Node* ports = c.take("ports"))
    read_list(*ports, ctx, c.child_native("ports"), c.child_display("ports"), "{containerPort}", [&](FieldReader& p) {
      int64_t port = -1;
      p.read("containerPort", port, 1, 65535);
      p.ignore({"name", "protocol", "hostPort", "hostIP"});
      if (port > 0) t.ports.push_back(port);
    });
  if (const Node* res = c.take("resources")) {
    FieldReader r(*res, c.child_native("resources"), c.child_display("resources"), ctx);
    // Limits are what a process may use; requests stand in where no limit is set.
    if (const Node* req = r.take("requests"))
      read_resource_list(*req, ctx, r.native(), r.child_display("requests"), t.resources);
    if (const Node* lim = r.take("limits")) {
      Resources limits;
      read_resource_list(*lim, ctx, r.native(), r.child_display("limits"), limits);
      if (limits.cpus > 0) t.resources.cpus = limits.cpus;
      if (limits.memory) t.resources.memory = limits.memory;
      if (limits.gpus) t.resources.gpus = limits.gpus;
      if (limits.tpus) t.resources.tpus = limits.tpus;
    }
    r.ignore({"claims"});
    r.finish();
  }
  c.take("name");
  c.unsupported("restartPolicyRules",
                "jobset does not restart a process in place on chosen exit codes; "
                "use the Job's podFailurePolicy and backoffLimit",
                Severity::kError);
  c.ignore({"image", "imagePullPolicy", "securityContext", "volumeMounts", "volumeDevices",
            "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "envFrom", "stdin",
            "stdinOnce", "tty", "terminationMessagePath", "terminationMessagePolicy",
            "resizePolicy", "restartPolicy"});
  c.finish();
}

void read_pod_spec(const Node& n, ReadContext& ctx, const std::string& native,
                   const std::string& display, const std::map<std::string, std::string>& pod_metadata,
                   JobTemplate& t, std::string& restart_policy) {
  FieldReader p(n, native, display, ctx);
  if (const Node* cs = p.take("containers", "command")) {
    std::string path = p.child_display("containers");
    if (cs->kind != Node::Kind::kArray || cs->items.empty()) {
      ctx.diags.error(cs->mark, path, "expected a list of at least one container, found " + describe(*cs));
    } else {
      read_container(cs->items[0], ctx, native, indexed(path, 0), pod_metadata, t);
      for (size_t i = 1; i < cs->items.size(); ++i)
        ctx.diags.warning(cs->items[i].mark, indexed(path, i),
                          "only the first container is run; this one is ignored");
    }
  }
  p.read("nodeSelector", t.node_selector, "node_selector");
  if (const Node* rp = p.take("restartPolicy"))
    if (auto v = read_string(*rp, ctx, p.child_display("restartPolicy"))) {
      restart_policy = *v;
      if (*v != "OnFailure" && *v != "Never")
        ctx.diags.error(rp->mark, p.child_display("restartPolicy"),
                        "expected \"OnFailure\" or \"Never\" (a Job's pods), found \"" + printable(*v) + "\"");
    }
  for (const char* key : {"schedulingGroup", "workloadRef"})
    p.unsupported(key,
                  "it groups pods for Kubernetes' scheduler, and jobset places and starts all "
                  "the processes of a JobSet together anyway",
                  Severity::kWarning);
  p.ignore({"hostNetwork", "dnsPolicy", "dnsConfig", "securityContext", "volumes",
            "serviceAccountName", "serviceAccount", "tolerations", "affinity",
            "priorityClassName", "priority", "schedulerName", "imagePullSecrets",
            "initContainers", "terminationGracePeriodSeconds", "hostname", "subdomain",
            "hostIPC", "hostPID", "shareProcessNamespace", "runtimeClassName",
            "topologySpreadConstraints", "schedulingGates", "automountServiceAccountToken",
            "enableServiceLinks", "preemptionPolicy", "nodeName", "resourceClaims"});
  p.finish();
}

// The pod template's own labels and annotations, which a fieldRef may read.
void read_pod_metadata(const Node& n, ReadContext& ctx, const std::string& native,
                       const std::string& display, std::map<std::string, std::string>& out) {
  FieldReader m(n, native, display, ctx);
  for (const char* kind : {"labels", "annotations"}) {
    std::map<std::string, std::string> values;
    m.read(kind, values);
    for (const auto& [k, v] : values) out[std::string("metadata.") + kind + "['" + k + "']"] = v;
  }
  m.ignore({"name", "namespace", "generateName", "finalizers", "ownerReferences"});
  m.finish();
}

void read_pod_failure_policy(const Node& n, ReadContext& ctx, const std::string& native,
                             const std::string& display, std::vector<PodFailureRule>& out) {
  FieldReader policy(n, native, display, ctx);
  if (const Node* rules = policy.take("rules"))
    read_pod_failure_rules(*rules, ctx, policy.child_native("rules"), policy.child_display("rules"),
                           Spelling::kCamel, out);
  policy.finish();
}

void read_job_template(const Node& n, ReadContext& ctx, const std::string& native,
                       const std::string& display, ReplicatedJob& rj) {
  FieldReader jt(n, native, display, ctx);
  if (const Node* md = jt.take("metadata"))
    read_metadata(*md, ctx, jt.native().substr(0, jt.native().rfind('.')), jt.child_display("metadata"),
                  nullptr, rj.exclusive_topology, rj.node_selector_strategy);
  const Node* spec = jt.take("spec");
  jt.finish();
  if (!spec) return;
  JobTemplate& t = rj.tmpl;
  FieldReader s(*spec, native, jt.child_display("spec"), ctx);
  s.read("parallelism", t.parallelism, 1, kInt32Max);
  s.read("completions", t.completions, 1, kInt32Max);
  s.read("backoffLimit", t.backoff_limit, 0, kInt32Max, "backoff_limit");
  s.read("activeDeadlineSeconds", t.active_deadline_seconds, 1, INT64_MAX / 1000,
         "active_deadline_seconds");
  const Node* pfp = s.take("podFailurePolicy", "pod_failure_policy");
  if (pfp)
    read_pod_failure_policy(*pfp, ctx, s.child_native("pod_failure_policy"),
                            s.child_display("podFailurePolicy"), t.pod_failure_policy);
  if (const Node* mode = s.take("completionMode"))
    if (auto m = read_string(*mode, ctx, s.child_display("completionMode")); m && *m != "Indexed")
      ctx.diags.warning(mode->mark, s.child_display("completionMode"),
                        "jobset always runs jobs in Indexed completion mode, found \"" + *m + "\"");
  std::string restart_policy;  // the webhook's default: OnFailure
  if (const Node* pod = s.take("template")) {
    FieldReader pt(*pod, native, s.child_display("template"), ctx);
    std::map<std::string, std::string> pod_metadata;  // "metadata.labels['k']" -> value
    if (const Node* md = pt.take("metadata")) read_pod_metadata(*md, ctx, native + ".pod_metadata", pt.child_display("metadata"), pod_metadata);
    if (const Node* ps = pt.take("spec"))
      read_pod_spec(*ps, ctx, native, pt.child_display("spec"), pod_metadata, t, restart_policy);
    pt.finish();
  }
  // Kubernetes' Job validation: a podFailurePolicy needs restartPolicy Never.
  if (pfp && restart_policy != "Never")
    ctx.diags.error(pfp->mark, s.child_display("podFailurePolicy"),
                    "a podFailurePolicy needs the pod's restartPolicy to be \"Never\" (Kubernetes refuses "
                    "the Job otherwise), found " +
                        (restart_policy.empty() ? std::string("none (the default is OnFailure)")
                                                : "\"" + printable(restart_policy) + "\""));
  for (const char* key : {"backoffLimitPerIndex", "maxFailedIndexes"})
    s.unsupported(key,
                  "jobset does not implement per-index backoff (the FailedIndexes reason): it "
                  "counts a job's failures against backoffLimit",
                  Severity::kError);
  s.unsupported("successPolicy",
                "a Job success policy ends a job before all its indexes succeed, and jobset "
                "ends a job when every index has succeeded",
                Severity::kError);
  s.unsupported("podReplacementPolicy",
                "jobset replaces a process only once it has ended (as with the value Failed)",
                Severity::kWarning);
  s.ignore({"ttlSecondsAfterFinished", "suspend", "manualSelector", "selector", "managedBy"});
  s.finish();
}

}  // namespace

namespace {

void read_replicated_jobs(const Node& n, ReadContext& ctx, const std::string& display,
                          JobSet& js) {
  if (n.kind != Node::Kind::kArray) {
    ctx.diags.error(n.mark, display, "expected a list of replicated jobs, found " + describe(n));
    return;
  }
  for (size_t i = 0; i < n.items.size(); ++i) {
    ReplicatedJob rj;
    std::string native = indexed("replicated_jobs", i);
    FieldReader r(n.items[i], native, indexed(display, i), ctx);
    r.read("name", rj.name);
    r.read("replicas", rj.replicas, 0, kInt32Max);
    r.read("groupName", rj.group_name, "group_name");
    if (const Node* deps = r.take("dependsOn", "depends_on"))
      read_dependencies(*deps, ctx, r.child_native("depends_on"), r.child_display("dependsOn"), rj.depends_on);
    if (const Node* t = r.take("template"))
      read_job_template(*t, ctx, r.child_native("template"), r.child_display("template"), rj);
    r.finish();
    js.replicated_jobs.push_back(std::move(rj));
  }
}

void read_spec(const Node& n, ReadContext& ctx, JobSet& js) {
  FieldReader s(n, "", "spec", ctx);
  if (const Node* rjs = s.take("replicatedJobs", "replicated_jobs"))
    read_replicated_jobs(*rjs, ctx, s.child_display("replicatedJobs"), js);
  if (const Node* net = s.take("network")) {
    FieldReader r(*net, "network", s.child_display("network"), ctx);
    r.read("enableDNSHostnames", js.network.enable_dns_hostnames, "enable_dns_hostnames");
    r.read("subdomain", js.network.subdomain);
    r.read("publishNotReadyAddresses", js.network.publish_not_ready_addresses,
           "publish_not_ready_addresses");
    r.finish();
  }
  if (const Node* sp = s.take("successPolicy", "success_policy")) {
    FieldReader r(*sp, "success_policy", s.child_display("successPolicy"), ctx);
    r.read_enum("operator", js.success_policy.op);
    r.read("targetReplicatedJobs", js.success_policy.target_replicated_jobs, "target_replicated_jobs");
    r.finish();
  }
  if (const Node* fp = s.take("failurePolicy", "failure_policy")) {
    FailurePolicy policy;
    FieldReader r(*fp, "failure_policy", s.child_display("failurePolicy"), ctx);
    r.read("maxRestarts", policy.max_restarts, 0, kInt32Max, "max_restarts");
    r.read_enum("restartStrategy", policy.restart_strategy, "restart_strategy");
    if (const Node* rules = r.take("rules"))
      read_failure_rules(*rules, ctx, r.child_display("rules"), Spelling::kCamel, policy.rules);
    r.finish();
    js.failure_policy = policy;
  }
  if (const Node* sp = s.take("startupPolicy", "startup_policy")) {
    FieldReader r(*sp, "startup_policy", s.child_display("startupPolicy"), ctx);
    r.read_enum("startupPolicyOrder", js.startup_order, "startup_policy_order");
    r.finish();
  }
  if (const Node* co = s.take("coordinator")) {
    Coordinator c;
    FieldReader r(*co, "coordinator", s.child_display("coordinator"), ctx);
    r.require("replicatedJob", "the replicated job of the coordinator process");
    r.read("replicatedJob", c.replicated_job, "replicated_job");
    r.read("jobIndex", c.job_index, 0, kInt32Max, "job_index");
    r.read("podIndex", c.pod_index, 0, kInt32Max, "pod_index");
    r.finish();
    js.coordinator = c;
  }
  s.read("suspend", js.suspend);
  s.read("ttlSecondsAfterFinished", js.ttl_seconds_after_finished, 0, kInt32Max,
         "ttl_seconds_after_finished");
  s.read("managedBy", js.managed_by, "managed_by");
  s.unsupported("volumeClaimPolicies",
                "there is no Kubernetes to create the shared PersistentVolumeClaims, and without "
                "them the processes would not share the volumes they expect; give "
                "--ignore-unsupported to run without them",
                ctx.ignore_unsupported ? Severity::kWarning : Severity::kError);
  s.finish();
}

// Whether Kubernetes' $(VAR) expansion can change any value of the file:
// only "$(" and "$$" are expanded.
bool has_references(const JobSet& js) {
  auto marked = [](const std::string& s) {
    return s.find("$(") != std::string::npos || s.find("$$") != std::string::npos;
  };
  for (const ReplicatedJob& rj : js.replicated_jobs) {
    const JobTemplate& t = rj.tmpl;
    for (const auto* list : {&t.command, &t.args})
      for (const std::string& s : *list)
        if (marked(s)) return true;
    for (const EnvVar& e : t.env)
      if (marked(e.value)) return true;
  }
  return false;
}

}  // namespace

JobSet decode_kubernetes(const Node& root, ReadContext& ctx) {
  JobSet js;
  FieldReader r(root, "", "", ctx);
  std::string api, kind;
  const Node* api_node = r.take("apiVersion");
  const Node* kind_node = r.take("kind");
  if (api_node) api = read_string(*api_node, ctx, "apiVersion").value_or("");
  if (kind_node) kind = read_string(*kind_node, ctx, "kind").value_or("");
  if (kind != "JobSet") {
    ctx.diags.error(kind_node ? kind_node->mark : root.mark, "kind",
                    "expected a Kubernetes JobSet (kind: JobSet), found " +
                        (kind_node ? describe(*kind_node) : std::string("no kind")));
    return js;
  }
  if (api != kApiVersion)
    ctx.diags.error(api_node ? api_node->mark : root.mark, "apiVersion",
                    std::string("expected \"") + kApiVersion + "\", found " +
                        (api_node ? describe(*api_node) : std::string("no apiVersion")));
  if (const Node* md = r.take("metadata"))
    read_metadata(*md, ctx, "", "metadata", &js.name, js.exclusive_topology, js.node_selector_strategy,
                  &js.namespace_name);
  if (const Node* spec = r.take("spec")) read_spec(*spec, ctx, js);
  r.ignore({"status"});
  r.finish();
  js.expand_references = has_references(js);
  return js;
}

}  // namespace jobset::launcher
