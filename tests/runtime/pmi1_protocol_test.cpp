// The PMI-1 protocol engine without sockets: what MPICH's simple PMI
// client sends during MPI_Init/MPI_Finalize, and what a broken client sends.
#include "runtime/pmi1_protocol.hpp"

#include <catch2/catch.hpp>

namespace {

using jobset::runtime::pmi1::Action;
using jobset::runtime::pmi1::process_mapping;
using jobset::runtime::pmi1::Session;
using jobset::runtime::pmi1::World;
using Kind = Action::Kind;

World world() { return World{4, 4, "jobset-demo-0", "(vector,(0,2,2))"}; }

// The replies among `actions`, concatenated.
std::string replies(const std::vector<Action>& actions) {
  std::string s;
  for (const Action& a : actions)
    if (a.kind == Kind::kReply) s += a.text;
  return s;
}

TEST_CASE("pmi1 protocol: MPICH's MPI_Init sequence gets the answers MPICH expects",
          "[pmi1 protocol]") {
  Session s(world(), 2, 1);
  CHECK(replies(s.feed("cmd=init pmi_version=1 pmi_subversion=1\n")) ==
        "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n");
  CHECK(s.initialized());
  CHECK(replies(s.feed("cmd=get_maxes\n")) ==
        "cmd=maxes kvsname_max=256 keylen_max=64 vallen_max=1024 rc=0\n");
  CHECK(replies(s.feed("cmd=get_appnum\n")) == "cmd=appnum appnum=1 rc=0\n");
  CHECK(replies(s.feed("cmd=get_my_kvsname\n")) == "cmd=my_kvsname kvsname=jobset-demo-0 rc=0\n");
  CHECK(replies(s.feed("cmd=get_universe_size\n")) == "cmd=universe_size size=4 rc=0\n");
  // The process mapping is answered here, without the store.
  CHECK(replies(s.feed("cmd=get kvsname=jobset-demo-0 key=PMI_process_mapping\n")) ==
        "cmd=get_result rc=0 msg=success value=(vector,(0,2,2))\n");
}

TEST_CASE("pmi1 protocol: put is stored and answered at once; get and barrier wait for the store",
          "[pmi1 protocol]") {
  Session s(world(), 0, 0);
  auto a = s.feed("cmd=put kvsname=jobset-demo-0 key=P0-businesscard value=addr:0a0b\n");
  REQUIRE(a.size() == 2);
  CHECK(a[0] == Action{Kind::kPut, "", "P0-businesscard", "addr:0a0b", 0});
  CHECK(a[1].text == "cmd=put_result rc=0 msg=success\n");

  a = s.feed("cmd=barrier_in\ncmd=get kvsname=jobset-demo-0 key=P1-businesscard\n");
  REQUIRE(a.size() == 1);  // the get is read only after barrier_out
  CHECK(a[0] == Action{Kind::kBarrier, "", "", "", 0});
  CHECK(s.waiting());
  a = s.barrier_done();
  REQUIRE(a.size() == 2);
  CHECK(a[0].text == "cmd=barrier_out rc=0\n");
  CHECK(a[1] == Action{Kind::kGet, "", "P1-businesscard", "", 0});
  CHECK(replies(s.got(std::string("addr:0c0d"))) ==
        "cmd=get_result rc=0 msg=success value=addr:0c0d\n");

  // A missing key: rc=-1, as MPICH's optional lookups expect.
  s.feed("cmd=get kvsname=jobset-demo-0 key=nope\n");
  CHECK(replies(s.got(std::nullopt)) == "cmd=get_result rc=-1 msg=key_not_found\n");
  // Barriers are numbered, so the store can tell them apart.
  a = s.feed("cmd=barrier_in\n");
  REQUIRE(a.size() == 1);
  CHECK(a[0].code == 1);
  CHECK(replies(s.barrier_done("attempt_ended: the JobSet restarted")) ==
        "cmd=barrier_out rc=-1 msg=attempt_ended:_the_JobSet_restarted\n");
}

TEST_CASE("pmi1 protocol: finalize, abort and the name service", "[pmi1 protocol]") {
  Session s(world(), 3, 0);
  auto a = s.feed("cmd=publish_name service=ocean port=tcp://x:1\n");
  REQUIRE(a.size() == 1);
  CHECK(a[0] == Action{Kind::kPublish, "", "ocean", "tcp://x:1", 0});
  CHECK(replies(s.name_done()) == "cmd=publish_result rc=0 msg=success\n");
  s.feed("cmd=lookup_name service=ocean\n");
  CHECK(replies(s.looked_up(std::string("tcp://x:1"))) ==
        "cmd=lookup_result rc=0 msg=success port=tcp://x:1\n");
  s.feed("cmd=lookup_name service=lake\n");
  CHECK(replies(s.looked_up(std::nullopt)) == "cmd=lookup_result rc=-1 msg=service_not_found\n");
  a = s.feed("cmd=unpublish_name service=ocean\n");
  CHECK(a.at(0).kind == Kind::kUnpublish);
  CHECK(replies(s.name_done()) == "cmd=unpublish_result rc=0 msg=success\n");

  a = s.feed("cmd=finalize\n");
  CHECK(replies(a) == "cmd=finalize_ack rc=0\n");
  CHECK(a.back().kind == Kind::kFinalize);
  CHECK(s.finalized());

  Session t(world(), 1, 0);
  a = t.feed("cmd=abort exitcode=7\n");
  REQUIRE(a.size() == 1);
  CHECK(a[0].kind == Kind::kAbort);
  CHECK(a[0].code == 7);
  CHECK(t.aborted());
}

TEST_CASE("pmi1 protocol: malformed lines get a clear rc=-1 reply and the session goes on",
          "[pmi1 protocol]") {
  Session s(world(), 0, 0);
  struct Case {
    const char* line;
    const char* reply;
  };
  const Case cases[] = {
      {"hello\n", "cmd=error rc=-1 msg=expected_a_line_starting_cmd=,_found_'hello'\n"},
      {"cmd=frobnicate\n", "cmd=frobnicate_result rc=-1 msg=unknown_command_'frobnicate'\n"},
      {"cmd=put kvsname=jobset-demo-0 key=k\n", "cmd=put_result rc=-1 msg=missing_value=\n"},
      {"cmd=put kvsname=other key=k value=v\n",
       "cmd=put_result rc=-1 msg=unknown_kvsname_'other'_(this_world's_is_'jobset-demo-0')\n"},
      {"cmd=get kvsname=jobset-demo-0\n", "cmd=get_result rc=-1 msg=missing_key=\n"},
      {"cmd=get kvsname=jobset-demo-0 key=a junk\n",
       "cmd=get_result rc=-1 msg=expected_key=value,_found_'junk'\n"},
      {"cmd=init pmi_version=2 pmi_subversion=0\n",
       "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=-1 "
       "msg=only_PMI_version_1_is_served\n"},
      {"cmd=publish_name service=x\n", "cmd=publish_result rc=-1 msg=missing_port=\n"},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    CHECK(replies(s.feed(c.line)) == c.reply);
    CHECK_FALSE(s.waiting());
  }
  // Bounds: a key over 64 bytes, a value over 1024, a line over 4096.
  CHECK(
      replies(s.feed("cmd=put kvsname=jobset-demo-0 key=" + std::string(65, 'k') + " value=v\n")) ==
      "cmd=put_result rc=-1 msg=key_must_be_1_to_64_bytes,_found_65\n");
  CHECK(replies(s.feed("cmd=put kvsname=jobset-demo-0 key=k value=" + std::string(1025, 'v') +
                       "\n")) == "cmd=put_result rc=-1 msg=value_longer_than_1024_bytes_(1025)\n");
  CHECK(replies(s.feed("cmd=put kvsname=jobset-demo-0 key=k value=\x01\n")) ==
        "cmd=put_result rc=-1 msg=value_holds_a_byte_that_is_not_visible_ASCII\n");
  CHECK(replies(s.feed(std::string(5000, 'x'))) ==
        "cmd=error rc=-1 msg=line_longer_than_4096_bytes\n");
  CHECK(replies(s.feed(std::string(5000, 'x') + "\n")).empty());  // the rest of that line
  // spawn (an mcmd block) is refused once, at its end.
  CHECK(replies(s.feed("mcmd=spawn\nnprocs=2\nexecname=a.out\n")).empty());
  CHECK(replies(s.feed("endcmd\n")) ==
        "cmd=spawn_result rc=-1 msg=jobset_does_not_support_MPI_Comm_spawn\n");
  // Still serving, and bytes may come split anywhere.
  CHECK(replies(s.feed("cmd=get_app")).empty());
  CHECK(replies(s.feed("num\r\n")) == "cmd=appnum appnum=0 rc=0\n");
  // An answer nobody waits for is ignored.
  CHECK(s.got(std::string("x")).empty());
}

TEST_CASE("pmi1 protocol: PMI_process_mapping in MPICH's vector format", "[pmi1 protocol]") {
  CHECK(process_mapping({0}) == "(vector,(0,1,1))");
  CHECK(process_mapping({0, 0, 0, 0}) == "(vector,(0,1,4))");
  // Blocks: 2 ranks on each of 4 nodes.
  CHECK(process_mapping({5, 5, 6, 6, 7, 7, 9, 9}) == "(vector,(0,4,2))");
  // Round robin over 3 nodes, and uneven blocks.
  CHECK(process_mapping({0, 1, 2, 0, 1, 2}) == "(vector,(0,3,1),(0,3,1))");
  CHECK(process_mapping({0, 0, 0, 1, 1, 2}) == "(vector,(0,1,3),(1,1,2),(2,1,1))");
  // Too long for a value: not served (MPICH then works it out itself).
  std::vector<int32_t> scattered(2000);
  for (int i = 0; i < 2000; ++i) scattered[static_cast<size_t>(i)] = i % 2 ? i : 0;
  CHECK(process_mapping(scattered).empty());
}

}  // namespace
