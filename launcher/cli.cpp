// The flags of `jobset COMMAND` and the dispatch to its function
// (commands.hpp). Each command's flags are added by a function of its own.
// An mpirun-style part (`-n N prog args [: -n M prog2 ...]`) may replace
// the FILE of plan and convert: everything from the first -n on is that
// part, so launcher options go before it (as with mpirun's program args).
#include "launcher/cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

#include "launcher/commands.hpp"
#include "launcher/rdzv_command.hpp"
#include "launcher/spec/adhoc.hpp"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

namespace jobset::launcher {

namespace {

// What the flags of every command fill in.
struct Args {
  Input in;
  std::vector<std::string> files;  // validate
  bool quiet = false;
  std::string output;  // convert, plan
  NodeSource plan_nodes;
  MapFlags map;
  std::string format = "text";
  RunFlags run_flags;
  RunOptions run_options;
  std::string mpi;  // --mpi, checked; empty: every wire-up built
  NodeSource run_nodes;
  RdzvArgs rdzv;
};

void add_map_flags(CLI::App* cmd, MapFlags& m) {
  cmd->add_option(
      "--map-by", m.map_by,
      "slot (default: fill each node in rank order), node (round-robin over nodes), core, numa, "
      "package (round-robin over a node's NUMA nodes or packages), or ppr:N:core|numa|package "
      "(at most N processes per object)");
  cmd->add_option(
      "--rank-by", m.rank_by,
      "Order of ranks over the mapped places: slot|core (neighbours together) or numa|package "
      "(round-robin); default: the map-by object");
  cmd->add_option(
      "--bind-to", m.bind_to,
      "none (default), core (each process to its own cores), numa or package (to the whole "
      "NUMA node or package holding its cores)");
}

// A CLI11 check with a short message ("expected ..., found 0"), not the
// range of a double.
CLI::Validator positive(const std::string& what) {
  return CLI::Validator(
      [what](std::string& v) -> std::string {
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || *end != '\0' || !(d > 0) || d > 1e9)
          return "expected " + what + ", found " + v;
        return "";
      },
      "SECONDS");
}

constexpr const char* kIgnoreUnsupportedHelp =
    "Run without the upstream fields jobset cannot honour and would otherwise refuse "
    "(volumeClaimPolicies), with a warning";

void add_input(CLI::App* cmd, Input& in, const std::string& what) {
  cmd->add_option("file", in.file, what + " (TOML or Kubernetes YAML; - reads standard input)");
  cmd->add_flag("--ignore-unsupported", in.ignore_unsupported, kIgnoreUnsupportedHelp);
}

CLI::App* add_validate(CLI::App& app, Args& a) {
  CLI::App* cmd =
      app.add_subcommand("validate", "Check JobSet files; report every error and warning");
  cmd->add_option("files", a.files, "JobSet files (TOML or Kubernetes YAML)")->required();
  cmd->add_flag("-q,--quiet", a.quiet, "Print only problems");
  cmd->add_flag("--ignore-unsupported", a.in.ignore_unsupported, kIgnoreUnsupportedHelp);
  cmd->footer(
      "Exit status: 0 all files valid (warnings allowed), 2 some file has an error.\n"
      "Examples:\n"
      "  jobset validate examples/*.toml examples/*.yaml\n"
      "  jobset validate -q job.toml && echo ok");
  return cmd;
}

CLI::App* add_convert(CLI::App& app, Args& a) {
  CLI::App* cmd = app.add_subcommand("convert", "Print the native TOML form of a JobSet");
  add_input(cmd, a.in, "JobSet to convert");
  cmd->add_option("-o,--output", a.output, "Write to this file instead of standard output");
  cmd->footer(
      "Kubernetes-only fields of the input are listed in a comment at the top.\n"
      "An mpirun-style command line converts too: everything from the first -n on.\n"
      "Examples:\n"
      "  jobset convert multislice.yaml -o multislice.toml\n"
      "  jobset convert -n 1 ./driver : -n 8 ./worker --steps 100");
  return cmd;
}

CLI::App* add_plan(CLI::App& app, Args& a) {
  CLI::App* cmd =
      app.add_subcommand("plan", "Expand a JobSet and show where each process would run");
  add_input(cmd, a.in, "JobSet to plan");
  cmd->add_option("--hostfile", a.plan_nodes.hostfile,
                  "Nodes from a hostfile: 'name slots=N [gpus=N] [key=value ...]' per line");
  cmd->add_option("--host", a.plan_nodes.hosts, "Nodes as a list: a:4,b:4 (name:slots)");
  cmd->add_option(
      "--simulate-nodes", a.plan_nodes.simulate,
      "N[:SLOTS]: N nodes of this machine, as `jobset run --simulate-nodes` starts them");
  cmd->add_option("--nodes", a.plan_nodes.nodes, "Plan for N imaginary nodes (with --slots)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--slots", a.plan_nodes.slots, "Slots per imaginary node")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--cluster", a.plan_nodes.cluster_file,
                  "Nodes from a cluster file (TOML: nodes, labels, node topologies)");
  cmd->add_option("--slurm-nodes", a.plan_nodes.slurm_nodes,
                  "Nodes from saved `scontrol show node` output");
  cmd->add_option("--slurm-topology", a.plan_nodes.slurm_topology,
                  "Switch labels from saved `scontrol show topology` output");
  cmd->add_option("--node-topology", a.plan_nodes.node_topology,
                  "What is inside nodes that have no model: hwloc synthetic ('pack:2 numa:2 "
                  "core:16 pu:2') or XML file");
  add_map_flags(cmd, a.map);
  cmd->add_option("--format", a.format,
                  "text (a table), json (see jobset(1), PLAN JSON) or svg (a picture)")
      ->check(CLI::IsMember({"text", "json", "svg"}));
  cmd->add_option("-o,--output", a.output, "Write to this file instead of standard output");
  cmd->footer(
      "Without a node source, plans for this machine (one slot per CPU).\n"
      "Processes fill node slots in rank order (--map-by slot), honouring node selectors, "
      "resources\n"
      "and exclusive islands; --bind-to gives them cores. Exit status 3: it does not fit.\n"
      "Examples:\n"
      "  jobset plan examples/multislice.yaml --hostfile examples/multislice.hosts\n"
      "  jobset plan --cluster examples/cluster/gpu-cluster.toml examples/gpu-train.toml --bind-to "
      "core\n"
      "  jobset plan job.toml --slurm-nodes nodes.txt --slurm-topology topo.txt --format svg -o "
      "map.svg\n"
      "  jobset plan job.toml --hostfile nodes.txt --format json -o plan.json\n"
      "  jobset plan --host a:4,b:4 -n 8 ./a.out");
  return cmd;
}

CLI::App* add_run(CLI::App& app, Args& a) {
  CLI::App* cmd = app.add_subcommand("run", "Run a JobSet on this machine or on simulated nodes");
  add_input(cmd, a.in, "JobSet to run");
  cmd->add_option("--simulate-nodes", a.run_nodes.simulate,
                  "N[:SLOTS]: start N node daemons on this machine, each acting as a node");
  cmd->add_option("--hostfile", a.run_nodes.hostfile,
                  "Nodes from a hostfile; nodes marked local=true run as daemons on this machine");
  cmd->add_option(
      "--cluster", a.run_nodes.cluster_file,
      "Nodes from a cluster file; nodes with local = true run as daemons on this machine");
  cmd->add_option("--slurm-topology", a.run_nodes.slurm_topology,
                  "Switch labels from saved `scontrol show topology` output");
  cmd->add_option("--node-topology", a.run_nodes.node_topology,
                  "What is inside nodes that have no model (default with binding: this machine's)");
  cmd->add_option("--host", a.run_nodes.hosts, "Nodes as a list (needs a remote launcher)");
  add_map_flags(cmd, a.map);
  cmd->add_flag("--report-bindings", a.run_options.report_bindings,
                "Print each process's cores, CPUs and devices before it starts");
  cmd->add_option("--mpi", a.mpi,
                  "MPI wire-up offered to the processes: pmix, pmi1 or none (default: every one "
                  "built; PMI-1 for MPICH today)")
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            if (s == "pmi1" || s == "none") return {};
            if (s == "pmix")
              return "pmix: this jobset has no PMIx server (Open MPI) yet; use pmi1 (MPICH) or "
                     "none";
            return "expected pmix, pmi1 or none, found '" + s + "'";
          },
          "pmix|pmi1|none"));
  cmd->add_option("-x", a.run_flags.exports,
                  "Export VAR (from this environment) or VAR=VALUE to every process")
      ->allow_extra_args(false);
  cmd->add_flag("--tag-output", a.run_options.output.tag,
                "Prefix every output line with [process name]");
  cmd->add_flag("--timestamp-output", a.run_options.output.timestamp,
                "Prefix every output line with the UTC time");
  cmd->add_option("--output-dir", a.run_options.output.dir,
                  "Write each process's output to DIR/NAME.ATTEMPT.out and .err instead");
  cmd->add_option("--events", a.run_options.events_file,
                  "Write every state change as a JSON line to FILE");
  cmd->add_option("--timeout", a.run_flags.timeout, "Stop everything after SECONDS; exit 124")
      ->check(positive("a number of seconds above 0"));
  cmd->add_option("--address-from", a.run_flags.address_from,
                  "IFACE|CIDR: the address of this machine its processes are reached at "
                  "(default 127.0.0.1 for one node)");
  cmd->add_option("--max-restarts", a.run_flags.max_restarts,
                  "Override failure_policy.max_restarts")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("-q,--quiet", a.run_options.quiet, "Print only the processes' output and errors");
  cmd->add_flag("-v,--verbose", a.run_options.verbose, "Print every state change");
  cmd->footer(
      "Launcher options go before an mpirun-style part: everything from the first -n on is the "
      "program.\n"
      "Ctrl-C stops every process gracefully; a second Ctrl-C kills them at once.\n"
      "SIGUSR1 and SIGUSR2 are forwarded to every process; Ctrl-Z stops them all with jobset, fg continues.\n"
      "Exit status: 0 success; the failing process's exit code (128+signal if killed) when the\n"
      "JobSet fails (127: a program could not be started); 2 bad input; 3 does not fit;\n"
      "124 --timeout or a job deadline; 1 jobset's own error.\n"
      "Examples:\n"
      "  jobset run examples/driver-workers.toml --tag-output\n"
      "  jobset run --simulate-nodes 4 --events events.jsonl job.yaml\n"
      "  jobset run -x OMP_NUM_THREADS=2 -n 4 ./a.out : -n 1 ./monitor");
  return cmd;
}

// Everything from the first -n on is an mpirun-style part, for the commands that take one.
Input split_adhoc(std::vector<std::string>& args) {
  Input in;
  if (!args.empty() && (args[0] == "plan" || args[0] == "convert" || args[0] == "run")) {
    auto it = std::find_if(args.begin() + 1, args.end(), is_adhoc_start);
    in.adhoc.assign(it, args.end());
    args.erase(it, args.end());
  }
  return in;
}

}  // namespace

int run_cli(const std::string& program, const std::vector<std::string>& raw_args, std::ostream& out,
            std::ostream& err) {
  std::vector<std::string> args = raw_args;
  Args a;
  a.in = split_adhoc(args);
  a.run_options.program = program;

  CLI::App app{"jobset: run Kubernetes JobSets on HPC clusters, hostfiles and this machine.",
               "jobset"};
  app.set_version_flag("--version", PACKAGE_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  jobset validate job.toml                  check a JobSet file\n"
      "  jobset plan job.yaml --nodes 4 --slots 8   show where every process would run\n"
      "  jobset run job.toml --tag-output           run it on this machine\n"
      "  jobset run -n 4 ./a.out                    the mpirun way, no file needed\n"
      "  jobset convert job.yaml -o job.toml        Kubernetes YAML to the native TOML\n"
      "  jobset rdzv wait leader                    inside a run: wait for a key\n"
      "\nSee jobset COMMAND --help, jobset(1) and jobset-file(5).");
  CLI::App* validate_cmd = add_validate(app, a);
  CLI::App* convert_cmd = add_convert(app, a);
  CLI::App* plan_cmd = add_plan(app, a);
  CLI::App* run_cmd = add_run(app, a);
  CLI::App* rdzv_cmd = add_rdzv(app, a.rdzv);

  const std::vector<std::string> commands = {"validate", "convert", "plan", "run", "rdzv"};
  if (!args.empty() && !args[0].empty() && args[0][0] != '-' &&
      std::find(commands.begin(), commands.end(), args[0]) == commands.end()) {
    err << "jobset: unknown command '" << args[0]
        << "' (commands: validate, convert, plan, run, rdzv; see jobset --help)\n";
    return kExitBadInput;
  }
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, out, err);
    return code == 0 ? kExitSuccess : kExitBadInput;
  }

  if (validate_cmd->parsed()) return cmd_validate(a.files, a.quiet, a.in.ignore_unsupported, out, err);
  if (rdzv_cmd->parsed()) return cmd_rdzv(a.rdzv, out, err);
  if (a.in.file.empty() == a.in.adhoc.empty()) {
    err << "jobset: give a JobSet FILE or an mpirun-style -n N PROGRAM, not "
        << (a.in.file.empty() ? "neither" : "both") << " (see jobset "
        << (plan_cmd->parsed()  ? "plan"
            : run_cmd->parsed() ? "run"
                                : "convert")
        << " --help)\n";
    return kExitBadInput;
  }
  if (convert_cmd->parsed()) return cmd_convert(a.in, a.output, out, err);
  if (a.mpi == "pmi1") a.run_options.mpi = MpiWireup::kPmi1;
  if (a.mpi == "none") a.run_options.mpi = MpiWireup::kNone;
  if (run_cmd->parsed()) return cmd_run(a.in, a.run_nodes, a.map, a.run_flags, a.run_options, err);
  return cmd_plan(a.in, a.plan_nodes, a.map, a.format, a.output, out, err);
}

}  // namespace jobset::launcher
