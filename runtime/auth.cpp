// Key handling and the HMAC handshake (see auth.hpp).
#include "runtime/auth.hpp"

// SHA256_Init and friends are deprecated in OpenSSL 3.0's API (see
// hmac_sha256 below for why they are used).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>

namespace jobset::runtime {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr size_t kNodeMax = 255;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_hex_of(std::string_view s, size_t bytes) {
  if (s.size() != 2 * bytes) return false;
  for (char c : s) {
    if (hex_value(c) < 0) return false;
  }
  return true;
}

// Compares a received hex MAC with the expected one without leaking where
// they differ; a malformed MAC is simply unequal.
bool mac_matches(std::string_view expected_hex, std::string_view got_hex) {
  auto got = from_hex(got_hex);
  auto want = from_hex(expected_hex);
  if (!got.ok() || !want.ok()) return false;
  return constant_time_equal(*want, *got);
}

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out.push_back('|');
    out.append(p);
  }
  return out;
}

}  // namespace

// The kernel's CSPRNG directly: OpenSSL's generator would first read its
// configuration file and seed itself, some milliseconds of every start.
Result<std::string> random_bytes(size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Error(std::string("random bytes: getrandom: ") + std::strerror(errno));
    got += static_cast<size_t>(r);
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHexDigits[c >> 4]);
    out.push_back(kHexDigits[c & 15]);
  }
  return out;
}

Result<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return Error("hex: odd number of digits");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]);
    int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0)
      return Error("hex: not a hex digit at offset " + std::to_string(hi < 0 ? i : i + 1));
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// HMAC-SHA256 (RFC 2104) over OpenSSL's SHA-256 primitive. OpenSSL 3's
// EVP layer (HMAC(), EVP_MAC) builds its table of every algorithm name on
// first use: 1.3-2.6 ms in each daemon and launcher, on the critical path
// of every launch. The SHA256_* functions hash directly (they are what the
// default provider runs underneath); they are deprecated in the 3.0 API,
// not removed. Checked against RFC 4231's test vectors (auth_test).
namespace {

constexpr size_t kShaBlock = 64;

void sha256_of(std::initializer_list<std::string_view> parts, unsigned char* out) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  for (std::string_view p : parts) SHA256_Update(&ctx, p.data(), p.size());
  SHA256_Final(out, &ctx);
  OPENSSL_cleanse(&ctx, sizeof ctx);
}

std::string_view view(const unsigned char* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

}  // namespace

void warm_up_crypto() { (void)hmac_sha256("", ""); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char k0[kShaBlock] = {};
  if (key.size() > kShaBlock) {
    sha256_of({key}, k0);  // a long key is hashed first
  } else {
    std::memcpy(k0, key.data(), key.size());
  }
  unsigned char ipad[kShaBlock], opad[kShaBlock];
  for (size_t i = 0; i < kShaBlock; ++i) {
    ipad[i] = k0[i] ^ 0x36;
    opad[i] = k0[i] ^ 0x5c;
  }
  unsigned char inner[SHA256_DIGEST_LENGTH], mac[SHA256_DIGEST_LENGTH];
  sha256_of({view(ipad, kShaBlock), data}, inner);
  sha256_of({view(opad, kShaBlock), view(inner, sizeof inner)}, mac);
  for (void* secret : {static_cast<void*>(k0), static_cast<void*>(ipad), static_cast<void*>(opad)})
    OPENSSL_cleanse(secret, kShaBlock);
  OPENSSL_cleanse(inner, sizeof inner);
  return std::string(view(mac, sizeof mac));
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> make_key() { return random_bytes(kKeyBytes); }

Result<std::string> parse_key_line(std::string_view line) {
  if (line.size() >= 1 && line.back() == '\n') line.remove_suffix(1);
  if (line.size() >= 1 && line.back() == '\r') line.remove_suffix(1);
  if (!is_hex_of(line, kKeyBytes)) {
    return Error("key: expected " + std::to_string(2 * kKeyBytes) + " hex digits on one line");
  }
  return from_hex(line);
}

std::string launcher_mac(std::string_view key, std::string_view daemon_nonce,
                         std::string_view launcher_nonce) {
  return to_hex(hmac_sha256(key, join({"jobset-launcher", daemon_nonce, launcher_nonce})));
}

std::string daemon_mac(std::string_view key, std::string_view launcher_nonce,
                       std::string_view daemon_nonce, std::string_view node) {
  return to_hex(hmac_sha256(key, join({"jobset-daemon", launcher_nonce, daemon_nonce, node})));
}

Result<Hello> make_hello(const std::string& node) {
  auto nonce = random_bytes(kNonceBytes);
  if (!nonce.ok()) return nonce.error();
  Hello h;
  h.node = node;
  h.nonce = to_hex(*nonce);
  return h;
}

Result<Challenge> make_challenge(std::string_view key, const Hello& hello) {
  auto nonce = random_bytes(kNonceBytes);
  if (!nonce.ok()) return nonce.error();
  return make_challenge(key, hello, to_hex(*nonce));
}

Result<Challenge> make_challenge(std::string_view key, const Hello& hello,
                                 const std::string& launcher_nonce) {
  if (hello.version != kProtocolVersion) {
    return Error("protocol version " + std::to_string(hello.version) + " (this launcher speaks " +
                 std::to_string(kProtocolVersion) + ")");
  }
  if (!is_hex_of(hello.nonce, kNonceBytes)) return Error("malformed nonce in Hello");
  if (hello.node.empty() || hello.node.size() > kNodeMax) return Error("bad node name in Hello");
  Challenge c;
  c.nonce = launcher_nonce;
  c.mac = launcher_mac(key, hello.nonce, launcher_nonce);
  return c;
}

Result<Auth> answer_challenge(std::string_view key, const Hello& hello,
                              const Challenge& challenge) {
  if (!is_hex_of(challenge.nonce, kNonceBytes)) return Error("malformed nonce in Challenge");
  if (constant_time_equal(challenge.nonce, hello.nonce)) {
    return Error("the launcher echoed the daemon's nonce");
  }
  if (!mac_matches(launcher_mac(key, hello.nonce, challenge.nonce), challenge.mac)) {
    return Error("the launcher did not prove the run's key (wrong key?)");
  }
  Auth a;
  a.mac = daemon_mac(key, challenge.nonce, hello.nonce, hello.node);
  return a;
}

Status check_auth(std::string_view key, const Hello& hello, const Challenge& challenge,
                  const Auth& auth) {
  if (!mac_matches(daemon_mac(key, challenge.nonce, hello.nonce, hello.node), auth.mac)) {
    return Error("the daemon did not prove the run's key (wrong key?)");
  }
  return {};
}

}  // namespace jobset::runtime
