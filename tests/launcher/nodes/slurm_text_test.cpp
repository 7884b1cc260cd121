// Tests for the Slurm text parsers (launcher/nodes/slurm_text.hpp), on real
// scontrol output (tests/fixtures/slurm, made by tests/slurm/capture.sh)
// and on hand-written edge cases; and, where slurmctld is installed, on the
// output of a controller started for the test.
#include "launcher/nodes/slurm_text.hpp"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>

#include "tests/scratch.hpp"
#include "tests/skip.hpp"

namespace {

using jobset::Result;
using jobset::Status;
using jobset::launcher::apply_switch_topology;
using jobset::launcher::GresCounts;
using jobset::launcher::parse_gres;
using jobset::launcher::parse_slurm_nodes;
using jobset::topology::Cluster;
using jobset::topology::Node;
using Labels = std::map<std::string, std::string>;

constexpr int64_t kMiB = int64_t{1} << 20;

std::string fixture(const std::string& name) {
  const std::string path = std::string(JOBSET_SRCDIR) + "/tests/fixtures/slurm/" + name;
  REQUIRE(std::filesystem::exists(path));
  return jobset_test::slurp(path);
}

Cluster nodes_ok(const std::string& text) {
  Result<Cluster> r = parse_slurm_nodes(text, "nodes.txt");
  if (!r.ok()) FAIL(r.error().message());
  return *r;
}

std::string nodes_error(const std::string& text) {
  Result<Cluster> r = parse_slurm_nodes(text, "nodes.txt");
  REQUIRE_FALSE(r.ok());
  return r.error().message();
}

std::string topology_error(Cluster cluster, const std::string& text) {
  const Cluster before = cluster;
  Status s = apply_switch_topology(cluster, text, "topology.txt");
  REQUIRE_FALSE(s.ok());
  CHECK(cluster == before);  // a failed call changes nothing
  return s.error().message();
}

// Nodes with the given names and no labels.
Cluster named(std::initializer_list<const char*> names) {
  Cluster c;
  for (const char* n : names) c.nodes.push_back(Node{n, 1, 0, 0, {}});
  return c;
}

Cluster with_topology(Cluster c, const std::string& text) {
  Status s = apply_switch_topology(c, text, "topology.txt");
  if (!s.ok()) FAIL(s.error().message());
  return c;
}

Labels switches(const std::string& leaf, const std::string& spine) {
  return {{"slurm.schedmd.com/switch", leaf},
          {"slurm.schedmd.com/switch-level-0", leaf},
          {"slurm.schedmd.com/switch-level-1", spine},
          {"slurm.schedmd.com/switch-level-2", "top"}};
}

Labels merged(Labels a, const Labels& b) {
  a.insert(b.begin(), b.end());
  return a;
}

// The cluster tests/slurm/capture.sh configures, as the parsers must read it.
Cluster expected_fixture_cluster() {
  const Labels gpu_part = {{"slurm.schedmd.com/partition", "gpu"},
                           {"slurm.schedmd.com/partition.gpu", "true"}};
  const Labels both_parts = {{"slurm.schedmd.com/partition.gpu", "true"},
                             {"slurm.schedmd.com/partition.cpu", "true"}};
  const Labels cpu_part = {{"slurm.schedmd.com/partition", "cpu"},
                           {"slurm.schedmd.com/partition.cpu", "true"}};
  Cluster c;
  auto add = [&](const std::string& name, int64_t slots, int64_t gpus, int64_t tpus,
                 const Labels& labels, int64_t cpus, int64_t memory_mib) {
    c.nodes.push_back(Node{name, slots, gpus, tpus, labels, cpus, memory_mib * kMiB});
  };
  for (int i = 1; i <= 16; ++i) {
    const std::string name = (i < 10 ? "n0" : "n") + std::to_string(i);
    if (i <= 4) {
      add(name, 32, 4, 0,
          merged(merged({{"ib", "true"}, {"rack", "r1"}, {"a100", "true"}}, gpu_part),
                 switches("leaf1", "spine1")),
          16, 515000);
    } else if (i <= 8) {
      add(name, 32, 4, 0,
          merged(merged({{"ib", "true"}, {"rack", "r1"}}, gpu_part), switches("leaf2", "spine1")),
          16, 515000);
    } else if (i <= 12) {
      add(name, 16, 2, 4,
          merged(merged({{"ib", "true"}, {"rack", "r2"}}, both_parts), switches("leaf3", "spine2")),
          16, 257000);
    } else if (i <= 15) {
      // "avx512+vnni" is no label key and "local" is reserved: both skipped.
      add(name, 8, 0, 0, merged(merged({{"cpu", "true"}}, cpu_part), switches("leaf4", "spine2")),
          8, 64000);
    } else {
      // RealMemory=1 is Slurm's "not configured": unknown.
      add(name, 4, 0, 0, merged(cpu_part, switches("leaf4", "spine2")), 4, 0);
    }
  }
  return c;
}

Cluster parse_captured(const std::string& nodes_text, const std::string& topology_text) {
  Cluster c = nodes_ok(nodes_text);
  Status s = apply_switch_topology(c, topology_text, "topology.txt");
  if (!s.ok()) FAIL(s.error().message());
  return c;
}

// --- the fixtures: real scontrol output -----------------------------------

TEST_CASE("slurm text: real scontrol show node and topology give every node's resources and labels",
          "[slurm_text]") {
  const Cluster expected = expected_fixture_cluster();
  for (const char* file : {"nodes-oneline.txt", "nodes.txt"}) {
    INFO(file);
    Cluster c = parse_captured(fixture(file), fixture("topology.txt"));
    REQUIRE(c.nodes.size() == expected.nodes.size());
    for (size_t i = 0; i < c.nodes.size(); ++i) {
      INFO(c.nodes[i].name);
      CHECK(c.nodes[i] == expected.nodes[i]);
    }
  }
}

TEST_CASE("slurm text: the one-line and multi-line forms give the same cluster", "[slurm_text]") {
  CHECK(nodes_ok(fixture("nodes-oneline.txt")) == nodes_ok(fixture("nodes.txt")));
}

// --- scontrol show node: hand-written cases -------------------------------

TEST_CASE("slurm text: Gres forms count gpus and tpus, other GRES are ignored", "[slurm_text]") {
  struct Case {
    std::string gres;
    GresCounts counts;
  };
  const std::vector<Case> cases = {
      {"(null)", {0, 0}},
      {"", {0, 0}},
      {"gpu:4", {4, 0}},
      {"gpu:a100:4", {4, 0}},
      {"gpu:4(S:0-1)", {4, 0}},
      {"gpu:a100:4(S:0,2)", {4, 0}},
      {"tpu:4", {0, 4}},
      {"gpu:a100:2(S:0),gpu:v100:2(S:1),tpu:8", {4, 8}},
      {"gpu", {1, 0}},
      {"gpu:a100", {1, 0}},
      {"mps:400,shard:8,gpu:2", {2, 0}},
      {"bandwidth:lustre:no_consume:4G", {0, 0}},
      {"gpu:1K", {1024, 0}},
  };
  for (const Case& c : cases) {
    INFO(c.gres);
    Result<GresCounts> r = parse_gres(c.gres);
    REQUIRE(r.ok());
    CHECK(*r == c.counts);
  }
  const std::string expected = "expected name[:type][:count][(S:sockets)], found ";
  CHECK(parse_gres("gpu:4(S:0").error().message() == expected + "'gpu:4(S:0'");
  CHECK(parse_gres("gpu:4)").error().message() == expected + "'gpu:4)'");
  CHECK(parse_gres(":4").error().message() == expected + "':4'");
  CHECK(parse_gres("gpu:").error().message() == expected + "'gpu:'");
  CHECK(parse_gres("gpu:4(S:0)x").error().message() == expected + "'gpu:4(S:0)x'");
  CHECK(parse_gres("gpu:4T").error().message() ==
        "gpu: expected at most 2147483647 in all, found 'gpu:4T'");
  CHECK(parse_gres("gpu:2147483647,gpu:1").error().message() ==
        "gpu: expected at most 2147483647 in all, found 'gpu:2147483647,gpu:1'");
}

TEST_CASE("slurm text: features become labels by the documented rule", "[slurm_text]") {
  Cluster c = nodes_ok(
      "NodeName=a CPUTot=2 AvailableFeatures=ib,rack=r1,zone:z-2,x.y/z,bad+key,local,rack=r9,"
      "empty= ActiveFeatures=(null)\n"
      "NodeName=b CPUTot=2 Features=old-style\n");
  // ActiveFeatures wins over AvailableFeatures, even when empty.
  CHECK(c.nodes.at(0).labels.empty());
  CHECK(c.nodes.at(1).labels == Labels{{"old-style", "true"}});
  Cluster d = nodes_ok(
      "NodeName=a CPUTot=2 AvailableFeatures=ib,rack=r1,zone:z-2,x.y/z,bad+key,local,rack=r9,"
      "empty=,local=true,:v\n");
  CHECK(d.nodes.at(0).labels ==
        Labels{{"ib", "true"}, {"rack", "r1"}, {"zone", "z-2"}, {"x.y/z", "true"}, {"empty", ""}});
}

TEST_CASE("slurm text: partitions give one label each and the partition when it is the only one",
          "[slurm_text]") {
  Cluster c = nodes_ok("NodeName=a Partitions=debug\nNodeName=b Partitions=a,b Reason=x\n");
  CHECK(c.nodes.at(0).labels == Labels{{"slurm.schedmd.com/partition", "debug"},
                                       {"slurm.schedmd.com/partition.debug", "true"}});
  CHECK(c.nodes.at(1).labels == Labels{{"slurm.schedmd.com/partition.a", "true"},
                                       {"slurm.schedmd.com/partition.b", "true"}});
}

TEST_CASE(
    "slurm text: missing fields leave the defaults; free text and repeated fields are skipped",
    "[slurm_text]") {
  Cluster c = nodes_ok(
      "NodeName=a\n"
      "NodeName=b CPUTot=8 OS=Linux 6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1\r\n"
      "   RealMemory=1024 Sockets=2 CoresPerSocket=2\r\n"
      "   Reason=Not responding CPUTot=99 [slurm@2024-01-01T00:00:00]\r\n");
  CHECK(c.nodes.at(0) == Node{"a", 1, 0, 0, {}});
  CHECK(c.nodes.at(1) == Node{"b", 8, 0, 0, {}, 4, 1024 * kMiB});
}

TEST_CASE("slurm text: bad node output names the file, line, column and field", "[slurm_text]") {
  CHECK(nodes_error("") == "nodes.txt: expected at least one node, found none");
  CHECK(nodes_error(" \n\n") == "nodes.txt: expected at least one node, found none");
  CHECK(nodes_error("No nodes in the system\n") == "nodes.txt:1:1: expected NodeName=, found 'No'");
  CHECK(nodes_error("\n  CPUTot=4 NodeName=a\n") ==
        "nodes.txt:2:3: expected NodeName=, found 'CPUTot=4'");
  CHECK(nodes_error("NodeName=a CPUTot=x\n") ==
        "nodes.txt:1:19: CPUTot: expected a positive integer, found 'x'");
  CHECK(nodes_error("NodeName=a\n   CPUTot=0\n") ==
        "nodes.txt:2:11: CPUTot: expected a positive integer, found '0'");
  CHECK(nodes_error("NodeName=a Sockets=-1") ==
        "nodes.txt:1:20: Sockets: expected a non-negative integer, found '-1'");
  CHECK(nodes_error("NodeName=a RealMemory=99999999999999999") ==
        "nodes.txt:1:23: RealMemory: expected at most 8796093022207, found '99999999999999999'");
  CHECK(nodes_error("NodeName=a Gres=gpu:4(S:0") ==
        "nodes.txt:1:17: Gres: expected name[:type][:count][(S:sockets)], found 'gpu:4(S:0'");
  CHECK(nodes_error("NodeName= CPUTot=1") ==
        "nodes.txt:1:10: NodeName: expected a name, found nothing");
  CHECK(nodes_error("NodeName=a\n\nNodeName=b\nNodeName=a CPUTot=2\n") ==
        "nodes.txt:4: node 'a' is listed twice (first on line 1)");
}

// --- scontrol show topology: hand-written cases ----------------------------

TEST_CASE("slurm text: switch labels name the leaf and every level, from Switches= alone too",
          "[slurm_text]") {
  // topology.conf style: upper switches list only their children, no Level.
  Cluster c = with_topology(named({"n1", "n2", "n3", "n4", "n5"}),
                            "# a comment\n"
                            "SwitchName=s1 Nodes=n[1-2]\n"
                            "\n"
                            "SwitchName=s2 Nodes=n[3-4]   # trailing comment\n"
                            "SwitchName=mid Switches=s2\n"
                            "SwitchName=top Switches=s1,mid\n");
  CHECK(c.nodes[0].labels == Labels{{"slurm.schedmd.com/switch", "s1"},
                                    {"slurm.schedmd.com/switch-level-0", "s1"},
                                    {"slurm.schedmd.com/switch-level-2", "top"}});
  CHECK(c.nodes[2].labels == Labels{{"slurm.schedmd.com/switch", "s2"},
                                    {"slurm.schedmd.com/switch-level-0", "s2"},
                                    {"slurm.schedmd.com/switch-level-1", "mid"},
                                    {"slurm.schedmd.com/switch-level-2", "top"}});
  CHECK(c.nodes[4].labels.empty());  // in no switch
}

TEST_CASE("slurm text: the leaf is the lowest switch over a node, whatever its level",
          "[slurm_text]") {
  Cluster c = with_topology(named({"a", "b"}),
                            "SwitchName=top Level=3 Nodes=a,b Switches=s1\n"
                            "SwitchName=s1 Level=1 Nodes=b\n");
  CHECK(c.nodes[0].labels ==
        Labels{{"slurm.schedmd.com/switch", "top"}, {"slurm.schedmd.com/switch-level-3", "top"}});
  CHECK(c.nodes[1].labels == Labels{{"slurm.schedmd.com/switch", "s1"},
                                    {"slurm.schedmd.com/switch-level-1", "s1"},
                                    {"slurm.schedmd.com/switch-level-3", "top"}});
}

TEST_CASE("slurm text: unknown nodes and switches are ignored; existing labels are kept",
          "[slurm_text]") {
  Cluster cluster = named({"n1", "n2"});
  cluster.nodes[0].labels = {{"rack", "r1"}, {"slurm.schedmd.com/switch", "stale"}};
  Cluster c = with_topology(cluster,
                            "SwitchName=s1 Nodes=n[1-9],other\n"
                            "SwitchName=top Switches=s1,s-undefined\n");
  CHECK(c.nodes[0].labels == Labels{{"rack", "r1"},
                                    {"slurm.schedmd.com/switch", "s1"},
                                    {"slurm.schedmd.com/switch-level-0", "s1"},
                                    {"slurm.schedmd.com/switch-level-1", "top"}});
  CHECK(c.nodes[1].labels.at("slurm.schedmd.com/switch") == "s1");
  CHECK(with_topology(named({"x"}), "") == named({"x"}));
}

TEST_CASE("slurm text: malformed topology lines are errors with file, line and column",
          "[slurm_text]") {
  const Cluster c = named({"n1", "n2", "n3"});
  CHECK(topology_error(c, "SwitchName=s1 Nodes=n1\nNodes=n2\n") ==
        "topology.txt:2:1: expected SwitchName=, found 'Nodes=n2'");
  CHECK(topology_error(c, "SwitchName s1\n") ==
        "topology.txt:1:1: expected SwitchName=, found 'SwitchName'");
  CHECK(topology_error(c, "SwitchName=s1 Nodes n1\n") ==
        "topology.txt:1:15: expected Key=Value, found 'Nodes'");
  CHECK(topology_error(c, "SwitchName= Nodes=n1\n") ==
        "topology.txt:1:12: SwitchName: expected a name, found nothing");
  CHECK(topology_error(c, "SwitchName=s1 Level=x Nodes=n1\n") ==
        "topology.txt:1:21: Level: expected a non-negative integer, found 'x'");
  CHECK(topology_error(c, "SwitchName=s1 Level=65\n") ==
        "topology.txt:1:21: Level: expected at most 64, found '65'");
  CHECK(topology_error(c, "\n  SwitchName=s1 Nodes=n[3-1]\n") ==
        "topology.txt:2:23: Nodes: entry 'n[3-1]': range end below start");
  CHECK(topology_error(c, "SwitchName=s1 Switches=s[1-\n") ==
        "topology.txt:1:24: Switches: entry 's[1-': '[' without ']'");
  CHECK(topology_error(c, "SwitchName=s1 Nodes=n1\nSwitchName=s1 Nodes=n2\n") ==
        "topology.txt:2:1: switch 's1' is defined twice (first on line 1)");
  CHECK(topology_error(c, "SwitchName=a Switches=b\nSwitchName=b Switches=a\n") ==
        "topology.txt:1:1: switch 'a' is below itself (a cycle of Switches=)");
  CHECK(topology_error(c, "SwitchName=s1 Nodes=n[1-2]\nSwitchName=s2 Nodes=n[2-3]\n") ==
        "topology.txt:2:1: node 'n2' is under two switches at level 0: 's1' (line 1) and 's2'");
}

TEST_CASE("slurm text: a chain of switches deeper than 64 levels is refused", "[slurm_text]") {
  std::string text = "SwitchName=s0 Nodes=n1\n";
  for (int i = 1; i <= 70; ++i) {
    text += "SwitchName=s" + std::to_string(i) + " Switches=s" + std::to_string(i - 1) + "\n";
  }
  CHECK(topology_error(named({"n1"}), text) ==
        "topology.txt:66:1: switch 's65': expected at most 64 levels of switches below it");
}

// --- a real controller ------------------------------------------------------

// Runs `command` through the shell; its exit status, or -1.
int run_shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_CASE("slurm text: a live slurmctld's output parses to the same cluster as the fixtures",
          "[slurm_text][slurm][root]") {
  if (access("/usr/sbin/slurmctld", X_OK) != 0)
    JOBSET_SKIP("needs slurmctld (apt-get install slurm-wlm)");
  if (geteuid() != 0) JOBSET_SKIP("needs root (capture.sh runs slurmctld with SlurmUser=root)");
  const jobset_test::Scratch scratch;
  const std::string dir = scratch.dir().string();
  // capture.sh bounds each of its waits; the timeout is the last resort.
  const std::string script = std::string(JOBSET_SRCDIR) + "/tests/slurm/capture.sh";
  const int rc = run_shell("timeout -k 5 120 " + script + " " + dir + " >" + dir + "/log 2>&1");
  INFO(scratch.read("log"));
  REQUIRE(rc == 0);
  const Cluster from_fixtures =
      parse_captured(fixture("nodes-oneline.txt"), fixture("topology.txt"));
  CHECK(parse_captured(scratch.read("nodes-oneline.txt"), scratch.read("topology.txt")) ==
        from_fixtures);
  CHECK(parse_captured(scratch.read("nodes.txt"), scratch.read("topology.txt")) == from_fixtures);
}

}  // namespace
