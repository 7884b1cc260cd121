// Tests for relocate (launcher/plan/relocate.hpp): processes of a lost node
// move to live nodes under the first placement's rules, the others stay,
// and when nothing fits the plan is untouched and the error says why.
// Mirrors upstream JobSet's behaviour when a node fails: the replacement
// pod is scheduled on a healthy node (e2e "node failure" scenarios).
#include "launcher/plan/relocate.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <variant>
#include <vector>

#include "tests/launcher/test_util.hpp"

namespace {

using jobset::launcher::JobSet;
using jobset::launcher::make_plan;
using jobset::launcher::Move;
using jobset::launcher::Plan;
using jobset::launcher::PlanFailure;
using jobset::launcher::relocate;
using jobset::topology::Cluster;
using jobset::topology::Node;
using Names = std::vector<std::string>;

JobSet workers(int replicas, int parallelism, const std::string& top = "", const std::string& tmpl = "") {
  auto loaded = jobset::launcher::testing::load(
      "name = \"js\"\n" + top + "[[replicated_jobs]]\nname = \"w\"\nreplicas = " + std::to_string(replicas) +
      "\n[replicated_jobs.template]\nparallelism = " + std::to_string(parallelism) +
      "\ncommand = [\"true\"]\n" + tmpl);
  INFO(loaded.diags.to_string());
  REQUIRE(loaded.js.has_value());
  return loaded.js->jobset;
}

Cluster nodes(const std::vector<std::pair<std::string, int64_t>>& name_slots) {
  Cluster c;
  for (const auto& [name, slots] : name_slots) c.nodes.push_back(Node{name, slots, 0, 0, {}});
  return c;
}

Plan plan_ok(const JobSet& js, Cluster cluster) {
  auto p = make_plan(js, std::move(cluster));
  if (auto* f = std::get_if<PlanFailure>(&p)) FAIL(f->message);
  return std::get<Plan>(std::move(p));
}

Names landed(const Plan& p) {
  Names out;
  for (const auto& s : p.slots) out.push_back(p.cluster.nodes[s.node].name);
  return out;
}

// The ranks placed on `node`.
std::vector<int32_t> on(const Plan& p, int32_t node) {
  std::vector<int32_t> out;
  for (size_t r = 0; r < p.slots.size(); ++r)
    if (p.slots[r].node == node) out.push_back(static_cast<int32_t>(r));
  return out;
}

TEST_CASE("relocate: the processes of a lost node go to the spare, the others stay", "[plan][relocate]") {
  const JobSet js = workers(3, 2);
  Plan p = plan_ok(js, nodes({{"a", 2}, {"b", 2}, {"c", 2}, {"spare", 2}}));
  REQUIRE(landed(p) == Names{"a", "a", "b", "b", "c", "c"});
  std::vector<bool> lost{false, true, false, false};
  auto moves = relocate(js, p, lost, on(p, 1));
  REQUIRE(moves.ok());
  CHECK(*moves == std::vector<Move>{{2, 1, 3}, {3, 1, 3}});
  CHECK(landed(p) == Names{"a", "a", "spare", "spare", "c", "c"});
  CHECK(p.slots[2].slot == 0);
  CHECK(p.slots[3].slot == 1);
}

TEST_CASE("relocate: free room left on live nodes is used, first fit in node order", "[plan][relocate]") {
  const JobSet js = workers(1, 4);
  Plan p = plan_ok(js, nodes({{"a", 2}, {"b", 2}, {"c", 3}}));
  REQUIRE(landed(p) == Names{"a", "a", "b", "b"});
  auto moves = relocate(js, p, {true, false, false}, on(p, 0));
  REQUIRE(moves.ok());
  CHECK(landed(p) == Names{"c", "c", "b", "b"});
}

TEST_CASE("relocate: with no room left, the plan is unchanged and the error names the process", "[plan][relocate]") {
  const JobSet js = workers(2, 2);
  Plan p = plan_ok(js, nodes({{"a", 2}, {"b", 2}, {"c", 1}}));
  const Names before = landed(p);
  auto moves = relocate(js, p, {false, true, false}, on(p, 1));
  REQUIRE_FALSE(moves.ok());
  CHECK(landed(p) == before);
  CHECK(moves.error().message().find("js-w-1-1") != std::string::npos);
  CHECK(moves.error().message().find("needs 1 slot") != std::string::npos);
}

TEST_CASE("relocate: node selectors and gpus are honoured, devices not already used", "[plan][relocate]") {
  Cluster c = nodes({{"cpu", 8}, {"g1", 2}, {"g2", 4}});
  for (size_t i = 1; i < 3; ++i) {
    c.nodes[i].gpus = 4;
    c.nodes[i].labels["accelerator"] = "a100";
  }
  const JobSet js = workers(1, 3, "", "resources = { gpus = 2 }\nnode_selector = { accelerator = \"a100\" }\n");
  Plan p = plan_ok(js, c);
  REQUIRE(landed(p) == Names{"g1", "g1", "g2"});
  REQUIRE(p.bindings.at(2).gpus == std::vector<int32_t>{0, 1});
  // g1 lost: one of its two processes fits on g2 (gpus 2-3), the other nowhere.
  Plan q = p;
  auto none = relocate(js, q, {false, true, false}, on(p, 1));
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message().find("2 gpus") != std::string::npos);
  // With a second GPU node spare, both move; the new ones get free devices.
  c.nodes.push_back(c.nodes[2]);
  c.nodes.back().name = "g3";
  Plan r = plan_ok(js, c);
  REQUIRE(landed(r) == Names{"g1", "g1", "g2"});
  auto moves = relocate(js, r, {false, true, false, false}, on(r, 1));
  REQUIRE(moves.ok());
  CHECK(landed(r) == Names{"g2", "g3", "g2"});
  CHECK(r.bindings.at(0).gpus == std::vector<int32_t>{2, 3});
  CHECK(r.bindings.at(1).gpus == std::vector<int32_t>{0, 1});
}

TEST_CASE("relocate: an exclusive job stays in its island, or takes a free one when all of it moves",
          "[plan][relocate]") {
  Cluster c = nodes({{"a1", 2}, {"a2", 2}, {"b1", 2}, {"c1", 2}, {"d1", 2}});
  for (auto& n : c.nodes) n.labels["pool"] = n.name.substr(0, 1);
  const JobSet js = workers(2, 2, "exclusive_topology = \"pool\"\n");
  Plan p = plan_ok(js, c);
  REQUIRE(landed(p) == Names{"a1", "a1", "b1", "b1"});
  // a1 lost: job 0 still holds pool a (a2 is alive), so it moves to a2.
  Plan q = p;
  REQUIRE(relocate(js, q, {true, false, false, false, false}, on(p, 0)).ok());
  CHECK(landed(q) == Names{"a2", "a2", "b1", "b1"});
  // b1 lost: job 1's whole island is gone; pool c is free and takes it.
  Plan r = p;
  REQUIRE(relocate(js, r, {false, false, true, false, false}, on(p, 2)).ok());
  CHECK(landed(r) == Names{"a1", "a1", "c1", "c1"});
  CHECK(r.island_values.at(r.island[2]) == "c");
}

TEST_CASE("relocate: a shared job never moves into an island an exclusive job holds", "[plan][relocate]") {
  auto loaded = jobset::launcher::testing::load(
      "name = \"js\"\n"
      "[[replicated_jobs]]\nname = \"x\"\nexclusive_topology = \"pool\"\n"
      "[replicated_jobs.template]\nparallelism = 1\ncommand = [\"true\"]\n"
      "[[replicated_jobs]]\nname = \"s\"\n"
      "[replicated_jobs.template]\nparallelism = 1\ncommand = [\"true\"]\n");
  INFO(loaded.diags.to_string());
  REQUIRE(loaded.js.has_value());
  const JobSet& js = loaded.js->jobset;
  Cluster c = nodes({{"a1", 2}, {"a2", 2}, {"b1", 1}});
  for (auto& n : c.nodes) n.labels["pool"] = n.name.substr(0, 1);
  Plan p = plan_ok(js, c);
  REQUIRE(landed(p) == Names{"a1", "b1"});
  // b1 lost: a2 has room, but pool a is x's.
  auto moves = relocate(js, p, {false, false, true}, {1});
  REQUIRE_FALSE(moves.ok());
  CHECK(landed(p) == Names{"a1", "b1"});
}

}  // namespace
