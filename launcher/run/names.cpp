// Names and addresses of a run (names.hpp).
#include "launcher/run/names.hpp"

#include <set>

namespace jobset::launcher {

std::vector<std::string> simulated_addresses(size_t nodes, int run) {
  std::vector<std::string> out;
  out.reserve(nodes);
  for (size_t k = 0; k < nodes; ++k) {
    std::string a = "127.";
    a.append(std::to_string(run)).append(".").append(std::to_string(k / 250));
    a.append(".").append(std::to_string(k % 250 + 1));
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<PortMap> assign_ports(const JobSet& js, const Plan& plan,
                                  const std::function<bool(int32_t, int)>& is_free,
                                  const std::function<int(int32_t)>& pick, bool one_host) {
  const std::vector<Process>& procs = plan.expansion.processes;
  std::vector<PortMap> out(procs.size());
  std::set<std::pair<int32_t, int>> taken;  // (node, port) given to a process already
  for (size_t r = 0; r < procs.size(); ++r) {
    int32_t node = one_host ? 0 : plan.slots[r].node;
    for (int64_t declared : js.replicated_jobs[procs[r].rjob].tmpl.ports) {
      int port = static_cast<int>(declared);
      if (taken.count({node, port}) || !is_free(node, port)) port = pick(node);
      taken.insert({node, port});
      out[r][std::to_string(declared)] = port;
    }
  }
  return out;
}

Names::Names(const JobSet& js, const Plan& plan, std::vector<std::string> node_addresses,
             std::vector<PortMap> ports)
    : js_(js), plan_(plan), addresses_(std::move(node_addresses)), ports_(std::move(ports)) {
  ports_.resize(plan.expansion.processes.size());
}

const std::string& Names::address_of(int32_t rank) const {
  return addresses_[plan_.slots[rank].node];
}

std::vector<rdzv::Member> Names::members() const {
  const std::vector<Process>& procs = plan_.expansion.processes;
  std::vector<rdzv::Member> out;
  out.reserve(procs.size());
  for (size_t r = 0; r < procs.size(); ++r) {
    const Process& p = procs[r];
    rdzv::Member m;
    m.name = p.name;
    m.fqdn = fqdn(js_, p);
    m.replicated_job = js_.replicated_jobs[p.rjob].name;
    m.job_index = p.job_index;
    m.node = plan_.cluster.nodes[plan_.slots[r].node].name;
    m.address = address_of(static_cast<int32_t>(r));
    m.ports = ports_[r];
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<rdzv::HostEntry> Names::hosts() const {
  const std::vector<Process>& procs = plan_.expansion.processes;
  std::vector<rdzv::HostEntry> out;
  out.reserve(procs.size());
  for (size_t r = 0; r < procs.size(); ++r)
    out.push_back({address_of(static_cast<int32_t>(r)), fqdn(js_, procs[r]), procs[r].name});
  return out;
}

std::string Names::hosts_text(int attempt) const {
  return rdzv::hosts_text(hosts(), "jobset " + js_.name + ", attempt " + std::to_string(attempt) +
                                       ": the run's stable names (written by jobset)");
}

int32_t Names::coordinator_rank() const { return plan_.expansion.coordinator.value_or(0); }

std::string Names::coordinator_fqdn() const {
  return fqdn(js_, plan_.expansion.processes[coordinator_rank()]);
}

bool nsswitch_uses_jobset(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    line = line.substr(0, line.find('#'));
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos || line.substr(start, 6) != "hosts:") continue;
    std::string_view rest = line.substr(start + 6);
    for (size_t i = 0; i < rest.size();) {
      size_t b = rest.find_first_not_of(" \t", i);
      if (b == std::string_view::npos) break;
      size_t e = rest.find_first_of(" \t[", b);
      if (rest.substr(b, e == std::string_view::npos ? e : e - b) == "jobset") return true;
      if (e == std::string_view::npos) break;
      i = rest[e] == '[' ? rest.find(']', e) : e;  // skip [NOTFOUND=return]
      if (i == std::string_view::npos) break;
      ++i;
    }
  }
  return false;
}

std::string fqdn_reference(const JobSet& js, const Plan& plan) {
  std::string suffix = "." + js.subdomain();
  for (const ReplicatedJob& rj : js.replicated_jobs) {
    for (const EnvVar& e : rj.tmpl.env) {
      const std::string& var = e.name;
      const std::string& value = e.value;
      size_t at = value.find(suffix);
      if (at == std::string::npos || at == 0) continue;
      for (const Process& p : plan.expansion.processes)
        if (value.find(fqdn(js, p)) != std::string::npos) {
          std::string ref = var;
          return ref.append("=").append(value);
        }
    }
  }
  return "";
}

}  // namespace jobset::launcher
