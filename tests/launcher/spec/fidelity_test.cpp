// Upstream fidelity (issue 9): the last webhook rules of upstream JobSet
// v0.12 (pkg/webhooks/jobset_webhook.go and its test cases, named in each
// test), the upstream fields jobset recognises and refuses or ignores with
// a reason, and valueFrom.fieldRef in env entries.
#include "launcher/spec/field_ref.hpp"
#include "launcher/spec/toml_writer.hpp"
#include "launcher/spec/validate.hpp"
#include "tests/launcher/test_util.hpp"

using namespace jobset::launcher;
using namespace jobset::launcher::testing;

namespace {

// A JobSet manifest; `spec` and `pod` are spliced in (indented already).
std::string manifest(const std::string& spec_extra = "", const std::string& job_extra = "",
                     const std::string& pod_extra = "", const std::string& container_extra = "",
                     const std::string& name = "js") {
  return "apiVersion: jobset.x-k8s.io/v1alpha2\n"  // 1
         "kind: JobSet\n"                          // 2
         "metadata:\n"                             // 3
         "  name: " +
         name +
         "\n"         // 4
         "spec:\n" +  // 5
         spec_extra +
         "  replicatedJobs:\n"
         "  - name: workers\n"
         "    replicas: 2\n"
         "    template:\n"
         "      spec:\n" +
         job_extra +
         "        template:\n"
         "          spec:\n" +
         pod_extra +
         "            containers:\n"
         "            - name: main\n"
         "              command: [\"true\"]\n" +
         container_extra;
}

int line_of(const std::string& text, const std::string& needle) {
  size_t at = text.find(needle);
  REQUIRE(at != std::string::npos);
  std::string before = text.substr(0, at);
  return 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
}

}  // namespace

// ---- The last validation rules ----

TEST_CASE(
    "fidelity: managedBy must be a domain-prefixed path (upstream webhook: \"jobset "
    "controller name is not a domain-prefixed path\")",
    "[validate][fidelity]") {
  REQUIRE(load_yaml(manifest("  managedBy: kueue.x-k8s.io/multikueue\n")).js);
  REQUIRE(load_yaml(manifest("  managedBy: jobset.sigs.k8s.io/jobset-controller\n")).js);
  for (const char* bad : {"foo", "kueue.x-k8s.io/", "/path", "Kueue.io/x", "a b/c"}) {
    std::string text = manifest(std::string("  managedBy: \"") + bad + "\"\n");
    auto l = load_yaml(text);
    INFO(bad);
    REQUIRE_ERROR_AT(l, "expected a domain-prefixed path", 6, 3, "spec.managedBy");
  }
  auto toml = load("managed_by = \"multikueue\"\n" + minimal());
  REQUIRE_ERROR_AT(toml, "expected a domain-prefixed path", 1, 1, "managed_by");
  auto empty = load("managed_by = \"\"\n" + minimal());
  REQUIRE_ERROR_AT(empty, "expected a domain-prefixed path", 1, 1, "managed_by");
}

TEST_CASE(
    "fidelity: the coordinator endpoint must fit a 63-character label value (upstream "
    "webhook: \"coordinator label value is too long due to long JobSet name\")",
    "[validate][fidelity]") {
  // js-workers-1-2.<subdomain>: 15 characters before the subdomain.
  std::string ok = minimal(
      "[coordinator]\nreplicated_job = \"workers\"\njob_index = 1\npod_index = 2\n"
      "[network]\nsubdomain = \"" +
      std::string(48, 's') + "\"\n");
  REQUIRE(load(ok).js);
  std::string bad = minimal(
      "[coordinator]\nreplicated_job = \"workers\"\njob_index = 1\npod_index = 2\n"
      "[network]\nsubdomain = \"" +
      std::string(49, 's') + "\"\n");
  auto l = load(bad);
  REQUIRE_ERROR_AT(l, "has 64 characters; at most 63 fit the jobset.sigs.k8s.io/coordinator label",
                   8, 2, "coordinator");
  // "... due to long ReplicatedJob name", in YAML.
  std::string rjob(40, 'w');
  std::string yaml = manifest("  coordinator:\n    replicatedJob: " + rjob + "\n",
                              "        completions: 1\n", "", "", "a-rather-long-jobset");
  size_t at = yaml.find("- name: workers");
  yaml.replace(at, 15, "- name: " + rjob);
  auto y = load_yaml(yaml);
  REQUIRE_ERROR_AT(
      y,
      "the coordinator's endpoint \"a-rather-long-jobset-" + rjob + "-0-0.a-rather-long-jobset\"",
      6, 3, "spec.coordinator");
}

TEST_CASE(
    "fidelity: RestartJob allows at most 1024 replicas per replicated job (upstream "
    "webhook: \"jobset failure policy rule has RestartJob action and a replicated job with "
    "replicas > 1024\")",
    "[validate][fidelity]") {
  auto policy = [](const std::string& action) {
    return "[failure_policy]\nmax_restarts = 3\n[[failure_policy.rules]]\nname = \"one\"\naction = "
           "\"" +
           action + "\"\n";
  };
  auto with = [&](int replicas, const std::string& action) {
    std::string t = minimal(policy(action));
    t.replace(t.find("replicas = 2"), 12, "replicas = " + std::to_string(replicas));
    t.replace(t.find("parallelism = 3"), 15, "parallelism = 1");
    return t;
  };
  REQUIRE(load(with(1024, "RestartJob")).js);
  REQUIRE(load(with(1025, "RestartJobSet")).js);
  auto l = load(with(1025, "RestartJob"));
  REQUIRE_ERROR_AT(l,
                   "expected at most 1024 replicas when a failure policy rule restarts single jobs "
                   "(rule \"one\" is RestartJob), found 1025",
                   4, 1, "replicated_jobs[0].replicas");
  auto ignore = load(with(2000, "RestartJobAndIgnoreMaxRestarts"));
  REQUIRE_ERROR_AT(ignore, "found 2000", 4, 1, "replicated_jobs[0].replicas");
}

TEST_CASE(
    "fidelity: the coordinator's job needs completions in YAML (upstream webhook: "
    "\"coordinator replicated job missing completions\"); elsewhere parallelism without "
    "completions is a warning",
    "[validate][fidelity]") {
  std::string coord = "  coordinator:\n    replicatedJob: workers\n";
  std::string text = manifest(coord, "        parallelism: 2\n");
  auto l = load_yaml(text);
  REQUIRE_ERROR_AT(l, "the coordinator's replicated job needs completions set",
                   line_of(text, "parallelism"), 9,
                   "spec.replicatedJobs[0].template.spec.parallelism");
  REQUIRE(load_yaml(manifest(coord, "        parallelism: 2\n        completions: 2\n")).js);
  // Upstream refuses the coordinator's job without completions even when parallelism is unset.
  REQUIRE_FALSE(load_yaml(manifest(coord)).js);

  std::string worker = manifest("", "        parallelism: 3\n");
  auto w = load_yaml(worker);
  INFO(w.diags.to_string());
  REQUIRE(w.js);
  CHECK(w.js->jobset.replicated_jobs[0].tmpl.effective_completions() == 3);
  const Diagnostic* d =
      find(w.diags, "parallelism without completions: Kubernetes refuses an Indexed Job");
  REQUIRE(d);
  CHECK(d->severity == Severity::kWarning);
  CHECK(d->mark.line == line_of(worker, "parallelism"));
  // Neither set: Kubernetes defaults both to 1; TOML: completions default to parallelism.
  CHECK(load_yaml(manifest()).diags.all().empty());
  auto toml = load(minimal("[coordinator]\nreplicated_job = \"workers\"\n"));
  REQUIRE(toml.js);
  CHECK(toml.diags.all().empty());
}

TEST_CASE("fidelity: podFailurePolicy needs restartPolicy Never (Kubernetes Job validation)",
          "[validate][fidelity]") {
  std::string pfp =
      "        podFailurePolicy:\n"
      "          rules:\n"
      "          - action: FailJob\n"
      "            onExitCodes: {operator: In, values: [42]}\n";
  REQUIRE(load_yaml(manifest("", pfp, "            restartPolicy: Never\n")).js);
  std::string unset = manifest("", pfp);
  auto l = load_yaml(unset);
  REQUIRE_ERROR_AT(l, "a podFailurePolicy needs the pod's restartPolicy to be \"Never\"",
                   line_of(unset, "rules:"), 11,
                   "spec.replicatedJobs[0].template.spec.podFailurePolicy");
  CHECK(find(l.diags, "found none (the default is OnFailure)"));
  auto onfailure = load_yaml(manifest("", pfp, "            restartPolicy: OnFailure\n"));
  REQUIRE_FALSE(onfailure.js);
  CHECK(find(onfailure.diags, "found \"OnFailure\""));
  auto always = load_yaml(manifest("", "", "            restartPolicy: Always\n"));
  REQUIRE_FALSE(always.js);
  CHECK(find(always.diags, "expected \"OnFailure\" or \"Never\""));
}

TEST_CASE(
    "fidelity: messages use the file's own field names (upstream: \"StartupPolicy and "
    "DependsOn APIs are mutually exclusive\")",
    "[validate][fidelity]") {
  std::string yaml = manifest("  startupPolicy:\n    startupPolicyOrder: InOrder\n");
  yaml +=
      "  - name: second\n    dependsOn:\n    - name: workers\n      status: Ready\n"
      "    template:\n      spec:\n        template:\n          spec:\n            containers:\n"
      "            - name: main\n              command: [\"true\"]\n";
  auto l = load_yaml(yaml);
  REQUIRE_ERROR_AT(
      l, "dependsOn cannot be used together with startupPolicy.startupPolicyOrder InOrder",
      line_of(yaml, "dependsOn"), 5, "spec.replicatedJobs[1].dependsOn");
  auto toml =
      load(minimal("[startup_policy]\nstartup_policy_order = \"InOrder\"\n"
                   "[[replicated_jobs]]\nname = \"second\"\ndepends_on = [{ name = \"workers\", "
                   "status = \"Ready\" }]\n[replicated_jobs.template]\ncommand = [\"true\"]\n"));
  REQUIRE_ERROR_AT(
      toml, "depends_on cannot be used together with startup_policy.startup_policy_order InOrder",
      12, 1, "replicated_jobs[1].depends_on");
  std::string rule = "        podFailurePolicy:\n          rules:\n          - action: Count\n";
  auto camel = load_yaml(manifest("", rule, "            restartPolicy: Never\n"));
  REQUIRE_FALSE(camel.js);
  CHECK(find(camel.diags, "expected exactly one of onExitCodes and onPodConditions"));
}

// ---- Honest refusals ----

TEST_CASE(
    "fidelity: restartStrategy InPlaceRestart is accepted (upstream v0.12 \"InPlaceRestart "
    "restart strategy can be set\")",
    "[decode][fidelity]") {
  auto l = load_yaml(
      manifest("  failurePolicy:\n    maxRestarts: 2\n    restartStrategy: InPlaceRestart\n"));
  INFO(l.diags.to_string());
  REQUIRE(l.js);
  CHECK(l.js->jobset.failure_policy->restart_strategy == RestartStrategy::kInPlaceRestart);
  auto toml = load(minimal("[failure_policy]\nrestart_strategy = \"InPlaceRestart\"\n"));
  REQUIRE(toml.js);
  CHECK(to_toml(toml.js->jobset, {}).find("restart_strategy = \"InPlaceRestart\"") !=
        std::string::npos);
  auto bad = load(minimal("[failure_policy]\nrestart_strategy = \"InPlace\"\n"));
  REQUIRE_FALSE(bad.js);
  CHECK(find(bad.diags, "expected \"Recreate\", \"BlockingRecreate\" or \"InPlaceRestart\""));
}

TEST_CASE(
    "fidelity: volumeClaimPolicies is refused unless --ignore-unsupported (upstream "
    "webhook: \"volumeClaimPolicy is valid since volume exists in the container\")",
    "[decode][fidelity]") {
  std::string vcp =
      "  volumeClaimPolicies:\n"
      "  - templates:\n"
      "    - metadata:\n"
      "        name: model-cache\n"
      "      spec:\n"
      "        accessModes: [ReadWriteMany]\n";
  std::string text = manifest(vcp, "", "",
                              "              volumeMounts:\n              - name: model-cache\n"
                              "                mountPath: /cache\n");
  auto l = load_yaml(text);
  REQUIRE_ERROR_AT(
      l,
      "not supported off Kubernetes because there is no Kubernetes to create the shared "
      "PersistentVolumeClaims",
      6, 3, "spec.volumeClaimPolicies");
  CHECK(find(l.diags, "give --ignore-unsupported to run without them"));
  CHECK_FALSE(find(l.diags, "unknown field"));
  Diagnostics diags("test.yaml");
  auto ignored = load_jobset_text(text, Format::kYaml, diags, LoadOptions{true});
  INFO(diags.to_string());
  REQUIRE(ignored);
  const Diagnostic* w = find(diags, "not supported off Kubernetes because there is no Kubernetes");
  REQUIRE(w);
  CHECK(w->severity == Severity::kWarning);
  CHECK(w->message.find("(ignored)") != std::string::npos);
}

TEST_CASE(
    "fidelity: upstream fields with no meaning here are named with the reason, never "
    "\"unknown field\"",
    "[decode][fidelity]") {
  SECTION("per-index backoff is refused (Kubernetes Job: backoffLimitPerIndex, maxFailedIndexes)") {
    std::string text =
        manifest("", "        backoffLimitPerIndex: 1\n        maxFailedIndexes: 2\n");
    auto l = load_yaml(text);
    REQUIRE_ERROR_AT(
        l, "not supported off Kubernetes because jobset does not implement per-index backoff",
        line_of(text, "backoffLimitPerIndex"), 9,
        "spec.replicatedJobs[0].template.spec.backoffLimitPerIndex");
    CHECK(l.diags.error_count() == 2);
  }
  SECTION("FailIndex is refused with the reason") {
    std::string text =
        manifest("",
                 "        podFailurePolicy:\n          rules:\n          - action: FailIndex\n"
                 "            onExitCodes: {operator: In, values: [3]}\n",
                 "            restartPolicy: Never\n");
    auto l = load_yaml(text);
    REQUIRE_ERROR_AT(l,
                     "FailIndex is not supported off Kubernetes because it needs per-index backoff",
                     line_of(text, "FailIndex"), 13,
                     "spec.replicatedJobs[0].template.spec.podFailurePolicy.rules[0].action");
  }
  SECTION("container restartPolicyRules are refused") {
    auto l =
        load_yaml(manifest("", "", "",
                           "              restartPolicyRules:\n              - action: Restart\n"
                           "                exitCodes: {operator: In, values: [42]}\n"));
    REQUIRE_FALSE(l.js);
    CHECK(find(l.diags,
               "not supported off Kubernetes because jobset does not restart a process in place"));
  }
  SECTION("a Job successPolicy is refused") {
    auto l = load_yaml(
        manifest("", "        successPolicy:\n          rules:\n          - succeededCount: 1\n"));
    REQUIRE_FALSE(l.js);
    CHECK(find(l.diags, "not supported off Kubernetes because a Job success policy"));
  }
  SECTION("schedulingGroup and podReplacementPolicy are ignored with a warning saying why") {
    auto l = load_yaml(manifest("", "        podReplacementPolicy: Failed\n",
                                "            schedulingGroup:\n              podGroupName: g\n"));
    INFO(l.diags.to_string());
    REQUIRE(l.js);
    const Diagnostic* sg = find(l.diags, "not supported off Kubernetes because it groups pods");
    REQUIRE(sg);
    CHECK(sg->severity == Severity::kWarning);
    CHECK(sg->path == "spec.replicatedJobs[0].template.spec.template.spec.schedulingGroup");
    CHECK(
        find(l.diags, "not supported off Kubernetes because jobset replaces a process only once"));
    CHECK_FALSE(find(l.diags, "unknown field"));
  }
}

// ---- valueFrom ----

TEST_CASE(
    "fidelity: fieldRef paths that have a meaning here (upstream JobSet labels and "
    "annotations on pods)",
    "[decode][fidelity]") {
  CHECK(field_ref_source("metadata.name") == "JOBSET_HOSTNAME");
  CHECK(field_ref_source("spec.nodeName") == "JOBSET_NODE");
  CHECK(field_ref_source("status.podIP") == "pod:address");
  CHECK(field_ref_source("status.hostIP") == "pod:address");
  CHECK(field_ref_source("metadata.namespace") == "pod:namespace");
  CHECK(field_ref_source("metadata.annotations['batch.kubernetes.io/job-completion-index']") ==
        "JOB_COMPLETION_INDEX");
  CHECK(field_ref_source("metadata.labels['batch.kubernetes.io/job-completion-index']") ==
        "JOB_COMPLETION_INDEX");
  CHECK(field_ref_source("metadata.labels['jobset.sigs.k8s.io/job-index']") == "JOB_INDEX");
  CHECK(field_ref_source("metadata.annotations[\"jobset.sigs.k8s.io/job-global-index\"]") ==
        "JOB_GLOBAL_INDEX");
  CHECK(field_ref_source("metadata.labels['jobset.sigs.k8s.io/restart-attempt']") ==
        "JOBSET_RESTART_ATTEMPT");
  CHECK(field_ref_source("metadata.labels['jobset.sigs.k8s.io/job-key']") == "pod:job-key");
  CHECK_FALSE(field_ref_source("metadata.uid"));
  CHECK_FALSE(field_ref_source("metadata.labels['app']"));
  CHECK_FALSE(field_ref_source("metadata.labels['unclosed"));
}

TEST_CASE(
    "fidelity: valueFrom never sets a variable to \"\" (upstream PyTorch example: "
    "node_rank from the completion index annotation)",
    "[decode][fidelity]") {
  std::string env =
      "              env:\n"
      "              - name: NODE_RANK\n"
      "                valueFrom:\n"
      "                  fieldRef:\n"
      "                    fieldPath: "
      "metadata.annotations['batch.kubernetes.io/job-completion-index']\n"
      "              - name: TEAM\n"
      "                valueFrom:\n"
      "                  fieldRef:\n"
      "                    fieldPath: metadata.labels[\"team\"]\n"
      "              - name: UID\n"
      "                valueFrom:\n"
      "                  fieldRef:\n"
      "                    fieldPath: metadata.uid\n"
      "              - name: TOKEN\n"
      "                valueFrom:\n"
      "                  secretKeyRef: {name: s, key: token}\n"
      "              - name: PLAIN\n"
      "                value: \"rank-$(NODE_RANK)\"\n";
  std::string pod_meta = "          metadata:\n            labels:\n              team: ml\n";
  std::string text = manifest("", "", "", env);
  text.replace(text.find("        template:\n          spec:\n"), 17,
               "        template:\n" + pod_meta);
  auto l = load_yaml(text);
  INFO(l.diags.to_string());
  REQUIRE(l.js);
  const EnvList& e = l.js->jobset.replicated_jobs[0].tmpl.env;
  REQUIRE(e.find("NODE_RANK"));
  CHECK(e.find("NODE_RANK")->field_ref ==
        "metadata.annotations['batch.kubernetes.io/job-completion-index']");
  CHECK(e.at("TEAM") == "ml");  // the pod template's own label
  CHECK_FALSE(e.find("UID"));
  CHECK_FALSE(e.find("TOKEN"));
  CHECK(e.at("PLAIN") == "rank-$(NODE_RANK)");
  CHECK(l.js->jobset.expand_references);  // a "$(" in the manifest
  CHECK_FALSE(load_yaml(manifest()).js->jobset.expand_references);
  const Diagnostic* uid = find(l.diags, "UID is left unset: fieldRef 'metadata.uid'");
  REQUIRE(uid);
  CHECK(uid->severity == Severity::kWarning);
  CHECK(uid->mark.line == line_of(text, "fieldPath: metadata.uid"));
  CHECK(find(
      l.diags,
      "TOKEN is left unset: there are no Secrets off Kubernetes; give it with -x TOKEN=VALUE"));
  // The TOML twin keeps the fieldRef, and reads back to the same model.
  std::string toml = to_toml(l.js->jobset, l.js->ignored);
  CHECK(toml.find("NODE_RANK = { field_ref = "
                  "\"metadata.annotations['batch.kubernetes.io/job-completion-index']\" }") !=
        std::string::npos);
  auto back = load(toml);
  INFO(toml << back.diags.to_string());
  REQUIRE(back.js);
  CHECK(back.js->jobset == l.js->jobset);
}
