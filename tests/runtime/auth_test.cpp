// Keys, HMAC and the handshake functions that both ends use.
#include "runtime/auth.hpp"

#include <catch2/catch.hpp>

using namespace jobset::runtime;

TEST_CASE("auth: hex round trip and bad hex", "[runtime]") {
  std::string bytes("\x00\x01\x7f\x80\xff", 5);
  CHECK(to_hex(bytes) == "00017f80ff");
  CHECK(*from_hex("00017F80ff") == bytes);
  CHECK_FALSE(from_hex("abc").ok());
  CHECK_FALSE(from_hex("zz").ok());
  CHECK(from_hex("")->empty());
}

TEST_CASE("auth: HMAC-SHA256 matches RFC 4231 test case 2", "[runtime]") {
  CHECK(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("auth: random keys are 32 bytes and differ", "[runtime]") {
  auto a = make_key(), b = make_key();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->size() == kKeyBytes);
  CHECK(*a != *b);
}

TEST_CASE("auth: constant-time comparison", "[runtime]") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK(constant_time_equal("", ""));
}

TEST_CASE("auth: the key line is 64 hex digits, newline optional", "[runtime]") {
  std::string key = *make_key();
  CHECK(*parse_key_line(to_hex(key)) == key);
  CHECK(*parse_key_line(to_hex(key) + "\n") == key);
  CHECK(*parse_key_line(to_hex(key) + "\r\n") == key);
  CHECK_FALSE(parse_key_line("").ok());
  CHECK_FALSE(parse_key_line(to_hex(key).substr(2)).ok());
  CHECK_FALSE(parse_key_line(to_hex(key) + "00").ok());
  CHECK_FALSE(parse_key_line(to_hex(key).substr(1) + "g").ok());
}

TEST_CASE("auth: the handshake succeeds with the same key on both sides", "[runtime]") {
  std::string key = *make_key();
  auto hello = make_hello("node-1");
  REQUIRE(hello.ok());
  auto ch = make_challenge(key, *hello);
  REQUIRE(ch.ok());
  auto auth = answer_challenge(key, *hello, *ch);
  REQUIRE(auth.ok());
  CHECK(check_auth(key, *hello, *ch, *auth).ok());
}

TEST_CASE("auth: a launcher with another key is caught by the daemon", "[runtime]") {
  std::string key = *make_key(), other = *make_key();
  Hello hello = *make_hello("node-1");
  auto ch = make_challenge(other, hello);
  REQUIRE(ch.ok());
  auto auth = answer_challenge(key, hello, *ch);
  REQUIRE_FALSE(auth.ok());
  CHECK_THAT(auth.error().message(), Catch::Contains("did not prove"));
}

TEST_CASE("auth: a daemon with another key is caught by the launcher", "[runtime]") {
  std::string key = *make_key(), other = *make_key();
  Hello hello = *make_hello("node-1");
  Challenge ch = *make_challenge(key, hello);
  // A fake daemon cannot answer; even a MAC made with the right formula
  // but the wrong key fails, and so does a reflected launcher MAC.
  Auth fake{daemon_mac(other, ch.nonce, hello.nonce, hello.node)};
  CHECK_FALSE(check_auth(key, hello, ch, fake).ok());
  CHECK_FALSE(check_auth(key, hello, ch, Auth{ch.mac}).ok());
  CHECK_FALSE(check_auth(key, hello, ch, Auth{"zz"}).ok());
  CHECK_FALSE(check_auth(key, hello, ch, Auth{""}).ok());
}

TEST_CASE("auth: the daemon's proof is bound to its node name and both nonces", "[runtime]") {
  std::string key = *make_key();
  Hello hello = *make_hello("node-1");
  Challenge ch = *make_challenge(key, hello);
  Auth auth = *answer_challenge(key, hello, ch);
  Hello renamed = hello;
  renamed.node = "node-2";
  CHECK_FALSE(check_auth(key, renamed, ch, auth).ok());
  Challenge other = *make_challenge(key, hello);
  CHECK_FALSE(check_auth(key, hello, other, auth).ok());
}

TEST_CASE("auth: malformed hellos and challenges are refused", "[runtime]") {
  std::string key = *make_key();
  Hello hello = *make_hello("node-1");
  Hello bad = hello;
  bad.version = 99;
  CHECK_THAT(make_challenge(key, bad).error().message(), Catch::Contains("protocol version 99"));
  bad = hello;
  bad.nonce = "short";
  CHECK_FALSE(make_challenge(key, bad).ok());
  bad = hello;
  bad.node = "";
  CHECK_FALSE(make_challenge(key, bad).ok());
  Challenge ch = *make_challenge(key, hello);
  Challenge echo = *make_challenge(key, hello, hello.nonce);
  CHECK_THAT(answer_challenge(key, hello, echo).error().message(), Catch::Contains("echoed"));
  ch.nonce = "xyz";
  CHECK_FALSE(answer_challenge(key, hello, ch).ok());
}
