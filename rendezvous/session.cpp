// Session (session.hpp).
#include "rendezvous/session.hpp"

#include <utility>

namespace jobset::rdzv {

std::vector<Action> Session::feed(std::string_view bytes) {
  std::vector<Action> out;
  while (!closed_ && !bytes.empty()) {
    size_t nl = bytes.find('\n');
    size_t take = nl == std::string_view::npos ? bytes.size() : nl + 1;
    if (partial_.size() + take > limits_.max_line) {
      // Over the bound, whether or not its end has arrived: no need to wait.
      close(out,
            error_reply(std::nullopt, ErrorCode::kTooLarge,
                        "a line is at most " + std::to_string(limits_.max_line) + " bytes"),
            "line too long");
      break;
    }
    if (nl == std::string_view::npos) {
      partial_.append(bytes);
      break;
    }
    if (partial_.empty()) {
      line(bytes.substr(0, nl), out);  // the common case: no copy
    } else {
      partial_.append(bytes.substr(0, nl));
      std::string whole;
      whole.swap(partial_);
      line(whole, out);
    }
    bytes.remove_prefix(take);
  }
  if (closed_) partial_.clear();
  return out;
}

void Session::answered(uint64_t id) {
  auto it = in_flight_.find(id);
  if (it != in_flight_.end()) in_flight_.erase(it);
}

void Session::close(std::vector<Action>& out, std::string reply, std::string why) {
  out.push_back(Action::reply(std::move(reply)));
  out.push_back(Action::close(std::move(why)));
  closed_ = true;
}

void Session::line(std::string_view text, std::vector<Action>& out) {
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (text.find_first_not_of(" \t") == std::string_view::npos) return;  // blank: typing slack

  ParseInfo info;
  Result<Request> parsed = parse_request(text, limits_, &info);
  if (!said_hello_) {
    if (!parsed.ok()) {
      return close(out, error_reply(info.id, info.code, parsed.error().message()),
                   "malformed first request");
    }
    if (parsed->op != Op::kHello) {
      return close(
          out,
          error_reply(parsed->id, ErrorCode::kBadRequest,
                      std::string("the first request must be hello, found ") + op_name(parsed->op)),
          "no hello");
    }
  }
  if (!parsed.ok()) {
    out.push_back(Action::reply(error_reply(info.id, info.code, parsed.error().message())));
    return;
  }
  Request& request = parsed.value();
  if (said_hello_ && request.op == Op::kHello) {
    out.push_back(Action::reply(error_reply(request.id, ErrorCode::kBadRequest,
                                            "hello was already said on this connection")));
    return;
  }
  if (request.op == Op::kBarrier && name_.empty()) {
    out.push_back(Action::reply(
        error_reply(request.id, ErrorCode::kBadRequest,
                    "a client without a name (hello name \"\") cannot enter a barrier")));
    return;
  }
  if (in_flight_.size() >= limits_.max_in_flight) {
    return close(out,
                 error_reply(request.id, ErrorCode::kLimit,
                             "more than " + std::to_string(limits_.max_in_flight) +
                                 " requests unanswered: the connection is closed"),
                 "flood");
  }
  if (request.op == Op::kHello) {
    said_hello_ = true;
    name_ = request.name;
  }
  in_flight_.insert(request.id);
  out.push_back(Action::forward(std::move(request)));
}

}  // namespace jobset::rdzv
