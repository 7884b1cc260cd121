// Process specs and their environment: see process_spec.hpp for the layers.
#include "launcher/run/process_spec.hpp"

#include <algorithm>
#include <unordered_map>

#include <openssl/evp.h>

#include "launcher/spec/expand.hpp"
#include "launcher/spec/field_ref.hpp"
#include "runtime/pmi1_protocol.hpp"

namespace jobset::launcher {
namespace {

std::string joined(const std::vector<int32_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

// Later layers win; a name keeps the place where it first appeared.
class EnvBuilder {
 public:
  explicit EnvBuilder(Env base) : env_(std::move(base)) {
    for (size_t i = 0; i < env_.size(); ++i) index_.emplace(env_[i].first, i);
  }
  template <typename Layer>
  void overlay(const Layer& layer) {
    for (const auto& [name, value] : layer) {
      auto [it, added] = index_.emplace(name, env_.size());
      if (added)
        env_.emplace_back(name, value);
      else
        env_[it->second].second = value;
    }
  }
  Env take() { return std::move(env_); }

 private:
  Env env_;
  std::unordered_map<std::string, size_t> index_;
};

// What the CUDA, ROCm and TPU runtimes read, from the devices placement gave.
void add_devices(Env& env, const topology::Binding& b) {
  if (!b.gpus.empty()) {
    env.emplace_back("CUDA_VISIBLE_DEVICES", joined(b.gpus));
    env.emplace_back("ROCR_VISIBLE_DEVICES", joined(b.gpus));
  }
  if (!b.tpus.empty()) env.emplace_back("TPU_VISIBLE_CHIPS", joined(b.tpus));
  if (!b.gpus.empty() || !b.tpus.empty())
    env.emplace_back("JOBSET_ACCELERATORS", joined(b.gpus.empty() ? b.tpus : b.gpus));
}

// Upstream's job-key label: the SHA-1 of "<namespace>/<job name>", in hex.
std::string sha1_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr) != 1) return "";
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) out.append({kHex[digest[i] >> 4], kHex[digest[i] & 15]});
  return out;
}

const std::string* lookup_in(const Env& env, const std::string& name) {
  for (auto it = env.rbegin(); it != env.rend(); ++it)
    if (it->first == name) return &it->second;
  return nullptr;
}

// MPICH's PMI_process_mapping: which ranks share a node, from the placement.
std::string pmi_mapping_of(const Plan& plan) {
  std::vector<int32_t> node_of_rank;
  node_of_rank.reserve(plan.slots.size());
  for (const auto& slot : plan.slots) node_of_rank.push_back(slot.node);
  return runtime::pmi1::process_mapping(node_of_rank);
}

}  // namespace

std::string expand_references(const std::string& text,
                              const std::function<const std::string*(const std::string&)>& lookup) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    if (text[i + 1] == '$') {  // "$$": a literal '$'
      out += '$';
      ++i;
      continue;
    }
    size_t close = text[i + 1] == '(' ? text.find(')', i + 2) : std::string::npos;
    if (close == std::string::npos) {  // not a reference (or not closed): kept
      out += '$';
      continue;
    }
    std::string name = text.substr(i + 2, close - i - 2);
    const std::string* value = lookup(name);
    out += value ? *value : "$(" + name + ")";
    i = close;
  }
  return out;
}

int64_t effective_max_restarts(const JobSet& js, std::optional<int64_t> flag) {
  if (flag) return *flag;
  return js.failure_policy ? js.failure_policy->max_restarts : 0;
}

ProcessSpecs::ProcessSpecs(const JobSet& js, const Plan& plan, SpecSettings settings)
    : js_(js), plan_(plan), settings_(std::move(settings)) {
  local_rank_.assign(plan.slots.size(), 0);
  local_size_.assign(plan.slots.size(), 0);
  std::vector<int32_t> per_node(plan.cluster.nodes.size(), 0);
  for (size_t r = 0; r < plan.slots.size(); ++r) local_rank_[r] = per_node[plan.slots[r].node]++;
  for (size_t r = 0; r < plan.slots.size(); ++r) local_size_[r] = per_node[plan.slots[r].node];
  pmi_mapping_ = pmi_mapping_of(plan);
}

void ProcessSpecs::moved(int32_t rank) {
  const int32_t node = plan_.slots[rank].node;
  int32_t next = 0, size = 1;
  for (size_t r = 0; r < plan_.slots.size(); ++r) {
    if (static_cast<int32_t>(r) == rank || plan_.slots[r].node != node) continue;
    next = std::max(next, local_rank_[r] + 1);
    ++size;
  }
  local_rank_[rank] = next;
  for (size_t r = 0; r < plan_.slots.size(); ++r)
    if (plan_.slots[r].node == node) local_size_[r] = size;
  pmi_mapping_ = pmi_mapping_of(plan_);
}

Env ProcessSpecs::jobset_variables(int32_t rank, int attempt, int job_attempt) const {
  const Expansion& ex = plan_.expansion;
  const Process& p = ex.processes[rank];
  const ReplicatedJob& rj = js_.replicated_jobs[p.rjob];
  const Group& g = ex.groups[p.group];
  const int32_t node = plan_.slots[rank].node;
  const std::string world = std::to_string(ex.processes.size());
  const std::string global = std::to_string(p.global_rank);
  const std::string local = std::to_string(local_rank_[rank]);
  const std::string local_size = std::to_string(local_size_[rank]);
  const std::string& host = settings_.coordinator_host;
  Env env = {
      {"JOBSET_NAME", js_.name},
      {"REPLICATED_JOB_NAME", rj.name},
      {"REPLICATED_JOB_REPLICAS", std::to_string(rj.replicas)},
      {"JOB_INDEX", std::to_string(p.job_index)},
      {"JOB_GLOBAL_INDEX", std::to_string(p.job_global_index)},
      {"JOB_COMPLETION_INDEX", std::to_string(p.pod_index)},
      {"JOBSET_RESTART_ATTEMPT", std::to_string(attempt)},
      {"JOBSET_JOB_RESTART_ATTEMPT", std::to_string(job_attempt)},
      {"JOBSET_HOSTNAME", p.name},
      {"JOBSET_SUBDOMAIN", js_.subdomain()},
      {"JOBSET_GROUP_NAME", g.name},
      {"JOBSET_GROUP_INDEX", std::to_string(p.group)},
      {"JOBSET_GROUP_REPLICAS", std::to_string(g.replicas)},
      {"JOBSET_JOB_GROUP_INDEX", std::to_string(p.job_group_index)},
      {"JOBSET_GLOBAL_REPLICAS", std::to_string(ex.total_jobs)},
      {"JOBSET_GLOBAL_RANK", global},
      {"JOBSET_NODE", plan_.cluster.nodes[node].name},
      {"RANK", global},
      {"WORLD_SIZE", world},
      {"LOCAL_RANK", local},
      {"LOCAL_WORLD_SIZE", local_size},
      {"GROUP_RANK", std::to_string(node)},
      {"ROLE_NAME", rj.name},
      {"ROLE_RANK", std::to_string(p.role_rank)},
      {"ROLE_WORLD_SIZE", std::to_string(ex.rjobs[p.rjob].processes)},
      {"TORCHELASTIC_RESTART_COUNT", std::to_string(attempt)},
      {"TORCHELASTIC_MAX_RESTARTS", std::to_string(settings_.max_restarts)},
      {"MASTER_ADDR", host},
      {"MASTER_PORT", std::to_string(settings_.master_port)},
      {"JAX_PROCESS_ID", global},
      {"JAX_NUM_PROCESSES", world},
      {"JAX_COORDINATOR_ADDRESS", host + ":" + std::to_string(settings_.jax_port)},
      {"MEGASCALE_SLICE_ID", std::to_string(p.job_group_index)},
      {"MEGASCALE_NUM_SLICES", std::to_string(g.replicas)},
      {"MEGASCALE_COORDINATOR_ADDRESS", host + ":" + std::to_string(settings_.megascale_port)},
      {"MPI_APPNUM", std::to_string(p.rjob)},
  };
  if (settings_.mpi != MpiWireup::kNone) {
    env.emplace_back("OMPI_COMM_WORLD_RANK", global);
    env.emplace_back("OMPI_COMM_WORLD_SIZE", world);
    env.emplace_back("OMPI_COMM_WORLD_LOCAL_RANK", local);
    env.emplace_back("OMPI_COMM_WORLD_LOCAL_SIZE", local_size);
  }
  if (js_.network.enable_dns_hostnames) env.emplace_back("JOBSET_FQDN", fqdn(js_, p));
  if (ex.coordinator) env.emplace_back("JOBSET_COORDINATOR", host);
  if (static_cast<size_t>(rank) < settings_.ports.size()) {
    for (const auto& [declared, port] : settings_.ports[rank])
      env.emplace_back("JOBSET_PORT_" + declared, std::to_string(port));
  } else {
    for (int64_t port : rj.tmpl.ports)
      env.emplace_back("JOBSET_PORT_" + std::to_string(port), std::to_string(port));
  }
  if (settings_.default_omp_threads && local_size_[rank] > 1)
    env.emplace_back("OMP_NUM_THREADS", "1");
  if (!plan_.bindings.empty()) add_devices(env, plan_.bindings[rank]);
  return env;
}

bool ProcessSpecs::sets_omp_threads() const {
  return settings_.default_omp_threads &&
         std::any_of(local_size_.begin(), local_size_.end(), [](int32_t n) { return n > 1; });
}

std::optional<std::string> ProcessSpecs::pod_fact(const std::string& source, int32_t rank,
                                                   const Env& jobset) const {
  const Process& p = plan_.expansion.processes[rank];
  std::string ns = js_.namespace_name.empty() ? "default" : js_.namespace_name;
  std::string job = js_.name + "-" + js_.replicated_jobs[p.rjob].name + "-" + std::to_string(p.job_index);
  if (source == "pod:namespace") return ns;
  if (source == "pod:job-name") return job;
  if (source == "pod:job-key") return sha1_hex(ns + "/" + job);
  if (source == "pod:address") {
    size_t node = plan_.slots[rank].node;
    if (node < settings_.node_addresses.size()) return settings_.node_addresses[node];
    return std::nullopt;
  }
  if (const std::string* v = lookup_in(jobset, source)) return *v;
  return std::nullopt;
}

Env ProcessSpecs::environment(int32_t rank, int attempt, int job_attempt) const {
  Env jobset = jobset_variables(rank, attempt, job_attempt);
  // What $(VAR) in the file's env sees: jobset's variables, then the
  // entries before it (Kubernetes: the container's earlier env entries).
  Env seen = jobset;
  Env file;
  const JobTemplate& t = js_.replicated_jobs[plan_.expansion.processes[rank].rjob].tmpl;
  for (const EnvVar& e : t.env) {
    std::optional<std::string> value;
    if (!e.field_ref.empty()) {
      if (auto source = field_ref_source(e.field_ref)) value = pod_fact(*source, rank, jobset);
    } else if (!js_.expand_references) {
      value = e.value;
    } else {
      value = expand_references(e.value, [&seen](const std::string& n) { return lookup_in(seen, n); });
    }
    if (!value) continue;  // unset, never ""
    seen.emplace_back(e.name, *value);
    file.emplace_back(e.name, *value);
  }
  EnvBuilder env(std::move(jobset));
  env.overlay(file);
  env.overlay(settings_.exports);
  return env.take();
}

runtime::ProcessSpec ProcessSpecs::build(int32_t rank, uint64_t launch, int attempt,
                                         int job_attempt) const {
  const Process& p = plan_.expansion.processes[rank];
  const JobTemplate& t = js_.replicated_jobs[p.rjob].tmpl;
  runtime::ProcessSpec spec;
  spec.launch = launch;
  spec.rank = rank;
  spec.name = p.name;
  spec.argv = t.command;
  spec.argv.insert(spec.argv.end(), t.args.begin(), t.args.end());
  spec.env = environment(rank, attempt, job_attempt);
  if (js_.expand_references)
    for (std::string& arg : spec.argv)
      arg = expand_references(arg, [&spec](const std::string& n) { return lookup_in(spec.env, n); });
  spec.cwd = t.working_dir;
  if (!plan_.bindings.empty()) {
    const topology::Binding& b = plan_.bindings[rank];
    spec.cpus = b.pus;
    spec.gpus = b.gpus;
    spec.tpus = b.tpus;
  }
  if (settings_.mpi == MpiWireup::kAll || settings_.mpi == MpiWireup::kPmi1) {
    // jobsetd serves it and adds PMI_FD, PMI_RANK and PMI_SIZE.
    spec.pmi_kvs = "jobset-" + js_.name + "-" + std::to_string(attempt);
    spec.pmi_size = static_cast<int32_t>(plan_.expansion.processes.size());
    spec.pmi_appnum = p.rjob;
    spec.pmi_mapping = pmi_mapping_;
  }
  return spec;
}

}  // namespace jobset::launcher
