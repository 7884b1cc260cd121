// What is inside one node, from hwloc: packages, NUMA nodes, cores with
// their PUs, GPUs and other accelerators with their locality. Loaded from
// this machine, from an hwloc synthetic description ("pack:2 numa:2
// core:16 pu:2") or from an hwloc XML file (lstopo --of xml), then kept as
// plain values so that placement and binding (binding.hpp) are pure and a
// 2-core machine can plan for a 2x64-core, 8-GPU node. hwloc is used only
// by the loaders in node_topology.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace jobset::topology {

// One core, in hwloc's logical order (index in NodeTopology::cores). A
// machine without package or NUMA information is one package and one NUMA
// node, so both indexes are always valid.
struct Core {
  int32_t package = 0;        // logical index of its package
  int32_t numa = 0;           // logical index of the (first) NUMA node holding its PUs
  std::vector<int32_t> pus;   // OS indexes of its PUs (what sched_setaffinity takes)
  bool operator==(const Core&) const = default;
};

// A GPU or another accelerator (TPU-like: PCI class "processing
// accelerator"), in PCI bus order. Its index in NodeTopology::gpus or
// ::accelerators is the number CUDA_VISIBLE_DEVICES and friends use (with
// CUDA_DEVICE_ORDER=PCI_BUS_ID). What counts as a GPU is decided by PCI
// class and vendor (rule at the top of node_topology.cpp): a BMC's VGA is
// not one. Locality is the CPU set of the device's first non-I/O ancestor
// in hwloc (its package, NUMA group, or the whole machine); numa and
// package are set when that set meets exactly one NUMA node / package,
// else -1.
struct Device {
  std::string name;                  // OS device name when hwloc has one ("cuda0", "card1"), else "gpu0"/"accel0"
  std::string pci_bus_id;            // "0000:3b:00.0", empty when unknown
  int32_t numa = -1;                 // logical NUMA node the device hangs off, -1 unknown
  int32_t package = -1;              // logical package, -1 unknown
  std::vector<int32_t> local_cores;  // logical core indexes local to the device (its locality cpuset)
  bool operator==(const Device&) const = default;
};

struct NodeTopology {
  std::string source;  // for messages: "synthetic 'pack:2 ...'", "xml 'dgx.xml'", "this machine"
  int32_t packages = 0;
  int32_t numas = 0;
  std::vector<Core> cores;
  std::vector<Device> gpus;
  std::vector<Device> accelerators;
  int64_t memory = 0;  // bytes, 0 when unknown
  bool operator==(const NodeTopology&) const = default;
};

// An hwloc synthetic description. Errors name the description and what
// hwloc refused. Memory is unknown (0) unless the description gives it.
Result<NodeTopology> topology_from_synthetic(const std::string& description);

// An hwloc XML export (lstopo --of xml, hwloc 1.x or 2.x), with its PCI
// devices. Errors name the file.
Result<NodeTopology> topology_from_xml_file(const std::string& path);

// This machine as hwloc sees it (only the CPUs and NUMA nodes this
// process's cgroup allows). with_devices: also discover PCI devices
// (GPUs) through Linux sysfs, which costs milliseconds; vendor libraries
// (CUDA, NVML, OpenCL, ...) are never initialised.
Result<NodeTopology> this_machine_topology(bool with_devices);

// A reference as written in a cluster file or on the command line: a path
// ending in ".xml" (relative to base_dir unless absolute) or else an hwloc
// synthetic description.
Result<NodeTopology> topology_from_reference(const std::string& reference,
                                             const std::string& base_dir);

// "0-3,8,10-11": ascending, ranges of 2 or more consecutive values joined
// (duplicates dropped; the input need not be sorted). Empty input: "".
std::string compact_list(std::vector<int32_t> values);

}  // namespace jobset::topology
