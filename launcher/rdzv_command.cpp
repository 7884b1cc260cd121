// `jobset rdzv COMMAND`: flags (CLI11), one request through the client,
// the answer printed for shell scripts, and an exit status a script can
// branch on (124 for timed out, as timeout(1)).
#include "launcher/rdzv_command.hpp"

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "launcher/cli.hpp"
#include "rendezvous/client.hpp"

namespace jobset::launcher {

namespace {

using rendezvous::Client;
using rendezvous::Code;
using rendezvous::Failure;

CLI::Validator seconds() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || *end != '\0' || !(d >= 0) || d > 86400)
          return "expected seconds from 0 to 86400 (24 h), found " + v;
        return "";
      },
      "SECONDS");
}

int64_t to_ms(double s) { return std::llround(s * 1000); }

CLI::App* add_op(CLI::App* rdzv, RdzvArgs& a, const std::string& op, const std::string& what) {
  CLI::App* cmd = rdzv->add_subcommand(op, what);
  cmd->callback([&a, op] { a.op = op; });
  return cmd;
}

void add_timeout(CLI::App* cmd, RdzvArgs& a, const std::string& what,
                 const char* zero = "do not wait") {
  cmd->add_option("--timeout", a.timeout, what + " (default 300; 0: " + zero + ")")
      ->check(seconds());
}

int exit_code(Code code) {
  switch (code) {
    case Code::kOk:
      return kExitSuccess;
    case Code::kTimeout:
      return kExitTimeout;
    case Code::kBadRequest:
    case Code::kTooLarge:
      return kExitBadInput;
    default:
      return kExitInternal;
  }
}

int report(const Failure& f, std::ostream& err) {
  err << "jobset rdzv: " << f.message << "\n";
  return exit_code(f.code);
}

// A host's field as text; "" when it is missing or not a string.
std::string text_of(const nlohmann::json& host, const char* field) {
  auto it = host.find(field);
  return it != host.end() && it->is_string() ? it->get<std::string>() : "";
}

// ADDRESS [FQDN] NAME per process, as /etc/hosts has them.
void print_hosts(const nlohmann::json& reply, std::ostream& out) {
  for (const auto& h : reply["hosts"]) {
    std::string address = text_of(h, "address"), fqdn = text_of(h, "fqdn"),
                name = text_of(h, "name");
    if (address.empty() || name.empty()) continue;
    out << address;
    if (!fqdn.empty() && fqdn != name) out << " " << fqdn;
    out << " " << name << "\n";
  }
}

int run_op(Client& c, const RdzvArgs& a, std::ostream& out, std::ostream& err) {
  if (a.op == "put") {
    auto r = c.put(a.key, a.value, a.persistent);
    return r ? kExitSuccess : report(r.failure(), err);
  }
  if (a.op == "get" || a.op == "wait") {
    auto r = c.get(a.key, to_ms(a.op == "get" ? a.wait : a.timeout));
    if (!r) return report(r.failure(), err);
    out << r->value << "\n";
    return kExitSuccess;
  }
  if (a.op == "barrier") {
    auto r = c.barrier(a.scope, a.tag, to_ms(a.timeout));
    return r ? kExitSuccess : report(r.failure(), err);
  }
  if (a.op == "lookup") {
    auto r = c.lookup(a.name, to_ms(a.timeout));
    if (!r) return report(r.failure(), err);
    out << (a.json ? r->dump() : (*r)["address"].get<std::string>()) << "\n";
    return kExitSuccess;
  }
  auto r = c.hosts();
  if (!r) return report(r.failure(), err);
  if (a.json)
    out << r->dump() << "\n";
  else
    print_hosts(*r, out);
  return kExitSuccess;
}

}  // namespace

CLI::App* add_rdzv(CLI::App& app, RdzvArgs& a) {
  CLI::App* rdzv = app.add_subcommand(
      "rdzv", "Inside a run: share keys, wait at barriers, look up processes' addresses");
  rdzv->require_subcommand(1);
  rdzv->footer(
      "Talks to the run's rendezvous service through the socket in $JOBSET_RDZV, which\n"
      "jobset sets for every process it starts. Values are UTF-8 text.\n"
      "Exit status: 0 done; 1 not found, refused, or no connection; 2 bad input;\n"
      "124 timed out. See jobset-rdzv(1), also for the C library and Python.\n"
      "Examples:\n"
      "  jobset rdzv put coordinator \"$(hostname):5000\"\n"
      "  addr=$(jobset rdzv wait coordinator --timeout 60)\n"
      "  jobset rdzv barrier --scope job --tag loaded\n"
      "  jobset rdzv lookup workers-0-1 --json\n"
      "  jobset rdzv hosts >hosts.txt");

  CLI::App* put = add_op(rdzv, a, "put", "Put KEY = VALUE (the key's earlier value is replaced)");
  put->add_option("key", a.key, "1 to 256 of A-Z a-z 0-9 . _ / : -")->required();
  put->add_option("value", a.value, "UTF-8 text, at most 1 MiB")->required();
  put->add_flag("--persistent", a.persistent,
                "Keep the key across JobSet restarts (default: removed when the JobSet restarts)");
  put->footer(
      "Examples:\n  jobset rdzv put leader \"$JOBSET_HOSTNAME\"\n"
      "  jobset rdzv put --persistent checkpoint/step 1200\n"
      "  jobset rdzv put offset -- -5      (-- before a value that starts with -)");

  CLI::App* get = add_op(rdzv, a, "get", "Print KEY's value; exit 1 when it was not put");
  get->add_option("key", a.key, "The key")->required();
  get->add_option("--wait", a.wait, "Wait up to SECONDS for the key to be put (default 0)")
      ->check(seconds());
  get->footer("Examples:\n  jobset rdzv get leader\n  jobset rdzv get leader --wait 30");

  CLI::App* wait = add_op(rdzv, a, "wait", "Wait until KEY is put, then print its value");
  wait->add_option("key", a.key, "The key")->required();
  add_timeout(wait, a, "Give up after SECONDS, exit 124");
  wait->footer("Example:\n  MASTER=$(jobset rdzv wait master-addr --timeout 120)");

  CLI::App* barrier = add_op(rdzv, a, "barrier", "Wait until every member of the scope is here");
  barrier
      ->add_option("--scope", a.scope,
                   "all (every process, default), replicated_job (this process's) or job")
      ->check(CLI::IsMember({"all", "replicated_job", "job"}));
  barrier->add_option("--tag", a.tag, "Tells barriers apart: members meet at the same tag");
  add_timeout(barrier, a, "Give up after SECONDS, exit 124", "wait without a limit");
  barrier->footer(
      "Examples:\n  jobset rdzv barrier\n"
      "  jobset rdzv barrier --scope replicated_job --tag data-staged --timeout 600");

  CLI::App* lookup = add_op(rdzv, a, "lookup", "Print the address of a process of the run");
  lookup->add_option("name", a.name, "Its stable name (JOBSET-RJOB-JOB-POD) or FQDN")->required();
  add_timeout(lookup, a, "Wait up to SECONDS for the process to start");
  lookup->add_flag("--json", a.json, "Print name, fqdn, node, address, ports and attempt as JSON");
  lookup->footer(
      "Examples:\n  jobset rdzv lookup myjob-workers-0-1\n"
      "  jobset rdzv lookup myjob-driver-0-0 --json | jq .ports.http");

  CLI::App* hosts = add_op(rdzv, a, "hosts", "Print every process's address, /etc/hosts style");
  hosts->add_flag("--json", a.json, "Print the table as JSON, with node and registered");
  hosts->footer(
      "Lines are ADDRESS FQDN NAME (FQDN when there is a subdomain).\n"
      "Example:\n  jobset rdzv hosts | grep workers");
  return rdzv;
}

int cmd_rdzv(const RdzvArgs& a, std::ostream& out, std::ostream& err) {
  const char* path = std::getenv("JOBSET_RDZV");
  if (path == nullptr || *path == '\0') {
    err << "jobset rdzv: JOBSET_RDZV is not set; run this inside a process started by jobset run\n";
    return kExitBadInput;
  }
  const char* name = std::getenv("JOBSET_HOSTNAME");
  auto c = Client::connect(path, name == nullptr ? "" : name);
  if (!c) return report(c.failure(), err);
  return run_op(c.value(), a, out, err);
}

}  // namespace jobset::launcher
