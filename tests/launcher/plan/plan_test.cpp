// Tests for the plan (launcher/plan/plan.hpp): where each process lands
// (nodes, slots, islands, cores and devices), when a JobSet does not fit
// (exit status 3 in `jobset plan` and `jobset run`), and what `jobset plan`
// prints as text and JSON.
#include "launcher/plan/plan.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "tests/launcher/test_util.hpp"

namespace {

using jobset::launcher::binding_text;
using jobset::launcher::JobSet;
using jobset::launcher::make_plan;
using jobset::launcher::Plan;
using jobset::launcher::plan_to_json;
using jobset::launcher::plan_to_text;
using jobset::launcher::PlanError;
using jobset::launcher::PlanFailure;
using jobset::topology::Binding;
using jobset::topology::Cluster;
using jobset::topology::Level;
using jobset::topology::MapPolicy;
using jobset::topology::Node;
using Names = std::vector<std::string>;

JobSet jobset_of(const std::string& toml) {
  auto loaded = jobset::launcher::testing::load(toml);
  INFO(loaded.diags.to_string());
  REQUIRE(loaded.js.has_value());
  return loaded.js->jobset;
}

// One replicated job "w" of `replicas` jobs of `parallelism` processes;
// `top` goes into the JobSet's table, `tmpl` into the template's.
JobSet workers(int replicas, int parallelism, const std::string& top = "",
               const std::string& tmpl = "") {
  return jobset_of("name = \"js\"\n" + top +
                   "[[replicated_jobs]]\nname = \"w\"\nreplicas = " + std::to_string(replicas) +
                   "\n[replicated_jobs.template]\nparallelism = " + std::to_string(parallelism) +
                   "\ncommand = [\"true\"]\n" + tmpl);
}

Cluster nodes(const std::vector<std::pair<std::string, int64_t>>& name_slots) {
  Cluster c;
  for (const auto& [name, slots] : name_slots) c.nodes.push_back(Node{name, slots, 0, 0, {}});
  return c;
}

// A cluster of `count` nodes with `slots` each, all with the model `model`.
Cluster modelled(int count, int64_t slots, const std::string& model) {
  Cluster c;
  auto t = jobset::topology::topology_from_reference(model, "");
  REQUIRE(t.ok());
  c.topologies.push_back(*t);
  for (int i = 1; i <= count; ++i) {
    c.nodes.push_back(Node{"n" + std::to_string(i), slots, 0, 0, {}});
    c.nodes.back().topology = 0;
  }
  return c;
}

Plan plan_ok(const JobSet& js, Cluster cluster, const MapPolicy& policy = {}) {
  auto p = make_plan(js, std::move(cluster), policy);
  if (auto* f = std::get_if<PlanFailure>(&p)) FAIL(f->message);
  return std::get<Plan>(std::move(p));
}

PlanFailure plan_failure(const JobSet& js, Cluster cluster, const MapPolicy& policy = {}) {
  auto p = make_plan(js, std::move(cluster), policy);
  REQUIRE(std::holds_alternative<PlanFailure>(p));
  return std::get<PlanFailure>(p);
}

// The node of each process, in rank order.
Names landed(const Plan& plan) {
  Names out;
  for (const auto& s : plan.slots) out.push_back(plan.cluster.nodes[s.node].name);
  return out;
}

// --- where processes land ------------------------------------------------------

TEST_CASE("plan: processes fill each node's slots in rank order", "[plan]") {
  const Plan p = plan_ok(workers(2, 3), nodes({{"a", 4}, {"b", 4}}));
  CHECK(landed(p) == Names{"a", "a", "a", "a", "b", "b"});
  std::vector<int32_t> slots;
  for (const auto& s : p.slots) slots.push_back(s.slot);
  CHECK(slots == std::vector<int32_t>{0, 1, 2, 3, 0, 1});
  CHECK(p.bindings.empty());  // nothing inside the nodes to decide
}

TEST_CASE("plan: --map-by node deals processes over the nodes in turn", "[plan]") {
  MapPolicy by_node;
  by_node.map_by = by_node.rank_by = Level::kNode;
  const Plan p = plan_ok(workers(1, 5), nodes({{"a", 4}, {"b", 4}, {"c", 4}}), by_node);
  CHECK(landed(p) == Names{"a", "b", "c", "a", "b"});
}

TEST_CASE("plan: node selectors and device requests choose the nodes", "[plan]") {
  Cluster c = nodes({{"cpu1", 8}, {"gpu1", 8}, {"gpu2", 8}});
  for (size_t i = 1; i < 3; ++i) {
    c.nodes[i].gpus = 4;
    c.nodes[i].labels["accelerator"] = "a100";
  }
  const std::string a100_pair =
      "resources = { gpus = 2 }\nnode_selector = { accelerator = \"a100\" }\n";
  // 2 jobs of 2 processes with 2 GPUs each: two per 4-GPU node, none on cpu1.
  const JobSet fits = workers(2, 2, "", a100_pair);
  const Plan ok = plan_ok(fits, c);
  CHECK(landed(ok) == Names{"gpu1", "gpu1", "gpu2", "gpu2"});
  CHECK(binding_text(ok, 1) == "not bound, gpus 2-3");
  // 6 processes would need 12 GPUs; cpu1's free slots do not help.
  CHECK(plan_failure(workers(2, 3, "", a100_pair), c).kind == PlanError::kDoesNotFit);
  CHECK(jobset::launcher::asks_for_devices(fits));
  CHECK_FALSE(jobset::launcher::asks_for_devices(workers(1, 1)));
}

TEST_CASE("plan: an exclusive topology gives each job an island of its own", "[plan]") {
  Cluster c = nodes({{"a1", 2}, {"a2", 2}, {"b1", 2}, {"b2", 2}, {"c1", 2}});
  for (auto& n : c.nodes) n.labels["pool"] = n.name.substr(0, 1);
  const Plan p = plan_ok(workers(2, 3, "exclusive_topology = \"pool\"\n"), c);
  std::set<std::string> pools[2];
  for (size_t i = 0; i < p.slots.size(); ++i) {
    const std::string pool = p.cluster.nodes[p.slots[i].node].labels.at("pool");
    pools[p.expansion.processes[i].job_index].insert(pool);
    CHECK(p.island_values.at(p.island[i]) == pool);
  }
  CHECK(pools[0].size() == 1);
  CHECK(pools[1].size() == 1);
  CHECK(*pools[0].begin() != *pools[1].begin());
}

// --- what does not fit --------------------------------------------------------

TEST_CASE("plan: a JobSet that does not fit says why", "[plan]") {
  const PlanFailure f = plan_failure(workers(2, 3), nodes({{"a", 2}, {"b", 2}}));
  CHECK(f.kind == PlanError::kDoesNotFit);
  CHECK(f.message.starts_with("js does not fit: "));

  Cluster two_pools = nodes({{"a1", 4}, {"b1", 4}});
  for (auto& n : two_pools.nodes) n.labels["pool"] = n.name.substr(0, 1);
  const PlanFailure islands =
      plan_failure(workers(3, 1, "exclusive_topology = \"pool\"\n"), two_pools);
  CHECK(islands.kind == PlanError::kDoesNotFit);
  CHECK(islands.message.starts_with("js does not fit: "));
}

TEST_CASE("plan: more processes than a plan may hold are refused before placing", "[plan]") {
  const PlanFailure f = plan_failure(workers(5000, 1000), nodes({{"a", 1}}));
  CHECK(f.kind == PlanError::kTooLarge);
}

TEST_CASE("plan: ppr needs node models and caps the processes per object", "[plan]") {
  MapPolicy ppr;
  ppr.ppr = 1;
  ppr.ppr_level = ppr.map_by = Level::kPackage;
  const PlanFailure no_model = plan_failure(workers(1, 2), nodes({{"a", 8}}), ppr);
  CHECK(no_model.kind == PlanError::kDoesNotFit);
  CHECK(no_model.message ==
        "a has no known topology, which --map-by ppr:1:package needs (give it one with "
        "--node-topology or a cluster file)");

  const Plan two = plan_ok(workers(1, 2), modelled(1, 8, "pack:2 core:4 pu:1"), ppr);
  CHECK(two.cluster.nodes[0].slots == 2);
  const PlanFailure three = plan_failure(workers(1, 3), modelled(1, 8, "pack:2 core:4 pu:1"), ppr);
  CHECK(three.message.ends_with(" (--map-by ppr:1:package leaves at most 1 per package)"));
}

// --- inside the nodes -----------------------------------------------------------

TEST_CASE("plan: with a node model and --bind-to core, each process gets cores of its own",
          "[plan]") {
  MapPolicy core;
  core.bind_to = MapPolicy::Bind::kCore;
  const Plan p = plan_ok(workers(1, 3), modelled(1, 4, "pack:2 core:2 pu:2"), core);
  REQUIRE(p.bindings.size() == 3);
  std::set<int32_t> cores;
  for (const Binding& b : p.bindings) {
    REQUIRE(b.cores.size() == 1);
    CHECK(b.pus.size() == 2);  // both hardware threads of its core
    cores.insert(b.cores[0]);
  }
  CHECK(cores.size() == 3);
  CHECK(binding_text(p, 0) == "cores 0, cpus 0-1");

  const Plan unbound = plan_ok(workers(1, 2), modelled(1, 4, "pack:2 core:2 pu:2"));
  CHECK(binding_text(unbound, 1) == "cores 1 (not bound)");
}

TEST_CASE("plan: binding text says cores, CPUs and devices, or that nothing is bound", "[plan]") {
  Plan p;
  p.bindings = {Binding{{4, 5}, {8, 9, 10, 11}, {0, 1}, {}}, Binding{{3}, {}, {}, {}}, Binding{},
                Binding{{}, {}, {}, {0, 1, 2, 3}}};
  CHECK(binding_text(p, 0) == "cores 4-5, cpus 8-11, gpus 0-1");
  CHECK(binding_text(p, 1) == "cores 3 (not bound)");
  CHECK(binding_text(p, 2) == "not bound");
  CHECK(binding_text(p, 3) == "not bound, tpus 0-3");
  CHECK(binding_text(p, 4) == "not bound");  // a plan without bindings
}

// --- what `jobset plan` prints -------------------------------------------------

// A trainer job of 3 and a driver job of 2, on nodes a (2 slots) and bb (3).
const std::string kTwoRoles =
    "name = \"js\"\n"
    "[[replicated_jobs]]\nname = \"trainer\"\nreplicas = 1\n"
    "[replicated_jobs.template]\nparallelism = 3\ncommand = [\"true\"]\n"
    "[[replicated_jobs]]\nname = \"driver\"\nreplicas = 1\n"
    "[replicated_jobs.template]\nparallelism = 2\ncommand = [\"true\"]\n";

TEST_CASE("plan: the text shows the JobSet, its replicated jobs and each process's node",
          "[plan]") {
  const JobSet js = jobset_of(kTwoRoles);
  const Plan p = plan_ok(js, nodes({{"a", 2}, {"bb", 3}}));
  CHECK(plan_to_text(js, p) ==
        "JobSet js: 5 processes in 2 jobs of 2 replicated jobs, on 2 nodes with 5 slots\n"
        "\n"
        "REPLICATED JOB        REPLICAS  PROCS/JOB  PROCESSES  RANKS\n"
        "trainer               1         3          3          0-2\n"
        "driver                1         2          2          3-4\n"
        "\n"
        "RANK    NAME            JOB   POD   NODE  SLOT\n"
        "0       js-trainer-0-0  0     0     a     0\n"
        "1       js-trainer-0-1  0     1     a     1\n"
        "2       js-trainer-0-2  0     2     bb    0\n"
        "3       js-driver-0-0   0     0     bb    1\n"
        "4       js-driver-0-1   0     1     bb    2\n");
}

// The line of `text` that starts with `start`, or "".
std::string line_of(const std::string& text, const std::string& start) {
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (text.compare(at, start.size(), start) == 0) return text.substr(at, end - at);
    at = end + 1;
  }
  return "";
}

TEST_CASE("plan: the text has an ISLAND column only when a job holds an island", "[plan]") {
  Cluster c = nodes({{"a", 1}, {"b", 1}});
  c.nodes[0].labels["pool"] = "p1";
  c.nodes[1].labels["pool"] = "p2";
  const JobSet exclusive = workers(2, 1, "exclusive_topology = \"pool\"\n");
  const std::string text = plan_to_text(exclusive, plan_ok(exclusive, c));
  CHECK(line_of(text, "RANK ") == "RANK    NAME      JOB   POD   NODE  ISLAND  SLOT");
  CHECK(line_of(text, "1 ") == "1       js-w-1-0  1     0     b     p2      0");
  const JobSet shared = workers(2, 1);
  CHECK(line_of(plan_to_text(shared, plan_ok(shared, c)), "RANK ") ==
        "RANK    NAME      JOB   POD   NODE  SLOT");
}

TEST_CASE("plan: the text shows cores, CPUs and devices only when some process has them",
          "[plan]") {
  MapPolicy core;
  core.bind_to = MapPolicy::Bind::kCore;
  const JobSet js = workers(1, 2);
  const std::string bound = plan_to_text(js, plan_ok(js, modelled(1, 4, "core:4 pu:2"), core));
  CHECK(line_of(bound, "RANK ") == "RANK    NAME      JOB   POD   NODE  SLOT  CORES  CPUS");
  CHECK(line_of(bound, "1 ") == "1       js-w-0-1  0     1     n1    1     1      2-3");

  Cluster gpus = nodes({{"g", 2}});
  gpus.nodes[0].gpus = 4;
  const JobSet two_gpus = workers(1, 2, "", "resources = { gpus = 2 }\n");
  const std::string devices = plan_to_text(two_gpus, plan_ok(two_gpus, gpus));
  CHECK(line_of(devices, "RANK ") == "RANK    NAME      JOB   POD   NODE  SLOT  DEVICES");
  CHECK(line_of(devices, "1 ") == "1       js-w-0-1  0     1     g     1     gpu 2-3");
}

TEST_CASE("plan: the JSON gives the policy, node models, and cores only for planned bindings",
          "[plan]") {
  MapPolicy core;
  core.bind_to = MapPolicy::Bind::kCore;
  const JobSet js = workers(1, 2);
  auto bound = nlohmann::json::parse(
      plan_to_json(js, plan_ok(js, modelled(1, 4, "pack:2 core:2 pu:2"), core)));
  CHECK(bound["policy"] ==
        nlohmann::json({{"map_by", "slot"}, {"rank_by", "slot"}, {"bind_to", "core"}}));
  CHECK(bound["nodes"][0]["topology"]["packages"] == 2);
  CHECK(bound["nodes"][0]["topology"]["cores"] == 4);
  CHECK(bound["placement"][1]["cores"] == nlohmann::json({1}));
  CHECK(bound["placement"][1]["cpus"] == nlohmann::json({2, 3}));
  CHECK(bound["placement"][1]["gpus"] == nlohmann::json::array());

  auto plain = nlohmann::json::parse(plan_to_json(js, plan_ok(js, nodes({{"a", 2}}))));
  CHECK_FALSE(plain["nodes"][0].contains("topology"));
  CHECK_FALSE(plain["placement"][1].contains("cores"));
  CHECK(plain["placement"][1]["node"] == "a");
  CHECK(plain["placement"][1]["island"].is_null());
}

TEST_CASE("plan: the JSON stays valid whatever the labels hold", "[plan]") {
  Cluster c = nodes({{"a", 2}});
  const std::string odd = "say \"hi\"\\ \n\ttab \x01 caf\xc3\xa9";
  c.nodes[0].labels["note"] = odd;
  const JobSet js = workers(1, 2);
  auto j = nlohmann::json::parse(plan_to_json(js, plan_ok(js, c)));
  CHECK(j["nodes"][0]["labels"]["note"] == odd);
  CHECK(j["processes"] == 2);
}

}  // namespace
