#include "launcher/spec/adhoc.hpp"

#include <charconv>
#include <climits>
#include <set>

namespace jobset::launcher {

namespace {

// A DNS-1035 label from a program path: "./a.out" -> "a-out".
std::string name_from_program(const std::string& program, size_t part) {
  std::string base = program.substr(program.find_last_of('/') + 1);
  std::string out;
  for (char c : base) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');
    if (ok)
      out += l;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.empty() || !(out[0] >= 'a' && out[0] <= 'z')) out = "app" + std::to_string(part) + (out.empty() ? "" : "-" + out);
  if (out.size() > 20) out.resize(20);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

Result<int64_t> positive(const std::string& flag, const std::string& value) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < 1 || v > INT32_MAX)
    return Error(flag + ": expected a positive integer, found '" + value + "'");
  return v;
}

}  // namespace

bool is_adhoc_start(const std::string& arg) { return arg == "-n" || arg == "-np" || arg == "--np"; }

Result<JobSet> parse_adhoc(const std::vector<std::string>& args, const EnvLookup& lookup,
                           const std::string& jobset_name) {
  JobSet js;
  js.name = jobset_name;
  std::set<std::string> names;
  size_t i = 0;
  for (size_t part = 0; i <= args.size(); ++part) {
    ReplicatedJob rj;
    rj.tmpl.backoff_limit = 0;
    std::string where = "part " + std::to_string(part + 1) + " of the command line";
    auto value = [&](const std::string& flag) -> Result<std::string> {
      if (i + 1 >= args.size()) return Error(flag + " needs a value").with_context(where);
      i += 2;
      return args[i - 1];
    };
    while (i < args.size() && !args[i].empty() && args[i][0] == '-' && args[i] != ":") {
      const std::string& flag = args[i];
      auto v = value(flag);
      if (!v) return v.error();
      if (is_adhoc_start(flag)) {
        auto n = positive(flag, *v);
        if (!n) return n.error().with_context(where);
        rj.tmpl.parallelism = *n;
      } else if (flag == "--replicas") {
        auto n = positive(flag, *v);
        if (!n) return n.error().with_context(where);
        rj.replicas = *n;
      } else if (flag == "--name") {
        rj.name = *v;
      } else if (flag == "-x") {
        size_t eq = v->find('=');
        std::string var = v->substr(0, eq);
        std::optional<std::string> val = eq == std::string::npos ? lookup(var) : v->substr(eq + 1);
        if (!val) return Error("-x " + var + ": the variable is not set in this environment").with_context(where);
        rj.tmpl.env.add(var, *val);
      } else if (flag == "--wdir") {
        rj.tmpl.working_dir = *v;
      } else {
        return Error("unknown option '" + flag +
                     "' (options of a part are -n, --replicas, --name, -x, --wdir; put launcher options "
                     "before the first -n)")
            .with_context(where);
      }
    }
    if (i >= args.size() || args[i] == ":")
      return Error(where + ": expected a program to run after the options");
    rj.tmpl.command.push_back(args[i++]);
    while (i < args.size() && args[i] != ":") rj.tmpl.args.push_back(args[i++]);
    if (rj.name.empty()) rj.name = name_from_program(rj.tmpl.command[0], part);
    for (std::string base = rj.name; names.count(rj.name);) rj.name = base + "-" + std::to_string(part);
    names.insert(rj.name);
    js.replicated_jobs.push_back(std::move(rj));
    if (i >= args.size()) break;
    ++i;  // the ':'
    if (i >= args.size()) return Error("the command line ends with ':'; expected another part after it");
  }
  return js;
}

}  // namespace jobset::launcher
