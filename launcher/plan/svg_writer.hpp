// Internal to the plan pictures (plan_svg*.cpp): writing SVG text into a
// string. Markup and numbers are appended as they are; text from the plan
// (names, labels) goes through put_text, which escapes it and replaces
// bytes that are not an XML character. Widths are estimates for monospace
// text, 0.6 em a character. Knows nothing of plans.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace jobset::launcher::svg {

// Characters (UTF-8 sequences) in `s`.
size_t chars(std::string_view s);

// The width in px of `chars` characters at font size `px`.
int text_w(size_t chars, int px);

// `s` cut to `max` characters, the last being an ellipsis.
std::string cut(const std::string& s, size_t max);

// Text content: markup characters as entities; bytes that are not an XML
// character in UTF-8 (label values come from files) as U+FFFD.
void put_text(std::string& out, std::string_view s);

// Markup and numbers: appended as they are.
inline void add(std::string& out, std::string_view s) { out += s; }
inline void add(std::string& out, int64_t v) { out += std::to_string(v); }
template <typename... A>
void emit(std::string& out, const A&... a) {
  (add(out, a), ...);
}

// <text> at (x, y), with an optional class and fill.
void text(std::string& out, int x, int y, const char* cls, std::string_view s,
          const char* fill = nullptr);

// <title>: the tooltip of the element it opens.
void title(std::string& out, std::string_view s);

}  // namespace jobset::launcher::svg
