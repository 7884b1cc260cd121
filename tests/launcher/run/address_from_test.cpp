// Tests for --address-from (launcher/run/address_from.hpp): an interface
// name or an address block picks one of a host's addresses, and what
// cannot be found says what the host has.
#include "launcher/run/address_from.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

using jobset::launcher::Interface;
using jobset::launcher::pick_address;

const std::vector<Interface> kHost = {
    {"lo", "127.0.0.1", true},        {"lo", "::1", true},
    {"eth0", "fd00:1::5", false},     {"eth0", "10.1.2.3", false},
    {"ib0", "192.168.40.7", false},   {"ib0", "192.168.41.9", false},
};

TEST_CASE("address-from: an interface name gives its first IPv4 address, else its IPv6 one",
          "[address_from]") {
  CHECK(*pick_address(kHost, "eth0") == "10.1.2.3");
  CHECK(*pick_address(kHost, "ib0") == "192.168.40.7");
  CHECK(*pick_address({{"v6only", "fd00::9", false}}, "v6only") == "fd00::9");
}

TEST_CASE("address-from: a block gives the first address inside it", "[address_from]") {
  CHECK(*pick_address(kHost, "192.168.41.0/24") == "192.168.41.9");
  CHECK(*pick_address(kHost, "192.168.0.0/16") == "192.168.40.7");
  CHECK(*pick_address(kHost, "10.0.0.0/8") == "10.1.2.3");
  CHECK(*pick_address(kHost, "fd00::/8") == "fd00:1::5");
  CHECK(*pick_address(kHost, "0.0.0.0/0") == "127.0.0.1");
  CHECK(*pick_address(kHost, "10.1.2.3/32") == "10.1.2.3");
}

TEST_CASE("address-from: nothing found or a bad block says what was expected and what exists",
          "[address_from]") {
  auto none = pick_address(kHost, "eth9");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message() ==
        "--address-from eth9: no interface of that name has an address (this host has: lo "
        "127.0.0.1, lo ::1, eth0 fd00:1::5, eth0 10.1.2.3, ib0 192.168.40.7, ib0 192.168.41.9)");
  auto outside = pick_address(kHost, "172.16.0.0/12");
  REQUIRE_FALSE(outside.ok());
  CHECK(outside.error().message().find("no address of this host is inside that block") !=
        std::string::npos);
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "fd00::/129", "10.0.0.0/8x"}) {
    auto r = pick_address(kHost, bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message().find("expected an interface name or an address block") !=
          std::string::npos);
  }
}

}  // namespace
