// Tests for rank-order packing (topology/pack.hpp) and the cluster model.
#include "topology/pack.hpp"

#include <catch2/catch.hpp>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "topology/cluster.hpp"

namespace Catch {
template <>
struct StringMaker<jobset::topology::Slot> {
  static std::string convert(const jobset::topology::Slot& s) {
    return "{" + std::to_string(s.node) + ", " + std::to_string(s.slot) + "}";
  }
};
}  // namespace Catch

namespace {

using jobset::topology::Cluster;
using jobset::topology::Node;
using jobset::topology::pack_by_slot;
using jobset::topology::Slot;

Cluster make_cluster(const std::vector<std::pair<std::string, int64_t>>& nodes) {
  Cluster c;
  for (const auto& [name, slots] : nodes) {
    Node n;
    n.name = name;
    n.slots = slots;
    c.nodes.push_back(n);
  }
  return c;
}

std::string error_of(const jobset::Result<std::vector<Slot>>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error().message();
}

TEST_CASE("pack: processes fill node 0's slots, then node 1's, in rank order", "[topology]") {
  auto r = pack_by_slot(make_cluster({{"a", 2}, {"b", 3}, {"c", 1}}), {1, 1, 1, 1, 1, 1});
  REQUIRE(r.ok());
  CHECK(*r == std::vector<Slot>{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {1, 2}, {2, 0}});
}

TEST_CASE("pack: an exact fit uses every slot", "[topology]") {
  auto r = pack_by_slot(make_cluster({{"node01", 4}, {"node02", 4}}), std::vector<int64_t>(8, 1));
  REQUIRE(r.ok());
  REQUIRE(r->size() == 8);
  CHECK(r->front() == Slot{0, 0});
  CHECK((*r)[4] == Slot{1, 0});
  CHECK(r->back() == Slot{1, 3});
}

TEST_CASE("pack: one process over the slots fails and says what is needed and what exists",
          "[topology]") {
  const Cluster c = make_cluster({{"node01", 4}, {"node02", 4}});
  CHECK(error_of(pack_by_slot(c, std::vector<int64_t>(9, 1))) ==
        "needs 9 slots, the 2 nodes have 8 (node01: 4, node02: 4)");
  CHECK(error_of(pack_by_slot(c, std::vector<int64_t>(12, 1))) ==
        "needs 12 slots, the 2 nodes have 8 (node01: 4, node02: 4)");
}

TEST_CASE("pack: a one-node cluster is described in the singular", "[topology]") {
  CHECK(error_of(pack_by_slot(make_cluster({{"solo", 1}}), {1, 1})) ==
        "needs 2 slots, the 1 node has 1 (solo: 1)");
}

TEST_CASE("pack: the error lists at most 8 nodes, then '...'", "[topology]") {
  Cluster c;
  for (int i = 1; i <= 10; ++i) c.nodes.push_back(Node{"n" + std::to_string(i), 1, 0, 0, {}});
  CHECK(error_of(pack_by_slot(c, std::vector<int64_t>(11, 1))) ==
        "needs 11 slots, the 10 nodes have 10 (n1: 1, n2: 1, n3: 1, n4: 1, n5: 1, n6: 1, n7: 1, "
        "n8: 1, ...)");
}

TEST_CASE("pack: a process needing several slots gets them all on one node", "[topology]") {
  auto r = pack_by_slot(make_cluster({{"a", 4}, {"b", 4}}), {2, 1, 1, 3, 1});
  REQUIRE(r.ok());
  CHECK(*r == std::vector<Slot>{{0, 0}, {0, 2}, {0, 3}, {1, 0}, {1, 3}});
}

TEST_CASE("pack: the rest of a node too small for the next process stays empty", "[topology]") {
  auto r = pack_by_slot(make_cluster({{"a", 3}, {"b", 3}, {"c", 3}}), {2, 2, 1, 1});
  REQUIRE(r.ok());
  // Rank 2 does not go back to node a's free slot: packing is in rank order.
  CHECK(*r == std::vector<Slot>{{0, 0}, {1, 0}, {1, 2}, {2, 0}});
}

TEST_CASE("pack: slots split across nodes by rank order are explained", "[topology]") {
  CHECK(error_of(pack_by_slot(make_cluster({{"a", 3}, {"b", 3}}), {2, 2, 2})) ==
        "needs 6 slots, the 2 nodes have 6 (a: 3, b: 3), but packed in rank order rank 2 "
        "(2 slots on one node) does not fit in what is left");
}

TEST_CASE("pack: a process larger than every node names the largest node", "[topology]") {
  CHECK(error_of(pack_by_slot(make_cluster({{"a", 2}, {"b", 4}, {"c", 4}}), {1, 5})) ==
        "needs 5 slots on one node for rank 1, the largest node has 4 (b)");
}

TEST_CASE("pack: zero processes always fit, even on no nodes", "[topology]") {
  auto r = pack_by_slot(make_cluster({{"a", 1}}), {});
  REQUIRE(r.ok());
  CHECK(r->empty());
  auto none = pack_by_slot(Cluster{}, {});
  REQUIRE(none.ok());
  CHECK(none->empty());
}

TEST_CASE("pack: processes and no nodes say there are no nodes", "[topology]") {
  CHECK(error_of(pack_by_slot(Cluster{}, {1})) == "needs 1 slot, there are no nodes");
}

TEST_CASE("pack: a process asking for fewer than 1 slot is rejected with its rank", "[topology]") {
  const Cluster c = make_cluster({{"a", 4}});
  CHECK(error_of(pack_by_slot(c, {1, 0})) ==
        "needs at least 1 slot per process, found 0 for rank 1");
  CHECK(error_of(pack_by_slot(c, {-3})) ==
        "needs at least 1 slot per process, found -3 for rank 0");
  // Bad input is reported before "does not fit".
  CHECK(error_of(pack_by_slot(c, {4, 4, 0})) ==
        "needs at least 1 slot per process, found 0 for rank 2");
}

TEST_CASE("pack: nodes without slots are skipped", "[topology]") {
  auto r = pack_by_slot(make_cluster({{"a", 0}, {"b", 2}, {"c", -1}, {"d", 1}}), {1, 1, 1});
  REQUIRE(r.ok());
  CHECK(*r == std::vector<Slot>{{1, 0}, {1, 1}, {3, 0}});
}

TEST_CASE("pack: a node with a million slots takes a million processes", "[topology]") {
  const Cluster c = make_cluster({{"big", 1'000'000}, {"next", 1}});
  auto r = pack_by_slot(c, std::vector<int64_t>(1'000'001, 1));
  REQUIRE(r.ok());
  CHECK((*r)[999'999] == Slot{0, 999'999});
  CHECK(r->back() == Slot{1, 0});
  auto whole = pack_by_slot(c, {1'000'000, 1});
  REQUIRE(whole.ok());
  CHECK(*whole == std::vector<Slot>{{0, 0}, {1, 0}});
}

TEST_CASE("pack: 100,000 processes on 1,000 nodes land in rank order", "[topology]") {
  Cluster c;
  for (int i = 0; i < 1000; ++i) c.nodes.push_back(Node{"n" + std::to_string(i), 100, 0, 0, {}});
  auto r = pack_by_slot(c, std::vector<int64_t>(100'000, 1));
  REQUIRE(r.ok());
  REQUIRE(r->size() == 100'000);
  for (size_t rank = 0; rank < r->size(); ++rank) {
    const Slot want{static_cast<int32_t>(rank / 100), static_cast<int32_t>(rank % 100)};
    if (!((*r)[rank] == want))
      FAIL("rank " << rank << " is at " << Catch::Detail::stringify((*r)[rank]));
  }
  CHECK_FALSE(pack_by_slot(c, std::vector<int64_t>(100'001, 1)).ok());
}

TEST_CASE("pack: slots beyond 2^31-1 on one node are not used", "[topology]") {
  const Cluster c = make_cluster({{"huge", int64_t{5'000'000'000}}});
  CHECK(error_of(pack_by_slot(c, {int64_t{3'000'000'000}})) ==
        "needs 3000000000 slots on one node for rank 0, the largest node has 2147483647 (huge)");
  auto r = pack_by_slot(c, {std::numeric_limits<int32_t>::max()});
  REQUIRE(r.ok());
  CHECK(*r == std::vector<Slot>{{0, 0}});
}

TEST_CASE("cluster: total slots ignore negative counts and saturate", "[topology]") {
  CHECK(make_cluster({{"a", 4}, {"b", -2}, {"c", 3}}).total_slots() == 7);
  CHECK(Cluster{}.total_slots() == 0);
  const int64_t max = std::numeric_limits<int64_t>::max();
  CHECK(make_cluster({{"a", max}, {"b", 1}}).total_slots() == max);
}

}  // namespace
