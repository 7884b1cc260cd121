// `jobset convert`: the TOML it writes reads back to the same model, for
// every example and for strings that need escaping.
#include "launcher/spec/toml_writer.hpp"
#include "tests/launcher/test_util.hpp"

using namespace jobset::launcher;
using namespace jobset::launcher::testing;

namespace {

void check_round_trip(const JobSet& original) {
  std::string toml = to_toml(original, {"some.ignored.field"});
  auto back = load(toml);
  INFO(toml << "\n" << back.diags.to_string());
  REQUIRE(back.js);
  CHECK(back.diags.error_count() == 0);
  CHECK_FALSE(find(back.diags, "unknown field"));
  CHECK(back.js->jobset == original);
}

}  // namespace

TEST_CASE("convert: every example survives YAML/TOML -> TOML -> model unchanged", "[convert]") {
  for (const char* name :
       {"multislice.yaml", "multislice.toml", "driver-workers.toml", "failure-policy.toml",
        "depends-on.toml", "coordinator.toml", "pytorch-ddp/ddp.toml", "mpi-hello/hello.toml",
        "torch-fqdn/fqdn.toml", "jax-check/jax.toml"}) {
    SECTION(name) {
      std::string text = example(name);
      auto l = load(text, guess_format(name, text));
      INFO(l.diags.to_string());
      REQUIRE(l.js);
      check_round_trip(l.js->jobset);
    }
  }
}

TEST_CASE("convert: the YAML's meaning is kept, ignored fields listed in a comment", "[convert]") {
  auto yaml = load_yaml(example("multislice.yaml"));
  REQUIRE(yaml.js);
  std::string toml = to_toml(yaml.js->jobset, yaml.js->ignored);
  CHECK(toml.find("#   spec.replicatedJobs[0].template.spec.template.spec.hostNetwork\n") !=
        std::string::npos);
  CHECK(toml.find("exclusive_topology = \"cloud.google.com/gke-nodepool\"") != std::string::npos);
  auto back = load(toml);
  REQUIRE(back.js);
  CHECK(back.js->jobset == yaml.js->jobset);
}

TEST_CASE("convert: strings with quotes, newlines, control characters and UTF-8 are escaped",
          "[convert]") {
  auto l = load(minimal());
  REQUIRE(l.js);
  JobSet js = l.js->jobset;
  auto& t = js.replicated_jobs[0].tmpl;
  t.command = {"sh", "-c", "echo \"hi\" \\ 'there'\n\tdone\x01\x7f", "grüße ✓"};
  t.env = {{"A", "x=\"1\""}, {"B.c-d", ""}};
  t.node_selector = {{"cloud.google.com/gke-nodepool", "pool a"}, {"k", "v\"q"}};
  t.working_dir = "/tmp/with space";
  t.resources = Resources{0.25, 1 << 20, 1, 0};
  js.network.enable_dns_hostnames = false;
  js.startup_order = StartupOrder::kInOrder;
  js.suspend = true;
  js.managed_by = "example.com/queue";
  check_round_trip(js);
}

TEST_CASE("convert: defaults are left out of the output", "[convert]") {
  auto l = load(minimal());
  REQUIRE(l.js);
  std::string toml = to_toml(l.js->jobset);
  CHECK(toml.find("backoff_limit") == std::string::npos);
  CHECK(toml.find("[network]") == std::string::npos);
  CHECK(toml.find("group_name") == std::string::npos);
  CHECK(toml.find("parallelism = 3") != std::string::npos);
}
