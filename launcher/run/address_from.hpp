// --address-from IFACE|CIDR: which of a host's addresses its processes are
// reached at, when the host has several networks. pick_address() is pure;
// host_interfaces() reads this host's (getifaddrs).
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace jobset::launcher {

struct Interface {
  std::string name;     // "eth0"
  std::string address;  // numeric, "10.1.2.3" or "fd00::7"
  bool loopback = false;
};

// IFACE: the first address of the interface of that name, IPv4 before
// IPv6. CIDR ("10.0.0.0/8", "fd00::/8"): the first address inside the
// block, in interface order. Fails naming what was looked for and what
// the host has.
Result<std::string> pick_address(const std::vector<Interface>& interfaces, const std::string& spec);

// The addresses of this host's interfaces that are up, in the kernel's order.
std::vector<Interface> host_interfaces();

}  // namespace jobset::launcher
