// Tests for the typed field reader (launcher/spec/field_reader.hpp) that
// JobSet files and cluster files are read through: what each read takes,
// how a wrong value is reported (where, which field, expected, found), and
// where each field is recorded for later messages.
#include "launcher/spec/field_reader.hpp"

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace {

using jobset::launcher::Diagnostics;
using jobset::launcher::FieldReader;
using jobset::launcher::Format;
using jobset::launcher::Node;
using jobset::launcher::PodFailureAction;
using jobset::launcher::ReadContext;
using jobset::launcher::Severity;
using jobset::launcher::SourceMap;

// A parsed file and the context its readers share.
struct Doc {
  Diagnostics diags;
  SourceMap where;
  ReadContext ctx{diags, where, {}};
  Node root;

  explicit Doc(const std::string& text, Format format = Format::kToml)
      : diags(format == Format::kToml ? "f.toml" : "f.yaml") {
    std::optional<Node> n = format == Format::kToml ? jobset::launcher::parse_toml(text, diags)
                                                    : jobset::launcher::parse_yaml(text, diags);
    REQUIRE(n.has_value());
    root = std::move(*n);
  }

  // Every diagnostic as the user sees it, in the order reported.
  std::vector<std::string> told() const {
    std::vector<std::string> out;
    for (const auto& d : diags.all()) out.push_back(jobset::launcher::format(d));
    return out;
  }
};

using Strings = std::vector<std::string>;

TEST_CASE("field reader: each typed read takes a value of its type", "[field_reader]") {
  Doc doc(R"(name = "js"
suspend = true
replicas = 3
args = ["a", "b"]
env = { A = "x", N = 4, B = false }
ports = [80, 443]
ratio = 0.5
action = "Ignore"
)");
  FieldReader r(doc.root, "", "", doc.ctx);
  std::string name;
  bool suspend = false;
  std::optional<bool> absent_flag;
  int64_t replicas = 0;
  std::optional<int64_t> absent_count;
  Strings args;
  std::map<std::string, std::string> env;
  std::vector<int64_t> ports;
  auto action = PodFailureAction::kFailJob;
  r.read("name", name);
  r.read("suspend", suspend);
  r.read("missing_flag", absent_flag);
  r.read("replicas", replicas, 0, 10);
  r.read("missing_count", absent_count, 0, 10);
  r.read("args", args);
  r.read("env", env);
  r.read("ports", ports, 0, 65535);
  r.read_enum("action", action);
  std::optional<double> ratio = read_number(*r.take("ratio"), doc.ctx, "ratio");
  r.finish();
  CHECK(doc.told().empty());
  CHECK(name == "js");
  CHECK(suspend);
  CHECK_FALSE(absent_flag.has_value());
  CHECK(replicas == 3);
  CHECK_FALSE(absent_count.has_value());
  CHECK(args == Strings{"a", "b"});
  // Numbers and booleans are fine as variable values (OMP_NUM_THREADS = 4).
  CHECK(env == std::map<std::string, std::string>{{"A", "x"}, {"N", "4"}, {"B", "false"}});
  CHECK(ports == std::vector<int64_t>{80, 443});
  CHECK(action == PodFailureAction::kIgnore);
  CHECK(ratio == 0.5);
}

// One field written wrong, how it is read, and what the user is told.
struct WrongCase {
  std::string line;
  std::function<void(FieldReader&)> read;
  std::string told;
};

TEST_CASE("field reader: a wrong value is an error at the value: field path, expected, found",
          "[field_reader]") {
  std::string s;
  int64_t i = 7;
  bool b = false;
  Strings list;
  std::map<std::string, std::string> table;
  std::vector<int64_t> ints;
  auto action = PodFailureAction::kFailJob;
  const std::vector<WrongCase> cases = {
      {"name = 3", [&](FieldReader& r) { r.read("name", s); },
       "f.toml:2:8: error: job.name: expected a string, found integer 3"},
      {"flag = \"yes\"", [&](FieldReader& r) { r.read("flag", b); },
       "f.toml:2:8: error: job.flag: expected true or false, found string \"yes\""},
      {"n = \"3\"", [&](FieldReader& r) { r.read("n", i, 0, 10); },
       "f.toml:2:5: error: job.n: expected an integer from 0 to 10, found string \"3\""},
      {"n = 11", [&](FieldReader& r) { r.read("n", i, 0, 10); },
       "f.toml:2:5: error: job.n: expected an integer from 0 to 10, found integer 11"},
      {"n = -1", [&](FieldReader& r) { r.read("n", i, 0, INT64_MAX); },
       "f.toml:2:5: error: job.n: expected an integer >= 0, found integer -1"},
      {"n = 1.5", [&](FieldReader& r) { r.read("n", i, 0, 10); },
       "f.toml:2:5: error: job.n: expected an integer from 0 to 10, found number 1.5"},
      {"args = \"a b\"", [&](FieldReader& r) { r.read("args", list); },
       "f.toml:2:8: error: job.args: expected a list of strings, found string \"a b\""},
      {"args = [\"a\", 1]", [&](FieldReader& r) { r.read("args", list); },
       "f.toml:2:14: error: job.args[1]: expected a string, found integer 1"},
      {"env = 1", [&](FieldReader& r) { r.read("env", table); },
       "f.toml:2:7: error: job.env: expected a table of strings, found integer 1"},
      {"env = { A = [1] }", [&](FieldReader& r) { r.read("env", table); },
       "f.toml:2:13: error: job.env.A: expected a string, found a list"},
      {"ports = 80", [&](FieldReader& r) { r.read("ports", ints, 0, 65535); },
       "f.toml:2:9: error: job.ports: expected a list of integers, found integer 80"},
      {"ports = [80, 70000]", [&](FieldReader& r) { r.read("ports", ints, 0, 65535); },
       "f.toml:2:14: error: job.ports[1]: expected an integer from 0 to 65535, found integer "
       "70000"},
      {"action = \"Ignor\"", [&](FieldReader& r) { r.read_enum("action", action); },
       "f.toml:2:10: error: job.action: expected \"FailJob\", \"Ignore\", \"Count\" or "
       "\"FailIndex\", found \"Ignor\"; did you mean \"Ignore\"?"},
      {"ratio = \"x\"",
       [&](FieldReader& r) { read_number(*r.take("ratio"), r.ctx(), r.child_display("ratio")); },
       "f.toml:2:9: error: job.ratio: expected a number, found string \"x\""},
  };
  for (const WrongCase& c : cases) {
    INFO(c.line);
    Doc doc("[job]\n" + c.line + "\n");
    FieldReader r(*doc.root.get("job"), "job", "job", doc.ctx);
    c.read(r);
    CHECK(doc.told() == Strings{c.told});
  }
  CHECK(i == 7);  // a value that is not taken leaves the field as it was
}

TEST_CASE("field reader: a string with a NUL character is refused", "[field_reader]") {
  Doc doc("cmd = \"a\\u0000b\"\n");
  std::string cmd = "default";
  FieldReader(doc.root, "", "", doc.ctx).read("cmd", cmd);
  CHECK(doc.told() == Strings{"f.toml:1:7: error: cmd: expected text, found a string with a NUL "
                              "character (\\0), which no program can receive"});
  CHECK(cmd == "default");
}

TEST_CASE("field reader: YAML plain scalars convert; quoted ones are only strings",
          "[field_reader]") {
  Doc doc("n: 3\nquoted: \"3\"\nflag: True\nqflag: 'true'\nbig: 99999999999999999999\n",
          Format::kYaml);
  FieldReader r(doc.root, "", "", doc.ctx);
  int64_t n = 0, quoted = 0, big = 0;
  bool flag = false, qflag = false;
  r.read("n", n, 0, 10);
  r.read("quoted", quoted, 0, 10);
  r.read("flag", flag);
  r.read("qflag", qflag);
  r.read("big", big, 0, 10);
  CHECK(n == 3);
  CHECK(flag);
  CHECK(doc.told() ==
        Strings{"f.yaml:2:9: error: quoted: expected an integer from 0 to 10, found string \"3\"",
                "f.yaml:4:8: error: qflag: expected true or false, found string \"true\"",
                "f.yaml:5:6: error: big: expected an integer from 0 to 10 (too large), found "
                "'99999999999999999999'"});
}

TEST_CASE("field reader: fields are recorded under the model's path, spelled as in the file",
          "[field_reader]") {
  Doc doc(
      "spec:\n  replicatedJobs:\n    - name: w\n      backoffLimit: 2\n"
      "      args: [a, b]\n",
      Format::kYaml);
  const Node& item = doc.root.get("spec")->get("replicatedJobs")->items[0];
  FieldReader r(item, "replicated_jobs[0]", "spec.replicatedJobs[0]", doc.ctx);
  std::string name;
  int64_t backoff = 0;
  Strings args;
  r.read("name", name);
  r.read("backoffLimit", backoff, 0, 10, "backoff_limit");
  r.read("args", args);
  r.finish();
  REQUIRE(doc.told().empty());
  const auto backoff_at = doc.where.find("replicated_jobs[0].backoff_limit");
  CHECK(backoff_at.mark.line == 4);
  CHECK(backoff_at.mark.column == 7);
  CHECK(backoff_at.display_path == "spec.replicatedJobs[0].backoffLimit");
  const auto arg_at = doc.where.find("replicated_jobs[0].args[1]");
  CHECK(arg_at.mark.line == 5);
  CHECK(arg_at.mark.column == 17);
  CHECK(arg_at.display_path == "spec.replicatedJobs[0].args[1]");
  CHECK(doc.where.find("replicated_jobs[0]").mark.line == 3);
}

TEST_CASE("field reader: unknown keys are warnings with a guess, or errors where none is allowed",
          "[field_reader]") {
  const std::string text = "name = \"x\"\nreplica = 2\nzzz = 1\n";
  Doc warned(text);
  FieldReader w(warned.root, "", "", warned.ctx);
  w.take("name");
  w.take("replicas");
  w.finish();
  CHECK_FALSE(warned.diags.has_errors());
  CHECK(warned.told() ==
        Strings{"f.toml:2:1: warning: unknown field 'replica'; did you mean 'replicas'? (ignored)",
                "f.toml:3:1: warning: unknown field 'zzz' (ignored)"});

  Doc refused(text);
  FieldReader e(refused.root, "", "", refused.ctx);
  e.take("name");
  e.take("replicas");
  e.finish(Severity::kError);
  CHECK(refused.told() ==
        Strings{"f.toml:2:1: error: unknown field 'replica'; did you mean 'replicas'?",
                "f.toml:3:1: error: unknown field 'zzz': expected name or replicas"});
}

TEST_CASE("field reader: a missing required field is an error at its table", "[field_reader]") {
  Doc doc("[rule]\nname = \"r\"\n");
  FieldReader r(*doc.root.get("rule"), "rule", "rule", doc.ctx);
  r.require("name", "the rule's name");
  r.require("action", "what to do when the rule matches");
  REQUIRE(doc.diags.all().size() == 1);
  const auto& d = doc.diags.all()[0];
  CHECK(d.severity == Severity::kError);
  CHECK(d.path == "rule");
  CHECK(d.message == "'action' is required: what to do when the rule matches");
  CHECK(d.mark.line == 1);
}

TEST_CASE("field reader: a value that should be a table is told once; its reads find nothing",
          "[field_reader]") {
  Doc doc("job = 3\n");
  FieldReader r(*doc.root.get("job"), "job", "job", doc.ctx);
  std::string name = "unset";
  r.read("name", name);
  r.require("name", "the job's name");
  r.finish();
  CHECK_FALSE(r.is_table());
  CHECK(r.take("name") == nullptr);
  CHECK(name == "unset");
  CHECK(doc.told() ==
        Strings{"f.toml:1:7: error: job: expected a table of fields, found integer 3"});
}

TEST_CASE("field reader: ignored Kubernetes-only fields are listed, not warned about",
          "[field_reader]") {
  Doc doc("name: c\nimage: busybox\n", Format::kYaml);
  FieldReader r(doc.root, "container", "spec.containers[0]", doc.ctx);
  r.take("name");
  r.ignore({"image", "imagePullPolicy"});
  r.finish();
  CHECK(doc.told().empty());
  CHECK(doc.ctx.ignored == Strings{"spec.containers[0].image"});
}

}  // namespace
