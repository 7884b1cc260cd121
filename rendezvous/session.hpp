// The daemon's side of one rendezvous client connection, pure: bytes in,
// actions out. The daemon reads the socket, feeds what it read, and carries
// out the actions in order: write a reply to the client, forward a
// validated request to the launcher's store, or close the connection.
// When the store's reply to a forwarded request comes back (and has been
// written to the client), the daemon calls answered(id).
//
// What a session enforces (PROTOCOL.md):
// - framing: lines of at most limits.max_line bytes; a longer one (or a
//   partial line that already is) gets too_large with id null, then close;
// - hello first: anything else, or a malformed first line, gets
//   bad_request, then close; a second hello gets bad_request;
// - barrier needs a name: a client whose hello name was "" gets
//   bad_request;
// - flood: more than limits.max_in_flight requests forwarded and not yet
//   answered gets limit, then close.
// A malformed line after the hello gets bad_request (with the request's id
// when it could be read) and the connection stays open. After a close,
// feed() ignores everything.
//
// Not thread-safe: one session per connection, used from the daemon's loop.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "rendezvous/protocol.hpp"

namespace jobset::rdzv {

struct Action {
  enum class Kind { kReply, kForward, kClose };
  Kind kind = Kind::kReply;
  std::string text;  // kReply: the line to write; kClose: the reason (for the daemon's log)
  Request request;   // kForward

  static Action reply(std::string line) { return {Kind::kReply, std::move(line), {}}; }
  static Action forward(Request r) { return {Kind::kForward, {}, std::move(r)}; }
  static Action close(std::string why) { return {Kind::kClose, std::move(why), {}}; }
};

class Session {
 public:
  explicit Session(Limits limits = Limits{}) : limits_(limits) {}

  // Takes the next bytes read from the client; returns what to do, in order.
  // A kClose, when present, is the last action, and later calls return
  // nothing.
  std::vector<Action> feed(std::string_view bytes);

  // The store answered forwarded request `id` (an id with no forwarded
  // request outstanding is ignored).
  void answered(uint64_t id);

  const std::string& name() const { return name_; }
  bool said_hello() const { return said_hello_; }
  bool closed() const { return closed_; }
  size_t in_flight() const { return in_flight_.size(); }

 private:
  void line(std::string_view line, std::vector<Action>& out);
  void close(std::vector<Action>& out, std::string reply, std::string why);

  Limits limits_;
  std::string partial_;
  std::string name_;
  bool said_hello_ = false;
  bool closed_ = false;
  std::multiset<uint64_t> in_flight_;  // ids forwarded, not yet answered (clients may reuse ids)
};

}  // namespace jobset::rdzv
