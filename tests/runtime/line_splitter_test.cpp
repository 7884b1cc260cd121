// Output is cut at line ends only: never a torn line, never a lost byte.
#include "runtime/line_splitter.hpp"

#include <catch2/catch.hpp>

using jobset::runtime::LineSplitter;

TEST_CASE("line splitter: whole lines pass, the partial tail waits", "[line_splitter]") {
  LineSplitter s;
  CHECK(s.feed("a\nb\nc") == "a\nb\n");
  CHECK(s.pending() == 1);
  CHECK(s.feed("c") == "");
  CHECK(s.feed("\n") == "cc\n");
  CHECK(s.feed("") == "");
  CHECK(s.finish() == "");
}

TEST_CASE("line splitter: the last partial line comes out at the end", "[line_splitter]") {
  LineSplitter s;
  CHECK(s.feed("x\nno newline") == "x\n");
  CHECK(s.finish() == "no newline");
  CHECK(s.pending() == 0);
}

TEST_CASE("line splitter: a line longer than the piece size is cut in pieces", "[line_splitter]") {
  LineSplitter s(8);
  CHECK(s.feed("0123") == "");
  CHECK(s.feed("4567890") == "01234567");
  CHECK(s.pending() == 3);
  CHECK(s.feed("abcdefghijklmnopq") == "890abcdefghijklm");
  CHECK(s.feed("r\nend") == "nopqr\n");
  CHECK(s.finish() == "end");
}

TEST_CASE("line splitter: any cutting of the input gives back the same bytes", "[line_splitter]") {
  std::string input;
  for (int i = 0; i < 500; ++i)
    input += "line " + std::to_string(i) + std::string(i % 37, 'x') + "\n";
  input += "tail";
  for (size_t step : {1, 3, 7, 64, 1000, 100000}) {
    LineSplitter s(256);
    std::string out;
    for (size_t i = 0; i < input.size(); i += step) {
      std::string ready = s.feed(std::string_view(input).substr(i, step));
      // Every batch ends at a line end, or is a whole number of pieces.
      if (!ready.empty()) CHECK((ready.back() == '\n' || ready.size() % 256 == 0));
      out += ready;
    }
    out += s.finish();
    CHECK(out == input);
  }
}
