// The launcher's authoritative rendezvous store: the run's names, its
// key-value pairs and its barriers. Pure and clock-driven: requests come in
// through handle() with the caller's notion of now, replies go out through
// the ReplyFn given to the constructor (at once, or later from another
// handle(), tick(), begin_attempt() or close()), and the caller arms a timer
// for next_deadline() and calls tick() when it fires. No threads, no
// sockets.
//
// Callers. A hello ties an Origin (a daemon's connection) to a name: one
// of the run's processes, or "" for a client outside the run. Bounds
// (keys, value bytes, waiting requests) count per name, so a process that
// reconnects keeps its usage; for "" they count per origin.
//
// Attempts. begin_attempt() starts a JobSet attempt with its members (none
// registered yet): keys put without persistent are removed, every waiting
// request is answered attempt_ended, barriers start empty.
//
// Barriers. One barrier per (scope, group, tag) within the attempt, the
// group being everyone (all), the caller's replicated job, or its job. It
// completes when every member of the group has entered; all get
// {"size":N}, plus {"values":{name:value}} when any member entered with a
// value (the building block of a PMIx fence, README.md). A member that
// times out leaves the barrier (its retry enters again). A member whose
// client disconnects stays entered: its process did reach the barrier,
// and the others should not wait for it; its reply goes nowhere, and a
// later entry of the same name (a reconnected client) takes the entry
// over rather than being a double entry.
//
// Not thread-safe. The ReplyFn must not call back into the Store.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rendezvous/protocol.hpp"
#include "rendezvous/waiters.hpp"

namespace jobset::rdzv {

struct Member {
  std::string name;            // <jobset>-<rjob>-<job>-<pod>
  std::string fqdn;            // <name>.<subdomain>
  std::string replicated_job;  // the barrier groups: replicated job,
  int job_index = 0;           // and job within it
  std::string node;
  std::string address;
  std::map<std::string, int> ports;
  bool registered = false;  // its process of the current attempt has started
  bool operator==(const Member&) const = default;
};

class Store {
 public:
  using ReplyFn = std::function<void(const Origin&, std::string line)>;

  Store(std::string run_name, ReplyFn reply, Limits limits = Limits{});

  void begin_attempt(int attempt, std::vector<Member> members);
  // A member's process started (true) or ended (false); lookups of it wait
  // while it is not registered. Unknown names are ignored.
  void set_registered(const std::string& name, bool registered);
  // A member's process was placed elsewhere (a restart on another node).
  void move(const std::string& name, std::string node, std::string address);

  void handle(const Origin& origin, const Request& request, int64_t now_ms);
  // Answers with timeout every waiter whose deadline is at or before now.
  void tick(int64_t now_ms);
  std::optional<int64_t> next_deadline() const { return waiters_.next_deadline(); }

  // A client disconnected: its waiters go (without replies), its barrier
  // entries stay (see above). drop_node: every client of a node.
  void drop(const Origin& origin);
  void drop_node(int node);
  // The run is ending: every waiter is answered closed with `why`, and
  // later requests too.
  void close(const std::string& why);

  std::vector<Member> members() const { return members_; }
  int attempt() const { return attempt_; }

 private:
  struct Entry {
    std::string value;
    uint64_t version = 0;
    bool persistent = false;
    std::string owner;  // the caller whose bounds it counts against
  };
  struct Usage {
    size_t keys = 0;
    size_t bytes = 0;
  };
  struct Entered {
    uint64_t handle = 0;  // its waiter; 0 once its client disconnected
    std::optional<std::string> value;
  };
  using Barrier = std::map<std::string, Entered>;  // member name -> entry

  void hello(const Origin& origin, const Request& q);
  void put(const std::string& caller, const Origin& origin, const Request& q);
  void get(const std::string& caller, const Origin& origin, const Request& q, int64_t now_ms);
  void lookup(const std::string& caller, const Origin& origin, const Request& q, int64_t now_ms);
  void barrier(const std::string& name, const Origin& origin, const Request& q, int64_t now_ms);
  void hosts(const Origin& origin, const Request& q);

  // Holds `q` until woken; nullopt (and a limit reply) when the caller
  // already has limits.max_waiting requests waiting.
  std::optional<uint64_t> wait(const std::string& caller, const Origin& origin, const Request& q,
                               std::string subject, int64_t now_ms, bool expires);
  void answer(uint64_t handle, ErrorCode code, const std::string& message);
  void wake_key(const std::string& key);
  void wake_member(const Member& m);
  void leave_barrier(uint64_t handle, const Waiter& w);
  static std::string member_of(const Waiter& w);
  Entered* entry_of(uint64_t handle, const Waiter& w);
  void end_all_waiters(ErrorCode code, const std::string& message);

  const Member* member(const std::string& name_or_fqdn) const;
  std::string caller_key(const Origin& origin) const;
  static std::string group_of(Scope scope, const Member& m);
  nlohmann::json member_reply(const Member& m) const;
  void reply(const Origin& origin, std::string line) { reply_(origin, std::move(line)); }

  std::string run_name_;
  ReplyFn reply_;
  Limits limits_;
  int attempt_ = 0;
  std::optional<std::string> closed_;
  std::vector<Member> members_;
  std::map<std::string, size_t> index_;       // members_ by name and by FQDN
  std::map<std::string, size_t> group_size_;  // barrier groups (group_of) and their sizes
  std::map<Origin, std::string> callers_;     // hello names by origin
  std::map<std::string, Entry> kv_;
  std::map<std::string, Usage> usage_;
  std::map<std::string, Barrier> barriers_;
  Waiters waiters_;
};

}  // namespace jobset::rdzv
