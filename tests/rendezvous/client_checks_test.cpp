// The client's checks of keys and text before anything is sent.
#include "rendezvous/client_checks.hpp"

#include <catch2/catch.hpp>

using namespace jobset::rendezvous;

TEST_CASE("client checks: UTF-8 is accepted and everything else is located", "[client checks]") {
  const std::vector<std::string> good = {
      "",
      "plain ascii",
      std::string("nul \0 inside", 12),
      "\xc3\xa9",          // é
      "\xe2\x82\xac",      // €
      "\xef\xbf\xbf",      // U+FFFF
      "\xf0\x9f\x98\x80",  // 😀
      "\xf4\x8f\xbf\xbf",  // U+10FFFF
  };
  for (const auto& s : good) CHECK(utf8_problem(s).empty());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"ab\xff", "byte 0xff at offset 2 is not UTF-8"},
      {"\xc0\x80", "byte 0xc0 at offset 0 is not UTF-8"},          // overlong NUL
      {"\xe0\x80\xaf", "byte 0xe0 at offset 0 is not UTF-8"},      // overlong /
      {"\xed\xa0\x80", "byte 0xed at offset 0 is not UTF-8"},      // a surrogate
      {"\xf4\x90\x80\x80", "byte 0xf4 at offset 0 is not UTF-8"},  // above U+10FFFF
      {"x\xe2\x82", "byte 0xe2 at offset 1 is not UTF-8"},         // cut short
      {"\x80", "byte 0x80 at offset 0 is not UTF-8"},              // a lone continuation
  };
  for (const auto& [text, problem] : bad) CHECK(utf8_problem(text) == problem);
}

TEST_CASE("client checks: keys are 1 to 256 bytes of the contract's characters",
          "[client checks]") {
  CHECK(check_key("jobset/run-1:rank_0.addr").empty());
  CHECK(check_key(std::string(256, 'k')).empty());
  CHECK(check_key(std::string(257, 'k')) ==
        "key: expected 1 to 256 bytes of A-Z a-z 0-9 . _ / : -, found 257 bytes");
  CHECK(check_key("") ==
        "key: expected 1 to 256 bytes of A-Z a-z 0-9 . _ / : -, found an empty "
        "key");
  CHECK(check_key("a=b") ==
        "key 'a=b': expected 1 to 256 bytes of A-Z a-z 0-9 . _ / : -, found '=' at offset 1");
  CHECK(check_scope("replicated_job").empty());
  CHECK(!check_scope("All").empty());
  CHECK(check_timeout(0).empty());
  CHECK(check_timeout(kMaxTimeoutMs).empty());
  CHECK(!check_timeout(kMaxTimeoutMs + 1).empty());
  CHECK(check_text("tag", std::string(64, 't'), kMaxTag).empty());
  CHECK(check_text("tag", std::string(65, 't'), kMaxTag) ==
        "tag: expected at most 64 bytes, found 65");
}
