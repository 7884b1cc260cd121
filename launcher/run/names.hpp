// Names and addresses of a run: who is where, as the rendezvous store, the
// hosts files and the coordinator variables see it. Pure: the addresses of
// the nodes and the ports that are free come in from the caller (run.cpp).
//
// Addresses. A node's address is the one its processes are reached at.
// Nodes that jobset simulates on this machine (several nodes, one host)
// each get a loopback address of their own, 127.<block>.<k/250>.<k%250+1>
// in the block the run claimed (local_claims.hpp),
// so that names on different simulated nodes resolve to different
// addresses; Linux answers on all of 127.0.0.0/8 without configuration.
//
// Ports. A declared container port is kept when it is free on the node and
// no other process of that node declared it before; otherwise the process
// gets a free port (nodes simulated on one machine share one port space,
// `one_host`). Either way it is exported as JOBSET_PORT_<declared>
// and published with the name ("ports": {"8080": 8080}).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "launcher/plan/plan.hpp"
#include "launcher/spec/spec.hpp"
#include "rendezvous/hosts.hpp"
#include "rendezvous/store.hpp"

namespace jobset::launcher {

using PortMap = std::map<std::string, int>;  // declared port (as text) -> actual

// Loopback addresses for `nodes` simulated nodes in block `run` (1..254).
std::vector<std::string> simulated_addresses(size_t nodes, int run);

// The ports of every process (by rank). `is_free(node, port)` says whether
// a declared port can be bound on that node; `pick(node)` gives a free port
// there, distinct from the ones it gave before.
std::vector<PortMap> assign_ports(const JobSet& js, const Plan& plan,
                                  const std::function<bool(int32_t node, int port)>& is_free,
                                  const std::function<int(int32_t node)>& pick,
                                  bool one_host = false);

// Whether nsswitch.conf text sends host lookups to jobset's NSS module
// (a "hosts:" line naming "jobset").
bool nsswitch_uses_jobset(std::string_view nsswitch_conf);

class Names {
 public:
  // REQUIRES: one address per node of the plan, one PortMap per process.
  Names(const JobSet& js, const Plan& plan, std::vector<std::string> node_addresses,
        std::vector<PortMap> ports);

  // The store's view of the run, none registered yet.
  std::vector<rdzv::Member> members() const;
  // The hosts file's lines: every process's address, FQDN and name.
  std::vector<rdzv::HostEntry> hosts() const;
  std::string hosts_text(int attempt) const;

  const std::string& node_address(int32_t node) const { return addresses_[node]; }
  const std::string& address_of(int32_t rank) const;
  const PortMap& ports_of(int32_t rank) const { return ports_[rank]; }
  // The coordinator (or rank 0): its rank, FQDN and address.
  int32_t coordinator_rank() const;
  std::string coordinator_fqdn() const;

 private:
  const JobSet& js_;
  const Plan& plan_;
  std::vector<std::string> addresses_;
  std::vector<PortMap> ports_;
};

// Whether the environment's values name a peer by FQDN ("<name>.<subdomain>",
// as upstream manifests set MASTER_ADDR): the first such value, "" if none.
std::string fqdn_reference(const JobSet& js, const Plan& plan);

}  // namespace jobset::launcher
