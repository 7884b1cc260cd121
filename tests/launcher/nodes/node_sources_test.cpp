// Tests for where the nodes of a plan or run come from
// (launcher/nodes/node_sources.hpp): each command-line source gives the
// nodes processes land on, errors name the flag or the file and line, and
// only one source may be given.
#include "launcher/nodes/node_sources.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/launcher/test_util.hpp"

namespace {

using namespace jobset::launcher;
using jobset::launcher::testing::TempDir;
using jobset::topology::Cluster;
using jobset::topology::MapPolicy;

const std::string kSrc = JOBSET_SRCDIR;

Cluster nodes_ok(const NodeSource& source, int64_t processes = 0) {
  jobset::Result<Cluster> c = resolve_nodes(source, processes);
  if (!c.ok()) FAIL(c.error().message());
  return *c;
}

std::string nodes_error(const NodeSource& source, int64_t processes = 0) {
  jobset::Result<Cluster> c = resolve_nodes(source, processes);
  REQUIRE_FALSE(c.ok());
  return c.error().message();
}

std::vector<std::string> names(const Cluster& c) {
  std::vector<std::string> out;
  for (const auto& n : c.nodes) out.push_back(n.name);
  return out;
}

std::vector<int64_t> slots(const Cluster& c) {
  std::vector<int64_t> out;
  for (const auto& n : c.nodes) out.push_back(n.slots);
  return out;
}

// --- files ---------------------------------------------------------------

TEST_CASE("node sources: a hostfile gives its nodes with their labels", "[node_sources]") {
  NodeSource ns;
  ns.hostfile = kSrc + "/examples/multislice.hosts";
  const Cluster c = nodes_ok(ns);
  REQUIRE(c.nodes.size() == 8);
  CHECK(c.nodes[0].name == "tpu-a-0");
  CHECK(c.nodes[0].tpus == 4);
  CHECK(c.nodes[7].labels.at("cloud.google.com/gke-nodepool") == "pool-d");
  CHECK(c.total_slots() == 8);
}

TEST_CASE("node sources: a bad or missing hostfile is named with its line", "[node_sources]") {
  TempDir dir;
  NodeSource ns;
  ns.hostfile = dir.write("nodes.txt", "a slots=2\nb slots=x\n");
  CHECK(nodes_error(ns) == ns.hostfile + ":2:9: slots: expected a positive integer, found 'x'");
  ns.hostfile = dir.path + "/none.txt";
  CHECK(nodes_error(ns) == "hostfile " + dir.path +
                               "/none.txt: cannot be read: No such file or "
                               "directory");
}

TEST_CASE("node sources: a cluster file gives nodes with their models; errors name file:line:col",
          "[node_sources]") {
  NodeSource ns;
  ns.cluster_file = kSrc + "/examples/cluster/gpu-cluster.toml";
  const Cluster c = nodes_ok(ns);
  CHECK(names(c) == std::vector<std::string>{"gpu01", "gpu02", "gpu03", "gpu04"});
  CHECK(c.topologies.size() == 1);
  CHECK(c.nodes[3].topology == 0);
  CHECK(c.nodes[3].gpus == 8);
  CHECK(c.nodes[3].labels.at("rack") == "r2");

  TempDir dir;
  ns.cluster_file = dir.write("c.toml", "[[nodes]]\nname = \"n1\"\nslots = 0\n");
  CHECK(nodes_error(ns).starts_with(ns.cluster_file + ":3:9: nodes[0].slots: "));
}

TEST_CASE("node sources: saved Slurm text gives the nodes, and switch labels to any source",
          "[node_sources]") {
  const std::string slurm = kSrc + "/tests/fixtures/slurm";
  NodeSource ns;
  ns.slurm_nodes = slurm + "/nodes.txt";
  ns.slurm_topology = slurm + "/topology.txt";
  const Cluster c = nodes_ok(ns);
  REQUIRE(c.nodes.size() == 16);
  CHECK(c.nodes[0].name == "n01");
  CHECK(c.nodes[0].labels.at("slurm.schedmd.com/switch") == "leaf1");

  NodeSource hosts;
  hosts.hosts = "n01,n05:2";
  hosts.slurm_topology = slurm + "/topology.txt";
  const Cluster h = nodes_ok(hosts);
  CHECK(h.nodes[1].labels.at("slurm.schedmd.com/switch") == "leaf2");

  hosts.slurm_topology = slurm + "/none.txt";
  CHECK(nodes_error(hosts) == slurm + "/none.txt: cannot be read: No such file or directory");
  NodeSource missing;
  missing.slurm_nodes = slurm + "/none.txt";
  CHECK(nodes_error(missing) == slurm + "/none.txt: cannot be read: No such file or directory");
}

// --- flags -----------------------------------------------------------------

TEST_CASE("node sources: --host lists nodes with their slots; errors name --host",
          "[node_sources]") {
  NodeSource ns;
  ns.hosts = "a:4,b,a:2";
  const Cluster c = nodes_ok(ns);
  CHECK(names(c) == std::vector<std::string>{"a", "b"});
  CHECK(slots(c) == std::vector<int64_t>{6, 1});
  ns.hosts = "a:4,b:x";
  CHECK(nodes_error(ns).starts_with("--host: entry 2 'b:x': "));
}

TEST_CASE("node sources: --nodes and --slots make imaginary nodes; errors name the flag",
          "[node_sources]") {
  NodeSource ns;
  ns.nodes = 3;
  ns.slots = 4;
  CHECK(names(nodes_ok(ns)) == std::vector<std::string>{"n1", "n2", "n3"});
  CHECK(slots(nodes_ok(ns)) == std::vector<int64_t>{4, 4, 4});
  ns.slots = 0;
  CHECK(slots(nodes_ok(ns)) == std::vector<int64_t>{1, 1, 1});
  ns.nodes = 0;
  ns.slots = 5;
  CHECK(slots(nodes_ok(ns)) == std::vector<int64_t>{5});
  ns.nodes = 1'000'001;
  CHECK(nodes_error(ns).starts_with("--nodes: "));
}

TEST_CASE(
    "node sources: --node-topology gives nodes without a model one; imaginary nodes a slot "
    "per core",
    "[node_sources]") {
  NodeSource ns;
  ns.nodes = 2;
  ns.node_topology = "pack:2 core:4 pu:2";
  Cluster c = nodes_ok(ns);
  CHECK(slots(c) == std::vector<int64_t>{8, 8});
  CHECK(c.nodes[1].topology == 0);
  CHECK(c.nodes[1].cpus == 8);
  ns.slots = 3;
  CHECK(slots(nodes_ok(ns)) == std::vector<int64_t>{3, 3});

  NodeSource hosts;
  hosts.hosts = "a:2";
  hosts.node_topology = kSrc + "/tests/fixtures/topology/gpu8-2socket.xml";
  c = nodes_ok(hosts);
  CHECK(c.nodes[0].slots == 2);  // a node's own slots stay
  CHECK(c.nodes[0].gpus == 8);
  hosts.node_topology = "no-such-model.xml";
  CHECK(nodes_error(hosts).starts_with("--node-topology: "));
}

TEST_CASE("node sources: --simulate-nodes N spreads the processes; N:SLOTS gives each SLOTS",
          "[node_sources]") {
  NodeSource ns;
  ns.simulate = "3";
  const Cluster c = nodes_ok(ns, 7);
  CHECK(names(c) == std::vector<std::string>{"sim1", "sim2", "sim3"});
  CHECK(slots(c) == std::vector<int64_t>{3, 3, 3});
  CHECK(slots(nodes_ok(ns, 0)) == std::vector<int64_t>{1, 1, 1});
  ns.simulate = "2:5";
  CHECK(slots(nodes_ok(ns, 100)) == std::vector<int64_t>{5, 5});
  ns.simulate = "4096";
  CHECK(nodes_ok(ns, 1).nodes.size() == 4096);
}

TEST_CASE("node sources: a bad --simulate-nodes names the flag and what it takes",
          "[node_sources]") {
  for (const std::string spec : {"0", "4097", "x", "-1", "3x", ":2", "3x:2"}) {
    INFO("'" << spec << "'");
    NodeSource ns;
    ns.simulate = spec;
    CHECK(nodes_error(ns, 4) ==
          "--simulate-nodes: expected N or N:SLOTS with N from 1 to 4096, found '" + spec + "'");
  }
  for (const std::string spec : {"3:0", "3:x", "3:", "3:-2", "3:2x"}) {
    INFO("'" << spec << "'");
    NodeSource ns;
    ns.simulate = spec;
    CHECK(nodes_error(ns, 4) ==
          "--simulate-nodes: SLOTS must be a positive integer, found '" + spec + "'");
  }
}

// --- this machine, and choosing -------------------------------------------------

TEST_CASE("node sources: without a source, this machine takes every process", "[node_sources]") {
  const NodeSource none;
  CHECK(is_this_machine(none));
  const Cluster c = nodes_ok(none, 100'000);
  REQUIRE(c.nodes.size() == 1);
  CHECK(c.nodes[0].slots == 100'000);
  CHECK(nodes_ok(none, 1).nodes[0].slots >= 1);

  // What is inside the nodes, or their switches, is not where they are.
  NodeSource model;
  model.node_topology = "core:2";
  model.slurm_topology = "topo.txt";
  CHECK(is_this_machine(model));
  NodeSource ns;
  ns.hosts = "a";
  CHECK_FALSE(is_this_machine(ns));
  ns = {};
  ns.slots = 2;
  CHECK_FALSE(is_this_machine(ns));
  ns = {};
  ns.simulate = "2";
  CHECK_FALSE(is_this_machine(ns));
}

TEST_CASE("node sources: two sources at once are refused", "[node_sources]") {
  NodeSource ns;
  ns.hostfile = "nodes.txt";
  ns.hosts = "a";
  const std::string one =
      "give one node source: --hostfile, --cluster, --slurm-nodes, --host, --nodes/--slots or "
      "--simulate-nodes";
  CHECK(nodes_error(ns) == one);
  ns = {};
  ns.cluster_file = "c.toml";
  ns.simulate = "2";
  CHECK(nodes_error(ns) == one);
  ns = {};
  ns.slurm_nodes = "n.txt";
  ns.nodes = 2;
  CHECK(nodes_error(ns) == one);
}

TEST_CASE("node sources: a node runs here when labelled local=true, 1 or yes", "[node_sources]") {
  jobset::topology::Node node{"n1", 1, 0, 0, {}};
  CHECK_FALSE(jobset::topology::is_local(node));
  for (const std::string yes : {"true", "1", "yes"}) {
    node.labels["local"] = yes;
    CHECK(jobset::topology::is_local(node));
  }
  for (const std::string no : {"false", "0", "no", ""}) {
    node.labels["local"] = no;
    CHECK_FALSE(jobset::topology::is_local(node));
  }
}

TEST_CASE("node sources: this machine's model goes only where a policy or devices need it",
          "[node_sources]") {
  NodeSource ns;
  ns.hosts = "a,b";
  Cluster c = nodes_ok(ns);
  REQUIRE(attach_this_machine(c, MapPolicy{}, false).ok());
  CHECK(c.topologies.empty());  // fill, do not bind: no model is loaded

  MapPolicy bind_core;
  bind_core.bind_to = MapPolicy::Bind::kCore;
  REQUIRE(attach_this_machine(c, bind_core, false).ok());
  REQUIRE(c.topologies.size() == 1);
  CHECK(c.nodes[0].topology == 0);
  CHECK(c.nodes[1].topology == 0);
  CHECK(c.nodes[1].cpus == static_cast<int64_t>(c.topologies[0].cores.size()));
}

}  // namespace
