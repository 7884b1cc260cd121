// `jobset rdzv` end to end: the real jobset binary against the fake daemon
// (fake_server.hpp), as a shell script inside a run would use it.
#include <catch2/catch.hpp>

#include "tests/cli/cli_util.hpp"
#include "tests/rendezvous/fake_server.hpp"

using clitest::jobset;
using clitest::Run;
using namespace rdzvtest;

namespace {

Run rdzv(const FakeServer& s, const std::string& args) {
  return jobset("rdzv " + args, "",
                "JOBSET_RDZV='" + s.path() + "' JOBSET_HOSTNAME=demo-workers-0-0");
}

}  // namespace

TEST_CASE("rdzv command: put then get prints the value and a newline", "[rdzv command]") {
  FakeServer s;
  Run put = rdzv(s, "put leader 'host1:5000' --persistent");
  INFO(put.err);
  CHECK(put.code == 0);
  CHECK(put.out.empty());
  Run get = rdzv(s, "get leader");
  CHECK(get.code == 0);
  CHECK(get.out == "host1:5000\n");
  Run wait = rdzv(s, "wait leader --timeout 2.5");
  CHECK(wait.out == "host1:5000\n");
  CHECK(rdzv(s, "put neg -- -5").code == 0);
  auto requests = s.requests();
  REQUIRE(requests.size() == 8);  // a hello and a request per command
  CHECK(requests[0]["op"] == "hello");
  CHECK(requests[0]["name"] == "demo-workers-0-0");
  CHECK(requests[1] == json{{"id", 2},
                            {"op", "put"},
                            {"key", "leader"},
                            {"value", "host1:5000"},
                            {"persistent", true}});
  CHECK(requests[3] == json{{"id", 2}, {"op", "get"}, {"key", "leader"}, {"timeout_ms", 0}});
  CHECK(requests[5] == json{{"id", 2}, {"op", "get"}, {"key", "leader"}, {"timeout_ms", 2500}});
  CHECK(requests[7]["value"] == "-5");
}

TEST_CASE("rdzv command: a missing key exits 1 and a timeout 124, naming the key",
          "[rdzv command]") {
  FakeServer s;
  Run missing = rdzv(s, "get nope");
  CHECK(missing.code == 1);
  CHECK(missing.out.empty());
  CHECK(missing.err == "jobset rdzv: get 'nope': no key nope\n");
  Run waited = rdzv(s, "get nope --wait 0.2");
  CHECK(waited.code == 124);
  CHECK(waited.err == "jobset rdzv: get 'nope': key nope was not put in time\n");
  CHECK(s.requests().back()["timeout_ms"] == 200);
  Run wait = rdzv(s, "wait nope");
  CHECK(wait.code == 124);
  CHECK(s.requests().back()["timeout_ms"] == 300000);  // the default, 300 s
}

TEST_CASE("rdzv command: barrier sends scope, tag and timeout; its timeout exits 124",
          "[rdzv command]") {
  FakeServer s;
  Run all = rdzv(s, "barrier");
  CHECK(all.code == 0);
  CHECK(s.requests().back() ==
        json{{"id", 2}, {"op", "barrier"}, {"scope", "all"}, {"tag", ""}, {"timeout_ms", 300000}});
  Run job = rdzv(s, "barrier --scope job --tag never --timeout 1");
  CHECK(job.code == 124);
  CHECK(job.err == "jobset rdzv: barrier job 'never': 3 of 4 members arrived\n");
  CHECK(s.requests().back()["timeout_ms"] == 1000);
  Run bad = rdzv(s, "barrier --scope world");
  CHECK(bad.code == 2);
  CHECK(bad.err.find("--scope") != std::string::npos);
}

TEST_CASE("rdzv command: lookup prints the address, --json the whole answer", "[rdzv command]") {
  FakeServer s;
  Run addr = rdzv(s, "lookup demo-workers-0-0.demo");
  CHECK(addr.code == 0);
  CHECK(addr.out == "127.0.3.2\n");
  Run j = rdzv(s, "lookup demo-workers-0-0 --json --timeout 0");
  CHECK(j.code == 0);
  auto answer = json::parse(j.out);
  CHECK(answer["ports"]["http"] == 8080);
  CHECK(answer["fqdn"] == "demo-workers-0-0.demo");
  Run other = rdzv(s, "lookup stranger-0-0");
  CHECK(other.code == 1);
  CHECK(other.err == "jobset rdzv: lookup 'stranger-0-0': stranger-0-0 is not a process of demo\n");
  Run late = rdzv(s, "lookup demo-late-0-0 --timeout 0.1");
  CHECK(late.code == 124);
}

TEST_CASE("rdzv command: hosts prints hosts-file lines, --json the table", "[rdzv command]") {
  FakeServer s;
  Run lines = rdzv(s, "hosts");
  CHECK(lines.code == 0);
  CHECK(lines.out ==
        "127.0.3.2 demo-workers-0-0.demo demo-workers-0-0\n"
        "127.0.3.3 demo-workers-0-1.demo demo-workers-0-1\n");
  Run j = rdzv(s, "hosts --json");
  CHECK(json::parse(j.out)["hosts"][1]["registered"] == false);
}

TEST_CASE("rdzv command: without JOBSET_RDZV, or with a dead socket, it says why",
          "[rdzv command]") {
  Run unset = jobset("rdzv get k", "", "env -u JOBSET_RDZV");
  CHECK(unset.code == 2);
  CHECK(unset.err ==
        "jobset rdzv: JOBSET_RDZV is not set; run this inside a process started by jobset run\n");
  jobset_test::Scratch scratch;
  Run dead = jobset("rdzv get k", "", "JOBSET_RDZV='" + scratch.path("gone.sock") + "'");
  CHECK(dead.code == 1);
  CHECK(dead.err.find("jobset rdzv: cannot connect to the rendezvous socket " +
                      scratch.path("gone.sock")) == 0);
}

TEST_CASE("rdzv command: bad input exits 2 before anything is sent; --help has examples",
          "[rdzv command]") {
  FakeServer s;
  Run key = rdzv(s, "put 'a b' v");
  CHECK(key.code == 2);
  CHECK(key.err.find("jobset rdzv: put: key 'a b': expected") == 0);
  CHECK(rdzv(s, "get").code == 2);
  CHECK(rdzv(s, "get k --wait -1").code == 2);
  CHECK(rdzv(s, "frobnicate").code == 2);
  CHECK(rdzv(s, "").code == 2);
  CHECK(s.requests().size() == 1);  // only the put of 'a b' connected (and said hello)
  Run help = rdzv(s, "--help");
  CHECK(help.code == 0);
  for (const char* text : {"put", "barrier", "lookup", "Examples:", "jobset-rdzv(1)", "124"})
    CHECK(help.out.find(text) != std::string::npos);
  Run put_help = rdzv(s, "put --help");
  CHECK(put_help.out.find("--persistent") != std::string::npos);
  CHECK(put_help.out.find("Examples:") != std::string::npos);
}
