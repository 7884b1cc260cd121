// Dispatch of `jobset COMMAND`. Each command is a small function that
// loads its input, calls the pure cores, prints, and returns an exit code.
// An mpirun-style part (`-n N prog args [: -n M prog2 ...]`) may replace
// the FILE of plan and convert: everything from the first -n on is that
// part, so launcher options go before it (as with mpirun's program args).
#include "launcher/cli.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "launcher/adhoc.hpp"
#include "launcher/hostfile.hpp"
#include "launcher/load.hpp"
#include "launcher/plan.hpp"
#include "launcher/toml_writer.hpp"
#include "launcher/validate.hpp"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

namespace jobset::launcher {

namespace {

struct Input {
  std::string file;
  std::vector<std::string> adhoc;  // from the first -n on
};

struct NodeSource {
  std::string hostfile;
  std::string hosts;
  int64_t nodes = 0;
  int64_t slots = 0;
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

Result<topology::Cluster> resolve_nodes(const NodeSource& ns) {
  int given = !ns.hostfile.empty() + !ns.hosts.empty() + (ns.nodes > 0 || ns.slots > 0);
  if (given > 1) return Error("give one node source: --hostfile, --host or --nodes/--slots");
  if (!ns.hostfile.empty()) {
    std::ifstream f(ns.hostfile);
    if (!f) return Error("hostfile " + ns.hostfile + ": cannot be read");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return parse_hostfile(text, ns.hostfile);
  }
  if (!ns.hosts.empty()) {
    auto c = parse_host_list(ns.hosts);
    if (!c) return c.error().with_context("--host");
    return c;
  }
  if (ns.nodes > 0 || ns.slots > 0) return synthetic_cluster(ns.nodes > 0 ? ns.nodes : 1, ns.slots > 0 ? ns.slots : 1);
  return local_cluster();
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

int cmd_plan(const Input& in, const NodeSource& ns, const std::string& format,
             const std::string& output, std::ostream& out, std::ostream& err) {
  auto loaded = load_input(in, err);
  if (!loaded) {
    err << "jobset: no plan: the input has errors\n";
    return kExitBadInput;
  }
  auto cluster = resolve_nodes(ns);
  if (!cluster) {
    err << "jobset: " << cluster.error().message() << "\n";
    return kExitBadInput;
  }
  auto plan = make_plan(loaded->jobset, std::move(*cluster));
  if (auto* f = std::get_if<PlanFailure>(&plan)) {
    err << "jobset: " << f->message << "\n";
    return f->kind == PlanError::kDoesNotFit ? kExitDoesNotFit : kExitBadInput;
  }
  const Plan& p = std::get<Plan>(plan);
  std::string text = format == "json" ? plan_to_json(loaded->jobset, p) : plan_to_text(loaded->jobset, p);
  if (auto s = write_output(output, text, out); !s) {
    err << "jobset: " << s.error().message() << "\n";
    return kExitBadInput;
  }
  return kExitSuccess;
}

void add_input(CLI::App* cmd, Input& in, const std::string& what) {
  cmd->add_option("file", in.file, what + " (TOML or Kubernetes YAML; - reads standard input)");
}

}  // namespace

int run_cli(const std::vector<std::string>& raw_args, std::ostream& out, std::ostream& err) {
  std::vector<std::string> args = raw_args;
  Input in;
  if (!args.empty() && (args[0] == "plan" || args[0] == "convert")) {
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
  std::string format = "text";
  auto* plan_cmd = app.add_subcommand("plan", "Expand a JobSet and show where each process would run");
  add_input(plan_cmd, in, "JobSet to plan");
  plan_cmd->add_option("--hostfile", ns.hostfile, "Nodes from a hostfile: 'name slots=N [gpus=N] [key=value ...]' per line");
  plan_cmd->add_option("--host", ns.hosts, "Nodes as a list: a:4,b:4 (name:slots)");
  plan_cmd->add_option("--nodes", ns.nodes, "Plan for N imaginary nodes (with --slots)")->check(CLI::Range(1, 1000000));
  plan_cmd->add_option("--slots", ns.slots, "Slots per imaginary node")->check(CLI::Range(1, 1 << 20));
  plan_cmd->add_option("--format", format, "text (a table) or json (see jobset(1), PLAN JSON)")
      ->check(CLI::IsMember({"text", "json"}));
  plan_cmd->add_option("-o,--output", output, "Write to this file instead of standard output");
  plan_cmd->footer(
      "Without a node source, plans for this machine (one slot per CPU).\n"
      "Processes are packed onto node slots in rank order. Exit status 3: it does not fit.\n"
      "Examples:\n"
      "  jobset plan examples/multislice.yaml --nodes 8 --slots 1\n"
      "  jobset plan job.toml --hostfile nodes.txt --format json -o plan.json\n"
      "  jobset plan --host a:4,b:4 -n 8 ./a.out");

  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, out, err);
    return code == 0 ? kExitSuccess : kExitBadInput;
  }

  if (validate_cmd->parsed()) return cmd_validate(files, quiet, out, err);
  bool need_input = convert_cmd->parsed() || plan_cmd->parsed();
  if (need_input && in.file.empty() == in.adhoc.empty()) {
    err << "jobset: give a JobSet FILE or an mpirun-style -n N PROGRAM, not "
        << (in.file.empty() ? "neither" : "both") << " (see jobset " << (plan_cmd->parsed() ? "plan" : "convert")
        << " --help)\n";
    return kExitBadInput;
  }
  if (convert_cmd->parsed()) return cmd_convert(in, output, out, err);
  return cmd_plan(in, ns, format, output, out, err);
}

}  // namespace jobset::launcher
