// The hwloc loaders behind node_topology.hpp. Each loader configures a
// fresh hwloc topology (what to discover, what to drop), loads it, and
// copies what placement needs into a NodeTopology; the hwloc topology is
// destroyed on return, so nothing hwloc escapes this file.
//
// What is dropped, and why: caches, memory-side caches, Misc objects,
// distances, memory attributes and CPU kinds are never read here, and
// skipping them makes the live load cheaper. Group and Die levels are
// kept (hwloc's default), because NUMA nodes and PCI host bridges may
// hang off them, and that is what gives a device its locality.
//
// Cost: the first hwloc_topology_init in a process (and the first after
// the last topology is destroyed) dlopen()s hwloc's plugins, about 2 ms
// here, before any per-topology setting can apply; only the environment
// (HWLOC_PLUGINS_BLACKLIST) prevents it, and this library does not change
// the environment its caller's children inherit.
//
// GPUs and accelerators are recognised by PCI class and vendor only, so a
// node looks the same live and through its lstopo XML export:
//   - GPU: display class 0x03xx that is a 3D controller (0x0302), or any
//     display device from NVIDIA (0x10de), AMD (0x1002) or Intel
//     (0x8086); also AMD's processing accelerators (0x12xx: Instinct
//     MI300 reports that class, and ROCm numbers it with the GPUs). A
//     server's BMC VGA (ASPEED 0x1a03, Matrox 0x102b, class 0x0300) is not
//     a GPU, even though Linux gives it a DRM "card" device.
//   - Accelerator (TPU-like): any other processing accelerator, 0x12xx
//     (Google 0x1ae0, Habana 0x1da3, ...).
#include "topology/node_topology.hpp"

#include <fcntl.h>
#include <hwloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <tuple>
#include <utility>

namespace jobset::topology {
namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology_t t) const { hwloc_topology_destroy(t); }
};
using Topology = std::unique_ptr<hwloc_topology, TopologyDeleter>;
using PciAttr = hwloc_obj_attr_u::hwloc_pcidev_attr_s;

constexpr const char* kSyntheticExample = "pack:2 numa:2 core:16 pu:2";

// A topology that discovers only what a node model reads (see the top).
Result<Topology> new_topology() {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) {
    return Error(std::string("hwloc_topology_init: ") + std::strerror(errno));
  }
  Topology t(raw);
  hwloc_topology_set_cache_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_NONE);
  hwloc_topology_set_icache_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_NONE);
  hwloc_topology_set_type_filter(raw, HWLOC_OBJ_MEMCACHE, HWLOC_TYPE_FILTER_KEEP_NONE);
  hwloc_topology_set_type_filter(raw, HWLOC_OBJ_MISC, HWLOC_TYPE_FILTER_KEEP_NONE);
  hwloc_topology_set_flags(raw, HWLOC_TOPOLOGY_FLAG_NO_DISTANCES | HWLOC_TOPOLOGY_FLAG_NO_MEMATTRS |
                                    HWLOC_TOPOLOGY_FLAG_NO_CPUKINDS);
  return t;
}

// ---- From hwloc objects to the model -------------------------------------

std::vector<int32_t> os_indexes(hwloc_const_bitmap_t set) {
  std::vector<int32_t> out;
  for (int i = hwloc_bitmap_first(set); i != -1; i = hwloc_bitmap_next(set, i)) {
    out.push_back(i);
  }
  return out;
}

// The logical index of the one object of `type` whose CPUs meet `cpuset`;
// -1 when none or several do. A topology without packages is one package.
int32_t only_object_meeting(hwloc_topology_t t, hwloc_obj_type_t type,
                            hwloc_const_cpuset_t cpuset) {
  const int n = hwloc_get_nbobjs_by_type(t, type);
  if (n <= 0) return 0;
  int32_t found = -1;
  for (int i = 0; i < n; ++i) {
    if (!hwloc_bitmap_intersects(hwloc_get_obj_by_type(t, type, i)->cpuset, cpuset)) continue;
    if (found != -1) return -1;
    found = i;
  }
  return found;
}

// The first NUMA node holding all of the core's CPUs (else the first one
// holding some); 0 when there is none, as on a machine without NUMA info.
int32_t numa_of(hwloc_topology_t t, hwloc_obj_t core) {
  const int n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
  int32_t meeting = -1;
  for (int i = 0; i < n; ++i) {
    hwloc_const_cpuset_t numa = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, i)->cpuset;
    if (hwloc_bitmap_isincluded(core->cpuset, numa)) return i;
    if (meeting == -1 && hwloc_bitmap_intersects(core->cpuset, numa)) meeting = i;
  }
  return meeting == -1 ? 0 : meeting;
}

std::vector<Core> cores_of(hwloc_topology_t t) {
  std::vector<Core> cores;
  const int n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
  for (int i = 0; i < n; ++i) {
    hwloc_obj_t core = hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, i);
    hwloc_obj_t package = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, core);
    Core c;
    c.package = package != nullptr ? static_cast<int32_t>(package->logical_index) : 0;
    c.numa = numa_of(t, core);
    c.pus = os_indexes(core->cpuset);
    cores.push_back(std::move(c));
  }
  return cores;
}

int64_t memory_of(hwloc_topology_t t) {
  int64_t total = 0;
  const int n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
  for (int i = 0; i < n; ++i) {
    total += static_cast<int64_t>(
        hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, i)->attr->numanode.local_memory);
  }
  return total != 0 ? total : static_cast<int64_t>(hwloc_get_root_obj(t)->total_memory);
}

enum class DeviceKind { kOther, kGpu, kAccelerator };

// The rule at the top of this file.
DeviceKind kind_of(const PciAttr& pci) {
  const unsigned base_class = pci.class_id >> 8;
  const bool gpu_vendor =
      pci.vendor_id == 0x10de || pci.vendor_id == 0x1002 || pci.vendor_id == 0x8086;
  if (base_class == 0x03 && (pci.class_id == 0x0302 || gpu_vendor)) return DeviceKind::kGpu;
  if (base_class == 0x12) {
    return pci.vendor_id == 0x1002 ? DeviceKind::kGpu : DeviceKind::kAccelerator;
  }
  return DeviceKind::kOther;
}

std::string bus_id(const PciAttr& pci) {
  char text[32];
  std::snprintf(text, sizeof text, "%04x:%02x:%02x.%x", static_cast<unsigned>(pci.domain),
                static_cast<unsigned>(pci.bus), static_cast<unsigned>(pci.dev),
                static_cast<unsigned>(pci.func));
  return text;
}

// The name the OS gives the device: a co-processor name ("cuda0") before
// a GPU one ("card1", "nvml0"); empty when hwloc found none.
std::string os_device_name(hwloc_obj_t pci) {
  std::string gpu_name;
  for (hwloc_obj_t c = pci->io_first_child; c != nullptr; c = c->next_sibling) {
    if (c->type != HWLOC_OBJ_OS_DEVICE || c->name == nullptr) continue;
    if (c->attr->osdev.type == HWLOC_OBJ_OSDEV_COPROC) return c->name;
    if (c->attr->osdev.type == HWLOC_OBJ_OSDEV_GPU && gpu_name.empty()) gpu_name = c->name;
  }
  return gpu_name;
}

Device device_of(hwloc_topology_t t, hwloc_obj_t pci, const std::string& fallback_name) {
  Device d;
  d.name = os_device_name(pci);
  if (d.name.empty()) d.name = fallback_name;
  d.pci_bus_id = bus_id(pci->attr->pcidev);
  hwloc_obj_t home = hwloc_get_non_io_ancestor_obj(t, pci);
  if (home == nullptr || home->cpuset == nullptr) return d;
  d.numa = only_object_meeting(t, HWLOC_OBJ_NUMANODE, home->cpuset);
  d.package = only_object_meeting(t, HWLOC_OBJ_PACKAGE, home->cpuset);
  const int n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
  for (int i = 0; i < n; ++i) {
    if (hwloc_bitmap_isincluded(hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, i)->cpuset,
                                home->cpuset)) {
      d.local_cores.push_back(i);
    }
  }
  return d;
}

// PCI devices of one kind, in bus order (hwloc's logical order is its
// tree order, which need not be).
std::vector<hwloc_obj_t> pci_devices(hwloc_topology_t t, DeviceKind kind) {
  std::vector<hwloc_obj_t> out;
  for (hwloc_obj_t p = hwloc_get_next_pcidev(t, nullptr); p != nullptr;
       p = hwloc_get_next_pcidev(t, p)) {
    if (kind_of(p->attr->pcidev) == kind) out.push_back(p);
  }
  auto key = [](hwloc_obj_t o) {
    const PciAttr& a = o->attr->pcidev;
    return std::make_tuple(a.domain, a.bus, a.dev, a.func);
  };
  std::sort(out.begin(), out.end(),
            [&key](hwloc_obj_t a, hwloc_obj_t b) { return key(a) < key(b); });
  return out;
}

std::vector<Device> devices_of(hwloc_topology_t t, DeviceKind kind, const std::string& prefix) {
  std::vector<Device> out;
  for (hwloc_obj_t p : pci_devices(t, kind)) {
    out.push_back(device_of(t, p, prefix + std::to_string(out.size())));
  }
  return out;
}

NodeTopology model_of(hwloc_topology_t t, std::string source) {
  NodeTopology m;
  m.source = std::move(source);
  m.packages = std::max(1, hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE));
  m.numas = std::max(1, hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE));
  m.cores = cores_of(t);
  m.gpus = devices_of(t, DeviceKind::kGpu, "gpu");
  m.accelerators = devices_of(t, DeviceKind::kAccelerator, "accel");
  m.memory = memory_of(t);
  return m;
}

// ---- Loading ----------------------------------------------------------------

Result<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(std::strerror(errno));
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      return Error(std::strerror(saved));
    }
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

Result<NodeTopology> topology_from_synthetic(const std::string& description) {
  const std::string what = "hwloc synthetic topology '" + description + "'";
  const std::string expected = std::string("(expected e.g. '") + kSyntheticExample + "')";
  if (description.find_first_not_of(" \t") == std::string::npos) {
    return Error(what + ": empty description " + expected);
  }
  auto t = new_topology();
  if (!t) return t.error().with_context(what);
  if (hwloc_topology_set_synthetic(t->get(), description.c_str()) != 0) {
    return Error(what + ": not a valid description " + expected);
  }
  if (hwloc_topology_load(t->get()) != 0) {
    return Error(what + ": hwloc could not build it: " + std::strerror(errno));
  }
  auto model = model_of(t->get(), "synthetic '" + description + "'");
  // hwloc gives every synthetic NUMA node 1 GiB unless the description
  // says (numa:2(memory=64GB)); a made-up size would refuse memory
  // requests, so it counts as unknown.
  if (description.find("memory") == std::string::npos) model.memory = 0;
  return model;
}

Result<NodeTopology> topology_from_xml_file(const std::string& path) {
  const std::string what = "hwloc XML topology '" + path + "'";
  auto text = read_file(path);
  if (!text) return text.error().with_context(what);
  if (text->size() >= static_cast<size_t>(INT_MAX)) return Error(what + ": file too large");
  auto t = new_topology();
  if (!t) return t.error().with_context(what);
  // KEEP_IMPORTANT keeps display (0x03xx) and accelerator (0x12xx) devices,
  // NICs and the bridges above them: the same filter as a live load.
  hwloc_topology_set_io_types_filter(t->get(), HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  // The size counts the terminating NUL, as hwloc's own XML exports do.
  if (hwloc_topology_set_xmlbuffer(t->get(), text->c_str(), static_cast<int>(text->size() + 1)) !=
          0 ||
      hwloc_topology_load(t->get()) != 0) {
    return Error(what + ": not an hwloc XML topology (expected the output of lstopo --of xml)");
  }
  return model_of(t->get(), "xml '" + path + "'");
}

Result<NodeTopology> this_machine_topology(bool with_devices) {
  auto t = new_topology();
  if (!t) return t.error().with_context("this machine");
  hwloc_topology_t raw = t->get();
  // Linux sysfs already gives packages, cores and PUs; the x86 component
  // would add CPU model strings by running cpuid on every PU in turn,
  // moving this thread around the machine to do so.
  (void)hwloc_topology_set_components(raw, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "x86");
  if (with_devices) {
    // Linux's own PCI and sysfs discovery finds the devices. The vendor
    // components (present or not: an unknown name is refused, harmlessly)
    // would initialise CUDA, NVML, ROCm SMI, Level Zero, OpenCL or talk
    // to the X server: hundreds of milliseconds for a name we do not need.
    hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    for (const char* name : {"cuda", "nvml", "rsmi", "levelzero", "opencl", "gl"}) {
      (void)hwloc_topology_set_components(raw, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, name);
    }
  } else {
    hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_NONE);
  }
  if (hwloc_topology_load(raw) != 0) {
    return Error(std::string("this machine: hwloc could not load its topology: ") +
                 std::strerror(errno));
  }
  // Only the CPUs jobset may run on (taskset, a Slurm or cgroup cpuset):
  // processes are bound inside them, and the model says which they are.
  std::string source = "this machine";
  hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
  if (allowed && hwloc_get_cpubind(raw, allowed, HWLOC_CPUBIND_PROCESS) == 0 &&
      !hwloc_bitmap_iszero(allowed) &&
      !hwloc_bitmap_isincluded(hwloc_topology_get_topology_cpuset(raw), allowed)) {
    hwloc_bitmap_and(allowed, allowed, hwloc_topology_get_topology_cpuset(raw));
    char* list = nullptr;
    if (hwloc_bitmap_list_asprintf(&list, allowed) >= 0 && list) {
      source += " (CPUs " + std::string(list) + ", the CPU set jobset may use)";
      std::free(list);
    }
    if (hwloc_topology_restrict(raw, allowed, 0) != 0) {
      hwloc_bitmap_free(allowed);
      return Error("this machine: hwloc could not restrict its topology to " + source + ": " +
                   std::strerror(errno));
    }
  }
  hwloc_bitmap_free(allowed);
  return model_of(raw, source);
}

Result<NodeTopology> topology_from_reference(const std::string& reference,
                                             const std::string& base_dir) {
  if (!reference.ends_with(".xml")) return topology_from_synthetic(reference);
  std::filesystem::path path(reference);
  if (path.is_relative() && !base_dir.empty()) path = std::filesystem::path(base_dir) / path;
  return topology_from_xml_file(path.string());
}

std::string compact_list(std::vector<int32_t> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  std::string out;
  for (size_t i = 0; i < values.size();) {
    size_t j = i;
    while (j + 1 < values.size() && int64_t{values[j + 1]} == int64_t{values[j]} + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(values[i]);
    if (j > i) out += '-' + std::to_string(values[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace jobset::topology
