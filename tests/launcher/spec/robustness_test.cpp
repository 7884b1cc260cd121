// Hostile input to the JobSet readers: truncated files, random bytes, huge
// numbers, deep nesting, alias bombs, huge files, files of another kind,
// wrong types, several documents, bad UTF-8. Each must end in a load or in
// an error diagnostic that says what is wrong and where; never a crash, a
// hang or an exception. (The libFuzzer target tests/fuzz/ searches the
// same space at random; these are the cases a reader should think of.)
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "launcher/spec/expand.hpp"
#include "launcher/spec/load.hpp"
#include "tests/launcher/test_util.hpp"

using namespace jobset::launcher;
using namespace jobset::launcher::testing;

namespace {

// Lines 1-7; line 4 is replicas, 6 parallelism, 7 command.
std::string toml_with(const std::string& replicas_line, const std::string& template_extra = "",
                      const std::string& top_extra = "") {
  return top_extra +
         "name = \"js\"\n"        // 1
         "[[replicated_jobs]]\n"  // 2
         "name = \"workers\"\n"   // 3
         + replicas_line +
         "\n"                            // 4
         "[replicated_jobs.template]\n"  // 5
         "parallelism = 3\n"             // 6
         "command = [\"true\"]\n"        // 7
         + template_extra;               // 8...
}

std::string toml_ok() { return toml_with("replicas = 2"); }

// Line 8 is replicas, 11 parallelism, 16 command; extra container fields follow.
std::string yaml_with(const std::string& replicas_line, const std::string& container_extra = "") {
  return "apiVersion: jobset.x-k8s.io/v1alpha2\n"  // 1
         "kind: JobSet\n"                          // 2
         "metadata:\n"                             // 3
         "  name: js\n"                            // 4
         "spec:\n"                                 // 5
         "  replicatedJobs:\n"                     // 6
         "  - name: workers\n"                     // 7
         "    " +
         replicas_line +
         "\n"                                   // 8
         "    template:\n"                      // 9
         "      spec:\n"                        // 10
         "        parallelism: 3\n"             // 11
         "        template:\n"                  // 12
         "          spec:\n"                    // 13
         "            containers:\n"            // 14
         "            - name: c\n"              // 15
         "              command: [\"true\"]\n"  // 16
         + container_extra;                     // 17...
}

std::string yaml_ok() { return yaml_with("replicas: 2"); }

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// Whatever came out must be consistent: a JobSet and no error, or no
// JobSet and at least one error; every message says something, and every
// line is inside the text (0 when a problem has no place).
void check_outcome(const Loaded& l, const std::string& text) {
  INFO(l.diags.to_string());
  CHECK(l.js.has_value() == !l.diags.has_errors());
  int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const Diagnostic& d : l.diags.all()) {
    CHECK_FALSE(d.message.empty());
    CHECK(d.mark.line >= 0);
    CHECK(d.mark.line <= lines);
  }
}

// Loading failed, and some error contains `needle` on `line` (0: anywhere).
void require_error(const Loaded& l, const std::string& needle, int line) {
  INFO(l.diags.to_string());
  REQUIRE_FALSE(l.js.has_value());
  const Diagnostic* d = find(l.diags, needle);
  REQUIRE(d != nullptr);
  CHECK(d->severity == Severity::kError);
  if (line != 0) CHECK(d->mark.line == line);
}

void require_loaded(const Loaded& l) {
  INFO(l.diags.to_string());
  REQUIRE(l.js.has_value());
  REQUIRE_FALSE(l.diags.has_errors());
}

void every_prefix_loads_or_fails(const std::string& text, Format format) {
  REQUIRE(text.size() > 100);
  require_loaded(load(text, format));
  size_t failed = 0;
  for (size_t n = 0; n < text.size(); ++n) {
    std::string prefix = text.substr(0, n);
    INFO("prefix of " << n << " bytes");
    Loaded l = load(prefix, format);
    check_outcome(l, prefix);
    failed += l.js ? 0 : 1;
  }
  CHECK(failed > text.size() / 2);  // most prefixes miss the command or more
}

}  // namespace

// ---- truncated files -------------------------------------------------------

TEST_CASE("robustness: every prefix of multislice.toml loads or fails with an error",
          "[robustness]") {
  every_prefix_loads_or_fails(example("multislice.toml"), Format::kToml);
}

TEST_CASE("robustness: every prefix of multislice.yaml loads or fails with an error",
          "[robustness]") {
  every_prefix_loads_or_fails(example("multislice.yaml"), Format::kYaml);
}

TEST_CASE("robustness: a TOML file cut inside a string is a syntax error on its line",
          "[robustness]") {
  std::string text = toml_ok();
  require_error(load(text.substr(0, text.find("workers") + 3)), "TOML syntax", 3);
}

// ---- binary garbage -------------------------------------------------------

TEST_CASE("robustness: random bytes with a NUL are refused as binary data at the NUL",
          "[robustness]") {
  std::mt19937 rng(20240611);
  for (Format format : {Format::kToml, Format::kYaml}) {
    for (int round = 0; round < 200; ++round) {
      std::string bytes(1 + rng() % 3000, '\0');
      for (char& c : bytes) c = static_cast<char>(1 + rng() % 255);
      size_t nul = rng() % bytes.size();
      bytes[nul] = '\0';
      int line = static_cast<int>(std::count(
                     bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(nul), '\n')) +
                 1;
      require_error(load(bytes, format), "found binary data (a NUL byte)", line);
    }
  }
}

TEST_CASE("robustness: a NUL byte far into a text file is refused too", "[robustness]") {
  // A parser would take it for part of a string, and exec would cut there.
  std::string text =
      "#" + std::string(5000, 'x') + "\n" + yaml_with("replicas: 2", "              args: [\"a");
  text += std::string(1, '\0') + "b\"]\n";
  require_error(load_yaml(text), "found binary data (a NUL byte)", 18);
}

TEST_CASE("robustness: random bytes without NUL are refused and never loaded", "[robustness]") {
  std::mt19937 rng(7);
  for (Format format : {Format::kToml, Format::kYaml}) {
    for (int round = 0; round < 300; ++round) {
      std::string bytes(1 + rng() % 3000, ' ');
      for (char& c : bytes) c = static_cast<char>(1 + rng() % 255);
      Loaded l = load(bytes, format);
      check_outcome(l, bytes);
      REQUIRE_FALSE(l.js.has_value());
    }
  }
}

TEST_CASE("robustness: random syntax characters are refused and never loaded", "[robustness]") {
  // Text made of the two formats' punctuation reaches deeper parser states
  // than random bytes do.
  const std::string alphabet = " \n\n\t[]{}:=,-#\"'.&*!|>?%@`\\abcnrt019";
  std::mt19937 rng(11);
  for (Format format : {Format::kToml, Format::kYaml}) {
    for (int round = 0; round < 1000; ++round) {
      std::string text(1 + rng() % 400, ' ');
      for (char& c : text) c = alphabet[rng() % alphabet.size()];
      Loaded l = load(text, format);
      check_outcome(l, text);
      REQUIRE_FALSE(l.js.has_value());
    }
  }
}

// ---- huge numbers -----------------------------------------------------------

TEST_CASE("robustness: integers beyond 64 bits are a TOML syntax error on their line",
          "[robustness]") {
  require_error(load(toml_with("replicas = 99999999999999999999999")),
                "not representable in 64 bits", 4);
}

TEST_CASE("robustness: a float beyond double range is a TOML syntax error on its line",
          "[robustness]") {
  require_error(load(toml_with("replicas = 1e400")), "'1e400'", 4);
}

TEST_CASE("robustness: a large float where an integer belongs is a type error", "[robustness]") {
  require_error(load(toml_with("replicas = 1e40")),
                "expected an integer from 0 to 2147483647, found number 1e+40", 4);
  require_error(load(toml_with("replicas = nan")), "found number nan", 4);
}

TEST_CASE("robustness: a YAML integer beyond 64 bits says it is too large", "[robustness]") {
  require_error(
      load_yaml(yaml_with("replicas: 99999999999999999999")),
      "expected an integer from 0 to 2147483647 (too large), found '99999999999999999999'", 8);
}

TEST_CASE("robustness: replicas x parallelism over 2^31-1 is refused at replicas", "[robustness]") {
  std::string text = toml_with("replicas = 65536");
  text.replace(text.find("parallelism = 3"), 15, "parallelism = 65536");
  require_error(load(text),
                "replicas x parallelism must not exceed 2147483647, found 65536 x 65536", 4);
}

TEST_CASE("robustness: the smallest 64-bit integer as backoff_limit is out of range",
          "[robustness]") {
  require_error(load(toml_with("replicas = 2", "backoff_limit = -9223372036854775808\n")),
                "expected an integer from 0 to 2147483647, found integer -9223372036854775808", 8);
}

TEST_CASE("robustness: a YAML integer below 64 bits is out of range", "[robustness]") {
  std::string text = yaml_ok();
  text.replace(text.find("parallelism: 3"), 14, "backoffLimit: -9223372036854775809");
  require_error(load_yaml(text), "expected an integer from 0 to 2147483647", 11);
}

TEST_CASE("robustness: billions of processes in total load and expansion refuses them cheaply",
          "[robustness]") {
  // Each replicated job is within 2^31-1; together they are not.
  std::string rjob =
      "[[replicated_jobs]]\nname = \"r\"\nreplicas = 2147483647\n"
      "[replicated_jobs.template]\ncommand = [\"true\"]\n";
  std::string text = "name = \"js\"\n" + rjob;
  text += std::string(rjob).replace(rjob.find("\"r\""), 3, "\"s\"");
  Loaded l = load(text);
  require_loaded(l);
  CHECK(count_processes(l.js->jobset) == 2 * int64_t{2147483647});
  auto ex = expand(l.js->jobset);
  REQUIRE_FALSE(ex.ok());
  CHECK(ex.error().message().find("the JobSet has 4294967294 processes") != std::string::npos);
}

// ---- deep nesting -----------------------------------------------------------

TEST_CASE("robustness: 10000 nested YAML sequences are refused as too deep", "[robustness]") {
  require_error(load_yaml(std::string(10000, '[')), "document nested deeper than 64 levels", 1);
  require_error(load_yaml(std::string(10000, '[') + std::string(10000, ']')),
                "document nested deeper than 64 levels", 1);
}

TEST_CASE(
    "robustness: 10000 nested YAML flow mappings and 2000 block mappings are refused as too deep",
    "[robustness]") {
  require_error(load_yaml(repeat("{a: ", 10000) + std::string(10000, '}')),
                "document nested deeper than 64 levels", 1);
  std::string block;
  for (int i = 0; i < 2000; ++i) block += std::string(i, ' ') + "a:\n";  // 2 MB
  require_error(load_yaml(block), "document nested deeper than 64 levels", 0);
}

TEST_CASE("robustness: YAML nested just past the limit is refused where it gets too deep",
          "[robustness]") {
  std::string deep = "              x: " + std::string(100, '[') + std::string(100, ']') + "\n";
  require_error(load_yaml(yaml_with("replicas: 2", deep)), "document nested deeper than 64 levels",
                17);
}

TEST_CASE("robustness: 10000 nested TOML inline arrays and tables are refused", "[robustness]") {
  require_error(load(toml_with("replicas = 2",
                               "x = " + std::string(10000, '[') + std::string(10000, ']') + "\n")),
                "exceeded maximum nested value depth", 8);
  require_error(load(toml_with("replicas = 2",
                               "x = " + repeat("{a=", 10000) + std::string(10000, '}') + "\n")),
                "exceeded maximum nested value depth", 8);
}

TEST_CASE("robustness: TOML dotted keys and headers with 100000 parts are refused as too deep",
          "[robustness]") {
  // toml++ itself overflows the stack on these.
  std::string parts = repeat(".a", 100000);
  require_error(load(toml_with("replicas = 2", "x" + parts + " = 1\n")),
                "document nested deeper than 64 levels", 8);
  require_error(load(toml_with("replicas = 2", "[x" + parts + "]\n")),
                "document nested deeper than 64 levels", 8);
  require_error(load(toml_with("replicas = 2", "x = { y" + parts + " = 1 }\n")),
                "document nested deeper than 64 levels", 8);
  require_error(
      load(toml_with("replicas = 2", "x = [\n  { y = 1 },\n  { z" + parts + " = 1 },\n]\n")),
      "document nested deeper than 64 levels", 10);
}

TEST_CASE(
    "robustness: TOML dots in strings and comments and numbers and sibling keys are not depth",
    "[robustness]") {
  std::string dots = repeat(".", 1000);
  std::string floats = "[";
  for (int i = 0; i < 1000; ++i) floats += "1.5, 1979-05-27T07:32:00.25Z, ";
  floats += "0.5]";
  std::string siblings = "sib = [\n";
  for (int i = 0; i < 100; ++i) siblings += "  { a.b.c = 1, d.e = 2 },\n";
  siblings += "]\n";
  std::string extra =
      "args = [\"" + dots + "\", '" + dots + "', \"\"\"\n" + dots + "\n\"\"\"\", '''" + dots +
      "'''']\n"
      "# " +
      dots +
      "\n"
      "floats = " +
      floats + "\n" + siblings + "k" + repeat(".k", 63) + " = 1\n";  // 64 parts: the most allowed
  Loaded l = load(toml_with("replicas = 2", extra));
  require_loaded(l);
  CHECK(l.js->jobset.replicated_jobs[0].tmpl.args.size() == 4);
  CHECK(l.js->jobset.replicated_jobs[0].tmpl.args[2] == dots + "\n\"");
  require_error(load(toml_with("replicas = 2", "k" + repeat(".k", 64) + " = 1\n")),
                "document nested deeper than 64 levels", 8);
}

// ---- aliases ----------------------------------------------------------------

TEST_CASE("robustness: a YAML alias bomb is refused as too large before it is expanded",
          "[robustness]") {
  std::string text =
      "apiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\n"
      "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 10; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  require_error(load_yaml(text), "document too large", 8);  // a5, of 10^6 values
  CHECK(find(load_yaml(text).diags, "after expanding aliases") != nullptr);
}

TEST_CASE("robustness: YAML anchors and aliases in ordinary use load", "[robustness]") {
  std::string text = yaml_with("replicas: 2", "              args: &args [\"--x\", \"1\"]\n");
  text +=
      "  - name: more\n"
      "    template:\n"
      "      spec:\n"
      "        template:\n"
      "          spec:\n"
      "            containers:\n"
      "            - command: [\"true\"]\n"
      "              args: *args\n";
  Loaded l = load_yaml(text);
  require_loaded(l);
  REQUIRE(l.js->jobset.replicated_jobs.size() == 2);
  CHECK(l.js->jobset.replicated_jobs[1].tmpl.args == std::vector<std::string>{"--x", "1"});
}

// ---- huge files -------------------------------------------------------------

TEST_CASE("robustness: a 3 MB TOML environment value loads", "[robustness]") {
  std::string big(3u << 20, 'x');
  Loaded l = load(toml_with("replicas = 2", "env = { BIG = \"" + big + "\" }\n"));
  require_loaded(l);
  CHECK(l.js->jobset.replicated_jobs[0].tmpl.env.at("BIG").size() == big.size());
}

TEST_CASE("robustness: a TOML file of 50000 comment lines loads", "[robustness]") {
  std::string comments = repeat("# a comment of some fifty bytes, over and over .....\n", 50000);
  require_loaded(load(comments + toml_ok()));
}

TEST_CASE("robustness: a 3 MB YAML environment value and 3 MB of comments load", "[robustness]") {
  std::string big(3u << 20, 'x');
  Loaded l = load_yaml(yaml_with("replicas: 2",
                                 "              env:\n              - name: BIG\n"
                                 "                value: \"" +
                                     big + "\"\n"));
  require_loaded(l);
  CHECK(l.js->jobset.replicated_jobs[0].tmpl.env.at("BIG").size() == big.size());
  require_loaded(load_yaml(repeat("# a comment of some fifty bytes, over and over .....\n", 60000) +
                           yaml_ok()));
}

TEST_CASE("robustness: 10 MB files are refused with a clear error in both formats",
          "[robustness]") {
  std::string big(10u << 20, 'x');
  require_error(load(toml_with("replicas = 2", "env = { BIG = \"" + big + "\" }\n")),
                "file too large", 0);
  require_error(load_yaml(yaml_ok() + "# " + big + "\n"), "file too large", 0);
  std::string ports = "ports = [" + repeat("1,", 5u << 20) + "1]\n";
  require_error(load(toml_with("replicas = 2", ports)), "file too large", 0);
}

TEST_CASE("robustness: a file over the size limit is refused before parsing", "[robustness]") {
  std::string text = toml_ok() + "#" + std::string(kMaxFileBytes, 'x');
  require_error(load(text), "file too large", 0);
}

// ---- empty files ------------------------------------------------------------

TEST_CASE("robustness: an empty or whitespace-only file says it is empty", "[robustness]") {
  for (Format format : {Format::kToml, Format::kYaml}) {
    require_error(load("", format), "the file is empty", 1);
    require_error(load(" \n\t\r\n   \n", format), "the file is empty", 1);
  }
}

TEST_CASE("robustness: a YAML file of only comments or separators holds no JobSet",
          "[robustness]") {
  require_error(load_yaml("# nothing here\n"),
                "expected a JobSet (a table of fields), found nothing", 0);
  require_error(load_yaml("---\n---\n...\n"),
                "expected a JobSet (a table of fields), found nothing", 0);
  require_error(load("# nothing here\n"), "this is not a JobSet", 1);
}

// ---- not a JobSet -----------------------------------------------------------

TEST_CASE("robustness: a Kubernetes Deployment is refused by its kind and only so",
          "[robustness]") {
  Loaded l = load_yaml(
      "apiVersion: apps/v1\n"
      "kind: Deployment\n"
      "metadata:\n"
      "  name: nginx\n"
      "spec:\n"
      "  replicas: 3\n"
      "  template:\n"
      "    spec:\n"
      "      containers:\n"
      "      - name: nginx\n"
      "        image: nginx:1.25\n");
  require_error(l, "expected a Kubernetes JobSet (kind: JobSet), found 'Deployment'", 2);
  CHECK(l.diags.error_count() == 1);
}

TEST_CASE("robustness: manifests without a kind or not a map are not JobSets", "[robustness]") {
  Loaded nokind = load_yaml("apiVersion: jobset.x-k8s.io/v1alpha2\nmetadata:\n  name: js\n");
  require_error(nokind, "expected a Kubernetes JobSet (kind: JobSet), found no kind", 1);
  CHECK(nokind.diags.error_count() == 1);
  require_error(load_yaml("foo: bar\nbaz: 1\n"), "expected a Kubernetes JobSet (apiVersion", 1);
  require_error(load_yaml("- a\n- b\n"), "expected a JobSet (a table of fields), found a list", 1);
  require_error(load_yaml("hello\n"), "expected a JobSet (a table of fields), found 'hello'", 1);
}

TEST_CASE("robustness: a TOML file with unrelated keys is not a JobSet", "[robustness]") {
  require_error(load("title = \"TOML Example\"\n[owner]\nname2 = \"Tom\"\n"),
                "this is not a JobSet", 1);
}

// ---- wrong types ------------------------------------------------------------

TEST_CASE("robustness: a wrong type in any TOML field is an error at that field", "[robustness]") {
  struct Case {
    std::string replicas_line, extra, message;
    int line;
  };
  const std::vector<Case> cases = {
      {"replicas = \"2\"", "", "expected an integer from 0 to 2147483647, found string \"2\"", 4},
      {"replicas = [2]", "", "expected an integer from 0 to 2147483647, found a list", 4},
      {"replicas = { n = 2 }", "", "expected an integer from 0 to 2147483647, found a table", 4},
      {"replicas = 2.5", "", "found number 2.5", 4},
      {"replicas = true", "", "found boolean true", 4},
      {"replicas = 1979-05-27", "", "found date/time 1979-05-27", 4},
      {"group_name = 7", "", "expected a string, found integer 7", 4},
      {"depends_on = \"init\"", "",
       "expected a list of {name, status} tables, found string \"init\"", 4},
      {"replicas = 2", "args = 7\n", "expected a list of strings, found integer 7", 8},
      {"replicas = 2", "args = [1, 2]\n", "expected a string, found integer 1", 8},
      {"replicas = 2", "env = [\"A=1\"]\n", "expected a table of strings, found a list", 8},
      {"replicas = 2", "env = { A = [1] }\n",
       "expected a string or a { field_ref = \"...\" } table, found a list", 8},
      {"replicas = 2", "ports = \"8080\"\n", "expected a list of integers, found string \"8080\"",
       8},
      {"replicas = 2", "ports = [{ p = 1 }]\n",
       "expected an integer from 0 to 65535, found a table", 8},
      {"replicas = 2", "resources = [1]\n", "expected a table of fields, found a list", 8},
      {"replicas = 2", "resources = { cpus = \"lots\" }\n", "expected a CPU count", 8},
      {"replicas = 2", "working_dir = false\n", "expected a string, found boolean false", 8},
      {"replicas = 2", "pod_failure_policy = [1]\n", "expected a table of fields, found a list", 8},
      {"replicas = 2", "completions = \"three\"\n", "found string \"three\"", 8},
  };
  for (const Case& c : cases) {
    INFO(c.replicas_line << " / " << c.extra);
    require_error(load(toml_with(c.replicas_line, c.extra)), c.message, c.line);
  }
}

TEST_CASE("robustness: wrong types at the top of a TOML JobSet are errors there", "[robustness]") {
  require_error(load("name = 5\n[[replicated_jobs]]\nname = \"w\"\n"),
                "expected a string, found integer 5", 1);
  require_error(load("name = \"js\"\nreplicated_jobs = \"x\"\n"),
                "expected a list of [[replicated_jobs]] tables, found string \"x\"", 2);
  require_error(load("name = \"js\"\n[replicated_jobs]\nname = \"w\"\n"),
                "expected a list of [[replicated_jobs]] tables, found a table", 2);
  require_error(load("name = \"js\"\n[[replicated_jobs]]\nname = \"w\"\ntemplate = 3\n"),
                "expected a table of fields, found integer 3", 4);
  require_error(load(toml_with("replicas = 2", "", "failure_policy = 3\n")),
                "expected a table of fields, found integer 3", 1);
  require_error(load(toml_with("replicas = 2", "", "network = [true]\n")),
                "expected a table of fields, found a list", 1);
}

TEST_CASE("robustness: a wrong type in any YAML field is an error at that field", "[robustness]") {
  struct Case {
    std::string replicas_line, extra, message;
    int line;
  };
  const std::vector<Case> cases = {
      {"replicas: \"2\"", "", "found string \"2\"", 8},
      {"replicas: [2]", "", "expected an integer from 0 to 2147483647, found a list", 8},
      {"replicas: {n: 2}", "", "expected an integer from 0 to 2147483647, found a table", 8},
      {"replicas: 2.5", "", "found '2.5'", 8},
      {"replicas: ~", "", "found nothing (null)", 8},
      {"groupName: [a]", "", "expected a string, found a list", 8},
      {"replicas: 2", "              args: true\n", "expected a list of strings, found 'true'", 17},
      {"replicas: 2", "              args: [[a]]\n", "expected a string, found a list", 17},
      {"replicas: 2", "              env: {A: 1}\n",
       "expected a list of {name, value}, found a table", 17},
      {"replicas: 2", "              ports: [8080]\n", "expected a table of fields, found '8080'",
       17},
      {"replicas: 2", "              resources: {limits: [1]}\n",
       "expected a table of fields, found a list", 17},
      {"replicas: 2", "              workingDir: {a: b}\n", "expected a string, found a table", 17},
  };
  for (const Case& c : cases) {
    INFO(c.replicas_line << " / " << c.extra);
    require_error(load_yaml(yaml_with(c.replicas_line, c.extra)), c.message, c.line);
  }
}

TEST_CASE("robustness: a YAML list or table in the wrong place is an error there", "[robustness]") {
  std::string text = yaml_ok();
  text.replace(text.find("  - name: workers"), 17, "    name: workers");
  require_error(load_yaml(text), "expected a list of replicated jobs, found a table", 7);
  text = yaml_ok();
  text.replace(text.find("            - name: c"), 21, "              name: c");
  require_error(load_yaml(text), "expected a list of at least one container, found a table", 15);
  require_error(load_yaml("apiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\nmetadata: [js]\n"),
                "expected a table of fields, found a list", 3);
  require_error(load_yaml("apiVersion: jobset.x-k8s.io/v1alpha2\nkind: [JobSet]\n"),
                "expected a string, found a list", 2);
}

TEST_CASE("robustness: a key twice in one YAML map is an error at the second", "[robustness]") {
  require_error(load_yaml(yaml_with("replicas: 2\n    replicas: 3")),
                "duplicate key 'replicas' (first on line 8)", 9);
}

TEST_CASE("robustness: a stray comma where a YAML document starts is a syntax error",
          "[robustness]") {
  // yaml-cpp 0.7's LoadAll loops forever on these, allocating, until the
  // machine runs out of memory (jbeder/yaml-cpp#1040).
  require_error(load_yaml(","), "YAML syntax: unexpected ','", 1);
  require_error(load_yaml("\n\n  , x"), "YAML syntax: unexpected ','", 3);
  require_error(load_yaml(yaml_ok() + "---\n,\n"), "YAML syntax: unexpected ','", 18);
}

// ---- several documents ------------------------------------------------------

TEST_CASE("robustness: two YAML documents are refused at the second", "[robustness]") {
  std::string text = yaml_ok();
  int second = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 2;
  require_error(load_yaml(text + "---\n" + text), "expected one YAML document, found 2", second);
  require_error(load_yaml(text + "---\n" + text + "---\n" + text), "found 3", second);
  require_loaded(load_yaml("---\n" + text + "---\n"));  // empty documents do not count
}

// ---- invalid UTF-8 ------------------------------------------------------------

TEST_CASE("robustness: invalid UTF-8 in TOML is an error at its line", "[robustness]") {
  std::string text = toml_ok();
  text.replace(text.find("[\"true\"]"), 8, "[\"tr\xffue\"]");
  require_error(load(text), "invalid utf-8", 7);
  require_error(load("# caf\xc3\x28\n" + toml_ok()), "invalid utf-8", 1);
}

TEST_CASE("robustness: invalid UTF-8 in YAML is an error at the byte and not passed through",
          "[robustness]") {
  struct Case {
    std::string bytes, hex;
  };
  const std::vector<Case> cases = {
      {"\xff", "0xFF"},              // never valid
      {"\xc3\x28", "0xC3"},          // a lead byte without its continuation
      {"\xc0\xaf", "0xC0"},          // overlong '/'
      {"\xed\xa0\x80", "0xED"},      // a UTF-16 surrogate
      {"\xf4\x90\x80\x80", "0xF4"},  // beyond U+10FFFF
      {"\x80", "0x80"},              // a continuation byte alone
  };
  for (const Case& c : cases) {
    INFO(c.hex);
    std::string text = yaml_ok();
    text.replace(text.find("[\"true\"]"), 8, "[\"tr" + c.bytes + "ue\"]");
    Loaded l = load_yaml(text);
    require_error(l, "found the byte " + c.hex + ", which is not valid UTF-8", 16);
    CHECK(find(l.diags, "not valid UTF-8")->mark.column == 28);
  }
  require_error(load_yaml(yaml_ok() + "# cut short: \xe2\x82"), "not valid UTF-8", 17);
  require_error(load_yaml("# caf\xc3\x28\n" + yaml_ok()), "not valid UTF-8", 1);
}

TEST_CASE("robustness: valid UTF-8 and a byte order mark are fine in both formats",
          "[robustness]") {
  std::string text = toml_ok();
  text.replace(text.find("[\"true\"]"), 8,
               "[\"echo\", \"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x9a\x80\"]");
  Loaded t = load(text);
  require_loaded(t);
  CHECK(t.js->jobset.replicated_jobs[0].tmpl.command[1] ==
        "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x9a\x80");
  std::string y = yaml_ok();
  y.replace(y.find("[\"true\"]"), 8, "[\"echo\", \"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x9a\x80\"]");
  Loaded l = load_yaml("\xef\xbb\xbf" + y);
  require_loaded(l);
  CHECK(l.js->jobset.replicated_jobs[0].tmpl.command[1] ==
        "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x9a\x80");
}

TEST_CASE("robustness: a non-ASCII character outside a TOML string is refused before toml++ sees "
          "it (the fuzzer's crash: toml++ 3.3 reaches an unreachable point on U+00AB)",
          "[robustness]") {
  Loaded crash = load(std::string("\x9c\xc2\xab"));
  CHECK_FALSE(crash.js.has_value());
  const Diagnostic* d = find(crash.diags, "not ASCII outside a quoted string");
  REQUIRE(d);
  CHECK(d->mark.line == 1);
  Loaded key = load("name = \"x\"\nk\xc2\xab = 1\n");
  REQUIRE(find(key.diags, "not ASCII outside a quoted string"));
  CHECK(find(key.diags, "not ASCII outside a quoted string")->mark.line == 2);
  // Inside strings and comments non-ASCII text is fine.
  Loaded ok = load(
      "name = \"x\" # caf\xc3\xa9\n[[replicated_jobs]]\nname = \"w\"\n"
      "[replicated_jobs.template]\ncommand = [\"echo\", \"\xc2\xab caf\xc3\xa9 \xc2\xbb\"]\n");
  INFO(ok.diags.to_string());
  CHECK(ok.js.has_value());
}
