// The plan as an SVG picture: well-formed XML whatever the labels hold,
// every node and process drawn once at 64 nodes with its replicated job's
// colour, a bounded summary at 10,000 nodes whose counts are the plan's.
#include "launcher/plan/plan_svg.hpp"

#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "tests/launcher/test_util.hpp"

using namespace jobset::launcher;
using namespace jobset::launcher::testing;
using jobset::topology::Cluster;

namespace {

JobSet must_load(const std::string& text) {
  auto l = load(text);
  INFO(l.diags.to_string());
  REQUIRE(l.js);
  return l.js->jobset;
}

Plan must_plan(const JobSet& js, Cluster c) {
  auto p = make_plan(js, std::move(c));
  if (auto* f = std::get_if<PlanFailure>(&p)) FAIL(f->message);
  return std::get<Plan>(std::move(p));
}

std::string num(int n, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*d", width, n);
  return buf;
}

// `nodes` nodes of `slots` slots; with a key, islands of `island` nodes
// labelled key=<prefix><index>.
Cluster cluster(int nodes, int slots, const std::string& key = "", int island = 1, int digits = 2) {
  Cluster c;
  for (int n = 0; n < nodes; ++n) {
    jobset::topology::Node node;
    node.name = "n" + num(n, digits + 1);
    node.slots = slots;
    if (!key.empty()) node.labels[key] = "p" + num(n / island, digits);
    c.nodes.push_back(std::move(node));
  }
  return c;
}

// What is wrong with `s` as XML (UTF-8, one root, tags balanced,
// attributes quoted, no raw '<' or stray '&' in text or values), or "".
std::string xml_problem(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 && c != '\n' && c != '\t') return "control character at " + std::to_string(i);
    if (c < 0x80) continue;
    size_t n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 9;
    if (n == 9 || c > 0xF4 || i + n >= s.size()) return "bad UTF-8 at " + std::to_string(i);
    for (size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
        return "bad UTF-8 at " + std::to_string(i);
    i += n;
  }
  auto entity_ok = [&](size_t at) {
    const size_t semi = s.find(';', at);
    if (semi == std::string::npos || semi - at > 8) return false;
    const std::string e = s.substr(at + 1, semi - at - 1);
    if (e == "amp" || e == "lt" || e == "gt" || e == "quot" || e == "apos") return true;
    return e.size() > 1 && e[0] == '#' && e.find_first_not_of("0123456789", 1) == std::string::npos;
  };
  auto is_name = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == '_';
  };
  std::vector<std::string> open;
  bool root = false;
  size_t i = 0;
  if (s.rfind("<?xml ", 0) == 0) i = s.find("?>") + 2;
  while (i < s.size()) {
    if (s[i] != '<') {
      if (open.empty() && !std::isspace(static_cast<unsigned char>(s[i])))
        return "text outside the root";
      if (s[i] == '&' && !entity_ok(i)) return "raw & in text at " + std::to_string(i);
      ++i;
      continue;
    }
    if (s.compare(i, 2, "</") == 0) {
      const size_t j = s.find('>', i);
      if (j == std::string::npos) return "unterminated end tag";
      const std::string name = s.substr(i + 2, j - i - 2);
      if (open.empty() || open.back() != name)
        return "unbalanced </" + name + "> at " + std::to_string(i);
      open.pop_back();
      i = j + 1;
      continue;
    }
    if (open.empty() && root) return "a second root element";
    size_t j = i + 1;
    while (j < s.size() && is_name(s[j])) ++j;
    const std::string name = s.substr(i + 1, j - i - 1);
    if (name.empty()) return "raw < at " + std::to_string(i);
    for (;;) {
      const size_t k = j;
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j >= s.size()) return "unterminated <" + name + ">";
      if (s.compare(j, 2, "/>") == 0) {
        j += 2;
        break;
      }
      if (s[j] == '>') {
        open.push_back(name);
        ++j;
        break;
      }
      if (k == j) return "no space before an attribute of <" + name + ">";
      const size_t a = j;
      while (j < s.size() && is_name(s[j])) ++j;
      if (a == j || j + 1 >= s.size() || s[j] != '=' || (s[j + 1] != '"' && s[j + 1] != '\''))
        return "unquoted attribute in <" + name + "> at " + std::to_string(a);
      const char q = s[j + 1];
      const size_t end = s.find(q, j + 2);
      if (end == std::string::npos) return "unterminated attribute in <" + name + ">";
      for (size_t v = j + 2; v < end; ++v) {
        if (s[v] == '<') return "raw < in an attribute of <" + name + ">";
        if (s[v] == '&' && !entity_ok(v)) return "raw & in an attribute of <" + name + ">";
      }
      j = end + 1;
    }
    root = true;
    i = j;
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  return root ? "" : "no root element";
}

// The contents of every <text> element, as written (escaped).
std::vector<std::string> texts(const std::string& svg) {
  std::vector<std::string> out;
  for (size_t i = svg.find("<text "); i != std::string::npos; i = svg.find("<text ", i + 1)) {
    const size_t open_end = svg.find('>', i) + 1;
    out.push_back(svg.substr(open_end, svg.find("</text>", open_end) - open_end));
  }
  return out;
}

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t i = s.find(needle); i != std::string::npos; i = s.find(needle, i + 1)) ++n;
  return n;
}

// The value of attribute `attr` in the first tag opening at or after `at`
// whose name is `tag`.
std::string attr_after(const std::string& s, size_t at, const std::string& tag,
                       const std::string& attr) {
  const size_t t = s.find("<" + tag + " ", at);
  const size_t end = s.find('>', t);
  const size_t a = s.find(" " + attr + "=\"", t);
  REQUIRE(a < end);
  const size_t v = a + attr.size() + 3;
  return s.substr(v, s.find('"', v) - v);
}

// Legend: replicated job name -> colour and "N processes".
std::map<std::string, std::pair<std::string, std::string>> legend(const std::string& svg) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  const std::string mark = "<g class=\"legend\">";
  for (size_t i = svg.find(mark); i != std::string::npos; i = svg.find(mark, i + 1)) {
    const std::string fill = attr_after(svg, i, "rect", "fill");
    const size_t t = svg.find('>', svg.find("<text ", i)) + 1;
    const std::string entry = svg.substr(t, svg.find("</text>", t) - t);
    const size_t colon = entry.find(": ");
    REQUIRE(colon != std::string::npos);
    out[entry.substr(0, colon)] = {fill, entry.substr(colon + 2)};
  }
  return out;
}

const char* kSixtyFour = R"(name = "js"
[[replicated_jobs]]
name = "workers"
replicas = 12
exclusive_topology = "pool"
[replicated_jobs.template]
parallelism = 32
command = ["w"]
[[replicated_jobs]]
name = "ps"
replicas = 2
[replicated_jobs.template]
parallelism = 16
command = ["p"]
[[replicated_jobs]]
name = "eval"
[replicated_jobs.template]
parallelism = 8
command = ["e"]
)";

}  // namespace

TEST_CASE("plan svg: well-formed XML, with odd label values and keys escaped", "[plan_svg]") {
  SECTION("a small plan without islands") {
    const JobSet js = must_load(minimal());
    const std::string svg = plan_to_svg(js, must_plan(js, cluster(2, 4)));
    CHECK(xml_problem(svg) == "");
    CHECK(
        svg.rfind(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"",
            0) == 0);
    CHECK(svg.find("<script") == std::string::npos);
    CHECK(svg.find("href") == std::string::npos);
  }
  SECTION("label values with markup, quotes, control bytes and bad UTF-8; an odd key") {
    JobSet js = must_load(minimal());
    js.replicated_jobs[0].exclusive_topology = "rack";
    Cluster c = cluster(6, 3);
    const char* values[] = {"x&y<z>", "\"q'\"", "bad\x01\xff\xc3(", "\xc3\xa9\xe2\x80\x93ok",
                            "]]>",    "&amp;"};
    for (size_t n = 0; n < c.nodes.size(); ++n) c.nodes[n].labels["rack"] = values[n];
    std::string svg = plan_to_svg(js, must_plan(js, c));
    INFO(svg);
    CHECK(xml_problem(svg) == "");
    auto t = texts(svg);
    auto has = [&](const std::string& s) { return std::find(t.begin(), t.end(), s) != t.end(); };
    CHECK(has("rack=x&amp;y&lt;z&gt;"));
    CHECK(has("rack=\"q'\""));
    CHECK(has("rack=bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd("));
    CHECK(has("rack=\xc3\xa9\xe2\x80\x93ok"));
    CHECK(has("rack=]]&gt;"));
    CHECK(has("rack=&amp;amp;"));

    js.replicated_jobs[0].exclusive_topology = "we<ird&key";
    for (auto& n : c.nodes) n.labels = {{"we<ird&key", "v<" + n.name}};
    svg = plan_to_svg(js, must_plan(js, c));
    CHECK(xml_problem(svg) == "");
    t = texts(svg);
    CHECK(has("we&lt;ird&amp;key=v&lt;n000"));
  }
  SECTION("node names needing escapes and process names too long for their cell") {
    const JobSet js = must_load(
        "name = \"a-jobset-name-long\"\n[[replicated_jobs]]\n"
        "name = \"a-replicated-job-long-name\"\n[replicated_jobs.template]\nparallelism = 3\n"
        "command = [\"x\"]\n");
    Cluster c = cluster(2, 2);
    c.nodes[0].name = "a<b&c";
    const std::string svg = plan_to_svg(js, must_plan(js, c));
    CHECK(xml_problem(svg) == "");
    const auto t = texts(svg);
    CHECK(std::count(t.begin(), t.end(), "a&lt;b&amp;c") == 1);
    CHECK(std::count(t.begin(), t.end(), "#2") == 1);  // labelled by rank
  }
  SECTION("the summarised picture") {
    JobSet js = must_load(minimal());
    js.replicated_jobs[0].replicas = 300;
    Cluster c = cluster(300, 4);
    c.nodes[7].labels["zone"] = "<&>";
    const std::string svg = plan_to_svg(js, must_plan(js, c));
    CHECK(xml_problem(svg) == "");
  }
}

TEST_CASE("plan svg: at 64 nodes every node and process appears once, coloured as the legend says",
          "[plan_svg]") {
  const JobSet js = must_load(kSixtyFour);
  const Plan plan = must_plan(js, cluster(64, 8, "pool", 4));
  const std::string svg = plan_to_svg(js, plan);
  REQUIRE(xml_problem(svg) == "");
  CHECK(svg.find("summarised") == std::string::npos);
  CHECK(svg.find(">JobSet js: 424 processes on 64 nodes</text>") != std::string::npos);

  std::multiset<std::string> t;
  for (auto& s : texts(svg)) t.insert(s);
  for (const auto& n : plan.cluster.nodes) {
    INFO(n.name);
    CHECK(t.count(n.name) == 1);
  }
  for (const auto& p : plan.expansion.processes) {
    INFO(p.name);
    CHECK(t.count(p.name) == 1);
  }
  CHECK(count(svg, "<g class=\"island\">") == 16);
  for (int i = 0; i < 16; ++i) CHECK(t.count("pool=p" + num(i, 2)) == 1);
  CHECK(count(svg, "<g class=\"node\">") == 64);
  CHECK(count(svg, "<g class=\"proc\">") == 424);
  CHECK(count(svg, ">held by workers job ") == 12);  // the text, not the tooltip

  const auto colours = legend(svg);
  REQUIRE(colours.size() == 3);
  CHECK(colours.at("workers").second == "384 processes");
  CHECK(colours.at("ps").second == "32 processes");
  CHECK(colours.at("eval").second == "8 processes");
  CHECK(std::set<std::string>{colours.at("workers").first, colours.at("ps").first,
                              colours.at("eval").first}
            .size() == 3);

  std::map<std::string, const Process*> by_name;
  for (const auto& p : plan.expansion.processes) by_name[p.name] = &p;
  const std::string mark = "<g class=\"proc\"><title>";
  size_t seen = 0;
  for (size_t i = svg.find(mark); i != std::string::npos; i = svg.find(mark, i + 1), ++seen) {
    const size_t name_at = i + mark.size();
    const std::string name = svg.substr(name_at, svg.find('\n', name_at) - name_at);
    INFO(name);
    REQUIRE(by_name.count(name) == 1);
    const std::string& rjob = js.replicated_jobs[by_name[name]->rjob].name;
    CHECK(attr_after(svg, i, "rect", "fill") == colours.at(rjob).first);
  }
  CHECK(seen == plan.expansion.processes.size());

  if (FILE* f = std::fopen("/tmp/plan64.svg", "w")) {
    std::fwrite(svg.data(), 1, svg.size(), f);
    std::fclose(f);
  }
}

TEST_CASE(
    "plan svg: 10,000 nodes x 8 in islands of 16 are summarised, small, with the plan's counts",
    "[plan_svg]") {
  const JobSet js = must_load(R"(name = "big"
[[replicated_jobs]]
name = "train"
replicas = 600
exclusive_topology = "rack"
[replicated_jobs.template]
parallelism = 128
command = ["t"]
[[replicated_jobs]]
name = "aux"
[replicated_jobs.template]
parallelism = 3200
command = ["a"]
)");
  const Plan plan = must_plan(js, cluster(10000, 8, "rack", 16, 4));
  REQUIRE(plan.expansion.processes.size() == 80000);
  const auto start = std::chrono::steady_clock::now();
  const std::string svg = plan_to_svg(js, plan);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("size " << svg.size() << " bytes, " << seconds << " s");
  CHECK(svg.size() < 1'000'000);
  REQUIRE(xml_problem(svg) == "");
  CHECK(svg.find(">JobSet big, summarised: 10000 nodes, 80000 processes</text>") !=
        std::string::npos);
  CHECK(svg.find("class=\"proc\"") == std::string::npos);
  CHECK(svg.find("big-train-0-0") == std::string::npos);
  CHECK(svg.find("big-aux-0-0") == std::string::npos);
  CHECK(count(svg, "<g class=\"box\">") == 625);
  CHECK(count(svg, ">16 nodes \u00B7 128 processes</text>") == 625);

  // The bar segments' counts add up to each replicated job's processes.
  std::map<std::string, int64_t> sums;
  const std::string mark = "<rect class=\"seg\"";
  for (size_t i = svg.find(mark); i != std::string::npos; i = svg.find(mark, i + 1)) {
    const size_t t = svg.find("<title>", i) + 7;
    const std::string seg = svg.substr(t, svg.find("</title>", t) - t);
    const size_t colon = seg.find(": ");
    sums[seg.substr(0, colon)] += std::stoll(seg.substr(colon + 2));
  }
  CHECK(sums == std::map<std::string, int64_t>{{"aux", 3200}, {"train", 76800}});
  const auto colours = legend(svg);
  CHECK(colours.at("train").second == "76800 processes");
  CHECK(colours.at("aux").second == "3200 processes");
}

TEST_CASE("plan svg: many islands merge so the summary stays bounded", "[plan_svg]") {
  JobSet js = must_load(minimal());
  js.replicated_jobs[0].exclusive_topology = "host";
  const Plan plan = must_plan(js, cluster(3000, 4, "host", 1, 4));
  const std::string svg = plan_to_svg(js, plan);
  REQUIRE(xml_problem(svg) == "");
  CHECK(count(svg, "<g class=\"box\">") <= kSvgMaxSummaryBoxes);
  CHECK(count(svg, "<g class=\"box\">") == 1000);
  CHECK(svg.find("3 groups merged") != std::string::npos);
}

TEST_CASE("plan svg: the output is deterministic", "[plan_svg]") {
  const JobSet js = must_load(kSixtyFour);
  const Plan plan = must_plan(js, cluster(64, 8, "pool", 4));
  CHECK(plan_to_svg(js, plan) == plan_to_svg(js, plan));
  const JobSet small = must_load(minimal());
  const Plan big = must_plan(small, cluster(5000, 1));
  CHECK(plan_to_svg(small, big) == plan_to_svg(small, big));
  CHECK(plan_to_svg(small, big).find("summarised: 5000 nodes, 6 processes") != std::string::npos);
}

TEST_CASE("plan svg: a process tooltip gives its name, rank, node, cores and gpus", "[plan_svg]") {
  JobSet js = must_load(minimal());
  js.replicated_jobs[0].tmpl.resources.gpus = 2;
  Cluster c = cluster(2, 4);
  for (auto& n : c.nodes) n.gpus = 8;
  Plan plan = must_plan(js, c);
  plan.bindings[1].cores = {4, 5, 6, 7, 12};
  plan.bindings[1].gpus = {2, 3};
  plan.bindings[0] = {};
  const std::string svg = plan_to_svg(js, plan);
  INFO(svg);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find("<title>js-workers-0-1\nrank 1 \u00B7 workers job 0 pod 1\nnode n000 slot "
                 "1\ncores 4-7,12\n"
                 "gpus 2,3</title>") != std::string::npos);
  // Without a binding: the count the job asks for.
  CHECK(svg.find("<title>js-workers-0-0\nrank 0 \u00B7 workers job 0 pod 0\nnode n000 slot 0\n2 "
                 "gpus</title>") != std::string::npos);
  CHECK(svg.find(">all nodes</text>") != std::string::npos);
  CHECK(svg.find(">8 slots \u00B7 8 gpus</text>") == std::string::npos);
  CHECK(svg.find(">4 slots \u00B7 8 gpus</text>") != std::string::npos);
}
