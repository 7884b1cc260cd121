// Tests for the text node sources (launcher/nodes/hostfile.hpp): hostfile, --host,
// --nodes/--slots and this machine.
#include "launcher/nodes/hostfile.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

namespace {

using jobset::Result;
using jobset::launcher::local_cluster;
using jobset::launcher::parse_host_list;
using jobset::launcher::parse_hostfile;
using jobset::launcher::synthetic_cluster;
using jobset::topology::Cluster;
using jobset::topology::Node;

// The message of the error parsing `text` as nodes.txt gives.
std::string hostfile_error(const std::string& text) {
  Result<Cluster> r = parse_hostfile(text, "nodes.txt");
  REQUIRE_FALSE(r.ok());
  return r.error().message();
}

Cluster hostfile_ok(const std::string& text) {
  Result<Cluster> r = parse_hostfile(text, "nodes.txt");
  if (!r.ok()) FAIL(r.error().message());
  return *r;
}

// parse_host_list leaves naming the flag to its caller.
std::string host_list_error(const std::string& spec) {
  Result<Cluster> r = parse_host_list(spec);
  REQUIRE_FALSE(r.ok());
  return r.error().message();
}

// --- hostfile: what it accepts -------------------------------------------

TEST_CASE("hostfile: every field of a line is read", "[hostfile]") {
  Cluster c = hostfile_ok("node01 slots=4 gpus=2 tpus=8 rack=r1 zone=z-2\nnode02\n");
  REQUIRE(c.nodes.size() == 2);
  CHECK(c.nodes[0] == Node{"node01", 4, 2, 8, {{"rack", "r1"}, {"zone", "z-2"}}});
  CHECK(c.nodes[1] == Node{"node02", 1, 0, 0, {}});
  CHECK(c.total_slots() == 5);
}

TEST_CASE("hostfile: label keys may hold '/', '.', '-' and '_'; values may be empty",
          "[hostfile]") {
  Cluster c = hostfile_ok(
      "tpu-a cloud.google.com/gke-nodepool=pool-a kubernetes.io/host_name=tpu-a "
      "empty=\n");
  REQUIRE(c.nodes.size() == 1);
  CHECK(c.nodes[0].labels ==
        std::map<std::string, std::string>{{"cloud.google.com/gke-nodepool", "pool-a"},
                                           {"kubernetes.io/host_name", "tpu-a"},
                                           {"empty", ""}});
}

TEST_CASE("hostfile: '#' starts a comment anywhere and blank lines are skipped", "[hostfile]") {
  Cluster c = hostfile_ok(
      "# the rack\n"
      "\n"
      "   \t \n"
      "a slots=2 # two slots\n"
      "b#no space before the comment\n"
      "c slots=3#rack=ignored\n"
      "  # indented comment\n");
  REQUIRE(c.nodes.size() == 3);
  CHECK(c.nodes[0] == Node{"a", 2, 0, 0, {}});
  CHECK(c.nodes[1] == Node{"b", 1, 0, 0, {}});
  CHECK(c.nodes[2] == Node{"c", 3, 0, 0, {}});
}

TEST_CASE("hostfile: Windows line endings work, in values and in error positions", "[hostfile]") {
  Cluster c = hostfile_ok("a slots=2\r\nb rack=r1\r\n\r\n# c\r\nc\r\n");
  REQUIRE(c.nodes.size() == 3);
  CHECK(c.nodes[0].slots == 2);
  CHECK(c.nodes[1].labels.at("rack") == "r1");
  CHECK(c.nodes[2].name == "c");
  CHECK(hostfile_error("a\r\nb slots=x\r\n") ==
        "nodes.txt:2:9: slots: expected a positive integer, found 'x'");
}

TEST_CASE("hostfile: tabs separate fields and count as one column", "[hostfile]") {
  Cluster c = hostfile_ok("\ta\tslots=2\t\tgpus=1\n");
  CHECK(c.nodes.at(0) == Node{"a", 2, 1, 0, {}});
  CHECK(hostfile_error("a\tslots=x") ==
        "nodes.txt:1:9: slots: expected a positive integer, found 'x'");
}

TEST_CASE("hostfile: a last line without a newline and a UTF-8 byte order mark are fine",
          "[hostfile]") {
  Cluster c = hostfile_ok(
      "\xEF\xBB\xBF"
      "a slots=2\nb");
  REQUIRE(c.nodes.size() == 2);
  CHECK(c.nodes[0].name == "a");
  CHECK(c.nodes[1].name == "b");
}

TEST_CASE("hostfile: Open MPI's max_slots and max-slots are accepted and ignored", "[hostfile]") {
  Cluster c = hostfile_ok("a slots=2 max_slots=8\nb max-slots=4\n");
  CHECK(c.nodes.at(0) == Node{"a", 2, 0, 0, {}});
  CHECK(c.nodes.at(1) == Node{"b", 1, 0, 0, {}});
  CHECK(hostfile_error("a max_slots=lots") ==
        "nodes.txt:1:13: max_slots: expected a non-negative integer, found 'lots'");
}

TEST_CASE("hostfile: IPv4 addresses, digits and underscores are valid host names", "[hostfile]") {
  Cluster c = hostfile_ok("10.0.0.1\n123\nnode_7.cluster.local\n");
  REQUIRE(c.nodes.size() == 3);
  CHECK(c.nodes[2].name == "node_7.cluster.local");
}

TEST_CASE("hostfile: slots up to 2^31-1 and gpus=0 are accepted", "[hostfile]") {
  Cluster c = hostfile_ok("a slots=2147483647 gpus=0 tpus=0\n");
  CHECK(c.nodes.at(0).slots == 2147483647);
}

TEST_CASE("hostfile: cpus and memory give the cores and bytes, unknown (0) by default",
          "[hostfile]") {
  Cluster c = hostfile_ok("a cpus=64 memory=512G\nb memory=64GiB\nc memory=4096 cpus=0\nd\n");
  CHECK(c.nodes.at(0) == Node{"a", 1, 0, 0, {}, 64, int64_t{512} << 30});
  CHECK(c.nodes.at(1).memory == int64_t{64} << 30);
  CHECK(c.nodes.at(2).memory == 4096);
  CHECK(c.nodes.at(2).cpus == 0);
  CHECK(c.nodes.at(3) == Node{"d", 1, 0, 0, {}});
  CHECK(c.nodes.at(0).labels.empty());  // keys, not labels
}

TEST_CASE("hostfile: bad cpus and memory values name the field and column", "[hostfile]") {
  CHECK(hostfile_error("a cpus=x") ==
        "nodes.txt:1:8: cpus: expected a non-negative integer, found 'x'");
  CHECK(hostfile_error("a slots=2 memory=1.5G") ==
        "nodes.txt:1:18: memory: expected a size like 512G, 64GiB or a byte count, found '1.5G'");
  CHECK(hostfile_error("a memory=") ==
        "nodes.txt:1:10: memory: expected a size like 512G, 64GiB or a byte count, found nothing");
  CHECK(hostfile_error("a memory=16E") ==
        "nodes.txt:1:10: memory: expected a size below 8 EiB, found '16E'");
  CHECK(hostfile_error("a memory=1G memory=2G") ==
        "nodes.txt:1:13: 'memory' is given twice on this line (first at column 3)");
}

// --- hostfile: errors name the file, line and column ------------------------

TEST_CASE("hostfile: a bad slots value names the line and column", "[hostfile]") {
  CHECK(hostfile_error("# nodes\nnode0\nnode01 slots=x\n") ==
        "nodes.txt:3:14: slots: expected a positive integer, found 'x'");
  CHECK(hostfile_error("a slots=0") ==
        "nodes.txt:1:9: slots: expected a positive integer, found '0'");
  CHECK(hostfile_error("a slots=-1") ==
        "nodes.txt:1:9: slots: expected a positive integer, found '-1'");
  CHECK(hostfile_error("a slots=") ==
        "nodes.txt:1:9: slots: expected a positive integer, found nothing");
  CHECK(hostfile_error("a slots=4x") ==
        "nodes.txt:1:9: slots: expected a positive integer, found '4x'");
}

TEST_CASE("hostfile: slots above 2^31-1 are rejected, however many digits", "[hostfile]") {
  CHECK(hostfile_error("a slots=2147483648") ==
        "nodes.txt:1:9: slots: expected at most 2147483647, found '2147483648'");
  CHECK(hostfile_error("a slots=99999999999999999999999999") ==
        "nodes.txt:1:9: slots: expected at most 2147483647, found '99999999999999999999999999'");
}

TEST_CASE("hostfile: bad gpus and tpus values name the field", "[hostfile]") {
  CHECK(hostfile_error("a gpus=x") ==
        "nodes.txt:1:8: gpus: expected a non-negative integer, found 'x'");
  CHECK(hostfile_error("a slots=2 tpus=-4") ==
        "nodes.txt:1:16: tpus: expected a non-negative integer, found '-4'");
  CHECK(hostfile_error("a gpus=3000000000") ==
        "nodes.txt:1:8: gpus: expected at most 2147483647, found '3000000000'");
}

TEST_CASE("hostfile: a node listed twice names both lines", "[hostfile]") {
  CHECK(hostfile_error("n0\nn1 slots=2\nn2\n# x\nn1 slots=4\n") ==
        "nodes.txt:5: node 'n1' is listed twice (first on line 2)");
}

TEST_CASE("hostfile: an invalid host name points at the offending character", "[hostfile]") {
  CHECK(hostfile_error("ok\nn@1 slots=2\n") ==
        "nodes.txt:2:2: host name: expected letters, digits, '-', '_' or '.', found '@' in 'n@1'");
  CHECK(hostfile_error("a\x01"
                       "b") ==
        "nodes.txt:1:2: host name: expected letters, digits, '-', '_' or '.', found '\\x01' in "
        "'a\\x01b'");
}

TEST_CASE("hostfile: host name parts must start and end with a letter or digit", "[hostfile]") {
  const std::string parts =
      "host name: expected dot-separated parts that start and end with a letter or digit, found ";
  CHECK(hostfile_error("-n1") == "nodes.txt:1:1: " + parts + "'-n1'");
  CHECK(hostfile_error("  a..b") == "nodes.txt:1:5: " + parts + "'a..b'");
  CHECK(hostfile_error("a.b.") == "nodes.txt:1:5: " + parts + "'a.b.'");
  CHECK(hostfile_error("x.n-") == "nodes.txt:1:3: " + parts + "'x.n-'");
}

TEST_CASE("hostfile: host names longer than DNS allows are rejected", "[hostfile]") {
  const std::string part64(64, 'a');
  CHECK(hostfile_error("x." + part64) ==
        "nodes.txt:1:3: host name: expected at most 63 characters between dots, found 64 in 'x." +
            part64 + "'");
  std::string long_name = std::string(63, 'a');
  for (int i = 0; i < 3; ++i) long_name += "." + std::string(63, 'b');  // 255 characters
  CHECK(hostfile_error(long_name) ==
        "nodes.txt:1:1: host name: expected at most 253 characters, found 255");
}

TEST_CASE("hostfile: a line that starts with key=value has no host name", "[hostfile]") {
  CHECK(hostfile_error("a\n  slots=4\n") ==
        "nodes.txt:2:3: expected a host name first, found 'slots=4'");
}

TEST_CASE("hostfile: a label without '=' is rejected", "[hostfile]") {
  CHECK(hostfile_error("n1 slots=2 rack1") ==
        "nodes.txt:1:12: label: expected key=value, found 'rack1'");
  CHECK(hostfile_error("n1 slots = 2") ==
        "nodes.txt:1:4: label: expected key=value, found 'slots' (no spaces around '=')");
}

TEST_CASE("hostfile: a label with an empty or malformed key is rejected", "[hostfile]") {
  CHECK(hostfile_error("n1 =pool-a") ==
        "nodes.txt:1:4: label: expected a key before '=', found nothing");
  CHECK(hostfile_error("n1 ra!ck=1") ==
        "nodes.txt:1:6: label key: expected letters, digits, '-', '_', '.' or '/', found '!' in "
        "'ra!ck'");
  CHECK(hostfile_error("n1 a/b/c=1") ==
        "nodes.txt:1:7: label key: expected at most one '/', found 'a/b/c'");
}

TEST_CASE("hostfile: a field given twice on one line is rejected", "[hostfile]") {
  CHECK(hostfile_error("n1 slots=2 slots=3") ==
        "nodes.txt:1:12: 'slots' is given twice on this line (first at column 4)");
  CHECK(hostfile_error("n1 rack=a gpus=1 rack=b") ==
        "nodes.txt:1:18: 'rack' is given twice on this line (first at column 4)");
}

TEST_CASE("hostfile: a file without nodes is an error", "[hostfile]") {
  CHECK(hostfile_error("") == "nodes.txt: expected at least one node, found an empty file");
  CHECK(hostfile_error("\n \r\n\t\n") ==
        "nodes.txt: expected at least one node, found an empty file");
  CHECK(hostfile_error("# nothing yet\n\n   # still nothing\n") ==
        "nodes.txt: expected at least one node, found only comments and blank lines");
}

TEST_CASE("hostfile: only the first error is reported", "[hostfile]") {
  CHECK(hostfile_error("a slots=x gpus=y\nb@\n") ==
        "nodes.txt:1:9: slots: expected a positive integer, found 'x'");
}

TEST_CASE("hostfile: without a file name, messages say <hostfile>", "[hostfile]") {
  Result<Cluster> r = parse_hostfile("a slots=x", "");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message() == "<hostfile>:1:9: slots: expected a positive integer, found 'x'");
}

TEST_CASE("hostfile: a million nodes are accepted, one more is an error", "[hostfile][slow]") {
  std::string text;
  text.reserve(10'000'020);
  for (int i = 1; i <= 1'000'000; ++i) text += "n" + std::to_string(i) + "\n";
  {
    Result<Cluster> r = parse_hostfile(text, "big.txt");
    REQUIRE(r.ok());
    CHECK(r->nodes.size() == 1'000'000);
    CHECK(r->nodes.back().name == "n1000000");
  }  // freed before the next parse: this test is big enough
  text += "# one more\nn0\n";
  Result<Cluster> over = parse_hostfile(text, "big.txt");
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().message() == "big.txt:1000002: too many nodes: expected at most 1000000");
}

// --- --host ----------------------------------------------------------------

TEST_CASE("hostfile: a host list has name:slots entries, 1 slot by default", "[hostfile]") {
  Result<Cluster> r = parse_host_list("a:4,b,c.example.org:2");
  REQUIRE(r.ok());
  REQUIRE(r->nodes.size() == 3);
  CHECK(r->nodes[0] == Node{"a", 4, 0, 0, {}});
  CHECK(r->nodes[1] == Node{"b", 1, 0, 0, {}});
  CHECK(r->nodes[2] == Node{"c.example.org", 2, 0, 0, {}});
}

TEST_CASE("hostfile: a host given twice in a host list adds its slots and keeps its first place",
          "[hostfile]") {
  Result<Cluster> r = parse_host_list("a:2,b,a:3,a");
  REQUIRE(r.ok());
  REQUIRE(r->nodes.size() == 2);
  CHECK(r->nodes[0] == Node{"a", 6, 0, 0, {}});
  CHECK(r->nodes[1] == Node{"b", 1, 0, 0, {}});
}

TEST_CASE("hostfile: spaces around host list entries are ignored", "[hostfile]") {
  Result<Cluster> r = parse_host_list(" a:2 , b ");
  REQUIRE(r.ok());
  CHECK(r->nodes.at(1).name == "b");
}

TEST_CASE("hostfile: empty host lists and empty host list entries are rejected", "[hostfile]") {
  CHECK(host_list_error("") == "expected name[:slots], found nothing");
  CHECK(host_list_error(" ") == "expected name[:slots], found nothing");
  CHECK(host_list_error("a,,b") == "entry 2: expected name[:slots], found nothing");
  CHECK(host_list_error("a,b,") == "entry 3: expected name[:slots], found nothing");
  CHECK(host_list_error(":4") == "entry 1 ':4': expected a host name before ':'");
}

TEST_CASE("hostfile: bad slots and bad names in a host list name the entry", "[hostfile]") {
  CHECK(host_list_error("a:4,b:x") ==
        "entry 2 'b:x': slots: expected a positive integer, found 'x'");
  CHECK(host_list_error("a:0") == "entry 1 'a:0': slots: expected a positive integer, found '0'");
  CHECK(host_list_error("a:") == "entry 1 'a:': slots: expected a positive integer, found nothing");
  CHECK(host_list_error("a:1:2") ==
        "entry 1 'a:1:2': slots: expected a positive integer, found '1:2'");
  CHECK(host_list_error("n@1:2") ==
        "entry 1 'n@1:2': host name: expected letters, digits, '-', '_' or '.', found "
        "'@' in 'n@1'");
}

TEST_CASE("hostfile: the slots of a host repeated in a host list may not add up past 2^31-1",
          "[hostfile]") {
  CHECK(parse_host_list("a:2147483646,a:1").ok());
  CHECK(host_list_error("a:2147483647,a:1") ==
        "entry 2 'a:1': slots of 'a' add up to 2147483648, expected at most 2147483647");
}

// --- --nodes / --slots -----------------------------------------------------

TEST_CASE("hostfile: synthetic node names are zero-padded to the width of the count",
          "[hostfile]") {
  Result<Cluster> sixteen = synthetic_cluster(16, 4);
  REQUIRE(sixteen.ok());
  REQUIRE(sixteen->nodes.size() == 16);
  CHECK(sixteen->nodes[0] == Node{"n01", 4, 0, 0, {}});
  CHECK(sixteen->nodes[15].name == "n16");
  CHECK(sixteen->total_slots() == 64);

  Result<Cluster> eight = synthetic_cluster(8, 1);
  REQUIRE(eight.ok());
  CHECK(eight->nodes.front().name == "n1");
  CHECK(eight->nodes.back().name == "n8");

  Result<Cluster> hundred = synthetic_cluster(100, 2);
  REQUIRE(hundred.ok());
  CHECK(hundred->nodes[8].name == "n009");
  CHECK(hundred->nodes[99].name == "n100");
}

TEST_CASE("hostfile: synthetic node and slot counts out of range are rejected with the flag's name",
          "[hostfile]") {
  auto error = [](int64_t nodes, int64_t slots) {
    Result<Cluster> r = synthetic_cluster(nodes, slots);
    REQUIRE_FALSE(r.ok());
    return r.error().message();
  };
  CHECK(error(0, 4) == "--nodes: expected a positive integer, found 0");
  CHECK(error(-2, 4) == "--nodes: expected a positive integer, found -2");
  CHECK(error(1'000'001, 1) == "--nodes: expected at most 1000000, found 1000001");
  CHECK(error(4, 0) == "--slots: expected a positive integer, found 0");
  CHECK(error(4, 2147483648) == "--slots: expected at most 2147483647, found 2147483648");
}

// --- this machine ----------------------------------------------------------

TEST_CASE(
    "hostfile: the local cluster is this machine, one node named by its host name, one slot per "
    "CPU",
    "[hostfile]") {
  char name[256] = {};
  REQUIRE(gethostname(name, sizeof(name) - 1) == 0);
  Cluster c = local_cluster();
  REQUIRE(c.nodes.size() == 1);
  CHECK(c.nodes[0].name == name);
  CHECK(c.nodes[0].slots >= 1);
  if (std::thread::hardware_concurrency() > 0) {
    CHECK(c.nodes[0].slots == std::thread::hardware_concurrency());
  }
  CHECK(c.nodes[0].labels.empty());
}

}  // namespace
