// Tests for the hwloc node models (topology/node_topology.hpp): synthetic
// descriptions, the XML fixtures in tests/fixtures/topology (a two-socket
// 8-GPU server and a TPU-like host), this machine, reference resolution,
// the error messages, and compact_list.
#include "topology/node_topology.hpp"

#include <sched.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/scratch.hpp"

namespace {

using jobset::topology::compact_list;
using jobset::topology::Core;
using jobset::topology::Device;
using jobset::topology::NodeTopology;
using jobset::topology::this_machine_topology;
using jobset::topology::topology_from_reference;
using jobset::topology::topology_from_synthetic;
using jobset::topology::topology_from_xml_file;
using jobset_test::Scratch;

constexpr int64_t kGiB = int64_t{1} << 30;

const std::string kFixtures = std::string(JOBSET_SRCDIR) + "/tests/fixtures/topology";

NodeTopology load_ok(const jobset::Result<NodeTopology>& r) {
  INFO((r.ok() ? std::string() : r.error().message()));
  REQUIRE(r.ok());
  return *r;
}

std::vector<int32_t> range(int32_t first, int32_t last) {
  std::vector<int32_t> out;
  for (int32_t i = first; i <= last; ++i) out.push_back(i);
  return out;
}

std::vector<std::string> names(const std::vector<Device>& devices) {
  std::vector<std::string> out;
  out.reserve(devices.size());
  for (const auto& d : devices) out.push_back(d.name);
  return out;
}

std::vector<std::string> bus_ids(const std::vector<Device>& devices) {
  std::vector<std::string> out;
  out.reserve(devices.size());
  for (const auto& d : devices) out.push_back(d.pci_bus_id);
  return out;
}

}  // namespace

TEST_CASE("node topology: a synthetic description gives packages, NUMA nodes, cores and PUs",
          "[node_topology]") {
  NodeTopology t = load_ok(topology_from_synthetic("pack:2 numa:2 core:16 pu:2"));
  CHECK(t.source == "synthetic 'pack:2 numa:2 core:16 pu:2'");
  CHECK(t.packages == 2);
  CHECK(t.numas == 4);
  REQUIRE(t.cores.size() == 64);
  std::set<int32_t> pus;
  for (size_t i = 0; i < t.cores.size(); ++i) {
    const Core& c = t.cores[i];
    INFO("core " << i);
    CHECK(c.package == static_cast<int32_t>(i / 32));
    CHECK(c.numa == static_cast<int32_t>(i / 16));
    // Synthetic PUs are numbered in logical order.
    CHECK(c.pus == std::vector<int32_t>{int32_t(2 * i), int32_t(2 * i + 1)});
    pus.insert(c.pus.begin(), c.pus.end());
  }
  CHECK(pus.size() == 128);
  CHECK(t.gpus.empty());
  CHECK(t.accelerators.empty());
  CHECK(t.memory == 0);  // unknown: hwloc's made-up 1 GiB per NUMA node is not taken
  auto sized = topology_from_synthetic("pack:2 numa:2(memory=64GiB) core:4 pu:1");
  REQUIRE(sized);
  CHECK(sized->memory == 4 * (64 * kGiB));  // the description's own figure counts
}

TEST_CASE("node topology: a synthetic description without NUMA nodes has one", "[node_topology]") {
  NodeTopology t = load_ok(topology_from_synthetic("pack:2 core:4 pu:1"));
  CHECK(t.packages == 2);
  CHECK(t.numas == 1);
  REQUIRE(t.cores.size() == 8);
  for (size_t i = 0; i < t.cores.size(); ++i) {
    CHECK(t.cores[i].package == static_cast<int32_t>(i / 4));
    CHECK(t.cores[i].numa == 0);
    CHECK(t.cores[i].pus == std::vector<int32_t>{static_cast<int32_t>(i)});
  }
}

TEST_CASE("node topology: a synthetic description without packages is one package",
          "[node_topology]") {
  NodeTopology t = load_ok(topology_from_synthetic("core:4 pu:2"));
  CHECK(t.packages == 1);
  CHECK(t.numas == 1);
  REQUIRE(t.cores.size() == 4);
  for (const Core& c : t.cores) CHECK(c.package == 0);
}

TEST_CASE("node topology: the 8-GPU server has 8 GPUs in bus order, each local to its socket",
          "[node_topology]") {
  const std::string path = kFixtures + "/gpu8-2socket.xml";
  NodeTopology t = load_ok(topology_from_xml_file(path));
  CHECK(t.source == "xml '" + path + "'");
  CHECK(t.packages == 2);
  CHECK(t.numas == 2);
  CHECK(t.memory == 128 * kGiB);
  CHECK(t.accelerators.empty());
  // Not the BMC's VGA (0000:02:00.0), the NICs or the NVSwitch.
  REQUIRE(t.gpus.size() == 8);
  CHECK(bus_ids(t.gpus) == std::vector<std::string>{"0000:07:00.0", "0000:0f:00.0", "0000:47:00.0",
                                                    "0000:4e:00.0", "0000:87:00.0", "0000:90:00.0",
                                                    "0000:b7:00.0", "0000:bd:00.0"});
  CHECK(names(t.gpus) == std::vector<std::string>{"cuda0", "cuda1", "cuda2", "cuda3", "cuda4",
                                                  "cuda5", "cuda6", "cuda7"});
  for (size_t g = 0; g < t.gpus.size(); ++g) {
    INFO("gpu " << g);
    const int32_t socket = g < 4 ? 0 : 1;
    CHECK(t.gpus[g].package == socket);
    CHECK(t.gpus[g].numa == socket);
    CHECK(t.gpus[g].local_cores == range(16 * socket, 16 * socket + 15));
  }
}

TEST_CASE("node topology: the 8-GPU server numbers hyperthread siblings i and i+32",
          "[node_topology]") {
  NodeTopology t = load_ok(topology_from_xml_file(kFixtures + "/gpu8-2socket.xml"));
  REQUIRE(t.cores.size() == 32);
  for (int32_t i = 0; i < 32; ++i) {
    INFO("core " << i);
    CHECK(t.cores[i].package == i / 16);
    CHECK(t.cores[i].numa == i / 16);
    CHECK(t.cores[i].pus == std::vector<int32_t>{i, i + 32});
  }
}

TEST_CASE("node topology: the TPU host has 4 accelerators, no GPUs, 2 per NUMA half",
          "[node_topology]") {
  NodeTopology t = load_ok(topology_from_xml_file(kFixtures + "/tpu-host.xml"));
  CHECK(t.packages == 1);
  CHECK(t.numas == 2);
  CHECK(t.memory == 384 * kGiB);
  CHECK(t.gpus.empty());
  // Not Google's virtual NIC (same vendor, network class).
  REQUIRE(t.accelerators.size() == 4);
  CHECK(bus_ids(t.accelerators) ==
        std::vector<std::string>{"0000:05:00.0", "0000:06:00.0", "0000:85:00.0", "0000:86:00.0"});
  CHECK(names(t.accelerators) == std::vector<std::string>{"accel0", "accel1", "accel2", "accel3"});
  for (size_t a = 0; a < t.accelerators.size(); ++a) {
    INFO("accelerator " << a);
    const int32_t half = a < 2 ? 0 : 1;
    CHECK(t.accelerators[a].package == 0);
    CHECK(t.accelerators[a].numa == half);
    CHECK(t.accelerators[a].local_cores == range(24 * half, 24 * half + 23));
  }
  REQUIRE(t.cores.size() == 48);
  for (int32_t i = 0; i < 48; ++i) {
    CHECK(t.cores[i].numa == i / 24);
    CHECK(t.cores[i].pus == std::vector<int32_t>{i, i + 48});
  }
}

TEST_CASE("node topology: this machine has its allowed CPUs, each PU once", "[node_topology]") {
  for (bool with_devices : {false, true}) {
    INFO("with_devices " << with_devices);
    NodeTopology t = load_ok(this_machine_topology(with_devices));
    CHECK(t.source == "this machine");
    REQUIRE(!t.cores.empty());
    CHECK(t.packages >= 1);
    CHECK(t.numas >= 1);
    CHECK(t.memory > 0);
    std::set<int32_t> pus;
    size_t count = 0;
    for (const Core& c : t.cores) {
      CHECK(c.package >= 0);
      CHECK(c.package < t.packages);
      CHECK(c.numa >= 0);
      CHECK(c.numa < t.numas);
      CHECK(!c.pus.empty());
      pus.insert(c.pus.begin(), c.pus.end());
      count += c.pus.size();
    }
    CHECK(pus.size() == count);
    // Every CPU this process may run on is there; nothing beyond the online CPUs.
    cpu_set_t mine;
    CPU_ZERO(&mine);
    REQUIRE(sched_getaffinity(0, sizeof mine, &mine) == 0);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &mine)) CHECK(pus.count(cpu) == 1);
    }
    CHECK(static_cast<long>(pus.size()) <= sysconf(_SC_NPROCESSORS_ONLN));
    for (const Device& d : t.gpus) CHECK(!d.pci_bus_id.empty());
  }
}

TEST_CASE("node topology: a reference is an XML file relative to its base or a synthetic string",
          "[node_topology]") {
  NodeTopology relative = load_ok(topology_from_reference("gpu8-2socket.xml", kFixtures));
  CHECK(relative.gpus.size() == 8);
  CHECK(relative.source == "xml '" + kFixtures + "/gpu8-2socket.xml'");
  NodeTopology absolute =
      load_ok(topology_from_reference(kFixtures + "/tpu-host.xml", "/nonexistent"));
  CHECK(absolute.accelerators.size() == 4);
  NodeTopology synthetic = load_ok(topology_from_reference("pack:1 core:2 pu:2", kFixtures));
  CHECK(synthetic.cores.size() == 2);
  CHECK(synthetic.source == "synthetic 'pack:1 core:2 pu:2'");
}

TEST_CASE("node topology: a bad synthetic description is an error naming it", "[node_topology]") {
  for (std::string bad : {"pack:x", "pack:2 core", "gizmo:3", "", "  "}) {
    auto r = topology_from_synthetic(bad);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message(),
               Catch::StartsWith("hwloc synthetic topology '" + bad + "': ") &&
                   Catch::Contains("expected e.g. 'pack:2 numa:2 core:16 pu:2'"));
  }
  auto r = topology_from_synthetic("pack:x");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message() ==
        "hwloc synthetic topology 'pack:x': not a valid description "
        "(expected e.g. 'pack:2 numa:2 core:16 pu:2')");
}

TEST_CASE("node topology: a missing file, a directory or a non-XML file is an error naming it",
          "[node_topology]") {
  SECTION("missing") {
    auto r = topology_from_xml_file("/nonexistent/dgx.xml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message() ==
          "hwloc XML topology '/nonexistent/dgx.xml': No such file or directory");
  }
  SECTION("missing, through a reference relative to its base") {
    auto r = topology_from_reference("dgx.xml", "/nonexistent");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message() ==
          "hwloc XML topology '/nonexistent/dgx.xml': No such file or directory");
  }
  SECTION("a directory") {
    Scratch s;
    auto r = topology_from_xml_file(s.dir().string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message() == "hwloc XML topology '" + s.dir().string() + "': Is a directory");
  }
  SECTION("not XML") {
    Scratch s;
    const std::string path = s.write("topology.xml", "pack:2 core:4\n");
    auto r = topology_from_xml_file(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message() == "hwloc XML topology '" + path +
                                     "': not an hwloc XML topology (expected the output of "
                                     "lstopo --of xml)");
  }
  SECTION("XML, but not a topology") {
    Scratch s;
    auto r = topology_from_xml_file(
        s.write("topology.xml", "<?xml version=\"1.0\"?>\n<jobset name=\"x\"/>\n"));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message(), Catch::Contains("not an hwloc XML topology"));
  }
  SECTION("empty") {
    Scratch s;
    auto r = topology_from_xml_file(s.write("topology.xml", ""));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message(), Catch::Contains("not an hwloc XML topology"));
  }
}

TEST_CASE("node topology: compact_list joins runs, sorts and drops duplicates", "[node_topology]") {
  CHECK(compact_list({}) == "");
  CHECK(compact_list({5}) == "5");
  CHECK(compact_list({0, 1}) == "0-1");
  CHECK(compact_list({0, 1, 2, 3, 8, 10, 11}) == "0-3,8,10-11");
  CHECK(compact_list({11, 3, 8, 0, 2, 10, 1, 3, 8, 0}) == "0-3,8,10-11");
  CHECK(compact_list({7, 7, 7}) == "7");
  CHECK(compact_list({0, 2, 4}) == "0,2,4");
  CHECK(compact_list({2147483646, 2147483647}) == "2147483646-2147483647");
}
