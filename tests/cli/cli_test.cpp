// Integration tests of the `jobset` binary: exit codes, messages, output
// formats, as a user sees them.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/cli/cli_util.hpp"

using namespace clitest;
namespace fs = std::filesystem;

TEST_CASE("cli: --help teaches the commands with examples", "[cli]") {
  Run r = jobset("--help");
  CHECK(r.code == 0);
  for (const char* s : {"validate", "plan", "convert", "Examples:", "jobset-file(5)"})
    CHECK(r.out.find(s) != std::string::npos);
  Run p = jobset("plan --help");
  CHECK(p.code == 0);
  for (const char* s : {"--hostfile", "--host", "--nodes", "--format", "Examples:", "-n 8 ./a.out"})
    CHECK(p.out.find(s) != std::string::npos);
  CHECK(jobset("--version").out.find('.') != std::string::npos);
}

TEST_CASE("cli: no command or an unknown one is bad input (exit 2)", "[cli]") {
  Run none = jobset("");
  CHECK(none.code == 2);
  CHECK(none.err.find("subcommand") != std::string::npos);
  Run bogus = jobset("frobnicate");
  CHECK(bogus.code == 2);
}

TEST_CASE("cli: validate accepts every example (exit 0)", "[cli]") {
  // Every JobSet example; examples/cluster holds a cluster file, not a JobSet.
  Run r = jobset(
      "validate examples/*.toml examples/*.yaml examples/mpi-hello/*.toml "
      "examples/pytorch-ddp/*.toml examples/torch-fqdn/*.toml examples/jax-check/*.toml");
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out.find("multislice.yaml: valid JobSet \"multislice\", 8 processes") !=
        std::string::npos);
}

TEST_CASE("cli: validate reports file:line:column and exits 2, saying why last", "[cli]") {
  Scratch s;
  fs::path bad = s.write("bad.toml",
                         "name = \"Bad\"\n[[replicated_jobs]]\nname = \"w\"\nreplicas = -1\n"
                         "[replicated_jobs.template]\ncommand = [\"x\"]\n");
  Run r = jobset("validate " + bad.string() + " examples/multislice.toml");
  CHECK(r.code == 2);
  CHECK(r.err.find(bad.string() + ":1:1: error: name: expected a DNS-1035 label") !=
        std::string::npos);
  CHECK(r.err.find(bad.string() +
                   ":4:12: error: replicated_jobs[0].replicas: expected an integer from 0") !=
        std::string::npos);
  CHECK(r.last_err_line() == "jobset: 1 of 2 file(s) invalid");
  Run missing = jobset("validate /nonexistent/job.toml");
  CHECK(missing.code == 2);
  CHECK(missing.err.find(
            "/nonexistent/job.toml: error: cannot read the file: No such file or directory") !=
        std::string::npos);
  Run stdin_ok = jobset("validate -", slurp(fs::path(JOBSET_SRCDIR) / "examples/multislice.yaml"));
  CHECK(stdin_ok.code == 0);
}

TEST_CASE("cli: convert prints TOML that converts to itself", "[cli]") {
  Scratch s;
  Run r = jobset("convert examples/multislice.yaml -o " + (s.dir() / "m.toml").string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  Run again = jobset("convert " + (s.dir() / "m.toml").string());
  REQUIRE(again.code == 0);
  std::string first = slurp(s.dir() / "m.toml");
  // The second pass has no ignored fields to list; otherwise identical.
  std::string body = first.substr(first.find("name = "));
  CHECK(again.out.substr(again.out.find("name = ")) == body);
  CHECK(first.find("#   spec.replicatedJobs[0].template.spec.template.spec.dnsPolicy") !=
        std::string::npos);
}

TEST_CASE("cli: convert turns an mpirun command line into a JobSet file", "[cli]") {
  Run r = jobset("convert -n 1 ./driver : -n 8 ./worker --steps 100");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("name = \"driver\"") != std::string::npos);
  CHECK(r.out.find("parallelism = 8\nbackoff_limit = 0\ncommand = [\"./worker\"]\nargs = "
                   "[\"--steps\", \"100\"]") != std::string::npos);
  Run both = jobset("convert examples/multislice.toml -n 2 ./x");
  CHECK(both.code == 2);
  CHECK(both.err.find("give a JobSet FILE or an mpirun-style -n N PROGRAM, not both") !=
        std::string::npos);
}

TEST_CASE("cli: plan --format json is the documented stable shape", "[cli]") {
  Run r =
      jobset("plan examples/multislice.yaml --hostfile examples/multislice.hosts --format json");
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["version"] == 1);
  CHECK(j["jobset"] == "multislice");
  CHECK(j["processes"] == 8);
  REQUIRE(j["nodes"].size() == 8);
  CHECK(j["nodes"][0]["slots"] == 1);
  CHECK(j["nodes"][0]["resources"]["tpus"] == 4);
  REQUIRE(j["placement"].size() == 8);
  const auto& p = j["placement"][3];
  CHECK(p["name"] == "multislice-workers-1-1");
  CHECK(p["fqdn"] == "multislice-workers-1-1.multislice");
  CHECK(p["rank"] == 3);
  CHECK(p["replicated_job"] == "workers");
  CHECK(p["job_index"] == 1);
  CHECK(p["pod_index"] == 1);
  CHECK(p["node"] == j["nodes"][3]["name"]);  // job 1 holds pool-b: its second host
  CHECK(p["slot"] == 0);
  CHECK(p["island"] == "pool-b");
  CHECK(j["replicated_jobs"][0]["first_rank"] == 0);
  CHECK(j["replicated_jobs"][0]["processes"] == 8);
  Run plain = jobset("plan examples/driver-workers.toml --nodes 3 --slots 4 --format json");
  REQUIRE(plain.code == 0);
  auto k = nlohmann::json::parse(plain.out);
  CHECK(k["placement"][5]["node"] == k["nodes"][1]["name"]);  // packed in rank order
  CHECK(k["placement"][5]["slot"] == 1);
  CHECK(k["placement"][5]["island"].is_null());
}

TEST_CASE("cli: plan puts each multislice job on its own node pool", "[cli]") {
  Run r = jobset("plan examples/multislice.yaml --hostfile examples/multislice.hosts");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(
      r.out.find("RANK    NAME                    JOB   POD   NODE     ISLAND  SLOT  DEVICES\n") !=
      std::string::npos);
  for (int job = 0; job < 4; ++job) {
    const char pool = static_cast<char>('a' + job);
    for (int pod = 0; pod < 2; ++pod) {
      std::string row = std::to_string(2 * job + pod) + "       multislice-workers-" +
                        std::to_string(job) + "-" + std::to_string(pod) + "  " +
                        std::to_string(job) + "     " + std::to_string(pod) + "     tpu-" + pool +
                        "-" + std::to_string(pod) + "  pool-" + pool + "  0     tpu 0-3\n";
      CHECK(r.out.find(row) != std::string::npos);
    }
  }
  Run plain = jobset("plan --host alpha:3,beta:3 -n 5 ./a.out");
  CHECK(plain.out.find("ISLAND") == std::string::npos);  // only with exclusive placement
}

TEST_CASE("cli: multislice on 3 node pools does not fit, exits 3 and names the pools", "[cli]") {
  Scratch s;
  std::string hosts;
  std::istringstream in(slurp(fs::path(JOBSET_SRCDIR) / "examples/multislice.hosts"));
  for (std::string line; std::getline(in, line);)
    if (line.find("pool-d") == std::string::npos) hosts += line + "\n";
  Run r = jobset("plan examples/multislice.yaml --hostfile " + s.write("hosts", hosts));
  CHECK(r.code == 3);
  CHECK(r.out.empty());
  CHECK(r.last_err_line() ==
        "jobset: multislice does not fit: workers needs 4 islands of cloud.google.com/gke-nodepool "
        "with 2 free "
        "slots of 4 tpus each; found 3: pool-a, pool-b, pool-c");
}

TEST_CASE("cli: plan text shows each process on its node", "[cli]") {
  Run r = jobset("plan --host alpha:3,beta:3 -n 5 ./a.out");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find(
            "JobSet job: 5 processes in 1 job of 1 replicated job, on 2 nodes with 6 slots") == 0);
  CHECK(r.out.find("3       job-a-out-0-3  0     3     beta   0") != std::string::npos);
}

TEST_CASE("cli: a JobSet that does not fit exits 3 and says why", "[cli]") {
  Run r = jobset("plan examples/driver-workers.toml --nodes 2 --slots 3");
  CHECK(r.code == 3);
  CHECK(r.last_err_line() ==
        "jobset: driver-workers does not fit: workers needs 8 free slots; found 2 matching nodes "
        "(n1, n2) with room "
        "for 5");
}

TEST_CASE("cli: hostfile errors name the line and nothing is planned", "[cli]") {
  Scratch s;
  fs::path hosts = s.write("hosts", "# rack 1\nnode01 slots=4\nnode02 slots=x\n");
  Run r = jobset("plan examples/multislice.toml --hostfile " + hosts.string());
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find(hosts.string() + ":3:") != std::string::npos);
  Run two = jobset("plan examples/multislice.toml --hostfile " + hosts.string() + " --nodes 2");
  CHECK(two.code == 2);
  CHECK(two.err.find("give one node source") != std::string::npos);
}

TEST_CASE("cli: plan -o writes the file", "[cli]") {
  Scratch s;
  Run r = jobset("plan examples/driver-workers.toml --nodes 3 --slots 4 --format json -o " +
                 (s.dir() / "plan.json").string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.empty());
  auto j = nlohmann::json::parse(slurp(s.dir() / "plan.json"));
  CHECK(j["processes"] == 9);
}

TEST_CASE("cli: volumeClaimPolicies is refused (exit 2) unless --ignore-unsupported, in every "
          "command that reads a file (upstream example volume-claim-policy/single-pvc)",
          "[cli][fidelity]") {
  Scratch s;
  fs::path f = s.write("pvc.yaml",
                       "apiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\nmetadata:\n  name: pvc\n"
                       "spec:\n  volumeClaimPolicies:\n  - templates:\n    - metadata:\n"
                       "        name: cache\n      spec:\n        accessModes: [ReadWriteMany]\n"
                       "  replicatedJobs:\n  - name: w\n    template:\n      spec:\n        template:\n"
                       "          spec:\n            containers:\n            - name: m\n"
                       "              command: [\"true\"]\n              volumeMounts:\n"
                       "              - name: cache\n                mountPath: /cache\n");
  Run refused = jobset("validate " + f.string());
  CHECK(refused.code == 2);
  CHECK(refused.err.find(f.string() +
                         ":6:3: error: spec.volumeClaimPolicies: not supported off Kubernetes "
                         "because there is no Kubernetes to create the shared") != std::string::npos);
  CHECK(refused.err.find("unknown field") == std::string::npos);
  Run validated = jobset("validate --ignore-unsupported " + f.string());
  CHECK(validated.code == 0);
  CHECK(validated.err.find("warning: spec.volumeClaimPolicies: not supported off Kubernetes") !=
        std::string::npos);
  CHECK(jobset("plan --ignore-unsupported --nodes 1 --slots 1 " + f.string()).code == 0);
  CHECK(jobset("convert --ignore-unsupported " + f.string()).code == 0);
  CHECK(jobset("run " + f.string()).code == 2);
  Run ran = jobset("run -q --ignore-unsupported " + f.string());
  CHECK(ran.code == 0);
}
