// Every validation rule of JOBSET-SEMANTICS.md: one accepted and one
// rejected case each, asserting the message, the position and the path.
#include "launcher/spec/validate.hpp"

#include "tests/launcher/test_util.hpp"

using namespace jobset::launcher;
using namespace jobset::launcher::testing;

namespace {

// Two replicated jobs; `second_extra` goes into the second's top level.
std::string two_jobs(const std::string& second_extra, const std::string& tail = "") {
  return "name = \"js\"\n"               // 1
         "[[replicated_jobs]]\n"         // 2
         "name = \"init\"\n"             // 3
         "[replicated_jobs.template]\n"  // 4
         "command = [\"true\"]\n"        // 5
         "[[replicated_jobs]]\n"         // 6
         "name = \"workers\"\n"          // 7
         "replicas = 2\n" +              // 8
         second_extra +                  // 9...
         "[replicated_jobs.template]\n"
         "command = [\"true\"]\n" +
         tail;
}

}  // namespace

TEST_CASE("validate: the minimal JobSet is valid with Kubernetes defaults", "[validate]") {
  auto l = load(minimal());
  INFO(l.diags.to_string());
  REQUIRE(l.js);
  const JobSet& js = l.js->jobset;
  CHECK(l.diags.all().empty());
  CHECK(js.replicated_jobs[0].group_name == "default");
  CHECK(js.replicated_jobs[0].tmpl.backoff_limit == 6);
  CHECK(js.replicated_jobs[0].tmpl.effective_completions() == 3);
  CHECK(js.network.enable_dns_hostnames);
  CHECK(js.network.publish_not_ready_addresses);
  CHECK(js.subdomain() == "js");
  CHECK(js.success_policy.op == SuccessOperator::kAll);
  CHECK_FALSE(js.failure_policy.has_value());
  CHECK(js.startup_order == StartupOrder::kAnyOrder);
}

TEST_CASE("validate: the JobSet name must be a DNS-1035 label", "[validate]") {
  REQUIRE(load("name = \"my-job-1\"\n" + minimal().substr(12)).js);
  auto upper = load("name = \"MyJob\"\n" + minimal().substr(12));
  REQUIRE_ERROR_AT(upper,
                   "expected a DNS-1035 label (lowercase letters, digits and '-', starting with a "
                   "letter), found \"MyJob\"",
                   1, 1, "name");
  auto digit = load("name = \"1job\"\n" + minimal().substr(12));
  REQUIRE_ERROR_AT(digit, "starting with a letter", 1, 1, "name");
  auto dash = load("name = \"job-\"\n" + minimal().substr(12));
  REQUIRE_ERROR_AT(dash, "ending with a letter or digit", 1, 1, "name");
  auto underscore = load("name = \"my_job\"\n" + minimal().substr(12));
  REQUIRE_ERROR_AT(underscore, "lowercase letters, digits and '-' only", 1, 1, "name");
  auto missing = load(minimal().substr(12));
  REQUIRE_ERROR_AT(missing, "a JobSet name is required", 0, 0, "name");
}

TEST_CASE("validate: generated job names must fit 63 characters", "[validate]") {
  std::string ok(40, 'a');
  // "<40>-workers-1" = 50 characters, process name 52: fits.
  REQUIRE(load("name = \"" + ok + "\"\n" + minimal().substr(12)).js);
  std::string name(55, 'a');  // "<55>-workers-1" = 65
  auto l = load("name = \"" + name + "\"\n" + minimal().substr(12));
  REQUIRE_ERROR_AT(l, "the generated job name", 3, 1, "replicated_jobs[0].name");
  CHECK(find(l.diags, "has 65 characters; at most 63 fit a DNS label"));
}

TEST_CASE("validate: generated process names must fit 57 characters", "[validate]") {
  // js name of 46: "<46>-workers-1-2" = 58 > 57, job name "<46>-workers-1" = 56 fits.
  std::string name(46, 'b');
  auto l = load("name = \"" + name + "\"\n" + minimal().substr(12));
  REQUIRE_ERROR_AT(l, "the generated process name", 3, 1, "replicated_jobs[0].name");
  CHECK(find(l.diags,
             "has 58 characters; at most 57 (63 less the 6 Kubernetes keeps for a pod suffix)"));
  std::string fits(45, 'b');  // 57 exactly
  REQUIRE(load("name = \"" + fits + "\"\n" + minimal().substr(12)).js);
}

TEST_CASE("validate: replicated job names are DNS-1035 labels and unique", "[validate]") {
  auto bad = load(two_jobs("").replace(two_jobs("").find("\"workers\""), 9, "\"Workers\""));
  REQUIRE_ERROR_AT(bad, "found \"Workers\"", 7, 1, "replicated_jobs[1].name");
  auto dup = load(two_jobs("").replace(two_jobs("").find("\"workers\""), 9, "\"init\""));
  REQUIRE_ERROR_AT(dup, "duplicate replicated job name \"init\"", 7, 1, "replicated_jobs[1].name");
  REQUIRE(load(two_jobs("")).js);
}

TEST_CASE("validate: group names are DNS-1035 labels", "[validate]") {
  REQUIRE(load(two_jobs("group_name = \"slice-a\"\n")).js);
  auto l = load(two_jobs("group_name = \"Slice A\"\n"));
  REQUIRE_ERROR_AT(l, "found \"Slice A\"", 9, 1, "replicated_jobs[1].group_name");
}

TEST_CASE("validate: replicas must not be negative; zero is allowed", "[validate]") {
  REQUIRE(load(two_jobs("").replace(two_jobs("").find("replicas = 2"), 12, "replicas = 0")).js);
  auto l = load(two_jobs("").replace(two_jobs("").find("replicas = 2"), 12, "replicas = -1"));
  REQUIRE_ERROR_AT(l, "expected an integer from 0 to 2147483647, found integer -1", 8, 12,
                   "replicated_jobs[1].replicas");
}

TEST_CASE("validate: parallelism and completions must be at least 1 where set", "[validate]") {
  REQUIRE(load(minimal("completions = 3\n")).js);
  auto p = load(minimal().replace(minimal().find("parallelism = 3"), 15, "parallelism = 0"));
  REQUIRE_ERROR_AT(p, "expected an integer from 1 to 2147483647, found integer 0", 6, 15,
                   "replicated_jobs[0].template.parallelism");
  auto c = load(minimal("completions = 0\n"));
  REQUIRE_ERROR_AT(c, "found integer 0", 8, 15, "replicated_jobs[0].template.completions");
}

TEST_CASE("validate: replicas x parallelism must not exceed 2^31-1", "[validate]") {
  std::string big = minimal().replace(minimal().find("replicas = 2"), 12, "replicas = 65536");
  REQUIRE(load(big.replace(big.find("parallelism = 3"), 15, "parallelism = 32767")).js);
  std::string over = minimal().replace(minimal().find("replicas = 2"), 12, "replicas = 65536");
  over = over.replace(over.find("parallelism = 3"), 15, "parallelism = 32768");
  auto l = load(over);
  REQUIRE_ERROR_AT(l, "replicas x parallelism must not exceed 2147483647, found 65536 x 32768", 4,
                   1, "replicated_jobs[0].replicas");
}

TEST_CASE("validate: depends_on may not be set on the first replicated job", "[validate]") {
  auto l = load(
      "name = \"js\"\n[[replicated_jobs]]\nname = \"a\"\n"
      "depends_on = [{ name = \"a\", status = \"Ready\" }]\n"
      "[replicated_jobs.template]\ncommand = [\"true\"]\n");
  REQUIRE_ERROR_AT(l, "the first replicated job cannot depend on another", 4, 1,
                   "replicated_jobs[0].depends_on");
}

TEST_CASE("validate: depends_on names an earlier replicated job", "[validate]") {
  auto ok = load(two_jobs("depends_on = [{ name = \"init\", status = \"Complete\" }]\n"));
  REQUIRE(ok.js);
  CHECK(ok.js->jobset.replicated_jobs[1].depends_on[0].status == DependencyStatus::kComplete);
  auto unknown = load(two_jobs("depends_on = [{ name = \"nope\", status = \"Ready\" }]\n"));
  REQUIRE_ERROR_AT(unknown,
                   "expected the name of an earlier replicated job, found unknown \"nope\"", 9, 17,
                   "replicated_jobs[1].depends_on[0].name");
  auto self = load(two_jobs("depends_on = [{ name = \"workers\", status = \"Ready\" }]\n"));
  REQUIRE_ERROR_AT(self, "which is this one", 9, 17, "replicated_jobs[1].depends_on[0].name");
  auto later = load(
      "name = \"js\"\n[[replicated_jobs]]\nname = \"a\"\n[replicated_jobs.template]\n"
      "command = [\"true\"]\n[[replicated_jobs]]\nname = \"b\"\n"
      "depends_on = [{ name = \"c\", status = \"Ready\" }]\n[replicated_jobs.template]\ncommand = "
      "[\"true\"]\n"
      "[[replicated_jobs]]\nname = \"c\"\n[replicated_jobs.template]\ncommand = [\"true\"]\n");
  REQUIRE_ERROR_AT(later, "found \"c\", which comes later", 8, 17,
                   "replicated_jobs[1].depends_on[0].name");
  auto bad_status = load(two_jobs("depends_on = [{ name = \"init\", status = \"Done\" }]\n"));
  REQUIRE_ERROR_AT(bad_status, "expected \"Ready\" or \"Complete\", found \"Done\"", 9, 41,
                   "replicated_jobs[1].depends_on[0].status");
}

TEST_CASE("validate: at most 5 depends_on entries", "[validate]") {
  std::string jobs = "name = \"js\"\n";
  for (const char* n : {"a", "b", "c", "d", "e", "f"})
    jobs += std::string("[[replicated_jobs]]\nname = \"") + n +
            "\"\n[replicated_jobs.template]\ncommand = [\"true\"]\n";
  std::string five =
      "depends_on = "
      "[{name=\"a\",status=\"Ready\"},{name=\"b\",status=\"Ready\"},{name=\"c\",status=\"Ready\"},{"
      "name=\"d\",status=\"Ready\"},{name=\"e\",status=\"Ready\"}]\n";
  std::string six =
      "depends_on = "
      "[{name=\"a\",status=\"Ready\"},{name=\"b\",status=\"Ready\"},{name=\"c\",status=\"Ready\"},{"
      "name=\"d\",status=\"Ready\"},{name=\"e\",status=\"Ready\"},{name=\"f\",status=\"Ready\"}]\n";
  std::string tail = "[[replicated_jobs]]\nname = \"g\"\n";  // lines 26-27
  std::string tmpl = "[replicated_jobs.template]\ncommand = [\"true\"]\n";
  REQUIRE(load(jobs + tail + five + tmpl).js);
  auto l = load(jobs + tail + six + tmpl);
  REQUIRE_ERROR_AT(l, "expected at most 5 dependencies, found 6", 28, 1,
                   "replicated_jobs[6].depends_on");
}

TEST_CASE("validate: fields Kubernetes requires have no default", "[validate]") {
  auto status = load(two_jobs("depends_on = [{ name = \"init\" }]\n"));
  REQUIRE_ERROR_AT(status, "'status' is required: Ready or Complete", 9, 15,
                   "replicated_jobs[1].depends_on[0]");
  auto action = load(minimal("[failure_policy]\n[[failure_policy.rules]]\nname = \"r\"\n"));
  REQUIRE_ERROR_AT(action, "'action' is required", 9, 1, "failure_policy.rules[0]");
  auto coord = load(minimal("[coordinator]\njob_index = 0\n"));
  REQUIRE_ERROR_AT(coord, "'replicated_job' is required", 8, 1, "coordinator");
  CHECK(coord.diags.error_count() == 1);
}

TEST_CASE("validate: startup_policy InOrder excludes depends_on", "[validate]") {
  REQUIRE(load(two_jobs("", "[startup_policy]\nstartup_policy_order = \"InOrder\"\n")).js);
  auto l = load(two_jobs("depends_on = [{ name = \"init\", status = \"Ready\" }]\n",
                         "[startup_policy]\nstartup_policy_order = \"InOrder\"\n"));
  REQUIRE_ERROR_AT(l, "depends_on cannot be used together with startup_policy.startup_policy_order InOrder", 9, 1,
                   "replicated_jobs[1].depends_on");
}

TEST_CASE("validate: success policy targets must exist", "[validate]") {
  REQUIRE(
      load(
          minimal("[success_policy]\noperator = \"Any\"\ntarget_replicated_jobs = [\"workers\"]\n"))
          .js);
  auto l = load(
      minimal("[success_policy]\noperator = \"Any\"\ntarget_replicated_jobs = [\"worker\"]\n"));
  REQUIRE_ERROR_AT(
      l, "expected the name of a replicated job, found \"worker\"; did you mean \"workers\"?", 10,
      27, "success_policy.target_replicated_jobs[0]");
  auto op = load(minimal("[success_policy]\noperator = \"Some\"\n"));
  REQUIRE_ERROR_AT(op, "expected \"All\" or \"Any\", found \"Some\"", 9, 12,
                   "success_policy.operator");
}

TEST_CASE("validate: failure rule names follow the Kubernetes pattern and are unique",
          "[validate]") {
  std::string rule =
      "[failure_policy]\nmax_restarts = 2\n[[failure_policy.rules]]\naction = \"FailJobSet\"\n";
  auto defaulted = load(minimal(rule));
  REQUIRE(defaulted.js);
  CHECK(defaulted.js->jobset.failure_policy->rules[0].name == "failurePolicyRule0");
  REQUIRE(load(minimal(rule + "name = \"on_oom:fail,now_\"\n")).js);
  auto bad = load(minimal(rule + "name = \"bad-name\"\n"));
  REQUIRE_ERROR_AT(bad, "found \"bad-name\"", 12, 1, "failure_policy.rules[0].name");
  auto longname = load(minimal(rule + "name = \"" + std::string(129, 'r') + "\"\n"));
  REQUIRE_ERROR_AT(longname, "expected 1 to 128 characters, found 129", 12, 1,
                   "failure_policy.rules[0].name");
  auto dup = load(minimal(rule + "name = \"r\"\n" +
                          "[[failure_policy.rules]]\nname = \"r\"\naction = \"FailJobSet\"\n"));
  REQUIRE_ERROR_AT(dup, "duplicate rule name \"r\"", 14, 1, "failure_policy.rules[1].name");
}

TEST_CASE("validate: failure rule actions and reasons must be known", "[validate]") {
  std::string rule = "[failure_policy]\n[[failure_policy.rules]]\nname = \"r\"\n";
  REQUIRE(load(minimal(rule +
                       "action = \"RestartJobSetAndIgnoreMaxRestarts\"\n"
                       "on_job_failure_reasons = [\"PodFailurePolicy\", \"DeadlineExceeded\"]\n"))
              .js);
  auto action = load(minimal(rule + "action = \"RestartJobs\"\n"));
  REQUIRE_ERROR_AT(action, "found \"RestartJobs\"; did you mean \"RestartJob\"?", 11, 10,
                   "failure_policy.rules[0].action");
  auto reason = load(minimal(
      rule + "action = \"FailJobSet\"\non_job_failure_reasons = [\"BackoffLimitExceded\"]\n"));
  REQUIRE_ERROR_AT(reason, "found \"BackoffLimitExceded\"; did you mean \"BackoffLimitExceeded\"?",
                   12, 27, "failure_policy.rules[0].on_job_failure_reasons[0]");
  auto target =
      load(minimal(rule + "action = \"FailJobSet\"\ntarget_replicated_jobs = [\"nobody\"]\n"));
  REQUIRE_ERROR_AT(target, "expected the name of a replicated job, found \"nobody\"", 12, 27,
                   "failure_policy.rules[0].target_replicated_jobs[0]");
  auto pattern = load(minimal(
      rule + "action = \"FailJobSet\"\non_job_failure_message_patterns = [\"(unclosed\"]\n"));
  REQUIRE_ERROR_AT(pattern, "expected a regular expression", 12, 36,
                   "failure_policy.rules[0].on_job_failure_message_patterns[0]");
  auto strategy = load(minimal("[failure_policy]\nrestart_strategy = \"Blocking\"\n"));
  REQUIRE_ERROR_AT(strategy, "expected \"Recreate\", \"BlockingRecreate\" or \"InPlaceRestart\", found \"Blocking\"", 9,
                   20, "failure_policy.restart_strategy");
}

TEST_CASE("validate: the coordinator must be inside its replicated job", "[validate]") {
  REQUIRE(
      load(minimal("[coordinator]\nreplicated_job = \"workers\"\njob_index = 1\npod_index = 2\n"))
          .js);
  auto rj = load(minimal("[coordinator]\nreplicated_job = \"boss\"\n"));
  REQUIRE_ERROR_AT(rj, "expected the name of a replicated job, found \"boss\"", 9, 1,
                   "coordinator.replicated_job");
  auto job = load(minimal("[coordinator]\nreplicated_job = \"workers\"\njob_index = 2\n"));
  REQUIRE_ERROR_AT(job, "expected a job index below 2 (replicas of workers), found 2", 10, 1,
                   "coordinator.job_index");
  auto pod = load(minimal("[coordinator]\nreplicated_job = \"workers\"\npod_index = 3\n"));
  REQUIRE_ERROR_AT(pod, "expected a pod index below 3 (completions of workers), found 3", 10, 1,
                   "coordinator.pod_index");
}

TEST_CASE("validate: the subdomain must be a DNS-1035 label", "[validate]") {
  auto ok = load(minimal("[network]\nsubdomain = \"training\"\n"));
  REQUIRE(ok.js);
  CHECK(ok.js->jobset.subdomain() == "training");
  auto l = load(minimal("[network]\nsubdomain = \"my.domain\"\n"));
  REQUIRE_ERROR_AT(l, "found \"my.domain\"", 9, 1, "network.subdomain");
  auto toolong = load(minimal("[network]\nsubdomain = \"" + std::string(64, 's') + "\"\n"));
  REQUIRE_ERROR_AT(toolong, "expected at most 63 characters (a DNS-1035 label), found 64", 9, 1,
                   "network.subdomain");
}

TEST_CASE("validate: ttl_seconds_after_finished must not be negative; managed_by at most 63",
          "[validate]") {
  REQUIRE(load("ttl_seconds_after_finished = 0\nmanaged_by = \"kueue.x-k8s.io/multikueue\"\n" +
               minimal())
              .js);
  auto ttl = load("ttl_seconds_after_finished = -5\n" + minimal());
  REQUIRE_ERROR_AT(ttl, "expected an integer from 0 to 2147483647, found integer -5", 1, 30,
                   "ttl_seconds_after_finished");
  auto mb = load("managed_by = \"" + std::string(64, 'm') + "\"\n" + minimal());
  REQUIRE_ERROR_AT(mb, "expected at most 63 characters, found 64", 1, 1, "managed_by");
}

TEST_CASE("validate: a process needs a command", "[validate]") {
  auto l = load(
      "name = \"js\"\n[[replicated_jobs]]\nname = \"w\"\n[replicated_jobs.template]\nparallelism = "
      "2\n");
  REQUIRE_ERROR_AT(l, "a command is required", 4, 18, "replicated_jobs[0].template.command");
  auto shell = load(minimal().replace(minimal().find("command = [\"true\"]"), 18,
                                      "command = \"echo hi && true\""));
  REQUIRE(shell.js);
  CHECK(shell.js->jobset.replicated_jobs[0].tmpl.command ==
        std::vector<std::string>{"/bin/sh", "-c", "echo hi && true"});
}

TEST_CASE("validate: pod failure policy rules", "[validate]") {
  std::string ok =
      "pod_failure_policy = { rules = [ { action = \"FailJob\", on_exit_codes = { operator = "
      "\"In\", values = [42] } },"
      " { action = \"Ignore\", on_pod_conditions = [{ type = \"DisruptionTarget\" }] } ] }\n";
  auto good = load(minimal(ok));
  REQUIRE(good.js);
  const auto& rules = good.js->jobset.replicated_jobs[0].tmpl.pod_failure_policy;
  REQUIRE(rules.size() == 2);
  CHECK(rules[0].on_exit_codes->values == std::vector<int64_t>{42});
  CHECK(rules[1].action == PodFailureAction::kIgnore);
  CHECK(rules[1].on_pod_conditions[0].status == "True");
  auto zero =
      load(minimal("pod_failure_policy = { rules = [ { action = \"FailJob\", on_exit_codes = { "
                   "operator = \"In\", values = [0, 1] } } ] }\n"));
  REQUIRE_ERROR_AT(zero, "0 (success) cannot be matched by operator In", 8, 91,
                   "replicated_jobs[0].template.pod_failure_policy.rules[0].on_exit_codes.values");
  auto both = load(minimal("pod_failure_policy = { rules = [ { action = \"Count\" } ] }\n"));
  REQUIRE_ERROR_AT(both, "expected exactly one of on_exit_codes and on_pod_conditions", 8, 34,
                   "replicated_jobs[0].template.pod_failure_policy.rules[0]");
  auto action =
      load(minimal("pod_failure_policy = { rules = [ { action = \"Fail\", on_exit_codes = { values "
                   "= [3] } } ] }\n"));
  REQUIRE_ERROR_AT(action,
                   "expected \"FailJob\", \"Ignore\", \"Count\" or \"FailIndex\", found \"Fail\"",
                   8, 45, "replicated_jobs[0].template.pod_failure_policy.rules[0].action");
  auto repeat =
      load(minimal("pod_failure_policy = { rules = [ { action = \"Count\", on_exit_codes = { "
                   "operator = \"NotIn\", values = [3, 3] } } ] }\n"));
  REQUIRE_ERROR_AT(repeat, "exit codes must not repeat", 8, 92,
                   "replicated_jobs[0].template.pod_failure_policy.rules[0].on_exit_codes.values");
}

TEST_CASE("validate: env names and ports", "[validate]") {
  REQUIRE(load(minimal("env = { OMP_NUM_THREADS = 4, \"my.var\" = \"x\" }\nports = [8080, 8081]\n"))
              .js);
  auto env = load(minimal("env = { \"BAD NAME\" = \"x\" }\n"));
  REQUIRE_ERROR_AT(env, "expected a variable name", 8, 1,
                   "replicated_jobs[0].template.env.BAD NAME");
  auto ports = load(minimal("ports = [8080, 8080]\n"));
  REQUIRE_ERROR_AT(ports, "ports must not repeat", 8, 1, "replicated_jobs[0].template.ports");
  auto range = load(minimal("ports = [70000]\n"));
  REQUIRE_ERROR_AT(range, "expected an integer from 0 to 65535, found integer 70000", 8, 10,
                   "replicated_jobs[0].template.ports[0]");
}

TEST_CASE("validate: a JobSet needs at least one replicated job", "[validate]") {
  auto l = load("name = \"js\"\nreplicated_jobs = []\n");
  REQUIRE_ERROR_AT(l, "expected at least one replicated job, found none", 2, 1, "replicated_jobs");
}

TEST_CASE("validate: unknown fields are warnings with a did-you-mean", "[validate]") {
  auto l = load(minimal("paralelism = 4\n"));
  REQUIRE(l.js);  // a warning does not stop anything
  const auto* d = find(l.diags, "unknown field 'paralelism'; did you mean 'parallelism'?");
  REQUIRE(d);
  CHECK(d->severity == Severity::kWarning);
  CHECK(d->mark.line == 8);
  CHECK(d->path == "replicated_jobs[0].template");
  auto far = load(minimal("zzz = 1\n"));
  REQUIRE(far.js);
  CHECK(find(far.diags, "unknown field 'zzz' (ignored)"));
}

TEST_CASE("validate: wrong types name the expected type and what was found", "[validate]") {
  auto l = load(minimal("node_selector = [\"a\"]\nargs = \"x\"\n"));
  REQUIRE_ERROR_AT(l, "expected a table of strings, found a list", 8, 17,
                   "replicated_jobs[0].template.node_selector");
  CHECK(find(l.diags, "expected a list of strings, found string \"x\""));
  auto rjs = load("name = \"js\"\nreplicated_jobs = 3\n");
  REQUIRE_ERROR_AT(rjs, "expected a list of [[replicated_jobs]] tables, found integer 3", 2, 19,
                   "replicated_jobs");
}

TEST_CASE("validate: all errors of a file are reported in one pass", "[validate]") {
  auto l = load(
      "name = \"X\"\n[[replicated_jobs]]\nname = \"A\"\nreplicas = -2\n"
      "[replicated_jobs.template]\nbackoff_limit = \"six\"\ncommand = [\"true\"]\n"
      "[success_policy]\ntarget_replicated_jobs = [\"b\"]\n");
  INFO(l.diags.to_string());
  REQUIRE_FALSE(l.js);
  CHECK(l.diags.error_count() == 5);
}

TEST_CASE("validate: suspend is accepted with a warning", "[validate]") {
  auto l = load("suspend = true\n" + minimal());
  REQUIRE(l.js);
  CHECK(l.js->jobset.suspend);
  CHECK(find(l.diags, "the JobSet is suspended"));
}
