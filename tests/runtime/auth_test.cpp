// Keys, HMAC and the handshake functions that both ends use.
#include "runtime/auth.hpp"

#include <catch2/catch.hpp>

using namespace jobset::runtime;

TEST_CASE("auth: hex round trip and bad hex", "[auth]") {
  std::string bytes("\x00\x01\x7f\x80\xff", 5);
  CHECK(to_hex(bytes) == "00017f80ff");
  CHECK(*from_hex("00017F80ff") == bytes);
  CHECK_FALSE(from_hex("abc").ok());
  CHECK_FALSE(from_hex("zz").ok());
  CHECK(from_hex("")->empty());
}

TEST_CASE("auth: HMAC-SHA256 matches RFC 4231's test vectors", "[auth]") {
  // Cases 1-4, 6 and 7 (case 5 truncates the output, which we do not).
  CHECK(to_hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(to_hex(hmac_sha256(std::string(20, '\xaa'), std::string(50, '\xdd'))) ==
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  std::string key4;
  for (char c = 1; c <= 25; ++c) key4 += c;
  CHECK(to_hex(hmac_sha256(key4, std::string(50, '\xcd'))) ==
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  // A key longer than SHA-256's 64-byte block is hashed first.
  const std::string long_key(131, '\xaa');
  CHECK(to_hex(hmac_sha256(long_key, "Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(to_hex(hmac_sha256(
            long_key,
            "This is a test using a larger than block-size key and a larger than block-size "
            "data. The key needs to be hashed before being used by the HMAC algorithm.")) ==
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
  // A key of exactly one block is used as it is.
  CHECK(hmac_sha256(std::string(64, 'k'), "x") != hmac_sha256(std::string(65, 'k'), "x"));
}

TEST_CASE("auth: random keys are 32 bytes and differ", "[auth]") {
  auto a = make_key(), b = make_key();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->size() == kKeyBytes);
  CHECK(*a != *b);
}

TEST_CASE("auth: constant-time comparison", "[auth]") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK(constant_time_equal("", ""));
}

TEST_CASE("auth: the key line is 64 hex digits, newline optional", "[auth]") {
  std::string key = *make_key();
  CHECK(*parse_key_line(to_hex(key)) == key);
  CHECK(*parse_key_line(to_hex(key) + "\n") == key);
  CHECK(*parse_key_line(to_hex(key) + "\r\n") == key);
  CHECK_FALSE(parse_key_line("").ok());
  CHECK_FALSE(parse_key_line(to_hex(key).substr(2)).ok());
  CHECK_FALSE(parse_key_line(to_hex(key) + "00").ok());
  CHECK_FALSE(parse_key_line(to_hex(key).substr(1) + "g").ok());
}

TEST_CASE("auth: the handshake succeeds with the same key on both sides", "[auth]") {
  std::string key = *make_key();
  auto hello = make_hello("node-1");
  REQUIRE(hello.ok());
  auto ch = make_challenge(key, *hello);
  REQUIRE(ch.ok());
  auto auth = answer_challenge(key, *hello, *ch);
  REQUIRE(auth.ok());
  CHECK(check_auth(key, *hello, *ch, *auth).ok());
}

TEST_CASE("auth: a launcher with another key is caught by the daemon", "[auth]") {
  std::string key = *make_key(), other = *make_key();
  Hello hello = *make_hello("node-1");
  auto ch = make_challenge(other, hello);
  REQUIRE(ch.ok());
  auto auth = answer_challenge(key, hello, *ch);
  REQUIRE_FALSE(auth.ok());
  CHECK_THAT(auth.error().message(), Catch::Contains("did not prove"));
}

TEST_CASE("auth: a daemon with another key is caught by the launcher", "[auth]") {
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

TEST_CASE("auth: the daemon's proof is bound to its node name and both nonces", "[auth]") {
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

TEST_CASE("auth: malformed hellos and challenges are refused", "[auth]") {
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
