// Tests for the cluster file and the file entry points of the node sources
// (launcher/nodes/cluster_file.hpp).
#include "launcher/nodes/cluster_file.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "launcher/nodes/slurm_text.hpp"
#include "tests/launcher/test_util.hpp"

namespace {

using jobset::Result;
using jobset::Status;
using jobset::launcher::load_cluster_file;
using jobset::launcher::load_slurm_nodes;
using jobset::launcher::load_switch_topology;
using jobset::launcher::parse_cluster_file;
using jobset::topology::Cluster;
using jobset::launcher::testing::TempDir;
using jobset::topology::Node;
using Labels = std::map<std::string, std::string>;

constexpr int64_t kGiB = int64_t{1} << 30;

const std::string kTopologyFixtures = std::string(JOBSET_SRCDIR) + "/tests/fixtures/topology";
const std::string kSlurmFixtures = std::string(JOBSET_SRCDIR) + "/tests/fixtures/slurm";

Cluster cluster_ok(const std::string& text, const std::string& base_dir = "") {
  Result<Cluster> r = parse_cluster_file(text, "cluster.toml", base_dir);
  if (!r.ok()) FAIL(r.error().message());
  return *r;
}

std::string cluster_error(const std::string& text, const std::string& base_dir = "") {
  Result<Cluster> r = parse_cluster_file(text, "cluster.toml", base_dir);
  REQUIRE_FALSE(r.ok());
  return r.error().message();
}

// --- without node models ----------------------------------------------------

TEST_CASE("cluster file: entries expand hostlists and give every node their values",
          "[cluster_file]") {
  Cluster c = cluster_ok(R"(
[[nodes]]
name = "gpu[01-02]"
slots = 8
gpus = 4
cpus = 32
memory = "512G"
labels = { rack = "r1", "cloud.google.com/gke-nodepool" = "pool-a" }

[[nodes]]
name = "tpu-a,tpu-b"
tpus = 4
memory = 68719476736
local = true
[nodes.labels]
zone = "z-1"
)");
  REQUIRE(c.nodes.size() == 4);
  const Labels rack = {{"rack", "r1"}, {"cloud.google.com/gke-nodepool", "pool-a"}};
  CHECK(c.nodes[0] == Node{"gpu01", 8, 4, 0, rack, 32, 512 * kGiB});
  CHECK(c.nodes[1] == Node{"gpu02", 8, 4, 0, rack, 32, 512 * kGiB});
  CHECK(c.nodes[2] == Node{"tpu-a", 1, 0, 4, {{"zone", "z-1"}, {"local", "true"}}, 0, 64 * kGiB});
  CHECK(c.nodes[3].name == "tpu-b");
  CHECK(c.topologies.empty());
  CHECK(c.nodes[0].topology == -1);
}

TEST_CASE("cluster file: without a topology, a node has 1 slot and unknown cpus and memory",
          "[cluster_file]") {
  Cluster c = cluster_ok("[[nodes]]\nname = \"n1\"\nlocal = false\n");
  CHECK(c.nodes.at(0) == Node{"n1", 1, 0, 0, {}});
}

TEST_CASE("cluster file: unknown keys are errors with line and column", "[cluster_file]") {
  CHECK(cluster_error("[[nodes]]\nname = \"n1\"\nslot = 4\n") ==
        "cluster.toml:3:1: nodes[0]: unknown field 'slot'; did you mean 'slots'?");
  CHECK(cluster_error("[[nodes]]\nname = \"n1\"\nrack = \"r1\"\n") ==
        "cluster.toml:3:1: nodes[0]: unknown field 'rack': expected name, topology, labels, "
        "slots, gpus, tpus, cpus, memory or local");
  CHECK(cluster_error("cluster = \"x\"\n[[nodes]]\nname = \"n1\"\n") ==
        "cluster.toml:1:1: unknown field 'cluster': expected topologies, nodes or "
        "slurm_topology");
}

TEST_CASE("cluster file: wrong types say what was expected and what was found", "[cluster_file]") {
  const std::string head = "[[nodes]]\nname = \"n1\"\n";
  CHECK(cluster_error(head + "slots = \"4\"\n") ==
        "cluster.toml:3:9: nodes[0].slots: expected an integer from 1 to 2147483647, found "
        "string \"4\"");
  CHECK(cluster_error(head + "slots = 0\n") ==
        "cluster.toml:3:9: nodes[0].slots: expected an integer from 1 to 2147483647, found "
        "integer 0");
  CHECK(cluster_error(head + "gpus = -1\n") ==
        "cluster.toml:3:8: nodes[0].gpus: expected an integer from 0 to 2147483647, found "
        "integer -1");
  CHECK(cluster_error(head + "tpus = 2147483648\n") ==
        "cluster.toml:3:8: nodes[0].tpus: expected an integer from 0 to 2147483647, found "
        "integer 2147483648");
  CHECK(cluster_error(head + "cpus = 1.5\n") ==
        "cluster.toml:3:8: nodes[0].cpus: expected an integer from 0 to 2147483647, found "
        "number 1.5");
  CHECK(cluster_error(head + "memory = \"lots\"\n") ==
        "cluster.toml:3:10: nodes[0].memory: expected a size like 512G, 64GiB or a byte count, "
        "found 'lots'");
  CHECK(cluster_error(head + "memory = true\n") ==
        "cluster.toml:3:10: nodes[0].memory: expected a size like \"512G\" or a number of "
        "bytes, found boolean true");
  CHECK(cluster_error(head + "local = \"yes\"\n") ==
        "cluster.toml:3:9: nodes[0].local: expected true or false, found string \"yes\"");
  CHECK(cluster_error(head + "topology = 3\n") ==
        "cluster.toml:3:12: nodes[0].topology: expected a name from [topologies], found "
        "integer 3");
  CHECK(cluster_error(head + "labels = \"rack=r1\"\n") ==
        "cluster.toml:3:10: nodes[0].labels: expected a table of key = \"value\", found "
        "string \"rack=r1\"");
  CHECK(cluster_error(head + "labels = { rack = 1 }\n") ==
        "cluster.toml:3:19: nodes[0].labels.rack: expected a string, found integer 1");
  CHECK(cluster_error(head + "labels.example.com = \"x\"\n") ==
        "cluster.toml:3:8: nodes[0].labels.example: expected a string, found a table (quote "
        "keys with dots: \"example.com/x\" = \"v\")");
  CHECK(cluster_error(head + "labels = { \"a/b/c\" = \"x\" }\n") ==
        "cluster.toml:3:12: nodes[0].labels: label key: expected at most one '/', found "
        "'a/b/c'");
  CHECK(cluster_error("[[nodes]]\nname = 7\n") ==
        "cluster.toml:2:8: nodes[0].name: expected a hostlist expression like \"gpu[01-16]\", "
        "found integer 7");
  CHECK(cluster_error("nodes = 1\n") ==
        "cluster.toml:1:9: nodes: expected [[nodes]] tables, found integer 1");
  CHECK(cluster_error("nodes = [1]\n") ==
        "cluster.toml:1:10: nodes[0]: expected a table of fields, found integer 1");
  CHECK(cluster_error("topologies = 1\n[[nodes]]\nname = \"n1\"\n") ==
        "cluster.toml:1:14: topologies: expected a table of name = \"reference\", found integer 1");
  CHECK(cluster_error("[topologies]\nx = 1\n[[nodes]]\nname = \"n1\"\n") ==
        "cluster.toml:2:5: topologies.x: expected an hwloc XML path or synthetic description, "
        "found integer 1");
  CHECK(cluster_error("slurm_topology = 1\n[[nodes]]\nname = \"n1\"\n") ==
        "cluster.toml:1:18: slurm_topology: expected a path, found integer 1");
}

TEST_CASE("cluster file: a wrong type is worded as in a JobSet file", "[cluster_file]") {
  const auto jobset =
      jobset::launcher::testing::load("suspend = \"yes\"\n" + jobset::launcher::testing::minimal());
  REQUIRE(jobset.diags.all().size() == 1);
  const std::string wording = jobset.diags.all()[0].message;
  CHECK(wording == "expected true or false, found string \"yes\"");
  CHECK(cluster_error("[[nodes]]\nname = \"n1\"\nlocal = \"yes\"\n") ==
        "cluster.toml:3:9: nodes[0].local: " + wording);
}

TEST_CASE("cluster file: of several problems, the first in the file is told", "[cluster_file]") {
  CHECK(cluster_error("[[nodes]]\nname = 7\nslots = 0\nbogus = 1\n") ==
        "cluster.toml:2:8: nodes[0].name: expected a hostlist expression like \"gpu[01-16]\", "
        "found integer 7");
  CHECK(cluster_error("[[nodes]]\nbogus = 1\nname = 7\n")
            .starts_with("cluster.toml:2:1: nodes[0]: unknown field 'bogus'"));
}

TEST_CASE("cluster file: names are checked, and a node listed twice names the first line",
          "[cluster_file]") {
  CHECK(cluster_error("[[nodes]]\nname = \"n[1-3]\"\n\n[[nodes]]\nname = \"n3\"\n") ==
        "cluster.toml:5:8: node 'n3' is listed twice (first on line 2)");
  CHECK(cluster_error("[[nodes]]\nname = \"n[1-2],n1\"\n") ==
        "cluster.toml:2:8: node 'n1' is listed twice (first on line 2)");
  CHECK(cluster_error("[[nodes]]\nname = \"n[3-1]\"\n") ==
        "cluster.toml:2:8: nodes[0].name: entry 'n[3-1]': range end below start");
  CHECK(cluster_error("[[nodes]]\nname = \"n@[1-2]\"\n") ==
        "cluster.toml:2:8: nodes[0].name: host name: expected letters, digits, '-', '_' or '.', "
        "found '@' "
        "in 'n@1'");
  CHECK(cluster_error("[[nodes]]\nslots = 2\n") ==
        "cluster.toml:1:1: nodes[0]: 'name' is required: the entry's nodes, a hostlist "
        "expression like \"gpu[01-16]\"");
}

TEST_CASE("cluster file: files without nodes, bad TOML and doubled local are errors",
          "[cluster_file]") {
  CHECK(cluster_error("") == "cluster.toml:1:1: expected at least one [[nodes]] entry, found none");
  CHECK(cluster_error("[topologies]\n") ==
        "cluster.toml:1:1: expected at least one [[nodes]] entry, found none");
  CHECK(cluster_error("nodes = []\n").find("expected at least one [[nodes]] entry") !=
        std::string::npos);
  CHECK(cluster_error("[[nodes]\nname = 1\n").starts_with("cluster.toml:1:"));
  CHECK(cluster_error("[[nodes]]\nname = \"n1\"\nlocal = true\nlabels = { local = \"true\" }\n") ==
        "cluster.toml:3:1: nodes[0].local: give local = true or labels.local, not both");
  CHECK(cluster_error("[[nodes]]\nname = \"n1\"\ntopology = \"gpu\"\n") ==
        "cluster.toml:3:12: topology 'gpu' is not defined in [topologies]");
}

TEST_CASE("cluster file: the cap on nodes counts every entry", "[cluster_file]") {
  CHECK(cluster_error("[[nodes]]\nname = \"a[1-600000]\"\n[[nodes]]\nname = \"b[1-600000]\"\n") ==
        "cluster.toml:4:8: nodes[1].name: too many nodes: expected at most 1000000 in the file");
  CHECK(cluster_error("[[nodes]]\nname = \"a[1-1000001]\"\n") ==
        "cluster.toml:2:8: nodes[0].name: entry 'a[1-1000001]': too many names: expected at most "
        "1000000 "
        "in all");
}

// --- slurm_topology and the file entry points -----------------------------

TEST_CASE("cluster file: slurm_topology adds switch labels from a file beside it",
          "[cluster_file]") {
  TempDir dir;
  dir.write("topo.txt", "SwitchName=s1 Nodes=n[1-2]\nSwitchName=top Switches=s1\n");
  const std::string path =
      dir.write("cluster.toml", "slurm_topology = \"topo.txt\"\n[[nodes]]\nname = \"n[1-3]\"\n");
  Result<Cluster> c = load_cluster_file(path);
  REQUIRE(c.ok());
  CHECK(c->nodes[1].labels == Labels{{"slurm.schedmd.com/switch", "s1"},
                                     {"slurm.schedmd.com/switch-level-0", "s1"},
                                     {"slurm.schedmd.com/switch-level-1", "top"}});
  CHECK(c->nodes[2].labels.empty());

  dir.write("bad.txt", "SwitchName=s1\nNodes=n1\n");
  Result<Cluster> bad = parse_cluster_file(
      "slurm_topology = \"bad.txt\"\n[[nodes]]\nname = \"n1\"\n", "c.toml", dir.path);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message() == "c.toml:1:18: slurm_topology: " + dir.path +
                                     "/bad.txt:2:1: expected SwitchName=, found 'Nodes=n1'");
  Result<Cluster> missing = parse_cluster_file(
      "slurm_topology = \"none.txt\"\n[[nodes]]\nname = \"n1\"\n", "c.toml", dir.path);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message() == "c.toml:1:18: slurm_topology: " + dir.path +
                                         "/none.txt: cannot be read: No such file or directory");
}

TEST_CASE("cluster file: the file loaders read the Slurm fixtures and name unreadable files",
          "[cluster_file]") {
  Result<Cluster> c = load_slurm_nodes(kSlurmFixtures + "/nodes.txt");
  REQUIRE(c.ok());
  REQUIRE(c->nodes.size() == 16);
  Status s = load_switch_topology(*c, kSlurmFixtures + "/topology.txt");
  REQUIRE(s.ok());
  CHECK(c->nodes[15].labels.at("slurm.schedmd.com/switch") == "leaf4");

  CHECK(load_cluster_file("/nonexistent/c.toml").error().message() ==
        "/nonexistent/c.toml: cannot be read: No such file or directory");
  CHECK(load_slurm_nodes("/nonexistent/n.txt").error().message() ==
        "/nonexistent/n.txt: cannot be read: No such file or directory");
  CHECK(load_switch_topology(*c, "/tmp").error().message() ==
        "/tmp: cannot be read: Is a directory");
}

// --- node models --------------------------------------------------------------

TEST_CASE("cluster file: node models give the defaults and are loaded once, shared",
          "[cluster_file][topology]") {
  Cluster c = cluster_ok(R"(
[topologies]
gpu-node = "gpu8-2socket.xml"
cpu-node = "pack:2 numa:2 core:4 pu:2"
unused = "no-such-file.xml"

[[nodes]]
name = "gpu[01-02]"
topology = "gpu-node"

[[nodes]]
name = "cpu1"
topology = "cpu-node"
slots = 4
gpus = 1
memory = "1G"

[[nodes]]
name = "gpu03"
topology = "gpu-node"
cpus = 8
)",
                         kTopologyFixtures);
  REQUIRE(c.topologies.size() == 2);  // "unused" is never loaded
  REQUIRE(c.nodes.size() == 4);
  const Node& gpu = c.nodes[0];
  CHECK(gpu.topology == 0);
  CHECK(c.nodes[1].topology == 0);
  CHECK(c.nodes[3].topology == 0);
  CHECK(gpu.slots == 32);
  CHECK(gpu.cpus == 32);
  CHECK(gpu.gpus == 8);
  CHECK(gpu.tpus == 0);
  CHECK(gpu.memory == 128 * kGiB);
  CHECK(c.nodes[3].cpus == 8);
  CHECK(c.nodes[3].slots == 32);
  const Node& cpu = c.nodes[2];
  CHECK(cpu.topology == 1);
  CHECK(c.topologies[1].cores.size() == 16);
  CHECK(cpu.slots == 4);
  CHECK(cpu.cpus == 16);
  CHECK(cpu.gpus == 1);
  CHECK(cpu.memory == kGiB);
}

TEST_CASE("cluster file: a topology that does not load is reported where it is defined",
          "[cluster_file][topology]") {
  const std::string message = cluster_error(
      "[topologies]\nbig = \"missing.xml\"\n[[nodes]]\nname = \"n1\"\ntopology = \"big\"\n",
      kTopologyFixtures);
  CHECK(message.starts_with("cluster.toml:2:7: topology 'big': "));
}

}  // namespace
