// A process's environment end to end: the real launcher and jobsetd build
// it once (launcher/run/process_spec) and the program sees it.
#include <sys/stat.h>

#include <sstream>

#include "tests/run/run_util.hpp"

using namespace runtest;

namespace {

const char* kEnvJob = R"(name = "envjob"
[failure_policy]
max_restarts = 1
[[replicated_jobs]]
name = "w"
[replicated_jobs.template]
parallelism = 2
command = ["sh", "-c", "echo $RANK $TORCHELASTIC_MAX_RESTARTS $EXTRA $LOCAL_RANK $MASTER_PORT"]
env = { EXTRA = "from-file", LOCAL_RANK = "file-local" }
)";

}  // namespace

TEST_CASE(
    "run: --max-restarts reaches TORCHELASTIC_MAX_RESTARTS, the file's env beats jobset's, -x "
    "beats both",
    "[run]") {
  Scratch s;
  s.write("env.toml", kEnvJob);
  Launch plain(s, {"run", s.path("env.toml")}, "plain");
  REQUIRE(plain.wait(30) == 0);
  INFO(plain.report());
  auto lines = sorted(lines_of(plain.out()));
  REQUIRE(lines.size() == 2);
  // The file's max_restarts; the file's LOCAL_RANK over jobset's.
  CHECK(lines[0].rfind("0 1 from-file file-local ", 0) == 0);

  Launch flagged(s, {"run", "--max-restarts", "4", "-x", "EXTRA=from-x", s.path("env.toml")},
                 "flagged");
  REQUIRE(flagged.wait(30) == 0);
  INFO(flagged.report());
  lines = sorted(lines_of(flagged.out()));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].rfind("0 4 from-x file-local ", 0) == 0);
  CHECK(lines[1].rfind("1 4 from-x file-local ", 0) == 0);
  // MASTER_PORT: one per run, the same for every process, never 29500.
  std::string port0 = lines[0].substr(lines[0].rfind(' ') + 1),
              port1 = lines[1].substr(lines[1].rfind(' ') + 1);
  CHECK(port0 == port1);
  CHECK(port0 != "29500");
  CHECK(std::stoi(port0) > 0);
}

TEST_CASE("run: --host nodes are remote, and the refusal names them before anything starts",
          "[run]") {
  Scratch s;
  Launch r(s, {"run", "--host", "far1:2,far2:2", "-n", "2", "true"});
  CHECK(r.wait(30) == 2);
  INFO(r.report());
  CHECK(
      r.last_err_line().find("nodes far1, far2 are remote, which needs the ssh or srun launcher") !=
      std::string::npos);
}

TEST_CASE(
    "run: MASTER_PORT and the JAX and Megascale coordinator ports are distinct; OMP_NUM_THREADS=1 "
    "on a "
    "shared node",
    "[run]") {
  Scratch s;
  const std::string script =
      "echo $MASTER_PORT ${JAX_COORDINATOR_ADDRESS##*:} ${MEGASCALE_COORDINATOR_ADDRESS##*:} "
      "${OMP_NUM_THREADS-unset}";
  Launch r(s, {"run", "-n", "2", "sh", "-c", script});
  REQUIRE(r.wait(30) == 0);
  INFO(r.report());
  auto lines = lines_of(r.out());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == lines[1]);  // the same for every process of the run
  std::istringstream words(lines[0]);
  std::string master, jax, megascale, omp;
  words >> master >> jax >> megascale >> omp;
  CHECK(master != jax);
  CHECK(jax != megascale);
  CHECK(master != megascale);
  CHECK(omp == "1");
  Launch alone(s, {"run", "-n", "1", "sh", "-c", "echo ${OMP_NUM_THREADS-unset}"}, "alone");
  REQUIRE(alone.wait(30) == 0);
  CHECK(alone.out() == "unset\n");
}

TEST_CASE("run: a script without #! runs under /bin/sh, as with mpirun", "[run]") {
  Scratch s;
  s.write("plain", "echo plain $RANK $1\n");
  REQUIRE(::chmod(s.path("plain").c_str(), 0755) == 0);
  Launch r(s, {"run", "-n", "2", s.path("plain"), "arg"});
  REQUIRE(r.wait(30) == 0);
  INFO(r.report());
  CHECK(sorted(lines_of(r.out())) == std::vector<std::string>{"plain 0 arg", "plain 1 arg"});
}

namespace {

// The shape of upstream's PyTorch example (site/static/examples/pytorch/
// cnn-mnist/mnist.yaml): RANK from the completion index annotation through
// valueFrom.fieldRef, handed to torchrun as --node_rank. The program
// prints the torchrun line it would run, with a few more fieldRefs and
// $(VAR) references.
const char* kPytorchYaml = R"yaml(apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata:
  name: pytorch
spec:
  replicatedJobs:
  - name: workers
    template:
      spec:
        parallelism: 4
        completions: 4
        backoffLimit: 0
        template:
          spec:
            containers:
            - name: pytorch
              image: gcr.io/k8s-staging-jobset/pytorch-mnist:latest
              ports:
              - containerPort: 3389
              env:
              - name: MASTER_ADDR
                value: "pytorch-workers-0-0.pytorch"
              - name: MASTER_PORT
                value: "3389"
              - name: RANK
                valueFrom:
                  fieldRef:
                    fieldPath: metadata.annotations['batch.kubernetes.io/job-completion-index']
              - name: NODE
                valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
              - name: POD_IP
                valueFrom: {fieldRef: {fieldPath: status.podIP}}
              - name: POD_NAME
                valueFrom: {fieldRef: {fieldPath: metadata.name}}
              - name: TOKEN
                valueFrom: {secretKeyRef: {name: hf, key: token}}
              - name: ENDPOINT
                value: "$(POD_NAME).pytorch:$(MASTER_PORT)/$$(POD_NAME)/$(UNSET)"
              - name: PYTHONUNBUFFERED
                value: "0"
              command:
              - sh
              - -c
              - |
                echo torchrun --nnodes=4 --master_addr=$MASTER_ADDR --node_rank=$RANK arg=$(RANK) node=$NODE/$JOBSET_NODE ip=$POD_IP endpoint=$ENDPOINT token=${TOKEN-unset} job=$JOB_INDEX
)yaml";

}  // namespace

TEST_CASE("run: valueFrom fieldRefs reach the program, $(VAR) is expanded, unresolvable ones stay "
          "unset (upstream PyTorch example: torchrun --node_rank from the completion index)",
          "[run][fidelity]") {
  Scratch s;
  s.write("mnist.yaml", kPytorchYaml);
  Launch r(s, {"run", "--simulate-nodes", "2", s.path("mnist.yaml")}, "pytorch");
  REQUIRE(r.wait(60) == 0);
  INFO(r.report());
  auto lines = sorted(lines_of(r.out()));
  REQUIRE(lines.size() == 4);
  for (int rank = 0; rank < 4; ++rank) {
    INFO("rank " << rank << ": " << lines[rank]);
    std::string want = "torchrun --nnodes=4 --master_addr=pytorch-workers-0-0.pytorch --node_rank=" +
                       std::to_string(rank) + " arg=" + std::to_string(rank) + " node=";
    REQUIRE(lines[rank].rfind(want, 0) == 0);
    // spec.nodeName is the node's name, status.podIP its (loopback) address.
    std::string node = lines[rank].substr(want.size(), lines[rank].find(' ', want.size()) - want.size());
    CHECK(node.substr(0, node.find('/')) == node.substr(node.find('/') + 1));
    CHECK(lines[rank].find(" ip=127.") != std::string::npos);
    CHECK(lines[rank].find(" endpoint=pytorch-workers-0-" + std::to_string(rank) +
                           ".pytorch:3389/$(POD_NAME)/$(UNSET) ") != std::string::npos);
    CHECK(lines[rank].find(" token=unset job=0") != std::string::npos);
  }
  // One warning names the variable that stays unset.
  CHECK(count_substr(r.err(), "TOKEN is left unset: there are no Secrets off Kubernetes") == 1);
}
