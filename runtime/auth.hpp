// Authentication of daemon connections: the run's key, random nonces,
// HMAC-SHA256, and the handshake as pure functions that both ends use.
//
// The launcher makes a key of 32 random bytes per run and gives it to each
// daemon as one hex line on stdin (never argv, environment or a file). On
// connection (messages.hpp):
//   daemon   -> Hello{node, Nd}
//   launcher -> Challenge{Nl, HMAC(key, "jobset-launcher|Nd|Nl")}
//   daemon      checks that MAC: the launcher holds the key, before the
//               daemon answers anything (a fake launcher learns nothing and
//               never gets a process spawned);
//   daemon   -> Auth{HMAC(key, "jobset-daemon|Nl|Nd|node")}
//   launcher    checks it, then -> Welcome{node_index}.
// Nonces are 32 random bytes in hex, fresh per connection on each side, so
// a recorded exchange cannot be replayed; the two labels differ, so one
// side's answer is never valid for the other. MACs are compared in
// constant time. The connection is not encrypted: the key proves who
// connected, it does not hide the traffic.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "runtime/messages.hpp"

namespace jobset::runtime {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kNonceBytes = 32;

// `n` bytes from OpenSSL's CSPRNG.
Result<std::string> random_bytes(size_t n);

// Lower-case hex, and back (upper case accepted).
std::string to_hex(std::string_view bytes);
Result<std::string> from_hex(std::string_view hex);

// Raw 32-byte HMAC-SHA256 of `data` under `key` (RFC 2104).
// Touches the hashing code once, off the handshake's critical path.
void warm_up_crypto();

std::string hmac_sha256(std::string_view key, std::string_view data);

// Equal length and equal bytes, in time that depends only on the length.
bool constant_time_equal(std::string_view a, std::string_view b);

// A new run key (kKeyBytes random bytes).
Result<std::string> make_key();

// The key line a daemon reads on stdin: exactly 2*kKeyBytes hex digits,
// optionally followed by "\n" or "\r\n". Returns the raw key bytes.
Result<std::string> parse_key_line(std::string_view line);

// The MACs of the handshake, in hex.
std::string launcher_mac(std::string_view key, std::string_view daemon_nonce,
                         std::string_view launcher_nonce);
std::string daemon_mac(std::string_view key, std::string_view launcher_nonce,
                       std::string_view daemon_nonce, std::string_view node);

// Daemon, step 1: a Hello with a fresh nonce.
Result<Hello> make_hello(const std::string& node);

// Launcher, step 2: checks the Hello's form (version, nonce, node) and
// answers with a fresh nonce and the launcher's proof.
Result<Challenge> make_challenge(std::string_view key, const Hello& hello);
// The same with a given launcher nonce (hex), for tests.
Result<Challenge> make_challenge(std::string_view key, const Hello& hello,
                                 const std::string& launcher_nonce);

// Daemon, step 3: checks the launcher's proof, then proves the key.
Result<Auth> answer_challenge(std::string_view key, const Hello& hello, const Challenge& challenge);

// Launcher, step 4: checks the daemon's proof.
Status check_auth(std::string_view key, const Hello& hello, const Challenge& challenge,
                  const Auth& auth);

}  // namespace jobset::runtime
