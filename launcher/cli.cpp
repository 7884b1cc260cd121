// Dispatch of `jobset COMMAND`. Each command is a small function that
// loads its input, calls the pure cores, prints, and returns an exit code.
// An mpirun-style part (`-n N prog args [: -n M prog2 ...]`) may replace
// the FILE of plan and convert: everything from the first -n on is that
// part, so launcher options go before it (as with mpirun's program args).
#include "launcher/cli.hpp"

#include <sched.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "launcher/spec/adhoc.hpp"
#include "launcher/nodes/hostfile.hpp"
#include "launcher/spec/load.hpp"
#include "launcher/run/local_daemons.hpp"
#include "launcher/plan/map_policy.hpp"
#include "launcher/nodes/node_sources.hpp"
#include "launcher/plan/plan.hpp"
#include "launcher/plan/plan_svg.hpp"
#include "launcher/run/run.hpp"
#include "launcher/spec/toml_writer.hpp"
#include "launcher/spec/validate.hpp"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

namespace jobset::launcher {

namespace {

struct Input {
  std::string file;
  std::vector<std::string> adhoc;  // from the first -n on
};

// Reports diagnostics, then returns the model when there was no error.
std::optional<LoadedJobSet> load_input(const Input& in, std::ostream& err) {
  if (!in.adhoc.empty()) {
    auto js = parse_adhoc(in.adhoc, [](const std::string& var) -> std::optional<std::string> {
      const char* v = std::getenv(var.c_str());
      return v ? std::optional<std::string>(v) : std::nullopt;
    });
    if (!js) {
      err << "jobset: " << js.error().message() << "\n";
      return std::nullopt;
    }
    LoadedJobSet loaded;
    loaded.jobset = std::move(*js);
    Diagnostics diags("<command line>");
    apply_defaults(loaded.jobset);
    validate(loaded.jobset, loaded.where, diags);
    err << diags.to_string();
    if (diags.has_errors()) return std::nullopt;
    return loaded;
  }
  Diagnostics diags(in.file == "-" ? "<stdin>" : in.file);
  auto loaded = load_jobset_file(in.file, diags);
  err << diags.to_string();
  return loaded;
}

// Every node of a run is on this machine: a binding to a CPU it does not
// have (a --node-topology bigger than the machine) is refused before
// anything starts, instead of failing at each spawn.
Status check_cpus_here(const Plan& plan) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return {};
  for (size_t i = 0; i < plan.bindings.size(); ++i)
    for (int32_t cpu : plan.bindings[i].pus)
      if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed))
        return Error(plan.expansion.processes[i].name + " would be bound to CPU " + std::to_string(cpu) +
                     ", which this machine does not give jobset (its node model, from --node-topology or a "
                     "cluster file, is not this machine's)");
  return {};
}

Status write_output(const std::string& path, const std::string& text, std::ostream& out) {
  if (path.empty() || path == "-") {
    out << text;
    return {};
  }
  std::ofstream f(path);
  f << text;
  f.close();
  if (!f) return Error(path + ": cannot be written");
  return {};
}

int cmd_validate(const std::vector<std::string>& files, bool quiet, std::ostream& out,
                 std::ostream& err) {
  int bad = 0;
  for (const std::string& file : files) {
    auto loaded = load_input(Input{file, {}}, err);
    if (!loaded) {
      ++bad;
    } else if (!quiet) {
      out << file << ": valid JobSet \"" << loaded->jobset.name << "\", "
          << count_processes(loaded->jobset) << " processes\n";
    }
  }
  if (bad) {
    err << "jobset: " << bad << " of " << files.size() << " file(s) invalid\n";
    return kExitBadInput;
  }
  return kExitSuccess;
}

int cmd_convert(const Input& in, const std::string& output, std::ostream& out, std::ostream& err) {
  auto loaded = load_input(in, err);
  if (!loaded) {
    err << "jobset: nothing converted: the input has errors\n";
    return kExitBadInput;
  }
  if (auto s = write_output(output, to_toml(loaded->jobset, loaded->ignored), out); !s) {
    err << "jobset: " << s.error().message() << "\n";
    return kExitBadInput;
  }
  return kExitSuccess;
}

int cmd_plan(const Input& in, const NodeSource& ns, const MapFlags& map, const std::string& format,
             const std::string& output, std::ostream& out, std::ostream& err) {
  auto loaded = load_input(in, err);
  if (!loaded) {
    err << "jobset: no plan: the input has errors\n";
    return kExitBadInput;
  }
  auto policy = parse_map_policy(map);
  if (!policy) {
    err << "jobset: " << policy.error().message() << "\n";
    return kExitBadInput;
  }
  auto cluster = resolve_nodes(ns);
  if (!cluster) {
    err << "jobset: " << cluster.error().message() << "\n";
    return kExitBadInput;
  }
  // Planning for this machine: its own model, when needed.
  if (is_this_machine(ns))
    if (auto s = attach_this_machine(*cluster, *policy, asks_for_devices(loaded->jobset)); !s) {
      err << "jobset: " << s.error().message() << "\n";
      return kExitBadInput;
    }
  auto plan = make_plan(loaded->jobset, std::move(*cluster), *policy);
  if (auto* f = std::get_if<PlanFailure>(&plan)) {
    err << "jobset: " << f->message << "\n";
    return f->kind == PlanError::kDoesNotFit ? kExitDoesNotFit : kExitBadInput;
  }
  const Plan& p = std::get<Plan>(plan);
  std::string text = format == "json"  ? plan_to_json(loaded->jobset, p)
                     : format == "svg" ? plan_to_svg(loaded->jobset, p)
                                       : plan_to_text(loaded->jobset, p);
  if (auto s = write_output(output, text, out); !s) {
    err << "jobset: " << s.error().message() << "\n";
    return kExitBadInput;
  }
  return kExitSuccess;
}

struct RunFlags {
  std::vector<std::string> exports;
  double timeout = 0;
  int64_t max_restarts = -1;
};

int cmd_run(const Input& in, const NodeSource& ns, const MapFlags& map, const RunFlags& flags,
            RunOptions options, std::ostream& err) {
  auto loaded = load_input(in, err);
  if (!loaded) {
    err << "jobset: nothing started: the input has errors\n";
    return kExitBadInput;
  }
  const JobSet& js = loaded->jobset;
  if (js.suspend) {
    err << "jobset: nothing started: the JobSet is suspended (suspend = true)\n";
    return kExitBadInput;
  }
  for (const std::string& x : flags.exports) {
    size_t eq = x.find('=');
    std::string var = x.substr(0, eq);
    if (var.empty()) {
      err << "jobset: -x " << x << ": expected VAR or VAR=VALUE\n";
      return kExitBadInput;
    }
    if (eq != std::string::npos) {
      options.exports.emplace_back(var, x.substr(eq + 1));
    } else if (const char* v = std::getenv(var.c_str())) {
      options.exports.emplace_back(var, v);
    } else {
      err << "jobset: -x " << var << ": the variable is not set in this environment\n";
      return kExitBadInput;
    }
  }
  auto policy = parse_map_policy(map);
  if (!policy) {
    err << "jobset: nothing started: " << policy.error().message() << "\n";
    return kExitBadInput;
  }
  if (flags.timeout > 0) options.timeout = flags.timeout;
  if (flags.max_restarts >= 0) options.max_restarts = flags.max_restarts;
  if (!ns.hosts.empty()) {
    err << "jobset: nothing started: --host needs the ssh or srun launcher, which is not available yet; "
           "use --simulate-nodes, or a hostfile whose nodes are marked local=true\n";
    return kExitBadInput;
  }
  auto cluster = resolve_nodes(ns, count_processes(js));
  if (!cluster) {
    err << "jobset: " << cluster.error().message() << "\n";
    return kExitBadInput;
  }
  // Hostfile nodes marked local=true are daemons on this machine (each its
  // own node, as with --simulate-nodes); others need a remote launcher.
  const std::string& listed = !ns.hostfile.empty() ? ns.hostfile : !ns.cluster_file.empty() ? ns.cluster_file : ns.slurm_nodes;
  if (!listed.empty()) {
    std::string remote;
    for (const auto& node : cluster->nodes)
      if (!is_local(node)) remote += (remote.empty() ? "" : ", ") + node.name;
    if (!remote.empty()) {
      err << "jobset: nothing started: " << listed << ": nodes " << remote
          << " are remote, which needs the ssh or srun launcher (not available yet); mark nodes of this "
             "machine local=true\n";
      return kExitBadInput;
    }
  }
  // Every node runs here: this machine's model, when needed.
  if (auto s = attach_this_machine(*cluster, *policy, asks_for_devices(js)); !s) {
    err << "jobset: nothing started: " << s.error().message() << "\n";
    return kExitBadInput;
  }
  auto plan = make_plan(js, std::move(*cluster), *policy);
  if (auto* f = std::get_if<PlanFailure>(&plan)) {
    err << "jobset: nothing started: " << f->message << "\n";
    return f->kind == PlanError::kDoesNotFit ? kExitDoesNotFit : kExitBadInput;
  }
  if (auto s = check_cpus_here(std::get<Plan>(plan)); !s) {
    err << "jobset: nothing started: " << s.error().message() << "\n";
    return kExitBadInput;
  }
  if (options.jobsetd.empty()) options.jobsetd = find_jobsetd(options.program);
  return run_jobset(js, std::get<Plan>(plan), options, err);
}

void add_map_flags(CLI::App* cmd, MapFlags& m) {
  cmd->add_option("--map-by", m.map_by,
                  "slot (default: fill each node in rank order), node (round-robin over nodes), core, numa, "
                  "package (round-robin over a node's NUMA nodes or packages), or ppr:N:core|numa|package "
                  "(at most N processes per object)");
  cmd->add_option("--rank-by", m.rank_by,
                  "Order of ranks over the mapped places: slot|core (neighbours together) or numa|package "
                  "(round-robin); default: the map-by object");
  cmd->add_option("--bind-to", m.bind_to,
                  "none (default), core (each process to its own cores), numa or package (to the whole "
                  "NUMA node or package holding its cores)");
}

void add_input(CLI::App* cmd, Input& in, const std::string& what) {
  cmd->add_option("file", in.file, what + " (TOML or Kubernetes YAML; - reads standard input)");
}

}  // namespace

int run_cli(const std::string& program, const std::vector<std::string>& raw_args, std::ostream& out,
            std::ostream& err) {
  std::vector<std::string> args = raw_args;
  Input in;
  if (!args.empty() && (args[0] == "plan" || args[0] == "convert" || args[0] == "run")) {
    auto it = std::find_if(args.begin() + 1, args.end(), is_adhoc_start);
    in.adhoc.assign(it, args.end());
    args.erase(it, args.end());
  }

  CLI::App app{"jobset: run Kubernetes JobSets on HPC clusters, hostfiles and this machine.", "jobset"};
  app.set_version_flag("--version", PACKAGE_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  jobset validate job.toml                  check a JobSet file\n"
      "  jobset plan job.yaml --nodes 4 --slots 8   show where every process would run\n"
      "  jobset convert job.yaml -o job.toml        Kubernetes YAML to the native TOML\n"
      "\nSee jobset COMMAND --help, jobset(1) and jobset-file(5).");

  std::vector<std::string> files;
  bool quiet = false;
  auto* validate_cmd = app.add_subcommand("validate", "Check JobSet files; report every error and warning");
  validate_cmd->add_option("files", files, "JobSet files (TOML or Kubernetes YAML)")->required();
  validate_cmd->add_flag("-q,--quiet", quiet, "Print only problems");
  validate_cmd->footer(
      "Exit status: 0 all files valid (warnings allowed), 2 some file has an error.\n"
      "Examples:\n"
      "  jobset validate examples/*.toml examples/*.yaml\n"
      "  jobset validate -q job.toml && echo ok");

  std::string output;
  auto* convert_cmd = app.add_subcommand("convert", "Print the native TOML form of a JobSet");
  add_input(convert_cmd, in, "JobSet to convert");
  convert_cmd->add_option("-o,--output", output, "Write to this file instead of standard output");
  convert_cmd->footer(
      "Kubernetes-only fields of the input are listed in a comment at the top.\n"
      "An mpirun-style command line converts too: everything from the first -n on.\n"
      "Examples:\n"
      "  jobset convert multislice.yaml -o multislice.toml\n"
      "  jobset convert -n 1 ./driver : -n 8 ./worker --steps 100");

  NodeSource ns;
  MapFlags map_flags;
  std::string format = "text";
  auto* plan_cmd = app.add_subcommand("plan", "Expand a JobSet and show where each process would run");
  add_input(plan_cmd, in, "JobSet to plan");
  plan_cmd->add_option("--hostfile", ns.hostfile, "Nodes from a hostfile: 'name slots=N [gpus=N] [key=value ...]' per line");
  plan_cmd->add_option("--host", ns.hosts, "Nodes as a list: a:4,b:4 (name:slots)");
  plan_cmd->add_option("--nodes", ns.nodes, "Plan for N imaginary nodes (with --slots)")->check(CLI::Range(1, 1000000));
  plan_cmd->add_option("--slots", ns.slots, "Slots per imaginary node")->check(CLI::Range(1, 1 << 20));
  plan_cmd->add_option("--cluster", ns.cluster_file, "Nodes from a cluster file (TOML: nodes, labels, node topologies)");
  plan_cmd->add_option("--slurm-nodes", ns.slurm_nodes, "Nodes from saved `scontrol show node` output");
  plan_cmd->add_option("--slurm-topology", ns.slurm_topology,
                       "Switch labels from saved `scontrol show topology` output");
  plan_cmd->add_option("--node-topology", ns.node_topology,
                       "What is inside nodes that have no model: hwloc synthetic ('pack:2 numa:2 core:16 pu:2') or XML file");
  add_map_flags(plan_cmd, map_flags);
  plan_cmd->add_option("--format", format, "text (a table), json (see jobset(1), PLAN JSON) or svg (a picture)")
      ->check(CLI::IsMember({"text", "json", "svg"}));
  plan_cmd->add_option("-o,--output", output, "Write to this file instead of standard output");
  plan_cmd->footer(
      "Without a node source, plans for this machine (one slot per CPU).\n"
      "Processes fill node slots in rank order (--map-by slot), honouring node selectors, resources\n"
      "and exclusive islands; --bind-to gives them cores. Exit status 3: it does not fit.\n"
      "Examples:\n"
      "  jobset plan examples/multislice.yaml --hostfile examples/multislice.hosts\n"
      "  jobset plan --cluster examples/cluster/gpu-cluster.toml examples/gpu-train.toml --bind-to core\n"
      "  jobset plan job.toml --slurm-nodes nodes.txt --slurm-topology topo.txt --format svg -o map.svg\n"
      "  jobset plan job.toml --hostfile nodes.txt --format json -o plan.json\n"
      "  jobset plan --host a:4,b:4 -n 8 ./a.out");

  RunFlags run_flags;
  RunOptions run_options;
  run_options.program = program;
  NodeSource run_ns;
  auto* run_cmd = app.add_subcommand("run", "Run a JobSet on this machine or on simulated nodes");
  add_input(run_cmd, in, "JobSet to run");
  run_cmd->add_option("--simulate-nodes", run_ns.simulate,
                      "N[:SLOTS]: start N node daemons on this machine, each acting as a node");
  run_cmd->add_option("--hostfile", run_ns.hostfile,
                      "Nodes from a hostfile; nodes marked local=true run as daemons on this machine");
  run_cmd->add_option("--cluster", run_ns.cluster_file,
                      "Nodes from a cluster file; nodes with local = true run as daemons on this machine");
  run_cmd->add_option("--slurm-topology", run_ns.slurm_topology,
                      "Switch labels from saved `scontrol show topology` output");
  run_cmd->add_option("--node-topology", run_ns.node_topology,
                      "What is inside nodes that have no model (default with binding: this machine's)");
  run_cmd->add_option("--host", run_ns.hosts, "Nodes as a list (needs a remote launcher)");
  add_map_flags(run_cmd, map_flags);
  run_cmd->add_flag("--report-bindings", run_options.report_bindings,
                    "Print each process's cores, CPUs and devices before it starts");
  run_cmd->add_option("-x", run_flags.exports, "Export VAR (from this environment) or VAR=VALUE to every process")
      ->allow_extra_args(false);
  run_cmd->add_flag("--tag-output", run_options.output.tag, "Prefix every output line with [process name]");
  run_cmd->add_flag("--timestamp-output", run_options.output.timestamp, "Prefix every output line with the UTC time");
  run_cmd->add_option("--output-dir", run_options.output.dir,
                      "Write each process's output to DIR/NAME.ATTEMPT.out and .err instead");
  run_cmd->add_option("--events", run_options.events_file, "Write every state change as a JSON line to FILE");
  run_cmd->add_option("--timeout", run_flags.timeout, "Stop everything after SECONDS; exit 124")
      ->check(CLI::PositiveNumber);
  run_cmd->add_option("--max-restarts", run_flags.max_restarts, "Override failure_policy.max_restarts")
      ->check(CLI::NonNegativeNumber);
  run_cmd->add_flag("-q,--quiet", run_options.quiet, "Print only the processes' output and errors");
  run_cmd->add_flag("-v,--verbose", run_options.verbose, "Print every state change");
  run_cmd->footer(
      "Launcher options go before an mpirun-style part: everything from the first -n on is the program.\n"
      "Ctrl-C stops every process gracefully; a second Ctrl-C kills them at once.\n"
      "SIGUSR1 and SIGUSR2 are forwarded to every process.\n"
      "Exit status: 0 success; the failing process's exit code (128+signal if killed) when the\n"
      "JobSet fails (127: a program could not be started); 2 bad input; 3 does not fit;\n"
      "124 --timeout or a job deadline; 1 jobset's own error.\n"
      "Examples:\n"
      "  jobset run examples/driver-workers.toml --tag-output\n"
      "  jobset run --simulate-nodes 4 --events events.jsonl job.yaml\n"
      "  jobset run -x OMP_NUM_THREADS=2 -n 4 ./a.out : -n 1 ./monitor");

  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, out, err);
    return code == 0 ? kExitSuccess : kExitBadInput;
  }

  if (validate_cmd->parsed()) return cmd_validate(files, quiet, out, err);
  bool need_input = convert_cmd->parsed() || plan_cmd->parsed() || run_cmd->parsed();
  if (need_input && in.file.empty() == in.adhoc.empty()) {
    err << "jobset: give a JobSet FILE or an mpirun-style -n N PROGRAM, not "
        << (in.file.empty() ? "neither" : "both") << " (see jobset "
        << (plan_cmd->parsed() ? "plan" : run_cmd->parsed() ? "run" : "convert")
        << " --help)\n";
    return kExitBadInput;
  }
  if (convert_cmd->parsed()) return cmd_convert(in, output, out, err);
  if (run_cmd->parsed()) return cmd_run(in, run_ns, map_flags, run_flags, run_options, err);
  return cmd_plan(in, ns, map_flags, format, output, out, err);
}

}  // namespace jobset::launcher
