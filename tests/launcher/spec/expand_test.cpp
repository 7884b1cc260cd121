// Expansion golden cases: names, indexes, ranks and groups (the environment
// that follows from them: tests/launcher/run/process_spec_test.cpp).
#include "launcher/spec/expand.hpp"

#include <map>
#include <set>
#include <tuple>

#include "tests/launcher/test_util.hpp"

using namespace jobset::launcher;
using namespace jobset::launcher::testing;

namespace {

JobSet must_load(const std::string& text, Format f = Format::kToml) {
  auto l = load(text, f);
  INFO(l.diags.to_string());
  REQUIRE(l.js);
  return l.js->jobset;
}

Expansion must_expand(const JobSet& js) {
  auto ex = expand(js);
  REQUIRE(ex.ok());
  return std::move(*ex);
}

const char* kDriverWorkers = R"(name = "dw"
[[replicated_jobs]]
name = "driver"
[replicated_jobs.template]
command = ["d"]
[[replicated_jobs]]
name = "workers"
replicas = 2
[replicated_jobs.template]
parallelism = 3
command = ["w"]
env = { RANK = "user-wins", EXTRA = "1" }
[failure_policy]
max_restarts = 5
[coordinator]
replicated_job = "workers"
job_index = 1
pod_index = 2
)";

}  // namespace

TEST_CASE("expand: the multislice example gives 4 replicas x 2 processes with stable names",
          "[expand]") {
  JobSet js = must_load(example("multislice.yaml"), Format::kYaml);
  Expansion ex = must_expand(js);
  REQUIRE(ex.processes.size() == 8);
  std::vector<std::string> names;
  for (const auto& p : ex.processes) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"multislice-workers-0-0", "multislice-workers-0-1",
                                          "multislice-workers-1-0", "multislice-workers-1-1",
                                          "multislice-workers-2-0", "multislice-workers-2-1",
                                          "multislice-workers-3-0", "multislice-workers-3-1"});
  for (int i = 0; i < 8; ++i) {
    CHECK(ex.processes[i].global_rank == i);
    CHECK(ex.processes[i].job_index == i / 2);
    CHECK(ex.processes[i].pod_index == i % 2);
    CHECK(ex.processes[i].job_global_index == i / 2);
  }
  CHECK(fqdn(js, ex.processes[5]) == "multislice-workers-2-1.multislice");
}

TEST_CASE("expand: ranks and global indexes run across replicated jobs in file order", "[expand]") {
  JobSet js = must_load(kDriverWorkers);
  Expansion ex = must_expand(js);
  REQUIRE(ex.processes.size() == 7);
  const auto& d = ex.processes[0];
  CHECK(d.name == "dw-driver-0-0");
  CHECK(d.global_rank == 0);
  CHECK(d.role_rank == 0);
  CHECK(d.job_global_index == 0);
  // workers: job 0 -> ranks 1..3, job 1 -> ranks 4..6
  const auto& w = ex.processes[5];
  CHECK(w.name == "dw-workers-1-1");
  CHECK(w.rjob == 1);
  CHECK(w.global_rank == 5);
  CHECK(w.role_rank == 4);
  CHECK(w.job_index == 1);
  CHECK(w.pod_index == 1);
  CHECK(w.job_global_index == 2);
  CHECK(ex.total_jobs == 3);
  CHECK(ex.rjobs[1].first_rank == 1);
  CHECK(ex.rjobs[1].processes == 6);
  REQUIRE(ex.coordinator);
  CHECK(*ex.coordinator == 6);
  CHECK(ex.processes[6].name == "dw-workers-1-2");
}

TEST_CASE("expand: replicas 0 gives no processes and keeps the others' ranks", "[expand]") {
  std::string text = kDriverWorkers;
  text.replace(text.find("replicas = 2"), 12, "replicas = 0");
  text.erase(text.find("[coordinator]"));
  JobSet js = must_load(text);
  Expansion ex = must_expand(js);
  REQUIRE(ex.processes.size() == 1);
  CHECK(ex.processes[0].name == "dw-driver-0-0");
  CHECK(ex.rjobs[1].processes == 0);
  CHECK(ex.total_jobs == 1);
  auto all_zero = must_load(
      "name = \"z\"\n[[replicated_jobs]]\nname = \"a\"\nreplicas = 0\n"
      "[replicated_jobs.template]\ncommand = [\"x\"]\n");
  CHECK(must_expand(all_zero).processes.empty());
}

TEST_CASE("expand: groups number their jobs across replicated jobs", "[expand]") {
  JobSet js = must_load(R"(name = "g"
[[replicated_jobs]]
name = "a"
replicas = 2
group_name = "slices"
[replicated_jobs.template]
command = ["x"]
[[replicated_jobs]]
name = "coord"
[replicated_jobs.template]
command = ["x"]
[[replicated_jobs]]
name = "b"
replicas = 3
group_name = "slices"
[replicated_jobs.template]
parallelism = 2
command = ["x"]
)");
  Expansion ex = must_expand(js);
  REQUIRE(ex.groups.size() == 2);
  CHECK(ex.groups[0].name == "slices");
  CHECK(ex.groups[0].replicas == 5);
  CHECK(ex.groups[1].name == "default");
  CHECK(ex.groups[1].replicas == 1);
  // b's job 2 is the fifth job of group "slices"
  const Process& last = ex.processes.back();
  CHECK(last.name == "g-b-2-1");
  CHECK(last.group == 0);
  CHECK(last.job_group_index == 4);
  CHECK(last.job_global_index == 5);
  CHECK(ex.processes[2].name == "g-coord-0-0");
  CHECK(ex.processes[2].group == 1);
  CHECK(ex.processes[2].job_group_index == 0);
}

TEST_CASE("expand: completions sets the processes of a job and its indexes", "[expand]") {
  JobSet js = must_load(minimal("completions = 5\n"));
  Expansion ex = must_expand(js);
  CHECK(ex.processes.size() == 10);
  CHECK(ex.processes.back().name == "js-workers-1-4");
}

TEST_CASE("expand: too many processes are refused before any is made", "[expand]") {
  JobSet js = must_load(minimal());
  auto ex = expand(js, 5);
  REQUIRE_FALSE(ex.ok());
  CHECK(ex.error().message() == "the JobSet has 6 processes; jobset runs at most 5 in one JobSet");
  CHECK(count_processes(js) == 6);
}

TEST_CASE("expand: exhaustive over small shapes: ranks are dense and names unique", "[expand]") {
  for (int a = 0; a <= 3; ++a)
    for (int pa = 1; pa <= 3; ++pa)
      for (int b = 0; b <= 3; ++b)
        for (int pb = 1; pb <= 3; ++pb) {
          JobSet js;
          js.name = "s";
          for (auto [name, r, p] : {std::tuple{"a", a, pa}, std::tuple{"b", b, pb}}) {
            ReplicatedJob rj;
            rj.name = name;
            rj.replicas = r;
            rj.tmpl.parallelism = p;
            rj.tmpl.command = {"x"};
            js.replicated_jobs.push_back(rj);
          }
          Expansion ex = must_expand(js);
          REQUIRE(ex.processes.size() == size_t(a * pa + b * pb));
          std::set<std::string> names;
          for (size_t i = 0; i < ex.processes.size(); ++i) {
            const Process& p = ex.processes[i];
            CHECK(p.global_rank == int(i));
            int per = p.rjob == 0 ? pa : pb;
            CHECK(p.role_rank == p.job_index * per + p.pod_index);
            CHECK(p.job_global_index == (p.rjob == 0 ? 0 : a) + p.job_index);
            CHECK(p.name == std::string("s-") + (p.rjob == 0 ? "a" : "b") + "-" +
                                std::to_string(p.job_index) + "-" + std::to_string(p.pod_index));
            names.insert(p.name);
          }
          CHECK(names.size() == ex.processes.size());
        }
}
