// Key handling and the HMAC handshake (see auth.hpp).
#include "runtime/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>

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

namespace {
// Keep OpenSSL from reading openssl.cnf on first use (nothing here needs
// it) and from tearing its tables down at exit (the process is ending;
// that cleanup was about 1% of a short run's launcher time).
void init_crypto_once() {
  static const bool done =
      OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, nullptr) == 1;
  (void)done;
}
}  // namespace

void warm_up_crypto() { (void)hmac_sha256("", ""); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  init_crypto_once();
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
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
