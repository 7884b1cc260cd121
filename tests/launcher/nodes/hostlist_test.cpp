// Tests for hostlist expansion and the syntax shared by the node sources
// (launcher/nodes/hostlist.hpp). The expected expansions of Slurm's own syntax
// are what `scontrol show hostnames` (Slurm 22.05) prints.
#include "launcher/nodes/hostlist.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

using jobset::Result;
using jobset::launcher::check_host_name;
using jobset::launcher::check_label_key;
using jobset::launcher::expand_hostlist;
using jobset::launcher::parse_size;
using Names = std::vector<std::string>;

Names expand_ok(const std::string& expression) {
  Result<Names> r = expand_hostlist(expression);
  if (!r.ok()) FAIL(r.error().message());
  return *r;
}

std::string expand_error(const std::string& expression, int64_t max_names = 1'000'000) {
  Result<Names> r = expand_hostlist(expression, max_names);
  REQUIRE_FALSE(r.ok());
  return r.error().message();
}

int64_t size_ok(const std::string& text) {
  Result<int64_t> r = parse_size(text);
  if (!r.ok()) FAIL(r.error().message());
  return *r;
}

std::string size_error(const std::string& text) {
  Result<int64_t> r = parse_size(text);
  REQUIRE_FALSE(r.ok());
  return r.error().message();
}

TEST_CASE("hostlist: Slurm's syntax expands as scontrol show hostnames does", "[hostlist]") {
  struct Case {
    std::string expression;
    Names names;
  };
  const std::vector<Case> cases = {
      {"n1", {"n1"}},
      {"n[01-04,07]", {"n01", "n02", "n03", "n04", "n07"}},
      {"n[08-10]", {"n08", "n09", "n10"}},
      {"n[1-010]", {"n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10"}},
      {"n[01-02,7]", {"n01", "n02", "n7"}},
      {"n[0-2]", {"n0", "n1", "n2"}},
      {"n[7,3]", {"n7", "n3"}},
      {"a,b[1-2]", {"a", "b1", "b2"}},
      {"n[1-2],n1", {"n1", "n2", "n1"}},
      {"a[1-2]b[3-4]", {"a1b3", "a1b4", "a2b3", "a2b4"}},
      {"[1-2]", {"1", "2"}},
      {"node-001.cluster", {"node-001.cluster"}},
  };
  for (const Case& c : cases) {
    INFO(c.expression);
    CHECK(expand_ok(c.expression) == c.names);
  }
}

TEST_CASE("hostlist: words in brackets and text after a group work too (beyond Slurm)",
          "[hostlist]") {
  CHECK(expand_ok("gpu-[1-2]-[a,b]") == Names{"gpu-1-a", "gpu-1-b", "gpu-2-a", "gpu-2-b"});
  CHECK(expand_ok("n[1-2]x") == Names{"n1x", "n2x"});
  CHECK(expand_ok("r[1-2]n[01-02].ib") == Names{"r1n01.ib", "r1n02.ib", "r2n01.ib", "r2n02.ib"});
  CHECK(expand_ok("tpu-[v4_a,v5.e]") == Names{"tpu-v4_a", "tpu-v5.e"});
}

TEST_CASE("hostlist: a bad entry is named with what was expected", "[hostlist]") {
  CHECK(expand_error("n[3-1]") == "entry 'n[3-1]': range end below start");
  CHECK(expand_error("a,n[1-2") == "entry 'n[1-2': '[' without ']'");
  CHECK(expand_error("n1-2]") == "entry 'n1-2]': ']' without '['");
  CHECK(expand_error("n[1[2]]") == "entry 'n[1[2]]': '[' inside brackets");
  CHECK(expand_error("n[]") ==
        "entry 'n[]': expected a number, a range lo-hi or a word in brackets, found nothing");
  CHECK(expand_error("n[1,]") ==
        "entry 'n[1,]': expected a number, a range lo-hi or a word in brackets, found nothing");
  CHECK(expand_error("n[a-c]") ==
        "entry 'n[a-c]': expected a number, a range lo-hi or a word in brackets, found 'a-c'");
  CHECK(expand_error("n[1-]") ==
        "entry 'n[1-]': expected a number, a range lo-hi or a word in brackets, found '1-'");
  CHECK(expand_error("n[x y]") ==
        "entry 'n[x y]': expected a number, a range lo-hi or a word in brackets, found 'x y'");
  CHECK(expand_error("n[1-1234567890123456789]") ==
        "entry 'n[1-1234567890123456789]': expected numbers of at most 18 digits, found "
        "'1-1234567890123456789'");
}

TEST_CASE("hostlist: empty entries are errors, not skipped", "[hostlist]") {
  CHECK(expand_error("") == "entry 1: expected a name, found nothing");
  CHECK(expand_error("a,,b") == "entry 2: expected a name, found nothing");
  CHECK(expand_error("a,") == "entry 2: expected a name, found nothing");
}

TEST_CASE("hostlist: the name cap is checked before anything is built", "[hostlist]") {
  CHECK(expand_error("n[1-999999999999999999]") ==
        "entry 'n[1-999999999999999999]': too many names: expected at most 1000000 in all");
  CHECK(expand_error("a[1-1000000]b[1-1000000]c[1-1000000]") ==
        "entry 'a[1-1000000]b[1-1000000]c[1-1000000]': too many names: expected at most "
        "1000000 in all");
  CHECK(expand_error("a[1-3],b[1-3]", 5) ==
        "entry 'b[1-3]': too many names: expected at most 5 in all");
  CHECK(expand_hostlist("a[1-3],b[1-2]", 5).ok());
}

TEST_CASE("hostlist: a million names expand", "[hostlist]") {
  Names names = expand_ok("n[0000001-1000000]");
  REQUIRE(names.size() == 1'000'000);
  CHECK(names.front() == "n0000001");
  CHECK(names.back() == "n1000000");
}

TEST_CASE("hostlist: sizes take binary units with optional i and B", "[hostlist]") {
  CHECK(size_ok("0") == 0);
  CHECK(size_ok("4096") == 4096);
  CHECK(size_ok("100B") == 100);
  CHECK(size_ok("1K") == 1024);
  CHECK(size_ok("8Mi") == 8 << 20);
  CHECK(size_ok("512G") == int64_t{512} << 30);
  CHECK(size_ok("64GiB") == int64_t{64} << 30);
  CHECK(size_ok("16gb") == int64_t{16} << 30);
  CHECK(size_ok("2T") == int64_t{2} << 40);
  CHECK(size_ok("3PB") == int64_t{3} << 50);
  CHECK(size_ok("7E") == int64_t{7} << 60);
  CHECK(size_ok("0009223372036854775807") == INT64_MAX);
}

TEST_CASE("hostlist: bad sizes say what was expected", "[hostlist]") {
  const std::string expected = "expected a size like 512G, 64GiB or a byte count, found ";
  CHECK(size_error("") == expected + "nothing");
  CHECK(size_error("G") == expected + "'G'");
  CHECK(size_error("1.5G") == expected + "'1.5G'");
  CHECK(size_error("-1") == expected + "'-1'");
  CHECK(size_error("1 G") == expected + "'1 G'");
  CHECK(size_error("1X") == expected + "'1X'");
  CHECK(size_error("1iB") == expected + "'1iB'");
  CHECK(size_error("1KBB") == expected + "'1KBB'");
  CHECK(size_error("8E") == "expected a size below 8 EiB, found '8E'");
  CHECK(size_error("9223372036854775808") ==
        "expected a size below 8 EiB, found '9223372036854775808'");
  CHECK(size_error("99999999999999999999999T") ==
        "expected a size below 8 EiB, found '99999999999999999999999T'");
}

TEST_CASE("hostlist: host names and label keys are checked with the offending offset",
          "[hostlist]") {
  CHECK_FALSE(check_host_name("node-01.example_1"));
  auto bad = check_host_name("a b");
  REQUIRE(bad);
  CHECK(bad->offset == 1);
  CHECK(bad->message == "host name: expected letters, digits, '-', '_' or '.', found ' ' in 'a b'");
  CHECK(check_host_name("-a"));
  CHECK_FALSE(check_label_key("cloud.google.com/gke-nodepool"));
  auto two = check_label_key("a/b/c");
  REQUIRE(two);
  CHECK(two->offset == 3);
}

}  // namespace
