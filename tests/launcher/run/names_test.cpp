// Names and addresses of a run (launcher/run/names.hpp).
#include "launcher/run/names.hpp"

#include <catch2/catch.hpp>
#include <set>

namespace jobset::launcher {
namespace {

TEST_CASE("names: simulated nodes get distinct loopback addresses of their run", "[names]") {
  std::vector<std::string> a = simulated_addresses(252, 7);
  CHECK(a[0] == "127.7.0.1");
  CHECK(a[1] == "127.7.0.2");
  CHECK(a[249] == "127.7.0.250");
  CHECK(a[250] == "127.7.1.1");
  CHECK(std::set<std::string>(a.begin(), a.end()).size() == a.size());
}

TEST_CASE("names: nsswitch.conf enables the module only on a hosts line naming jobset", "[names]") {
  CHECK(nsswitch_uses_jobset("passwd: files\nhosts: files jobset dns\n"));
  CHECK(nsswitch_uses_jobset("hosts:\tfiles [NOTFOUND=return] jobset"));
  CHECK_FALSE(nsswitch_uses_jobset("hosts: files dns\n# hosts: files jobset\n"));
  CHECK_FALSE(nsswitch_uses_jobset("hosts: files jobsets dns\n"));
  CHECK_FALSE(nsswitch_uses_jobset("networks: jobset\n"));
  CHECK_FALSE(nsswitch_uses_jobset(""));
}

}  // namespace
}  // namespace jobset::launcher
