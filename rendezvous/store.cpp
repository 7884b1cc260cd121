// Store (store.hpp).
//
// A request is answered at once when it can be; otherwise it becomes a
// Waiter whose subject says what wakes it: "k:<key>" (get, watch: a put of
// the key), "n:<member>" (lookup: the member registering) or "b:<barrier>"
// (barrier: the last member entering). Every way out of waiting goes
// through Waiters::take, so a waiter is answered exactly once. Failed
// requests change nothing: bounds are checked on copies before anything is
// committed.
#include "rendezvous/store.hpp"

#include <utility>

namespace jobset::rdzv {

using nlohmann::json;

Store::Store(std::string run_name, ReplyFn reply, Limits limits)
    : run_name_(std::move(run_name)), reply_(std::move(reply)), limits_(limits) {}

// ---- lifecycle --------------------------------------------------------------

void Store::begin_attempt(int attempt, std::vector<Member> members) {
  end_all_waiters(ErrorCode::kAttemptEnded, "attempt " + std::to_string(attempt_) +
                                                " ended; attempt " + std::to_string(attempt) +
                                                " begins");
  for (auto it = kv_.begin(); it != kv_.end();) {
    if (it->second.persistent) {
      ++it;
      continue;
    }
    Usage& u = usage_[it->second.owner];
    u.keys -= 1;
    u.bytes -= it->second.value.size();
    if (u.keys == 0) usage_.erase(it->second.owner);
    it = kv_.erase(it);
  }
  attempt_ = attempt;
  members_ = std::move(members);
  index_.clear();
  group_size_.clear();
  for (size_t i = 0; i < members_.size(); ++i) {
    index_[members_[i].name] = i;
    if (!members_[i].fqdn.empty()) index_.emplace(members_[i].fqdn, i);
    for (Scope s : {Scope::kAll, Scope::kReplicatedJob, Scope::kJob})
      ++group_size_[group_of(s, members_[i])];
  }
}

void Store::set_registered(const std::string& name, bool registered) {
  auto it = index_.find(name);
  if (it == index_.end()) return;
  Member& m = members_[it->second];
  m.registered = registered;
  if (registered) wake_member(m);
}

void Store::move(const std::string& name, std::string node, std::string address) {
  auto it = index_.find(name);
  if (it == index_.end()) return;
  members_[it->second].node = std::move(node);
  members_[it->second].address = std::move(address);
}

void Store::tick(int64_t now_ms) {
  for (uint64_t handle : waiters_.expired(now_ms)) {
    const Waiter* w = waiters_.find(handle);
    answer(handle, ErrorCode::kTimeout,
           std::string(op_name(w->request.op)) + " timed out after " +
               std::to_string(w->request.timeout_ms) + " ms");
  }
}

void Store::drop(const Origin& origin) {
  for (uint64_t handle : waiters_.from(origin)) {
    std::optional<Waiter> w = waiters_.take(handle);
    if (w->request.op != Op::kBarrier) continue;
    Entered* e = entry_of(handle, *w);
    if (e) e->handle = 0;  // stays entered, see store.hpp
  }
  callers_.erase(origin);
}

void Store::drop_node(int node) {
  std::vector<Origin> gone;
  for (const auto& [origin, name] : callers_)
    if (origin.node == node) gone.push_back(origin);
  for (const Origin& origin : gone) drop(origin);
}

void Store::close(const std::string& why) {
  closed_ = why;
  end_all_waiters(ErrorCode::kClosed, why);
}

void Store::end_all_waiters(ErrorCode code, const std::string& message) {
  for (uint64_t handle : waiters_.all()) answer(handle, code, message);
  barriers_.clear();
}

// ---- requests -----------------------------------------------------------------

void Store::handle(const Origin& origin, const Request& q, int64_t now_ms) {
  if (closed_) return reply(origin, error_reply(q.id, ErrorCode::kClosed, *closed_));
  if (q.op == Op::kHello) return hello(origin, q);
  auto it = callers_.find(origin);
  if (it == callers_.end()) {
    return reply(origin, error_reply(q.id, ErrorCode::kBadRequest,
                                     "no successful hello on this connection"));
  }
  std::string caller = caller_key(origin);
  switch (q.op) {
    case Op::kPut:
      return put(caller, origin, q);
    case Op::kGet:
    case Op::kWatch:
      return get(caller, origin, q, now_ms);
    case Op::kLookup:
      return lookup(caller, origin, q, now_ms);
    case Op::kBarrier:
      return barrier(it->second, origin, q, now_ms);
    case Op::kHosts:
      return hosts(origin, q);
    case Op::kHello:
      break;
  }
}

void Store::hello(const Origin& origin, const Request& q) {
  const Member* m = q.name.empty() ? nullptr : member(q.name);
  if (!q.name.empty() && (!m || m->name != q.name)) {
    return reply(origin, error_reply(q.id, ErrorCode::kNotFound,
                                     "'" + q.name +
                                         "' is not one of the run's processes (a client "
                                         "outside the run says hello with name \"\")"));
  }
  callers_[origin] = q.name;
  reply(origin, ok_reply(q.id, {{"run", run_name_},
                                {"attempt", attempt_},
                                {"name", q.name},
                                {"fqdn", m ? m->fqdn : ""}}));
}

void Store::put(const std::string& caller, const Origin& origin, const Request& q) {
  const std::string value = q.value.value_or("");
  auto old = kv_.find(q.key);
  Usage mine = usage_.count(caller) ? usage_[caller] : Usage{};
  if (old != kv_.end() && old->second.owner == caller) {
    mine.keys -= 1;
    mine.bytes -= old->second.value.size();
  }
  mine.keys += 1;
  mine.bytes += value.size();
  if (mine.keys > limits_.max_keys || mine.bytes > limits_.max_value_bytes) {
    return reply(origin, error_reply(q.id, ErrorCode::kLimit,
                                     mine.keys > limits_.max_keys
                                         ? "more than " + std::to_string(limits_.max_keys) +
                                               " keys put by one process"
                                         : "more than " + std::to_string(limits_.max_value_bytes) +
                                               " bytes of values put by one process"));
  }
  uint64_t version = 1;
  if (old != kv_.end()) {
    version = old->second.version + 1;
    if (old->second.owner != caller) {
      Usage& theirs = usage_[old->second.owner];
      theirs.keys -= 1;
      theirs.bytes -= old->second.value.size();
      if (theirs.keys == 0) usage_.erase(old->second.owner);
    }
  }
  usage_[caller] = mine;
  kv_[q.key] = Entry{value, version, q.persistent, caller};
  reply(origin, ok_reply(q.id, {{"version", version}}));
  wake_key(q.key);
}

// get and watch: a get is satisfied by any version, a watch by a newer one.
void Store::get(const std::string& caller, const Origin& origin, const Request& q, int64_t now_ms) {
  auto it = kv_.find(q.key);
  bool satisfied = it != kv_.end() && (q.op == Op::kGet || it->second.version > q.version);
  if (satisfied) {
    return reply(origin,
                 ok_reply(q.id, {{"value", it->second.value}, {"version", it->second.version}}));
  }
  if (q.timeout_ms > 0) {
    (void)wait(caller, origin, q, "k:" + q.key, now_ms, true);
  } else if (q.op == Op::kGet) {
    reply(origin, error_reply(q.id, ErrorCode::kNotFound, "key '" + q.key + "' is not set"));
  } else {
    reply(origin,
          error_reply(q.id, ErrorCode::kTimeout,
                      "key '" + q.key + "' is not past version " + std::to_string(q.version)));
  }
}

void Store::wake_key(const std::string& key) {
  const Entry& e = kv_.at(key);
  for (uint64_t handle : waiters_.on("k:" + key)) {
    const Waiter* w = waiters_.find(handle);
    if (w->request.op == Op::kWatch && e.version <= w->request.version) continue;
    std::optional<Waiter> done = waiters_.take(handle);
    reply(done->origin, ok_reply(done->request.id, {{"value", e.value}, {"version", e.version}}));
  }
}

void Store::lookup(const std::string& caller, const Origin& origin, const Request& q,
                   int64_t now_ms) {
  const Member* m = member(q.name);
  if (!m) {
    return reply(origin, error_reply(q.id, ErrorCode::kNotFound,
                                     "'" + q.name + "' is not one of the run's processes"));
  }
  if (m->registered) return reply(origin, ok_reply(q.id, member_reply(*m)));
  if (q.timeout_ms > 0) {
    (void)wait(caller, origin, q, "n:" + m->name, now_ms, true);
    return;
  }
  reply(origin,
        error_reply(q.id, ErrorCode::kNotFound,
                    "'" + m->name + "' has not started in attempt " + std::to_string(attempt_)));
}

void Store::wake_member(const Member& m) {
  for (uint64_t handle : waiters_.on("n:" + m.name)) {
    std::optional<Waiter> w = waiters_.take(handle);
    reply(w->origin, ok_reply(w->request.id, member_reply(m)));
  }
}

void Store::hosts(const Origin& origin, const Request& q) {
  json list = json::array();
  for (const Member& m : members_) {
    list.push_back({{"name", m.name},
                    {"fqdn", m.fqdn},
                    {"node", m.node},
                    {"address", m.address},
                    {"registered", m.registered}});
  }
  reply(origin, ok_reply(q.id, {{"attempt", attempt_}, {"hosts", std::move(list)}}));
}

// ---- barriers -----------------------------------------------------------------

void Store::barrier(const std::string& name, const Origin& origin, const Request& q,
                    int64_t now_ms) {
  auto found = index_.find(name);
  if (name.empty() || found == index_.end()) {
    return reply(origin, error_reply(q.id, ErrorCode::kBadRequest,
                                     "only the run's processes enter barriers"));
  }
  const Member& m = members_[found->second];
  std::string group = group_of(q.scope, m);
  std::string key = group + '\0' + q.tag;
  auto b = barriers_.find(key);
  const Entered* mine = nullptr;
  if (b != barriers_.end() && b->second.count(m.name)) mine = &b->second.at(m.name);
  if (mine && mine->handle != 0) {
    return reply(origin, error_reply(q.id, ErrorCode::kBadRequest,
                                     "'" + m.name + "' already entered barrier " +
                                         scope_name(q.scope) + " '" + q.tag + "'"));
  }
  size_t entered = (b == barriers_.end() ? 0 : b->second.size()) + (mine ? 0 : 1);
  size_t size = group_size_[group];
  if (entered < size) {
    std::optional<uint64_t> handle =
        wait(caller_key(origin), origin, q, "b:" + key, now_ms, q.timeout_ms > 0);
    if (handle) barriers_[key][m.name] = Entered{*handle, q.value};
    return;
  }
  // The last one in: everyone gets the size, and the values when there are any.
  Barrier done;
  if (b != barriers_.end()) {
    done = std::move(b->second);
    barriers_.erase(b);
  }
  done[m.name] = Entered{0, q.value};
  // The reply's body is encoded once, not once per member: with values,
  // that would be quadratic in the barrier's size.
  json payload = {{"size", size}};
  json values = json::object();
  for (auto& [who, e] : done)
    if (e.value) values[who] = std::move(*e.value);
  if (!values.empty()) payload["values"] = std::move(values);
  const std::string body = reply_body(payload);
  payload = json();
  for (const auto& [who, e] : done) {
    if (e.handle == 0) continue;
    std::optional<Waiter> w = waiters_.take(e.handle);
    if (w) reply(w->origin, ok_reply_with(w->request.id, body));
  }
  reply(origin, ok_reply_with(q.id, body));
}

void Store::leave_barrier(uint64_t handle, const Waiter& w) {
  auto b = barriers_.find(w.subject.substr(2));
  if (b == barriers_.end()) return;
  auto it = b->second.find(member_of(w));
  if (it != b->second.end() && it->second.handle == handle) b->second.erase(it);
  if (b->second.empty()) barriers_.erase(b);
}

// A barrier waiter's caller is "name:<member>" (only named callers enter).
std::string Store::member_of(const Waiter& w) {
  return w.caller.rfind("name:", 0) == 0 ? w.caller.substr(5) : std::string();
}

Store::Entered* Store::entry_of(uint64_t handle, const Waiter& w) {
  auto b = barriers_.find(w.subject.substr(2));
  if (b == barriers_.end()) return nullptr;
  auto it = b->second.find(member_of(w));
  return it != b->second.end() && it->second.handle == handle ? &it->second : nullptr;
}

// ---- helpers ------------------------------------------------------------------

std::optional<uint64_t> Store::wait(const std::string& caller, const Origin& origin,
                                    const Request& q, std::string subject, int64_t now_ms,
                                    bool expires) {
  if (waiters_.count(caller) >= limits_.max_waiting) {
    reply(origin, error_reply(q.id, ErrorCode::kLimit,
                              "more than " + std::to_string(limits_.max_waiting) +
                                  " requests waiting for one process"));
    return std::nullopt;
  }
  std::optional<int64_t> deadline;
  if (expires) deadline = now_ms + q.timeout_ms;
  return waiters_.add(Waiter{origin, q, caller, std::move(subject), deadline});
}

void Store::answer(uint64_t handle, ErrorCode code, const std::string& message) {
  std::optional<Waiter> w = waiters_.take(handle);
  if (!w) return;
  if (w->request.op == Op::kBarrier) leave_barrier(handle, *w);
  reply(w->origin, error_reply(w->request.id, code, message));
}

const Member* Store::member(const std::string& name_or_fqdn) const {
  auto it = index_.find(name_or_fqdn);
  return it == index_.end() ? nullptr : &members_[it->second];
}

std::string Store::caller_key(const Origin& origin) const {
  auto it = callers_.find(origin);
  if (it != callers_.end() && !it->second.empty()) return "name:" + it->second;
  return "conn:" + std::to_string(origin.node) + "/" + std::to_string(origin.client);
}

std::string Store::group_of(Scope scope, const Member& m) {
  switch (scope) {
    case Scope::kAll:
      return "all";
    case Scope::kReplicatedJob:
      return "rjob:" + m.replicated_job;
    case Scope::kJob:
      return "job:" + m.replicated_job + "/" + std::to_string(m.job_index);
  }
  return "";
}

json Store::member_reply(const Member& m) const {
  return {{"name", m.name},       {"fqdn", m.fqdn},   {"node", m.node},
          {"address", m.address}, {"ports", m.ports}, {"attempt", attempt_}};
}

}  // namespace jobset::rdzv
