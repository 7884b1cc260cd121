// SVG text into a string: see svg_writer.hpp.
#include "launcher/plan/svg_writer.hpp"

#include <algorithm>

namespace jobset::launcher::svg {
namespace {

// Length of the UTF-8 sequence at s[i] when it encodes a character XML
// allows, else 0.
size_t xml_char_len(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return (c >= 0x20 || c == '\t' || c == '\n') ? 1 : 0;
  const size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
  uint32_t cp = c & (0x3F >> (n - 1));
  for (size_t k = 1; k < n; ++k) {
    const auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  const uint32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
    return 0;
  return n;
}

}  // namespace

int text_w(size_t chars, int px) {
  return static_cast<int>(std::min<size_t>(chars, 100000)) * px * 3 / 5 + 2;
}

size_t chars(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string cut(const std::string& s, size_t max) {
  if (chars(s) <= max) return s;
  size_t n = 0, i = 0;
  for (; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && n++ == max - 1) break;
  return s.substr(0, i) + "\u2026";
}

void put_text(std::string& out, std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = xml_char_len(s, i);
    if (n == 0) {
      out += "\uFFFD";
      ++i;
      continue;
    }
    switch (s[i]) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out.append(s, i, n);
    }
    i += n;
  }
}

void text(std::string& out, int x, int y, const char* cls, std::string_view s, const char* fill) {
  emit(out, "<text x=\"", x, "\" y=\"", y, "\"");
  if (cls) emit(out, " class=\"", cls, "\"");
  if (fill) emit(out, " fill=\"", fill, "\"");
  out += '>';
  put_text(out, s);
  out += "</text>";
}

void title(std::string& out, std::string_view s) {
  out += "<title>";
  put_text(out, s);
  out += "</title>";
}

}  // namespace jobset::launcher::svg
