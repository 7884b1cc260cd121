// The commands of `jobset`: each loads its input, calls the pure cores,
// prints, and returns an exit code (commands.hpp). Flags are cli.cpp's.
#include "launcher/commands.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "launcher/cli.hpp"
#include "launcher/nodes/node_sources.hpp"
#include "launcher/plan/plan.hpp"
#include "launcher/plan/plan_svg.hpp"
#include "launcher/run/address_from.hpp"
#include "launcher/run/local_daemons.hpp"
#include "launcher/run/process_spec.hpp"
#include "launcher/run/starter.hpp"
#include "launcher/spec/adhoc.hpp"
#include "launcher/spec/load.hpp"
#include "launcher/spec/toml_writer.hpp"
#include "launcher/spec/validate.hpp"

namespace jobset::launcher {

namespace {

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
  auto loaded = load_jobset_file(in.file, diags, LoadOptions{in.ignore_unsupported});
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
        return Error(
            plan.expansion.processes[i].name + " would be bound to CPU " + std::to_string(cpu) +
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

// -x VAR (from this environment) or VAR=VALUE, in order; VAR is a shell name.
Status resolve_exports(const std::vector<std::string>& flags, Env& out) {
  for (const std::string& x : flags) {
    size_t eq = x.find('=');
    std::string var = x.substr(0, eq);
    bool name_ok = !var.empty() && !std::isdigit(static_cast<unsigned char>(var[0])) &&
                   std::all_of(var.begin(), var.end(), [](char c) {
                     return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                   });
    if (!name_ok)
      return Error("-x " + x +
                   ": expected VAR or VAR=VALUE, VAR made of letters, digits and _ (not starting "
                   "with a digit)");
    if (eq != std::string::npos) {
      out.emplace_back(var, x.substr(eq + 1));
    } else if (const char* v = std::getenv(var.c_str())) {
      out.emplace_back(var, v);
    } else {
      return Error("-x " + var + ": the variable is not set in this environment");
    }
  }
  return {};
}

// Output that cannot be written is found before anything starts: the
// events file (never through a symlink planted in its place) and the
// output directory.
Status check_writable(const RunOptions& o) {
  if (!o.events_file.empty()) {
    int fd = ::open(o.events_file.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
      return Error("--events " + o.events_file + ": cannot be written: " +
                   (errno == ELOOP ? "it is a symbolic link, which jobset does not write through"
                                   : std::strerror(errno)));
    ::close(fd);
  }
  if (!o.output.dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.output.dir, ec);
    if (ec) return Error("--output-dir " + o.output.dir + ": cannot be created: " + ec.message());
    if (::access(o.output.dir.c_str(), W_OK | X_OK) != 0)
      return Error("--output-dir " + o.output.dir + ": cannot be written: " + std::strerror(errno));
  }
  return {};
}

}  // namespace

int cmd_validate(const std::vector<std::string>& files, bool quiet, bool ignore_unsupported,
                 std::ostream& out, std::ostream& err) {
  int bad = 0;
  for (const std::string& file : files) {
    auto loaded = load_input(Input{file, {}, ignore_unsupported}, err);
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
  for (const char* ext : {".yaml", ".yml", ".json"})
    if (output.size() > std::strlen(ext) && output.ends_with(ext)) {
      err << "jobset: nothing converted: -o " << output
          << ": convert writes the native TOML; name the file .toml (or - for standard output)\n";
      return kExitBadInput;
    }
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
  // As `run` does: this machine takes as many processes as it is given.
  auto cluster = resolve_nodes(ns, count_processes(loaded->jobset));
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
  if (auto s = resolve_exports(flags.exports, options.exports); !s) {
    err << "jobset: nothing started: " << s.error().message() << "\n";
    return kExitBadInput;
  }
  if (auto s = check_writable(options); !s) {
    err << "jobset: nothing started: " << s.error().message() << "\n";
    return kExitBadInput;
  }
  auto policy = parse_map_policy(map);
  if (!policy) {
    err << "jobset: nothing started: " << policy.error().message() << "\n";
    return kExitBadInput;
  }
  if (flags.timeout > 0) options.timeout = flags.timeout;
  options.adhoc = !in.adhoc.empty();
  if (flags.max_restarts >= 0) options.max_restarts = flags.max_restarts;
  auto cluster = resolve_nodes(ns, count_processes(js));
  if (!cluster) {
    err << "jobset: " << cluster.error().message() << "\n";
    return kExitBadInput;
  }
  if (!flags.address_from.empty()) {
    if (cluster->nodes.size() != 1) {
      err << "jobset: nothing started: --address-from chooses among this machine's networks for "
             "a run on one node; the "
          << cluster->nodes.size()
          << " nodes here each have a loopback address of their own (jobset(1), STABLE "
             "HOSTNAMES)\n";
      return kExitBadInput;
    }
    auto address = pick_address(host_interfaces(), flags.address_from);
    if (!address) {
      err << "jobset: nothing started: " << address.error().message() << "\n";
      return kExitBadInput;
    }
    options.node_address = *address;
  }
  // Simulated nodes and this machine run here; listed nodes only when
  // marked local=true, until the ssh and srun starters arrive.
  if (options.jobsetd.empty()) options.jobsetd = find_jobsetd(options.program);
  StarterChoice choice;
  choice.all_here = is_this_machine(ns) || !ns.simulate.empty();
  choice.listed_in = !ns.hostfile.empty() ? ns.hostfile : ns.cluster_file;
  choice.jobsetd = options.jobsetd;
  auto starter = choose_starter(*cluster, choice);
  if (!starter) {
    err << "jobset: nothing started: " << starter.error().message() << "\n";
    return kExitBadInput;
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
  return run_jobset(js, std::get<Plan>(plan), options, **starter, err);
}

}  // namespace jobset::launcher
