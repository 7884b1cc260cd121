// The rendezvous client (C++): one connection to the run's rendezvous
// service over the Unix socket named by $JOBSET_RDZV, speaking the
// line-per-request JSON protocol of rdzv-contract.md. connect() says
// hello; each call then sends one request and waits for the reply with
// its id. Replies may come out of order: a reply for another request
// sent with send() is kept until receive() asks for it, and a reply to a
// request the client stopped waiting for is dropped when it comes.
//
// Every wait is bounded but one: a request with timeout_ms waits at most
// timeout_ms plus Options::margin_ms for its reply (kTimeout after that;
// the connection stays usable); a barrier with timeout_ms 0 waits as long
// as the barrier takes, as PROTOCOL.md promises (kNoDeadline to send()). A reply with id null (the
// daemon refusing the connection: too_large, limit) or a broken connection fails this and every
// later call of the client, with the same reason.
//
// The C ABI (include/jobset/rdzv.h, rdzv_c.cpp) and `jobset rdzv` are
// built on this class. Not thread-safe: one Client per thread.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "rendezvous/client_answer.hpp"
#include "rendezvous/client_socket.hpp"

namespace jobset::rendezvous {

struct Options {
  int margin_ms = 5000;                 // how much longer than the request's timeout to wait
  size_t max_reply = size_t{64} << 20;  // longest reply line accepted (hosts of big runs)
};

// The hello reply: who the service says we are.
struct Identity {
  std::string run;
  int64_t attempt = 0;
  std::string name;
  std::string fqdn;
};

struct Versioned {
  std::string value;
  int64_t version = 0;
};

class Client {
 public:
  // Connects to the socket and says hello as `name` ("": a client that is
  // not one of the run's processes; it may do everything but barriers).
  static Answer<Client> connect(const std::string& socket_path, const std::string& name,
                                Options options = {});

  const Identity& identity() const { return identity_; }

  // The version of the key after this put (puts of the key, from 1).
  Answer<int64_t> put(const std::string& key, const std::string& value, bool persistent);
  // timeout_ms 0: at once, kNotFound when absent; else waits for the put.
  Answer<Versioned> get(const std::string& key, int64_t timeout_ms);
  // Once the key's version is above `version`.
  Answer<Versioned> watch(const std::string& key, int64_t version, int64_t timeout_ms);
  // The number of members, once all of the scope's have entered.
  Answer<int64_t> barrier(const std::string& scope, const std::string& tag, int64_t timeout_ms);
  // The reply's fields without id and ok: name, fqdn, node, address, ports, attempt.
  Answer<nlohmann::json> lookup(const std::string& name, int64_t timeout_ms);
  // {"attempt": N, "hosts": [...]}.
  Answer<nlohmann::json> hosts();

  // The two halves of a call, for callers that keep several requests in
  // flight. send() gives `request` (an object with "op") the next id and
  // sends it; its reply is waited for until timeout_ms + margin from now.
  // receive() returns that reply (ok true; its error as a Failure else).
  // timeout_ms kNoDeadline: the reply is waited for without a limit.
  static constexpr int64_t kNoDeadline = -1;
  Answer<uint64_t> send(nlohmann::json request, int64_t timeout_ms);
  Answer<nlohmann::json> receive(uint64_t id);

 private:
  Client(LineSocket socket, Options options) : socket_(std::move(socket)), options_(options) {}
  Answer<nlohmann::json> call(nlohmann::json request, int64_t timeout_ms);
  // Reads one reply line and files it under its id; a Failure when the
  // connection is lost (then broken_ holds why).
  Answer<Done> read_one(Clock::time_point deadline);
  Failure lose_connection(const Failure& why);

  LineSocket socket_;
  Options options_;
  Identity identity_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Clock::time_point> waiting_;  // sent, reply not yet read: its deadline
  std::map<uint64_t, nlohmann::json> arrived_;     // read, not yet received
  std::set<uint64_t> abandoned_;                   // timed out here: drop the reply
  std::optional<Failure> broken_;                  // why the connection is gone
};

}  // namespace jobset::rendezvous
