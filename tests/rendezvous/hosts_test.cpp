// The hosts file: its text is deterministic and parses back to what was
// written, and replacing it is atomic: a reader sees the old file or the
// new one, never a part, and never a temporary left behind.
#include "rendezvous/hosts.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "tests/scratch.hpp"

using jobset::rdzv::HostEntry;
using jobset::rdzv::hosts_text;
using jobset::rdzv::parse_hosts;
using jobset::rdzv::write_hosts_file;
using jobset_test::Scratch;
using jobset_test::slurp;

namespace {

std::vector<HostEntry> sample() {
  return {
      {"10.0.0.2", "demo-workers-0-1.demo", "demo-workers-0-1"},
      {"10.0.0.1", "demo-workers-0-0.demo", "demo-workers-0-0"},
      {"fd00::17", "demo-driver-0-0.demo", "demo-driver-0-0"},
  };
}

std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("hosts: the text is /etc/hosts lines, address TAB fqdn name", "[hosts]") {
  CHECK(hosts_text(sample(), "jobset run demo\nattempt 0") ==
        "# jobset run demo\n"
        "# attempt 0\n"
        "fd00::17\tdemo-driver-0-0.demo demo-driver-0-0\n"
        "10.0.0.1\tdemo-workers-0-0.demo demo-workers-0-0\n"
        "10.0.0.2\tdemo-workers-0-1.demo demo-workers-0-1\n");
}

TEST_CASE("hosts: the fqdn is left out when empty or equal to the name", "[hosts]") {
  std::vector<HostEntry> e = {{"10.0.0.1", "", "a-r-0-0"}, {"10.0.0.2", "a-r-0-1", "a-r-0-1"}};
  CHECK(hosts_text(e, "") == "10.0.0.1\ta-r-0-0\n10.0.0.2\ta-r-0-1\n");
}

TEST_CASE("hosts: the order of the input does not change the text", "[hosts]") {
  std::vector<HostEntry> e = sample();
  e.push_back({"10.0.0.9", "", "demo-workers-0-0"});  // a name twice: address breaks the tie
  std::string first = hosts_text(e, "h");
  std::sort(e.begin(), e.end(),
            [](const HostEntry& a, const HostEntry& b) { return a.address < b.address; });
  do {
    CHECK(hosts_text(e, "h") == first);
  } while (std::next_permutation(e.begin(), e.end(), [](const HostEntry& a, const HostEntry& b) {
    return a.address < b.address;
  }));
}

TEST_CASE("hosts: entries that cannot be a hosts line are left out", "[hosts]") {
  std::vector<HostEntry> e = {
      {"10.0.0.1", "ok-r-0-0.s", "ok-r-0-0"},
      {"not-an-ip", "", "bad-r-0-0"},
      {"10.0.0.2", "", ""},
      {"10.0.0.3", "", "with space"},
      {"10.0.0.4", "x#y", "hash-r-0-0"},
      {"10.0.0.5", "new\nline", "nl-r-0-0"},
  };
  CHECK(hosts_text(e, "") == "10.0.0.1\tok-r-0-0.s ok-r-0-0\n");
  CHECK(jobset::rdzv::host_entry_problem(e[1]) ==
        "address 'not-an-ip' is not an IPv4 or IPv6 address");
  CHECK(jobset::rdzv::host_entry_problem(e[3]) == "name 'with space' contains whitespace");
}

TEST_CASE("hosts: parsing the text gives back the entries, sorted", "[hosts]") {
  std::vector<HostEntry> e = sample();
  auto parsed = parse_hosts(hosts_text(e, "a header\n\nwith a blank line"));
  REQUIRE(parsed.ok());
  std::sort(e.begin(), e.end(),
            [](const HostEntry& a, const HostEntry& b) { return a.name < b.name; });
  CHECK(*parsed == e);
}

TEST_CASE("hosts: parsing skips comments, blanks and CRLF, and reads one-name lines", "[hosts]") {
  auto parsed = parse_hosts(
      "# comment\n\n   \n10.0.0.1 a-r-0-0  # trailing comment\r\n"
      "  fd00::1\t\tb-r-0-0.s   b-r-0-0\n10.0.0.3 c-r-0-0");
  REQUIRE(parsed.ok());
  CHECK(*parsed == std::vector<HostEntry>{{"10.0.0.1", "", "a-r-0-0"},
                                          {"fd00::1", "b-r-0-0.s", "b-r-0-0"},
                                          {"10.0.0.3", "", "c-r-0-0"}});
}

TEST_CASE("hosts: a parse error names the line and the problem", "[hosts]") {
  auto bad_address = parse_hosts("10.0.0.1 a\n10.0.0.300 b\n");
  REQUIRE_FALSE(bad_address.ok());
  CHECK(bad_address.error().message() ==
        "hosts line 2: address '10.0.0.300' is not an IPv4 or IPv6 address");
  auto no_name = parse_hosts("# x\n\n10.0.0.1\n");
  REQUIRE_FALSE(no_name.ok());
  CHECK(no_name.error().message() ==
        "hosts line 3: expected 'address name' or 'address fqdn name', found 1 fields");
  CHECK_FALSE(parse_hosts("10.0.0.1 a b c\n").ok());
  CHECK_FALSE(parse_hosts(std::string("10.0.0.1 a\0b\n", 13)).ok());
}

TEST_CASE("hosts file: writing creates the file with mode 0644 whatever the umask", "[hosts]") {
  Scratch dir;
  std::string path = dir.path("hosts");
  mode_t old_umask = umask(077);
  jobset::Status st = write_hosts_file(path, "10.0.0.1\ta\n");
  umask(old_umask);
  REQUIRE(st.ok());
  CHECK(slurp(path) == "10.0.0.1\ta\n");
  struct stat sb {};
  REQUIRE(stat(path.c_str(), &sb) == 0);
  CHECK((sb.st_mode & 07777) == 0644);
  CHECK(files_in(dir.dir()) == std::vector<std::string>{"hosts"});
}

TEST_CASE("hosts file: a replace is a new inode; the old file stays whole until then", "[hosts]") {
  Scratch dir;
  std::string path = dir.path("hosts");
  REQUIRE(write_hosts_file(path, "10.0.0.1\told\n").ok());
  struct stat before {};
  REQUIRE(stat(path.c_str(), &before) == 0);
  std::ifstream old_reader(path);  // opened before the replace

  REQUIRE(write_hosts_file(path, "10.0.0.2\tnew\n").ok());
  struct stat after {};
  REQUIRE(stat(path.c_str(), &after) == 0);
  CHECK(after.st_ino != before.st_ino);
  std::string old_text((std::istreambuf_iterator<char>(old_reader)),
                       std::istreambuf_iterator<char>());
  CHECK(old_text == "10.0.0.1\told\n");
  CHECK(slurp(path) == "10.0.0.2\tnew\n");
  CHECK(files_in(dir.dir()) == std::vector<std::string>{"hosts"});
}

TEST_CASE("hosts file: a concurrent reader sees only whole files", "[hosts]") {
  Scratch dir;
  std::string path = dir.path("hosts");
  // Big enough that a plain rewrite would be read half done.
  std::string a, b;
  for (int i = 0; i < 20000; ++i) {
    a += "10.0.0.1\tname-a-0-" + std::to_string(i) + "\n";
    b += "10.0.0.2\tname-b-0-" + std::to_string(i) + "\n";
  }
  REQUIRE(write_hosts_file(path, a).ok());
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, torn{0};
  std::thread reader([&] {
    while (!done) {
      std::string seen = slurp(path);
      if (seen != a && seen != b) ++torn;
      ++reads;
    }
  });
  bool all_ok = true;
  for (int i = 0; i < 100; ++i) all_ok = all_ok && write_hosts_file(path, i % 2 ? a : b).ok();
  while (reads < 20) std::this_thread::yield();
  done = true;
  reader.join();
  CHECK(all_ok);
  CHECK(torn == 0);
  CHECK(files_in(dir.dir()) == std::vector<std::string>{"hosts"});
}

TEST_CASE("hosts file: a failed write says where and leaves nothing behind", "[hosts]") {
  Scratch dir;
  jobset::Status missing = write_hosts_file(dir.path("no/such/dir/hosts"), "x\n");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message(),
             Catch::StartsWith("write hosts file " + dir.path("no/such/dir/hosts") +
                               ": create temporary"));
  CHECK_THAT(missing.error().message(), Catch::EndsWith("No such file or directory"));

  // The path is a directory: the rename fails, the directory stays as it was.
  std::filesystem::create_directory(dir.dir() / "hosts");
  jobset::Status onto_dir = write_hosts_file(dir.path("hosts"), "10.0.0.1\ta\n");
  REQUIRE_FALSE(onto_dir.ok());
  CHECK_THAT(onto_dir.error().message(), Catch::Contains(": rename "));
  CHECK(files_in(dir.dir()) == std::vector<std::string>{"hosts"});
  CHECK(std::filesystem::is_directory(dir.dir() / "hosts"));
}
