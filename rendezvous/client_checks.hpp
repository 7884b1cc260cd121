// What the client checks before it sends anything: the contract's bounds
// on keys, values, tags, scopes and timeouts, and that text is UTF-8 (it
// travels as JSON strings). The daemon checks them too; checking here
// gives the caller a message naming its own argument, without a round
// trip, and keeps malformed requests off the wire. Empty string: valid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace jobset::rendezvous {

// rdzv-contract.md, "Framing" and "Operations".
inline constexpr size_t kMaxLine = (1u << 20) + 4096;
inline constexpr size_t kMaxValue = 1u << 20;
inline constexpr size_t kMaxKey = 256;
inline constexpr size_t kMaxTag = 64;
inline constexpr int64_t kMaxTimeoutMs = 24LL * 3600 * 1000;

// "" when `text` is UTF-8; else where it is not ("byte 0xff at offset 3").
std::string utf8_problem(std::string_view text);

// Each returns "" when valid, else a message naming `what` was expected.
std::string check_key(std::string_view key);
std::string check_value(std::string_view key, std::string_view value);
std::string check_text(std::string_view what, std::string_view text, size_t max_bytes);
std::string check_scope(std::string_view scope);
std::string check_timeout(int64_t timeout_ms);

}  // namespace jobset::rendezvous
