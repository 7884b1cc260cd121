// Tests for --map-by, --rank-by and --bind-to (launcher/plan/map_policy.hpp):
// every spelling the flags accept, what each means, and the error for each
// bad form (which `jobset plan` and `jobset run` print before exiting 2).
#include "launcher/plan/map_policy.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

using jobset::Result;
using jobset::launcher::bind_name;
using jobset::launcher::map_by_name;
using jobset::launcher::MapFlags;
using jobset::launcher::parse_map_policy;
using jobset::topology::Level;
using jobset::topology::MapPolicy;
using Bind = MapPolicy::Bind;

MapPolicy policy_ok(const MapFlags& flags) {
  Result<MapPolicy> p = parse_map_policy(flags);
  if (!p.ok()) FAIL(p.error().message());
  return *p;
}

std::string policy_error(const MapFlags& flags) {
  Result<MapPolicy> p = parse_map_policy(flags);
  REQUIRE_FALSE(p.ok());
  return p.error().message();
}

// The objects --map-by and --rank-by name, as spelled and as meant.
const std::vector<std::pair<std::string, Level>> kObjects = {
    {"slot", Level::kSlot}, {"node", Level::kNode},       {"core", Level::kCore},
    {"numa", Level::kNuma}, {"package", Level::kPackage}, {"socket", Level::kPackage}};

bool same(const MapPolicy& a, const MapPolicy& b) {
  return a.map_by == b.map_by && a.ppr == b.ppr && (a.ppr == 0 || a.ppr_level == b.ppr_level) &&
         a.rank_by == b.rank_by && a.bind_to == b.bind_to;
}

TEST_CASE("map policy: without flags, fill slots in rank order and bind nothing", "[map_policy]") {
  const MapPolicy p = policy_ok({});
  CHECK(p.map_by == Level::kSlot);
  CHECK(p.rank_by == Level::kSlot);
  CHECK(p.ppr == 0);
  CHECK(p.bind_to == Bind::kNone);
  CHECK(map_by_name(p) == "slot");
  CHECK(bind_name(p.bind_to) == "none");
}

TEST_CASE("map policy: each --map-by object maps and, by default, ranks by that object",
          "[map_policy]") {
  for (const auto& [flag, level] : kObjects) {
    INFO("--map-by " << flag);
    const MapPolicy p = policy_ok({flag, "", ""});
    CHECK(p.map_by == level);
    CHECK(p.rank_by == level);
    CHECK(p.ppr == 0);
  }
  CHECK(map_by_name(policy_ok({"socket", "", ""})) == "package");
}

TEST_CASE("map policy: ppr:N:object caps each object at N and ranks by slot", "[map_policy]") {
  const std::vector<std::pair<std::string, Level>> forms = {{"ppr:1:core", Level::kCore},
                                                            {"ppr:2:numa", Level::kNuma},
                                                            {"ppr:4:package", Level::kPackage},
                                                            {"ppr:4:socket", Level::kPackage},
                                                            {"ppr:1000000:core", Level::kCore}};
  for (const auto& [flag, level] : forms) {
    INFO("--map-by " << flag);
    const MapPolicy p = policy_ok({flag, "", ""});
    CHECK(p.ppr == std::stoi(flag.substr(4)));
    CHECK(p.ppr_level == level);
    CHECK(p.map_by == level);
    CHECK(p.rank_by == Level::kSlot);
  }
  CHECK(map_by_name(policy_ok({"ppr:4:socket", "", ""})) == "ppr:4:package");
}

TEST_CASE("map policy: --rank-by overrides the map-by object", "[map_policy]") {
  for (const auto& [flag, level] : kObjects) {
    INFO("--rank-by " << flag);
    CHECK(policy_ok({"", flag, ""}).rank_by == level);
    CHECK(policy_ok({"ppr:2:core", flag, ""}).rank_by == level);
    CHECK(policy_ok({"numa", flag, ""}).map_by == Level::kNuma);
  }
}

TEST_CASE("map policy: --bind-to takes none, core, numa, package and socket", "[map_policy]") {
  const std::vector<std::pair<std::string, Bind>> forms = {{"none", Bind::kNone},
                                                           {"core", Bind::kCore},
                                                           {"numa", Bind::kNuma},
                                                           {"package", Bind::kPackage},
                                                           {"socket", Bind::kPackage}};
  for (const auto& [flag, bind] : forms) {
    INFO("--bind-to " << flag);
    CHECK(policy_ok({"", "", flag}).bind_to == bind);
  }
  CHECK(bind_name(Bind::kPackage) == "package");
}

TEST_CASE("map policy: each bad --map-by form names the flag, what it takes and what was given",
          "[map_policy]") {
  const std::vector<std::string> bad = {"x",
                                        "hwthread",
                                        "Slot",
                                        "ppr",
                                        "ppr:",
                                        "ppr:2",
                                        "ppr:2:",
                                        "ppr::core",
                                        "ppr:0:core",
                                        "ppr:-1:core",
                                        "ppr:x:core",
                                        "ppr:2x:core",
                                        "ppr:2:slot",
                                        "ppr:2:node",
                                        "ppr:2:hwthread",
                                        "ppr:1000001:core",
                                        "ppr:2:core:1",
                                        " core"};
  for (const std::string& flag : bad) {
    INFO("--map-by '" << flag << "'");
    CHECK(policy_error({flag, "", ""}) ==
          "--map-by: expected slot, node, core, numa, package or ppr:N:core|numa|package, "
          "found '" +
              flag + "'");
  }
}

TEST_CASE("map policy: a bad --rank-by or --bind-to names the flag and what it takes",
          "[map_policy]") {
  for (const std::string flag : {"x", "ppr:2:core", "hwthread", "CORE"}) {
    INFO("--rank-by " << flag);
    CHECK(policy_error({"", flag, ""}) ==
          "--rank-by: expected slot, node, core, numa or package, found '" + flag + "'");
  }
  for (const std::string flag : {"x", "slot", "node", "hwthread", "Core"}) {
    INFO("--bind-to " << flag);
    CHECK(policy_error({"", "", flag}) ==
          "--bind-to: expected none, core, numa or package, found '" + flag + "'");
  }
  // The first bad flag is the one told.
  CHECK(policy_error({"x", "y", "z"}).starts_with("--map-by: "));
}

TEST_CASE("map policy: the names the plan prints parse back to the same policy", "[map_policy]") {
  for (const std::string map_by : {"slot", "node", "core", "numa", "socket", "ppr:3:numa"}) {
    for (const std::string bind_to : {"none", "core", "numa", "socket"}) {
      INFO(map_by << " " << bind_to);
      const MapPolicy p = policy_ok({map_by, "numa", bind_to});
      const MapPolicy again = policy_ok({map_by_name(p), "numa", bind_name(p.bind_to)});
      CHECK(same(p, again));
    }
  }
}

}  // namespace
