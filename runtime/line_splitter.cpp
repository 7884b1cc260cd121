// LineSplitter (line_splitter.hpp).
#include "runtime/line_splitter.hpp"

namespace jobset::runtime {

std::string LineSplitter::feed(std::string_view data) {
  size_t last_nl = data.rfind('\n');
  std::string ready;
  if (last_nl != std::string_view::npos) {
    // Whole lines: what was held back plus everything up to the last '\n'.
    ready.reserve(partial_.size() + last_nl + 1);
    ready.append(partial_);
    ready.append(data.substr(0, last_nl + 1));
    partial_.assign(data.substr(last_nl + 1));
  } else {
    partial_.append(data);
  }
  if (partial_.size() >= max_piece_) {
    // An over-long line: hand out whole pieces, keep the tail.
    size_t cut = partial_.size() - partial_.size() % max_piece_;
    ready.append(partial_, 0, cut);
    partial_.erase(0, cut);
  }
  if (partial_.capacity() > 2 * max_piece_ && partial_.size() < max_piece_)
    partial_.shrink_to_fit();
  return ready;
}

std::string LineSplitter::finish() {
  std::string rest;
  rest.swap(partial_);
  return rest;
}

}  // namespace jobset::runtime
