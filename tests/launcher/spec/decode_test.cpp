// The two readers: a Kubernetes JobSet manifest and its native TOML twin
// must give the same model; YAML specifics (annotations, first container,
// quantities, ignored fields) are mapped as jobset-file(5) says.
#include "launcher/spec/decode.hpp"

#include "tests/launcher/test_util.hpp"

using namespace jobset::launcher;
using namespace jobset::launcher::testing;

namespace {

const char* kFullYaml = R"(apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata:
  name: full
  namespace: default
  annotations:
    alpha.jobset.sigs.k8s.io/exclusive-topology: rack
spec:
  suspend: false
  ttlSecondsAfterFinished: 60
  network:
    enableDNSHostnames: true
    subdomain: net
    publishNotReadyAddresses: false
  successPolicy:
    operator: Any
    targetReplicatedJobs: [workers]
  startupPolicy:
    startupPolicyOrder: AnyOrder
  coordinator:
    replicatedJob: driver
  failurePolicy:
    maxRestarts: 4
    restartStrategy: BlockingRecreate
    rules:
    - name: oom
      action: FailJobSet
      onJobFailureReasons: [PodFailurePolicy]
      targetReplicatedJobs: [workers]
    - action: RestartJobSetAndIgnoreMaxRestarts
      onJobFailureMessagePatterns: ["preempt.*"]
  replicatedJobs:
  - name: driver
    template:
      spec:
        backoffLimit: 0
        completions: 1   # upstream: the coordinator's job needs completions
        template:
          spec:
            containers:
            - name: main
              image: python:3.11
              command: ["python3", "driver.py"]
              args: ["--steps", "10"]
              workingDir: /work
              env:
              - name: MODE
                value: train
              - name: LEVEL
                value: "3"
  - name: workers
    replicas: 3
    groupName: pool
    dependsOn:
    - name: driver
      status: Ready
    template:
      metadata:
        annotations:
          alpha.jobset.sigs.k8s.io/exclusive-topology: cloud.google.com/gke-nodepool
      spec:
        parallelism: 2
        completions: 2
        activeDeadlineSeconds: 3600
        podFailurePolicy:
          rules:
          - action: FailJob
            onExitCodes:
              containerName: main
              operator: In
              values: [42, 43]
          - action: Ignore
            onPodConditions:
            - type: DisruptionTarget
        template:
          spec:
            restartPolicy: Never
            hostNetwork: true
            nodeSelector:
              cloud.google.com/gke-tpu-topology: 2x4
            containers:
            - name: main
              command: [worker]
              ports:
              - containerPort: 8471
              resources:
                requests:
                  cpu: 500m
                  memory: 1Gi
                limits:
                  memory: 16Gi
                  nvidia.com/gpu: 2
            - name: sidecar
              image: busybox
)";

const char* kFullToml = R"(name = "full"
namespace = "default"
exclusive_topology = "rack"
ttl_seconds_after_finished = 60

[network]
subdomain = "net"
publish_not_ready_addresses = false

[success_policy]
operator = "Any"
target_replicated_jobs = ["workers"]

[coordinator]
replicated_job = "driver"

[failure_policy]
max_restarts = 4
restart_strategy = "BlockingRecreate"

[[failure_policy.rules]]
name = "oom"
action = "FailJobSet"
on_job_failure_reasons = ["PodFailurePolicy"]
target_replicated_jobs = ["workers"]

[[failure_policy.rules]]
action = "RestartJobSetAndIgnoreMaxRestarts"
on_job_failure_message_patterns = ["preempt.*"]

[[replicated_jobs]]
name = "driver"

[replicated_jobs.template]
completions = 1
backoff_limit = 0
command = ["python3", "driver.py"]
args = ["--steps", "10"]
working_dir = "/work"
env = { MODE = "train", LEVEL = "3" }

[[replicated_jobs]]
name = "workers"
replicas = 3
group_name = "pool"
exclusive_topology = "cloud.google.com/gke-nodepool"
depends_on = [{ name = "driver", status = "Ready" }]

[replicated_jobs.template]
parallelism = 2
completions = 2
active_deadline_seconds = 3600
command = ["worker"]
ports = [8471]
node_selector = { "cloud.google.com/gke-tpu-topology" = "2x4" }
resources = { cpus = "500m", memory = "16Gi", gpus = 2 }
pod_failure_policy = { rules = [
  { action = "FailJob", on_exit_codes = { operator = "In", values = [42, 43] } },
  { action = "Ignore", on_pod_conditions = [{ type = "DisruptionTarget" }] },
] }
)";

}  // namespace

TEST_CASE("decode: the multislice example gives the same model from YAML and TOML", "[decode]") {
  auto yaml = load_yaml(example("multislice.yaml"));
  auto toml = load(example("multislice.toml"));
  INFO(yaml.diags.to_string() << toml.diags.to_string());
  REQUIRE(yaml.js);
  REQUIRE(toml.js);
  CHECK(yaml.js->jobset == toml.js->jobset);
  const JobSet& js = yaml.js->jobset;
  CHECK(js.name == "multislice");
  CHECK(js.exclusive_topology == "cloud.google.com/gke-nodepool");
  CHECK(js.failure_policy->max_restarts == 3);
  CHECK(js.replicated_jobs[0].replicas == 4);
  CHECK(js.replicated_jobs[0].tmpl.parallelism == 2);
  CHECK(js.replicated_jobs[0].tmpl.backoff_limit == 0);
  CHECK(js.replicated_jobs[0].tmpl.resources.tpus == 4);
  CHECK(js.replicated_jobs[0].tmpl.ports == std::vector<int64_t>{8471, 8080});
  CHECK(js.replicated_jobs[0].tmpl.node_selector.at("cloud.google.com/gke-tpu-topology") == "2x4");
}

TEST_CASE("decode: every Kubernetes field maps to its TOML twin", "[decode]") {
  auto yaml = load_yaml(kFullYaml);
  auto toml = load(kFullToml);
  INFO(yaml.diags.to_string() << toml.diags.to_string());
  REQUIRE(yaml.js);
  REQUIRE(toml.js);
  CHECK(yaml.js->jobset == toml.js->jobset);
  const JobSet& js = yaml.js->jobset;
  const JobTemplate& w = js.replicated_jobs[1].tmpl;
  CHECK(w.resources.cpus == Approx(0.5));   // from requests: no cpu limit
  CHECK(w.resources.memory == 16LL << 30);  // the limit wins over the request
  CHECK(w.resources.gpus == 2);
  CHECK(js.replicated_jobs[1].exclusive_topology ==
        "cloud.google.com/gke-nodepool");  // wins over the JobSet's
  CHECK(js.failure_policy->rules[1].name == "failurePolicyRule1");
  CHECK(js.replicated_jobs[0].tmpl.env.at("LEVEL") == "3");
}

TEST_CASE("decode: Kubernetes-only fields are listed once as ignored", "[decode]") {
  auto yaml = load_yaml(kFullYaml);
  REQUIRE(yaml.js);
  const auto& ignored = yaml.js->ignored;
  auto has = [&](const std::string& s) {
    return std::find(ignored.begin(), ignored.end(), s) != ignored.end();
  };
  CHECK_FALSE(has("metadata.namespace"));  // read: valueFrom metadata.namespace and job-key use it
  CHECK(has("spec.replicatedJobs[0].template.spec.template.spec.containers[0].image"));
  CHECK(has("spec.replicatedJobs[1].template.spec.template.spec.hostNetwork"));
  CHECK(has(
      "spec.replicatedJobs[1].template.spec.podFailurePolicy.rules[0].onExitCodes.containerName"));
  std::vector<const Diagnostic*> notes;
  for (const auto& d : yaml.diags.all())
    if (d.message.find("Kubernetes-only") != std::string::npos) notes.push_back(&d);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0]->message.find(std::to_string(ignored.size()) + " Kubernetes-only field(s)") == 0);
  const auto* sidecar = find(yaml.diags, "only the first container is run");
  REQUIRE(sidecar);
  CHECK(sidecar->path == "spec.replicatedJobs[1].template.spec.template.spec.containers[1]");
}

TEST_CASE("decode: YAML errors carry the YAML position and path", "[decode]") {
  std::string y = kFullYaml;
  y.replace(y.find("replicas: 3"), 11, "replicas: -3");
  auto l = load_yaml(y);
  REQUIRE_ERROR_AT(l, "expected an integer from 0 to 2147483647, found '-3'", 52, 15,
                   "spec.replicatedJobs[1].replicas");
  std::string quoted = kFullYaml;
  quoted.replace(quoted.find("replicas: 3"), 11, "replicas: \"3\"");
  auto q = load_yaml(quoted);
  REQUIRE_ERROR_AT(q, "found string \"3\"", 52, 15, "spec.replicatedJobs[1].replicas");
  std::string target = kFullYaml;
  target.replace(target.find("targetReplicatedJobs: [workers]"), 31,
                 "targetReplicatedJobs: [wrkers]");
  auto t = load_yaml(target);
  REQUIRE_ERROR_AT(t, "found \"wrkers\"; did you mean \"workers\"?", 17, 28,
                   "spec.successPolicy.targetReplicatedJobs[0]");
}

TEST_CASE("decode: a YAML syntax error names its line and column", "[decode]") {
  auto l = load_yaml(
      "apiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\nspec:\n  replicatedJobs: [a\n");
  REQUIRE_FALSE(l.js);
  REQUIRE(l.diags.all().size() == 1);
  CHECK(l.diags.all()[0].message.find("YAML syntax:") == 0);
  CHECK(l.diags.all()[0].mark.line >= 4);
}

TEST_CASE("decode: a manifest that is not a JobSet is refused", "[decode]") {
  auto deploy = load_yaml("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n");
  REQUIRE_ERROR_AT(deploy, "expected a Kubernetes JobSet (kind: JobSet), found 'Deployment'", 2, 7,
                   "kind");
  auto version =
      load_yaml("apiVersion: jobset.x-k8s.io/v1alpha1\nkind: JobSet\nmetadata:\n  name: a\n");
  REQUIRE_ERROR_AT(version,
                   "expected \"jobset.x-k8s.io/v1alpha2\", found 'jobset.x-k8s.io/v1alpha1'", 1, 13,
                   "apiVersion");
  auto plain = load_yaml("name: x\nreplicated_jobs: []\n");
  REQUIRE_ERROR_AT(
      plain, "expected a Kubernetes JobSet (apiVersion: jobset.x-k8s.io/v1alpha2, kind: JobSet)", 1,
      1, "");
  auto toml = load("[server]\nport = 80\n");
  REQUIRE_ERROR_AT(toml, "this is not a JobSet", 1, 1, "");
  auto two = load_yaml(std::string(kFullYaml) + "---\n" + kFullYaml);
  REQUIRE_ERROR_AT(two, "expected one YAML document, found 2", 96, 1, "");
}

TEST_CASE("decode: Kubernetes quantities", "[decode]") {
  CHECK(parse_cpu_quantity("2") == 2.0);
  CHECK(parse_cpu_quantity("250m") == 0.25);
  CHECK(parse_cpu_quantity("1.5") == 1.5);
  CHECK_FALSE(parse_cpu_quantity("2Gi"));
  CHECK_FALSE(parse_cpu_quantity("-1"));
  CHECK(parse_memory_quantity("16Gi") == 17179869184LL);
  CHECK(parse_memory_quantity("512M") == 512000000LL);
  CHECK(parse_memory_quantity("1000") == 1000);
  CHECK(parse_memory_quantity("1.5Ki") == 1536);
  CHECK_FALSE(parse_memory_quantity("12 apples"));
  CHECK_FALSE(parse_memory_quantity("99999999Pi"));
  auto bad = load(minimal("resources = { memory = \"lots\" }\n"));
  REQUIRE_ERROR_AT(
      bad, "expected bytes or a quantity such as \"16Gi\" or \"512M\", found string \"lots\"", 8,
      24, "replicated_jobs[0].template.resources.memory");
}
