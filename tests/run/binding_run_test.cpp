// Binding is real: processes started under --bind-to core read their own
// Cpus_allowed_list from /proc, and it is what `jobset plan` says; devices
// asked for arrive as CUDA_VISIBLE_DEVICES and friends.
#include <sched.h>

#include <map>

#include "tests/run/run_util.hpp"

using namespace runtest;

namespace {

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

// "0-2,5" from a JSON array of ascending CPUs, as the kernel prints them.
std::string kernel_list(const nlohmann::json& cpus) {
  std::string s;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1].get<int>() == cpus[j].get<int>() + 1) ++j;
    s += (s.empty() ? "" : ",") + std::to_string(cpus[i].get<int>());
    if (j > i) s += "-" + std::to_string(cpus[j].get<int>());
    i = j + 1;
  }
  return s;
}

}  // namespace

TEST_CASE("binding run: --bind-to core binds each process to the CPUs the plan gives it",
          "[binding_run]") {
  const auto cpus = allowed_cpus();
  const std::string n = std::to_string(std::min<size_t>(cpus.size(), 4));
  Scratch s;
  const std::vector<std::string> program = {"-n", n, "sh", "-c",
                                            "grep Cpus_allowed_list /proc/self/status | cut -f2"};
  std::vector<std::string> plan_args = {"plan", "--bind-to", "core", "--format", "json"};
  plan_args.insert(plan_args.end(), program.begin(), program.end());
  Launch plan(s, plan_args);
  REQUIRE(plan.wait(30) == 0);
  auto json = nlohmann::json::parse(plan.out());
  std::map<std::string, std::string> planned;
  for (const auto& p : json["placement"]) {
    REQUIRE_FALSE(p["cpus"].empty());
    planned["[" + p["name"].get<std::string>() + "] "] = kernel_list(p["cpus"]);
  }

  std::vector<std::string> run_args = {"run", "--bind-to", "core", "--report-bindings",
                                       "--tag-output"};
  run_args.insert(run_args.end(), program.begin(), program.end());
  Launch run(s, run_args);
  int code = run.wait(30);
  INFO(run.report());
  REQUIRE(code == 0);
  auto lines = lines_of(run.out());
  REQUIRE(lines.size() == planned.size());
  std::set<std::string> seen;
  for (const auto& line : lines) {
    size_t close = line.find("] ");
    REQUIRE(close != std::string::npos);
    const std::string tag = line.substr(0, close + 2);
    INFO(line);
    REQUIRE(planned.count(tag) == 1);
    CHECK(line.substr(close + 2) == planned[tag]);
    seen.insert(line.substr(close + 2));
  }
  CHECK(seen.size() == planned.size());  // no two processes share a core
  // --report-bindings says the same before the processes start.
  for (const auto& [tag, list] : planned) {
    const std::string name = tag.substr(1, tag.size() - 3);
    CHECK(count_substr(run.err(), "jobset: " + name + " (rank ") == 1);
  }
  CHECK(count_substr(run.err(), ", cpus ") == planned.size());
}

TEST_CASE("binding run: without --bind-to a process keeps every CPU jobset has", "[binding_run]") {
  const auto cpus = allowed_cpus();
  Scratch s;
  Launch run(s,
             {"run", "-n", "1", "sh", "-c", "grep Cpus_allowed_list /proc/self/status | cut -f2"});
  REQUIRE(run.wait(30) == 0);
  nlohmann::json all = nlohmann::json::array();
  for (int c : cpus) all.push_back(c);
  CHECK(run.out() == kernel_list(all) + "\n");
}

TEST_CASE("binding run: processes asking for GPUs get their own in CUDA_VISIBLE_DEVICES",
          "[binding_run]") {
  Scratch s;
  s.write("nodes", "a slots=2 gpus=4 local=true\nb slots=2 gpus=4 local=true\n");
  s.write("gpu.toml",
          "name = \"gpus\"\n[[replicated_jobs]]\nname = "
          "\"w\"\n[replicated_jobs.template]\nparallelism = 4\n"
          "resources = { gpus = 2 }\n"
          "command = ['sh', '-c', 'echo \"$JOBSET_NODE $LOCAL_RANK $CUDA_VISIBLE_DEVICES "
          "$JOBSET_ACCELERATORS\"']\n");
  Launch run(s, {"run", "--hostfile", s.path("nodes"), s.path("gpu.toml")});
  int code = run.wait(30);
  INFO(run.report());
  REQUIRE(code == 0);
  CHECK(sorted(lines_of(run.out())) ==
        std::vector<std::string>{"a 0 0,1 0,1", "a 1 2,3 2,3", "b 0 0,1 0,1", "b 1 2,3 2,3"});
  // A value the user sets (-x, or the file's env) is the user's choice.
  Launch mine(s, {"run", "-x", "CUDA_VISIBLE_DEVICES=7", "--hostfile", s.path("nodes"),
                  s.path("gpu.toml")});
  REQUIRE(mine.wait(30) == 0);
  CHECK(sorted(lines_of(mine.out())) ==
        std::vector<std::string>{"a 0 7 0,1", "a 1 7 2,3", "b 0 7 0,1", "b 1 7 2,3"});
}

TEST_CASE(
    "binding run: --bind-to core with more processes than cores is refused before anything starts",
    "[binding_run]") {
  const auto cpus = allowed_cpus();
  Scratch s;
  Launch run(s, {"run", "--bind-to", "core", "-n", std::to_string(cpus.size() + 1), "true"});
  CHECK(run.wait(30) == 3);
  CHECK(run.last_err_line().find("processes need " + std::to_string(cpus.size() + 1) +
                                 " with --bind-to core") != std::string::npos);
  CHECK(run.out().empty());
}
