// `jobset plan` on the node sources and policies of the topology issue:
// real Slurm output (tests/fixtures/slurm), node models, --map-by and
// --bind-to, through the real binary.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/cli/cli_util.hpp"

using namespace clitest;

namespace {

std::string workers(int replicas, int parallelism, const std::string& key,
                    const std::string& resources = "{}") {
  return "name = \"train\"\nexclusive_topology = \"" + key +
         "\"\n[[replicated_jobs]]\nname = \"workers\"\nreplicas = " + std::to_string(replicas) +
         "\n[replicated_jobs.template]\nparallelism = " + std::to_string(parallelism) +
         "\nresources = " + resources + "\ncommand = [\"python3\", \"train.py\"]\n";
}

const std::string kSlurm =
    "--slurm-nodes tests/fixtures/slurm/nodes.txt --slurm-topology "
    "tests/fixtures/slurm/topology.txt";

}  // namespace

TEST_CASE(
    "topology cli: exclusive placement on the Slurm switch topology gives each job its own leaf "
    "switch",
    "[topology_cli]") {
  Scratch s;
  // 16 nodes under 4 leaf switches (n01-n08: 32 slots, 4 GPUs; n09-n12:
  // 16 slots, 2 GPUs, 4 TPUs; n13-n16: 8, 8, 8 and 4 slots): each leaf
  // holds a job of 28.
  auto file = s.write("train.toml", workers(4, 28, "slurm.schedmd.com/switch"));
  Run r = jobset("plan " + kSlurm + " --format json " + file);
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto plan = nlohmann::json::parse(r.out);
  std::map<std::string, std::string> leaf_of;  // node -> its leaf switch
  for (const auto& n : plan["nodes"]) leaf_of[n["name"]] = n["labels"]["slurm.schedmd.com/switch"];
  std::map<int, std::set<std::string>> leaves_of_job;
  for (const auto& p : plan["placement"]) {
    const std::string node = p["node"];
    CHECK(p["island"] == leaf_of[node]);
    leaves_of_job[p["job_index"].get<int>()].insert(leaf_of[node]);
  }
  std::set<std::string> all;
  for (const auto& [job, leaves] : leaves_of_job) {
    CHECK(leaves.size() == 1);  // a job stays under one leaf switch
    all.insert(*leaves.begin());
  }
  CHECK(all == std::set<std::string>{"leaf1", "leaf2", "leaf3", "leaf4"});  // no two share one

  // A fifth job has no leaf left: nothing fits, and the message says why.
  auto five = s.write("five.toml", workers(5, 28, "slurm.schedmd.com/switch"));
  Run no = jobset("plan " + kSlurm + " " + five);
  CHECK(no.code == 3);
  CHECK(no.err.find("workers needs 5 islands of slurm.schedmd.com/switch with 28 free slots; "
                    "found 4: leaf1, leaf2, leaf3, leaf4") != std::string::npos);
  // Jobs of 16 one-GPU processes fit only under the leaves of 4-GPU nodes.
  auto gpus = s.write("gpus.toml", workers(3, 16, "slurm.schedmd.com/switch", "{ gpus = 1 }"));
  Run two = jobset("plan " + kSlurm + " " + gpus);
  CHECK(two.code == 3);
  CHECK(
      two.err.find(
          "workers needs 3 islands of slurm.schedmd.com/switch with 16 free slots of 1 gpus each; "
          "found 2: leaf1, leaf2") != std::string::npos);

  // One level up: two jobs of 90 under the two spine switches.
  auto spine = s.write("spine.toml", workers(2, 90, "slurm.schedmd.com/switch-level-1"));
  Run up = jobset("plan " + kSlurm + " --format json " + spine);
  REQUIRE(up.code == 0);
  std::set<std::string> islands;
  const auto spine_plan = nlohmann::json::parse(up.out);
  for (const auto& p : spine_plan["placement"]) islands.insert(p["island"].get<std::string>());
  CHECK(islands == std::set<std::string>{"spine1", "spine2"});
}

TEST_CASE("topology cli: plan on a node model shows cores, CPUs and GPUs per process",
          "[topology_cli]") {
  Scratch s;
  auto file = s.write(
      "ddp.toml",
      "name = \"ddp\"\n[[replicated_jobs]]\nname = \"trainer\"\n[replicated_jobs.template]\n"
      "parallelism = 4\nresources = { gpus = 2, cpus = 4 }\ncommand = [\"python3\", "
      "\"train.py\"]\n");
  Run r = jobset(
      "plan --nodes 1 --node-topology tests/fixtures/topology/gpu8-2socket.xml --map-by package "
      "--bind-to core " +
      file);
  INFO(r.err);
  REQUIRE(r.code == 0);
  // Ranks alternate sockets; each gets 4 cores (with their hyperthreads
  // i+32) and the 2 GPUs of its socket it finds free.
  CHECK(r.out.find(
            "RANK    NAME             JOB   POD   NODE  SLOT  CORES  CPUS         DEVICES\n") !=
        std::string::npos);
  CHECK(r.out.find("ddp-trainer-0-0  0     0     n1    0     0-3    0-3,32-35    gpu 0-1\n") !=
        std::string::npos);
  CHECK(r.out.find("ddp-trainer-0-1  0     1     n1    1     16-19  16-19,48-51  gpu 4-5\n") !=
        std::string::npos);
  CHECK(r.out.find("ddp-trainer-0-2  0     2     n1    2     4-7    4-7,36-39    gpu 2-3\n") !=
        std::string::npos);
  CHECK(r.out.find("ddp-trainer-0-3  0     3     n1    3     20-23  20-23,52-55  gpu 6-7\n") !=
        std::string::npos);
}

TEST_CASE("topology cli: policy flags are checked and name what they take", "[topology_cli]") {
  Run bad = jobset("plan --map-by rack -n 2 true");
  CHECK(bad.code == 2);
  CHECK(bad.err.find("--map-by: expected slot, node, core, numa, package or "
                     "ppr:N:core|numa|package, found 'rack'") != std::string::npos);
  Run bind = jobset("plan --host a:2 --bind-to core -n 2 true");
  CHECK(bind.code == 3);
  CHECK(bind.err.find("a has no known topology") != std::string::npos);
  Run ppr = jobset(
      "plan --nodes 1 --node-topology 'pack:2 core:4 pu:1' --map-by ppr:1:package -n 3 true");
  CHECK(ppr.code == 3);
  CHECK(ppr.err.find("true needs 3 free slots; found 1 matching node (n1) with room for 2 "
                     "(--map-by ppr:1:package leaves at most 1 per package)") != std::string::npos);
}

TEST_CASE(
    "topology cli: the gpu-train example plans each trainer job on a rack of its own, with GPUs by "
    "socket",
    "[topology_cli]") {
  // The command examples/README.md, jobset(1) and jobset-cluster(5) show.
  Run valid = jobset("validate examples/gpu-train.toml");
  INFO(valid.err);
  CHECK(valid.code == 0);
  CHECK(valid.out == "examples/gpu-train.toml: valid JobSet \"gpu-train\", 32 processes\n");

  const std::string command =
      "plan --cluster examples/cluster/gpu-cluster.toml examples/gpu-train.toml --map-by package "
      "--bind-to core";
  Run text = jobset(command);
  INFO(text.err);
  REQUIRE(text.code == 0);
  CHECK(text.out.find("ISLAND  SLOT  CORES  CPUS         DEVICES\n") != std::string::npos);

  Run r = jobset(command + " --format json");
  REQUIRE(r.code == 0);
  const auto plan = nlohmann::json::parse(r.out);
  CHECK(plan["policy"] ==
        nlohmann::json({{"map_by", "package"}, {"rank_by", "package"}, {"bind_to", "core"}}));
  std::map<std::string, std::string> rack_of;  // node -> rack
  for (const auto& n : plan["nodes"]) {
    rack_of[n["name"]] = n["labels"]["rack"];
    CHECK(n["resources"]["gpus"] == 8);  // from the node model
    CHECK(n["topology"]["gpus"] == 8);
  }
  REQUIRE(plan["placement"].size() == 32);
  std::map<int, std::set<std::string>> racks_of_job;
  std::map<std::string, std::set<int>> gpus_of_node;
  std::map<std::string, int> processes_of_node;
  for (const auto& p : plan["placement"]) {
    const std::string node = p["node"];
    CHECK(p["island"] == rack_of[node]);
    racks_of_job[p["job_index"].get<int>()].insert(rack_of[node]);
    ++processes_of_node[node];
    // One GPU, 4 cores with both hardware threads each, all on one socket
    // (cores 0-15 and GPUs 0-3 are socket 0's; 16-31 and 4-7 socket 1's).
    REQUIRE(p["gpus"].size() == 1);
    REQUIRE(p["cores"].size() == 4);
    CHECK(p["cpus"].size() == 8);
    const int gpu = p["gpus"][0];
    CHECK(gpus_of_node[node].insert(gpu).second);  // no GPU given twice
    for (int core : p["cores"]) CHECK(core / 16 == gpu / 4);
  }
  REQUIRE(racks_of_job.size() == 2);
  CHECK(racks_of_job[0].size() == 1);  // each job within one rack ...
  CHECK(racks_of_job[1].size() == 1);
  CHECK(*racks_of_job[0].begin() != *racks_of_job[1].begin());  // ... of its own
  CHECK(processes_of_node ==
        std::map<std::string, int>{{"gpu01", 8}, {"gpu02", 8}, {"gpu03", 8}, {"gpu04", 8}});
}
