// The requests a Store holds until something happens (a put, a process
// starting, the last member entering a barrier) or their deadline passes.
// Pure bookkeeping with indexes: by what they wait on, by deadline, by
// origin, and counts per caller for the per-process bound. Internal to the
// store (store.cpp); not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "rendezvous/protocol.hpp"

namespace jobset::rdzv {

// Where a request came from: the daemon's node index and its connection
// number there. Opaque to the store, which only hands it back with replies.
struct Origin {
  int node = 0;
  uint64_t client = 0;
  // Spelled out: clang-tidy 14 misreads a defaulted operator<=>.
  bool operator==(const Origin& o) const { return node == o.node && client == o.client; }
  bool operator<(const Origin& o) const {
    return node != o.node ? node < o.node : client < o.client;
  }
};

struct Waiter {
  Origin origin;
  Request request;
  std::string caller;   // whose bound it counts against (Store::caller_key)
  std::string subject;  // what it waits on: "k:<key>", "n:<member>", "b:<barrier>"
  std::optional<int64_t> deadline;
};

class Waiters {
 public:
  // Returns the new waiter's handle (never 0).
  uint64_t add(Waiter w);
  // Removes and returns a waiter; nullopt for a handle not held.
  std::optional<Waiter> take(uint64_t handle);
  const Waiter* find(uint64_t handle) const;

  std::vector<uint64_t> on(const std::string& subject) const;
  std::vector<uint64_t> expired(int64_t now_ms) const;
  std::vector<uint64_t> from(const Origin& origin) const;
  std::vector<uint64_t> all() const;
  std::optional<int64_t> next_deadline() const;
  size_t count(const std::string& caller) const;

 private:
  uint64_t next_ = 1;
  std::map<uint64_t, Waiter> waiters_;
  // (subject, handle) and (origin, handle): take() removes its entries in
  // O(log n), however many wait on the same subject (a barrier of
  // thousands) or come from the same origin.
  std::set<std::pair<std::string, uint64_t>> by_subject_;
  std::set<std::pair<Origin, uint64_t>> by_origin_;
  std::set<std::pair<int64_t, uint64_t>> by_deadline_;
  std::map<std::string, size_t> per_caller_;
};

}  // namespace jobset::rdzv
