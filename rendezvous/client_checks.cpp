#include "rendezvous/client_checks.hpp"

#include <cstdio>

namespace jobset::rendezvous {

namespace {

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", c);
  return buf;
}

// The length of the UTF-8 sequence that starts at `i`, 0 when it is not one
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
size_t sequence_length(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = at(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xc2 && c <= 0xdf   ? 2
             : c >= 0xe0 && c <= 0xef ? 3
             : c >= 0xf0 && c <= 0xf4 ? 4
                                      : 0;
  if (n == 0 || i + n > s.size()) return 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
  if (c == 0xe0) lo = 0xa0;
  if (c == 0xed) hi = 0x9f;
  if (c == 0xf0) lo = 0x90;
  if (c == 0xf4) hi = 0x8f;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (at(i + k) < 0x80 || at(i + k) > 0xbf) return 0;
  return n;
}

}  // namespace

std::string utf8_problem(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t n = sequence_length(text, i);
    if (n == 0)
      return "byte " + hex_byte(static_cast<unsigned char>(text[i])) + " at offset " +
             std::to_string(i) + " is not UTF-8";
    i += n;
  }
  return "";
}

std::string check_key(std::string_view key) {
  const std::string expected = "expected 1 to 256 bytes of A-Z a-z 0-9 . _ / : -";
  if (key.empty()) return "key: " + expected + ", found an empty key";
  if (key.size() > kMaxKey)
    return "key: " + expected + ", found " + std::to_string(key.size()) + " bytes";
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '/' || c == ':' || c == '-';
    if (!ok) {
      auto u = static_cast<unsigned char>(c);
      std::string message = "key '" + std::string(key) + "': " + expected + ", found ";
      message += u >= 0x21 && u < 0x7f ? "'" + std::string(1, c) + "'" : hex_byte(u);
      return message + " at offset " + std::to_string(i);
    }
  }
  return "";
}

std::string check_value(std::string_view key, std::string_view value) {
  if (value.size() > kMaxValue)
    return "value of key '" + std::string(key) + "': " + std::to_string(value.size()) +
           " bytes, at most " + std::to_string(kMaxValue);
  std::string bad = utf8_problem(value);
  if (!bad.empty())
    return "value of key '" + std::string(key) + "': expected UTF-8 text, but " + bad +
           " (encode binary data, e.g. base64)";
  return "";
}

std::string check_text(std::string_view what, std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes)
    return std::string(what) + ": expected at most " + std::to_string(max_bytes) +
           " bytes, found " + std::to_string(text.size());
  std::string bad = utf8_problem(text);
  if (!bad.empty()) return std::string(what) + ": expected UTF-8 text, but " + bad;
  return "";
}

std::string check_scope(std::string_view scope) {
  if (scope == "all" || scope == "replicated_job" || scope == "job") return "";
  return "scope: expected all, replicated_job or job, found '" + std::string(scope) + "'";
}

std::string check_timeout(int64_t timeout_ms) {
  if (timeout_ms >= 0 && timeout_ms <= kMaxTimeoutMs) return "";
  return "timeout: expected 0 to " + std::to_string(kMaxTimeoutMs) + " ms (24 h), found " +
         std::to_string(timeout_ms);
}

}  // namespace jobset::rendezvous
