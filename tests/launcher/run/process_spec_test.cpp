// process_spec: the one place a process's argv and environment are built,
// with its precedence: jobset's variables < the file's env < -x.
#include "launcher/run/process_spec.hpp"

#include <map>

#include "launcher/spec/adhoc.hpp"
#include "launcher/spec/expand.hpp"
#include "launcher/spec/validate.hpp"
#include "tests/launcher/test_util.hpp"

using namespace jobset::launcher;
using namespace jobset::launcher::testing;

namespace {

const char* kJob = R"(name = "dw"
[[replicated_jobs]]
name = "driver"
[replicated_jobs.template]
command = ["d", "--first"]
args = ["--second"]
working_dir = "/tmp"
[[replicated_jobs]]
name = "workers"
replicas = 2
[replicated_jobs.template]
parallelism = 3
command = ["w"]
env = { RANK = "user-wins", EXTRA = "1", CUDA_VISIBLE_DEVICES = "mine" }
[failure_policy]
max_restarts = 5
[coordinator]
replicated_job = "workers"
job_index = 1
pod_index = 2
)";

struct Fixture {
  JobSet js;
  Plan plan;
};

// Two nodes of 4 slots and 2 GPUs each; `text` placed on them.
Fixture planned(const std::string& text) {
  auto l = load(text);
  INFO(l.diags.to_string());
  REQUIRE(l.js);
  Fixture f{l.js->jobset, {}};
  jobset::topology::Cluster cluster;
  for (const char* name : {"n0", "n1"}) {
    jobset::topology::Node node;
    node.name = name;
    node.slots = 4;
    node.gpus = 2;
    cluster.nodes.push_back(node);
  }
  auto plan = make_plan(f.js, cluster);
  REQUIRE(std::holds_alternative<Plan>(plan));
  f.plan = std::get<Plan>(std::move(plan));
  return f;
}

std::map<std::string, std::string> env_map(const Env& env) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : env) {
    INFO("variable " << k << " set twice");
    CHECK(m.count(k) == 0);
    m[k] = v;
  }
  return m;
}

SpecSettings settings(int64_t max_restarts = 5, Env exports = {}) {
  SpecSettings s;
  s.max_restarts = max_restarts;
  s.coordinator_host = "10.0.0.7";
  s.master_port = 41000;
  s.jax_port = 41001;
  s.megascale_port = 41002;
  s.exports = std::move(exports);
  return s;
}

}  // namespace

TEST_CASE("process spec: the indexes of a process in the JobSet", "[process_spec]") {
  Fixture f = planned(kJob);
  ProcessSpecs specs(f.js, f.plan, settings());
  auto env = env_map(specs.environment(5, 2));
  CHECK(env["JOBSET_NAME"] == "dw");
  CHECK(env["REPLICATED_JOB_NAME"] == "workers");
  CHECK(env["REPLICATED_JOB_REPLICAS"] == "2");
  CHECK(env["JOB_INDEX"] == "1");
  CHECK(env["JOB_GLOBAL_INDEX"] == "2");
  CHECK(env["JOB_COMPLETION_INDEX"] == "1");
  CHECK(env["JOBSET_RESTART_ATTEMPT"] == "2");
  CHECK(env["TORCHELASTIC_RESTART_COUNT"] == "2");
  CHECK(env["TORCHELASTIC_MAX_RESTARTS"] == "5");
  CHECK(env["JOBSET_HOSTNAME"] == "dw-workers-1-1");
  CHECK(env["JOBSET_FQDN"] == "dw-workers-1-1.dw");
  CHECK(env["JOBSET_COORDINATOR"] == "10.0.0.7");  // the coordinator host, as MASTER_ADDR
  CHECK(env["WORLD_SIZE"] == "7");
  CHECK(env["JOBSET_GLOBAL_RANK"] == "5");
  CHECK(env["ROLE_RANK"] == "4");
  CHECK(env["ROLE_WORLD_SIZE"] == "6");
  CHECK(env["OMPI_COMM_WORLD_RANK"] == "5");
  CHECK(env["JAX_PROCESS_ID"] == "5");
  CHECK(env["MPI_APPNUM"] == "1");
}

TEST_CASE("process spec: the place on the node and the coordinator come from the plan and the run",
          "[process_spec]") {
  Fixture f = planned(kJob);
  ProcessSpecs specs(f.js, f.plan, settings());
  // Ranks 0-3 fill n0, 4-6 go to n1.
  auto env = env_map(specs.environment(5, 0));
  CHECK(env["JOBSET_NODE"] == "n1");
  CHECK(env["GROUP_RANK"] == "1");
  CHECK(env["LOCAL_RANK"] == "1");
  CHECK(env["LOCAL_WORLD_SIZE"] == "3");
  CHECK(env["OMPI_COMM_WORLD_LOCAL_RANK"] == "1");
  CHECK(env["OMPI_COMM_WORLD_LOCAL_SIZE"] == "3");
  CHECK(env["MASTER_ADDR"] == "10.0.0.7");
  CHECK(env["MASTER_PORT"] == "41000");
  CHECK(env["JAX_COORDINATOR_ADDRESS"] == "10.0.0.7:41001");  // each server its own port
  CHECK(env["MEGASCALE_COORDINATOR_ADDRESS"] == "10.0.0.7:41002");
  CHECK(env_map(specs.environment(3, 0))["LOCAL_WORLD_SIZE"] == "4");
}

TEST_CASE("process spec: a process moved off a lost node takes the next local rank there",
          "[process_spec][relocate]") {
  Fixture f = planned(kJob);
  ProcessSpecs specs(f.js, f.plan, settings());
  // Rank 1 (n0) moves to n1, beside ranks 4-6 (local ranks 0-2): it is 3
  // of 4 there, and they keep theirs.
  f.plan.slots[1].node = 1;
  specs.moved(1);
  auto moved = env_map(specs.environment(1, 1));
  CHECK(moved["JOBSET_NODE"] == "n1");
  CHECK(moved["LOCAL_RANK"] == "3");
  CHECK(moved["LOCAL_WORLD_SIZE"] == "4");
  CHECK(env_map(specs.environment(5, 1))["LOCAL_RANK"] == "1");
  CHECK(env_map(specs.environment(5, 1))["LOCAL_WORLD_SIZE"] == "4");
}

TEST_CASE("process spec: JOBSET_JOB_RESTART_ATTEMPT counts the restarts of the job alone",
          "[process_spec]") {
  Fixture f = planned(kJob);
  ProcessSpecs specs(f.js, f.plan, settings());
  auto env = env_map(specs.build(5, 9, 1, 2).env);
  CHECK(env["JOBSET_RESTART_ATTEMPT"] == "1");
  CHECK(env["JOBSET_JOB_RESTART_ATTEMPT"] == "2");
  CHECK(env_map(specs.environment(5, 0))["JOBSET_JOB_RESTART_ATTEMPT"] == "0");
}

TEST_CASE("process spec: OMP_NUM_THREADS=1 where processes share a node, unless the user chose",
          "[process_spec]") {
  Fixture f = planned(kJob);
  // n0 holds ranks 0-3, n1 ranks 4-6: every process shares its node.
  ProcessSpecs specs(f.js, f.plan, settings());
  CHECK(env_map(specs.environment(0, 0))["OMP_NUM_THREADS"] == "1");
  CHECK(specs.sets_omp_threads());
  ProcessSpecs exported(f.js, f.plan, settings(5, {{"OMP_NUM_THREADS", "8"}}));
  CHECK(env_map(exported.environment(0, 0))["OMP_NUM_THREADS"] == "8");
  SpecSettings from_environment = settings();
  from_environment.default_omp_threads = false;  // the launcher's environment has it
  ProcessSpecs kept(f.js, f.plan, from_environment);
  CHECK(env_map(kept.environment(0, 0)).count("OMP_NUM_THREADS") == 0);
  CHECK_FALSE(kept.sets_omp_threads());
  // Alone on a node: no default.
  Fixture alone = planned(
      "name = \"one\"\n[[replicated_jobs]]\nname = \"w\"\n[replicated_jobs.template]\n"
      "command = [\"x\"]\n");
  ProcessSpecs single(alone.js, alone.plan, settings());
  CHECK(env_map(single.environment(0, 0)).count("OMP_NUM_THREADS") == 0);
  CHECK_FALSE(single.sets_omp_threads());
}

TEST_CASE("process spec: the file's env wins over jobset's variables, and -x over both",
          "[process_spec]") {
  Fixture f = planned(kJob);
  SECTION("the file") {
    ProcessSpecs specs(f.js, f.plan, settings());
    auto env = env_map(specs.environment(5, 0));
    CHECK(env["RANK"] == "user-wins");
    CHECK(env["EXTRA"] == "1");
    CHECK(env["OMPI_COMM_WORLD_RANK"] == "5");  // only the name the user set
  }
  SECTION("-x, in command-line order") {
    ProcessSpecs specs(f.js, f.plan,
                       settings(5, {{"RANK", "x1"}, {"MASTER_PORT", "1"}, {"RANK", "x2"}}));
    auto env = env_map(specs.environment(5, 0));
    CHECK(env["RANK"] == "x2");
    CHECK(env["MASTER_PORT"] == "1");
    CHECK(env["EXTRA"] == "1");
  }
}

TEST_CASE("process spec: --max-restarts reaches TORCHELASTIC_MAX_RESTARTS", "[process_spec]") {
  Fixture f = planned(kJob);
  CHECK(effective_max_restarts(f.js, std::nullopt) == 5);
  CHECK(effective_max_restarts(f.js, 9) == 9);
  CHECK(effective_max_restarts(f.js, 0) == 0);
  ProcessSpecs specs(f.js, f.plan, settings(effective_max_restarts(f.js, 9)));
  CHECK(env_map(specs.environment(0, 0))["TORCHELASTIC_MAX_RESTARTS"] == "9");
  Fixture none = planned(minimal());
  CHECK(effective_max_restarts(none.js, std::nullopt) == 0);
}

TEST_CASE("process spec: devices from placement, unless the file or -x sets them",
          "[process_spec]") {
  // One GPU per worker: each gets its own on its node.
  std::string text = kJob;
  text.replace(text.find("command = [\"w\"]"), 15, "command = [\"w\"]\nresources = { gpus = 1 }");
  text.replace(text.find("parallelism = 3"), 15, "parallelism = 2");
  text.replace(text.find("pod_index = 2"), 13, "pod_index = 1");
  Fixture f = planned(text);
  ProcessSpecs specs(f.js, f.plan, settings());
  auto driver = env_map(specs.environment(0, 0));
  CHECK(driver.count("CUDA_VISIBLE_DEVICES") == 0);  // it asked for none
  CHECK(driver.count("JOBSET_ACCELERATORS") == 0);
  for (int32_t rank = 1; rank <= 4; ++rank) {
    INFO("rank " << rank);
    REQUIRE(f.plan.bindings[rank].gpus.size() == 1);
    std::string gpu = std::to_string(f.plan.bindings[rank].gpus[0]);
    auto env = env_map(specs.environment(rank, 0));
    CHECK(env["CUDA_VISIBLE_DEVICES"] == "mine");  // the file's own value wins
    CHECK(env["ROCR_VISIBLE_DEVICES"] == gpu);
    CHECK(env["JOBSET_ACCELERATORS"] == gpu);
    CHECK(env.count("TPU_VISIBLE_CHIPS") == 0);
  }
  ProcessSpecs forced(f.js, f.plan, settings(5, {{"ROCR_VISIBLE_DEVICES", "x"}}));
  CHECK(env_map(forced.environment(2, 0))["ROCR_VISIBLE_DEVICES"] == "x");
}

TEST_CASE("process spec: argv is command then args; cwd and binding from the file and plan",
          "[process_spec]") {
  Fixture f = planned(kJob);
  ProcessSpecs specs(f.js, f.plan, settings());
  jobset::runtime::ProcessSpec s = specs.build(0, 17, 1);
  CHECK(s.launch == 17);
  CHECK(s.rank == 0);
  CHECK(s.name == "dw-driver-0-0");
  CHECK(s.argv == std::vector<std::string>{"d", "--first", "--second"});
  CHECK(s.cwd == "/tmp");
  CHECK(env_map(s.env)["JOBSET_RESTART_ATTEMPT"] == "1");
}

TEST_CASE(
    "process spec: without DNS hostnames there is no FQDN; the coordinator is still the "
    "coordinator host",
    "[process_spec]") {
  Fixture f = planned(std::string(kJob) + "[network]\nenable_dns_hostnames = false\n");
  ProcessSpecs specs(f.js, f.plan, settings());
  auto env = env_map(specs.environment(0, 0));
  CHECK(env.count("JOBSET_FQDN") == 0);
  CHECK(env["JOBSET_COORDINATOR"] == "10.0.0.7");
}

TEST_CASE("process spec: the multislice example's slice variables", "[process_spec]") {
  auto l = load(example("multislice.yaml"), Format::kYaml);
  REQUIRE(l.js);
  JobSet js = l.js->jobset;
  jobset::topology::Cluster cluster;
  jobset::topology::Node node;
  node.name = "here";
  node.slots = 8;
  cluster.nodes.push_back(node);
  // The example's node pools, selectors and TPUs are not this one plain
  // node; only the indexes matter here, so the plan is made without them.
  js.exclusive_topology.clear();
  for (auto& rj : js.replicated_jobs) {
    rj.exclusive_topology.clear();
    rj.tmpl.node_selector.clear();
    rj.tmpl.resources = {};
  }
  auto plan = make_plan(js, cluster);
  REQUIRE(std::holds_alternative<Plan>(plan));
  ProcessSpecs specs(js, std::get<Plan>(plan), settings(3));
  auto env = env_map(specs.environment(5, 0));
  CHECK(env["MEGASCALE_SLICE_ID"] == "2");
  CHECK(env["MEGASCALE_NUM_SLICES"] == "4");
  CHECK(env["JAX_PROCESS_ID"] == "5");
  CHECK(env["JAX_NUM_PROCESSES"] == "8");
}

TEST_CASE(
    "process spec: PMI-1 is offered by default and with --mpi=pmi1 (the world, the app, the node "
    "map); --mpi=none sets no PMI or OMPI variable",
    "[process_spec]") {
  Fixture f = planned(kJob);  // 7 processes packed on 2 nodes of 4 slots
  for (MpiWireup mpi : {MpiWireup::kAll, MpiWireup::kPmi1}) {
    SpecSettings s = settings();
    s.mpi = mpi;
    ProcessSpecs specs(f.js, f.plan, s);
    auto spec = specs.build(5, 9, 2);
    CHECK(spec.pmi_kvs == "jobset-dw-2");  // a new key space per attempt
    CHECK(spec.pmi_size == 7);
    CHECK(spec.pmi_appnum == 1);                            // the workers, second replicated job
    CHECK(spec.pmi_mapping == "(vector,(0,1,4),(1,1,3))");  // ranks 0-3 on n0, 4-6 on n1
    CHECK(env_map(spec.env).count("OMPI_COMM_WORLD_RANK") == 1);
  }
  SpecSettings s = settings();
  s.mpi = MpiWireup::kNone;
  ProcessSpecs specs(f.js, f.plan, s);
  auto spec = specs.build(5, 9, 0);
  CHECK(spec.pmi_kvs.empty());  // jobsetd then makes no PMI socket
  for (const auto& [k, v] : spec.env) {
    INFO(k);
    CHECK(k.rfind("PMI_", 0) != 0);
    CHECK(k.rfind("OMPI_", 0) != 0);
  }
  CHECK(env_map(spec.env)["MPI_APPNUM"] == "1");  // a plain index, kept
}

TEST_CASE("process spec: $(VAR) is expanded as Kubernetes does ($$ escapes, unknown names stay)",
          "[process_spec][fidelity]") {
  std::map<std::string, std::string> vars = {{"A", "1"}, {"EMPTY", ""}};
  auto lookup = [&vars](const std::string& n) -> const std::string* {
    auto it = vars.find(n);
    return it == vars.end() ? nullptr : &it->second;
  };
  CHECK(expand_references("x$(A)y", lookup) == "x1y");
  CHECK(expand_references("$(A)$(A)", lookup) == "11");
  CHECK(expand_references("[$(EMPTY)]", lookup) == "[]");
  CHECK(expand_references("$(B)", lookup) == "$(B)");
  CHECK(expand_references("$$(A)", lookup) == "$(A)");
  CHECK(expand_references("$$$(A)", lookup) == "$1");
  CHECK(expand_references("$$", lookup) == "$");
  CHECK(expand_references("$HOME $1 $", lookup) == "$HOME $1 $");
  CHECK(expand_references("$(A", lookup) == "$(A");
  CHECK(expand_references("$((i + 1))", lookup) == "$((i + 1))");
  CHECK(expand_references("echo $(cat \"$f\")", lookup) == "echo $(cat \"$f\")");
}

TEST_CASE("process spec: env values see jobset's variables and earlier entries; command and args "
          "see the whole environment; fieldRefs read what the pod would",
          "[process_spec][fidelity]") {
  Fixture f = planned(
      "name = \"pt\"\nnamespace = \"team\"\nexpand_references = true\n[[replicated_jobs]]\nname = \"workers\"\nreplicas = 2\n"
      "[replicated_jobs.template]\nparallelism = 2\n"
      "command = [\"run\", \"--node_rank=$(NODE_RANK)\", \"$$(NODE_RANK)\", \"$(LATER)\"]\n"
      "args = [\"--peer=$(JOBSET_HOSTNAME)\", \"$(NOPE)\"]\n"
      "env = { FIRST = \"$(LATER)-$(JOB_INDEX)\", NODE_RANK = { field_ref = "
      "\"metadata.annotations['batch.kubernetes.io/job-completion-index']\" }, LATER = \"l\", "
      "POD = { field_ref = \"metadata.name\" }, IP = { field_ref = \"status.podIP\" }, "
      "NODE = { field_ref = \"spec.nodeName\" }, NS = { field_ref = \"metadata.namespace\" }, "
      "KEY = { field_ref = \"metadata.labels['jobset.sigs.k8s.io/job-key']\" }, "
      "JOB = { field_ref = \"metadata.labels['batch.kubernetes.io/job-name']\" }, "
      "COORD = { field_ref = \"metadata.labels['jobset.sigs.k8s.io/coordinator']\" }, "
      "JR = { field_ref = \"metadata.annotations['jobset.sigs.k8s.io/job-restart-attempt']\" } }\n");
  SpecSettings s = settings();
  s.node_addresses = {"127.0.0.2", "127.0.0.3"};
  ProcessSpecs specs(f.js, f.plan, s);
  jobset::runtime::ProcessSpec p = specs.build(3, 1, 0);  // workers job 1, index 1
  auto env = env_map(p.env);
  CHECK(env["FIRST"] == "$(LATER)-1");  // LATER comes after it
  CHECK(env["NODE_RANK"] == "1");
  CHECK(env["POD"] == "pt-workers-1-1");
  CHECK(env["NODE"] == env["JOBSET_NODE"]);
  CHECK(env["IP"] == (env["JOBSET_NODE"] == "n0" ? "127.0.0.2" : "127.0.0.3"));
  CHECK(env["NS"] == "team");
  CHECK(env["JOB"] == "pt-workers-1");
  // sha1("team/pt-workers-1"), as upstream's jobHashKey.
  CHECK(env["KEY"] == "84bcb0e45a1d29a0499f182c09ac51863cfe0744");
  CHECK(env.count("COORD") == 0);  // no coordinator: unset, never ""
  CHECK(env["JR"] == "0");
  CHECK(env_map(specs.build(3, 2, 0, 2).env)["JR"] == "2");  // after two RestartJob restarts
  CHECK(p.argv == std::vector<std::string>{"run", "--node_rank=1", "$(NODE_RANK)", "l",
                                           "--peer=pt-workers-1-1", "$(NOPE)"});
  // Without node addresses status.podIP stays unset.
  ProcessSpecs bare(f.js, f.plan, settings());
  CHECK(env_map(bare.environment(3, 0)).count("IP") == 0);
}

TEST_CASE("process spec: a TOML file is not expanded unless it asks (expand_references), so "
          "shell one-liners keep their $$",
          "[process_spec][fidelity]") {
  Fixture f = planned(
      "name = \"sh\"\n[[replicated_jobs]]\nname = \"w\"\n[replicated_jobs.template]\n"
      "command = \"kill -TERM $$ $(RANK)\"\nenv = { A = \"$(RANK)$$\" }\n");
  CHECK_FALSE(f.js.expand_references);
  ProcessSpecs specs(f.js, f.plan, settings());
  auto p = specs.build(0, 1, 0);
  CHECK(p.argv == std::vector<std::string>{"/bin/sh", "-c", "kill -TERM $$ $(RANK)"});
  CHECK(env_map(p.env)["A"] == "$(RANK)$$");
}

TEST_CASE("process spec: an mpirun-style command line is not expanded again", "[process_spec]") {
  auto js = parse_adhoc({"-n", "1", "-x", "V=$(RANK)", "echo", "$(RANK)", "$$"},
                        [](const std::string&) { return std::nullopt; });
  REQUIRE(js);
  JobSet j = *js;
  apply_defaults(j);
  jobset::topology::Cluster cluster;
  cluster.nodes.push_back(jobset::topology::Node{});
  cluster.nodes[0].name = "n0";
  cluster.nodes[0].slots = 1;
  auto plan = make_plan(j, cluster);
  REQUIRE(std::holds_alternative<Plan>(plan));
  ProcessSpecs specs(j, std::get<Plan>(plan), settings());
  auto p = specs.build(0, 1, 0);
  CHECK(p.argv == std::vector<std::string>{"echo", "$(RANK)", "$$"});
  CHECK(env_map(p.env)["V"] == "$(RANK)");
}
