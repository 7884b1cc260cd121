// The C ABI (include/jobset/rdzv.h) through a program written in C
// (c_abi_test.c) against the fake daemon: what it prints for each call.
#include <catch2/catch.hpp>

#include "tests/cli/cli_util.hpp"
#include "tests/rendezvous/fake_server.hpp"
#include "tests/skip.hpp"

using namespace rdzvtest;

namespace {

clitest::Run c_program(const std::string& env, const std::string& args) {
  return clitest::sh(env + " '" + JOBSET_BUILDDIR + "/tests/rdzv_c_abi_test' " + args);
}

}  // namespace

TEST_CASE("rdzv c: every function works from C, with codes and messages", "[rdzv c]") {
  FakeServer s;
  std::string missing = s.scratch().path("missing.sock");
  auto r = c_program("JOBSET_RDZV='" + s.path() + "' JOBSET_HOSTNAME=demo-workers-0-0",
                     "'" + missing + "'");
  INFO(r.err);
  CHECK(r.code == 0);
  const std::string lookup_json =
      R"({"address":"127.0.3.2","attempt":0,"fqdn":"demo-workers-0-0.demo","name":"demo-workers-0-0","node":"n1","ports":{"http":8080}})";
  CHECK(r.out ==
        "open missing NULL [cannot connect to the rendezvous socket " + missing +
            ": No such file or directory (no rendezvous service there: has the run ended?)]\n"
            "put 0 ok []\n"
            "get 0 ok []\n"
            "  value 11 hello|world\n"
            "get missing -2 not_found [get 'missing': no key missing]\n"
            "  untouched yes\n"
            "put binary -1 bad_request [put: value of key 'bin': expected UTF-8 text, but byte "
            "0xff at offset 0 is not UTF-8 (encode binary data, e.g. base64)]\n"
            "get NULL out -1 bad_request [get: a required argument is NULL]\n"
            "watch 0 ok []\n"
            "  version 1 value hello\n"
            "barrier 0 ok []\n"
            "barrier timeout -3 timeout [barrier job 'never': 3 of 4 members arrived]\n"
            "barrier bad scope -1 bad_request [barrier: scope: expected all, replicated_job or "
            "job, found 'world']\n"
            "lookup 0 ok []\n"
            "  address 127.0.3.2\n"
            "lookup_json 0 ok []\n"
            "  " +
            lookup_json +
            "\n"
            "hosts_json 0 ok []\n"
            "  246 bytes\n"
            "timeout -1 -1 bad_request [get: timeout: expected 0 to 86400000 ms (24 h), found -1]\n"
            "strerror io attempt_ended unknown\n");
  auto requests = s.requests();
  REQUIRE(!requests.empty());
  CHECK(requests[0] ==
        json{{"id", 1}, {"op", "hello"}, {"version", 1}, {"name", "demo-workers-0-0"}});
  CHECK(requests[1]["value"] == std::string("hello\0world", 11));
  CHECK(requests[1]["persistent"] == true);
}

TEST_CASE("rdzv c: open without JOBSET_RDZV fails saying where it must run", "[rdzv c]") {
  auto r = c_program("env -u JOBSET_RDZV", "--no-env");
  CHECK(r.code == 0);
  CHECK(r.out ==
        "open NULL [JOBSET_RDZV is not set; run this inside a process started by jobset run]\n");
}

TEST_CASE("rdzv c: the Python ctypes example of jobset-rdzv(1) works as printed", "[rdzv c]") {
  if (clitest::sh("python3 -c pass").code != 0) JOBSET_SKIP("needs python3");
  // The example as the man page prints it, from its "Python (ctypes)"
  // section, loading the library of this build.
  std::string page = jobset_test::slurp(std::string(JOBSET_SRCDIR) + "/man/jobset-rdzv.1");
  size_t section = page.find(".SS \"Python (ctypes)\"");
  REQUIRE(section != std::string::npos);
  size_t from = page.find(".EX\n", section) + 4, to = page.find(".EE\n", section);
  std::string script = page.substr(from, to - from);
  for (size_t at; (at = script.find("\\-")) != std::string::npos;) script.replace(at, 2, "-");
  const std::string soname = "\"libjobset-rdzv.so.0\"";
  REQUIRE(script.find(soname) != std::string::npos);
  script.replace(script.find(soname), soname.size(),
                 "\"" + std::string(JOBSET_BUILDDIR) + "/rendezvous/.libs/libjobset-rdzv.so.0\"");
  FakeServer s;
  std::string file = s.scratch().write("example.py", script);
  auto r = clitest::sh("JOBSET_RDZV='" + s.path() + "' python3 '" + file + "'");
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out == "10.0.0.1:29500\n");
  CHECK(s.requests().size() == 3);  // hello, put, get
}
