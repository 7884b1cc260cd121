// Client: requests out as JSON lines with fresh ids, replies in and filed
// by id. The checks of client_checks.hpp run before anything is sent.
#include "rendezvous/client.hpp"

#include <iterator>
#include <type_traits>

#include "rendezvous/client_checks.hpp"

namespace jobset::rendezvous {

using nlohmann::json;

namespace {

const char* const kCodeNames[] = {"ok",           "bad_request", "not_found",     "timeout",
                                  "too_large",    "limit",       "attempt_ended", "closed",
                                  "unauthorized", "io",          "protocol"};

Failure bad_request(const std::string& message) { return {Code::kBadRequest, message}; }

// The reply's field `name` as T, or kProto naming what was missing.
template <typename T>
Answer<T> field(const json& reply, const char* name, const char* expected) {
  auto it = reply.find(name);
  bool typed = it != reply.end() &&
               (std::is_same_v<T, std::string> ? it->is_string() : it->is_number_integer());
  if (!typed)
    return Failure{Code::kProto, std::string("the reply has no ") + name + " (expected " +
                                     expected + "): " + reply.dump().substr(0, 200)};
  return it->get<T>();
}

Answer<Versioned> versioned(const Answer<json>& r) {
  if (!r) return r.failure();
  auto value = field<std::string>(*r, "value", "a string");
  if (!value) return value.failure();
  auto version = field<int64_t>(*r, "version", "an integer");
  if (!version) return version.failure();
  return Versioned{std::move(value.value()), *version};
}

// The reply's string field `name`, or `otherwise` when it has none.
std::string text_of(const json& reply, const char* name, const std::string& otherwise) {
  auto it = reply.find(name);
  return it != reply.end() && it->is_string() ? it->get<std::string>() : otherwise;
}

json without_envelope(json reply) {
  reply.erase("id");
  reply.erase("ok");
  return reply;
}

}  // namespace

const char* code_name(Code code) { return kCodeNames[static_cast<size_t>(code)]; }

Code code_of(const std::string& name) {
  for (size_t i = 1; i < std::size(kCodeNames) - 2; ++i)
    if (name == kCodeNames[i]) return static_cast<Code>(i);
  return Code::kProto;
}

Answer<Client> Client::connect(const std::string& socket_path, const std::string& name,
                               Options options) {
  std::string bad = check_text("name", name, 4096);
  if (!bad.empty()) return bad_request("hello: " + bad);
  auto deadline = Clock::now() + std::chrono::milliseconds(options.margin_ms);
  auto sock = LineSocket::connect(socket_path, deadline);
  if (!sock) return sock.failure();
  Client c(std::move(sock.value()), options);
  auto r = c.call({{"op", "hello"}, {"version", 1}, {"name", name}}, 0);
  if (!r) return r.failure().with_context("hello to the rendezvous service at " + socket_path);
  c.identity_.name = name;
  if (r->contains("run") && (*r)["run"].is_string()) c.identity_.run = (*r)["run"];
  if (r->contains("attempt") && (*r)["attempt"].is_number_integer())
    c.identity_.attempt = (*r)["attempt"];
  if (r->contains("fqdn") && (*r)["fqdn"].is_string()) c.identity_.fqdn = (*r)["fqdn"];
  return c;
}

Answer<int64_t> Client::put(const std::string& key, const std::string& value, bool persistent) {
  std::string bad = check_key(key);
  if (bad.empty()) bad = check_value(key, value);
  if (!bad.empty())
    return Failure{value.size() > kMaxValue ? Code::kTooLarge : Code::kBadRequest, "put: " + bad};
  auto r = call({{"op", "put"}, {"key", key}, {"value", value}, {"persistent", persistent}}, 0);
  if (!r) return r.failure().with_context("put '" + key + "'");
  auto version = field<int64_t>(*r, "version", "an integer");
  if (!version) return version.failure().with_context("put '" + key + "'");
  return version;
}

Answer<Versioned> Client::get(const std::string& key, int64_t timeout_ms) {
  std::string bad = check_key(key);
  if (bad.empty()) bad = check_timeout(timeout_ms);
  if (!bad.empty()) return bad_request("get: " + bad);
  auto r = versioned(call({{"op", "get"}, {"key", key}, {"timeout_ms", timeout_ms}}, timeout_ms));
  if (!r) return r.failure().with_context("get '" + key + "'");
  return r;
}

Answer<Versioned> Client::watch(const std::string& key, int64_t version, int64_t timeout_ms) {
  std::string bad = check_key(key);
  if (bad.empty()) bad = check_timeout(timeout_ms);
  if (bad.empty() && version < 0)
    bad = "version: expected 0 or more, found " + std::to_string(version);
  if (!bad.empty()) return bad_request("watch: " + bad);
  json request = {{"op", "watch"}, {"key", key}, {"version", version}, {"timeout_ms", timeout_ms}};
  auto r = versioned(call(std::move(request), timeout_ms));
  if (!r) return r.failure().with_context("watch '" + key + "'");
  return r;
}

Answer<int64_t> Client::barrier(const std::string& scope, const std::string& tag,
                                int64_t timeout_ms) {
  std::string bad = check_scope(scope);
  if (bad.empty()) bad = check_text("tag", tag, kMaxTag);
  if (bad.empty()) bad = check_timeout(timeout_ms);
  if (bad.empty() && identity_.name.empty())
    bad =
        "this client has no name (JOBSET_HOSTNAME is not set): only the run's processes "
        "take part in barriers";
  if (!bad.empty()) return bad_request("barrier: " + bad);
  json request = {{"op", "barrier"}, {"scope", scope}, {"tag", tag}, {"timeout_ms", timeout_ms}};
  // 0 waits without a limit (PROTOCOL.md), here too: no margin to give up after.
  auto r = call(std::move(request), timeout_ms == 0 ? kNoDeadline : timeout_ms);
  std::string what = "barrier " + scope + (tag.empty() ? "" : " '" + tag + "'");
  if (!r) return r.failure().with_context(what);
  auto size = field<int64_t>(*r, "size", "an integer");
  if (!size) return size.failure().with_context(what);
  return size;
}

Answer<json> Client::lookup(const std::string& name, int64_t timeout_ms) {
  std::string bad = name.empty() ? "name: expected a process name or FQDN, found nothing"
                                 : check_text("name", name, 4096);
  if (bad.empty()) bad = check_timeout(timeout_ms);
  if (!bad.empty()) return bad_request("lookup: " + bad);
  auto r = call({{"op", "lookup"}, {"name", name}, {"timeout_ms", timeout_ms}}, timeout_ms);
  if (!r) return r.failure().with_context("lookup '" + name + "'");
  auto address = field<std::string>(*r, "address", "a string");
  if (!address) return address.failure().with_context("lookup '" + name + "'");
  return without_envelope(std::move(r.value()));
}

Answer<json> Client::hosts() {
  auto r = call({{"op", "hosts"}}, 0);
  if (!r) return r.failure().with_context("hosts");
  if (!r->contains("hosts") || !(*r)["hosts"].is_array())
    return Failure{Code::kProto, "hosts: the reply has no hosts (expected an array)"};
  return without_envelope(std::move(r.value()));
}

Answer<json> Client::call(json request, int64_t timeout_ms) {
  auto id = send(std::move(request), timeout_ms);
  if (!id) return id.failure();
  return receive(*id);
}

Answer<uint64_t> Client::send(json request, int64_t timeout_ms) {
  if (broken_) return *broken_;
  uint64_t id = next_id_++;
  request["id"] = id;
  std::string line;
  try {
    line = request.dump();
  } catch (const json::exception& e) {  // text that is not UTF-8 (the checks missed it)
    return bad_request(std::string("the request cannot be encoded: ") + e.what());
  }
  if (line.size() + 1 > kMaxLine)
    return Failure{Code::kTooLarge, "the request is " + std::to_string(line.size() + 1) +
                                        " bytes as JSON, at most " + std::to_string(kMaxLine) +
                                        " (escaped characters count 2 to 6 bytes)"};
  auto now = Clock::now();
  auto sent = socket_.send_line(line, now + std::chrono::milliseconds(options_.margin_ms));
  if (!sent) return lose_connection(sent.failure());  // maybe half a line went out
  waiting_[id] = timeout_ms == kNoDeadline
                     ? Clock::time_point::max()
                     : now + std::chrono::milliseconds(timeout_ms + options_.margin_ms);
  return id;
}

Answer<json> Client::receive(uint64_t id) {
  for (;;) {
    auto it = arrived_.find(id);
    if (it != arrived_.end()) {
      json reply = std::move(it->second);
      arrived_.erase(it);
      if (reply["ok"].get<bool>()) return reply;
      std::string code = text_of(reply, "error", "");
      std::string text = text_of(reply, "message", code);
      return Failure{code_of(code), text.empty() ? "an error reply without error" : text};
    }
    if (broken_) return *broken_;
    auto waiting = waiting_.find(id);
    if (waiting == waiting_.end())
      return bad_request("no request with id " + std::to_string(id) + " is waiting for a reply");
    auto deadline = waiting->second;
    auto read = read_one(deadline);
    if (!read && read.code() == Code::kTimeout && Clock::now() >= deadline) {
      waiting_.erase(id);
      abandoned_.insert(id);
      return Failure{Code::kTimeout,
                     "no reply from the rendezvous service in time (waited the "
                     "request's timeout and " +
                         std::to_string(options_.margin_ms) + " ms more)"};
    }
    if (!read && read.code() != Code::kTimeout) return read.failure();
  }
}

Answer<Done> Client::read_one(Clock::time_point deadline) {
  auto line = socket_.read_line(deadline, options_.max_reply);
  if (!line)
    return line.code() == Code::kTimeout ? line.failure() : lose_connection(line.failure());
  json reply = json::parse(line.value(), nullptr, false);
  if (reply.is_discarded() || !reply.is_object() || !reply.contains("ok") ||
      !reply["ok"].is_boolean() || !reply.contains("id"))
    return lose_connection({Code::kProto,
                            "a reply of the rendezvous service is not a JSON object "
                            "with id and ok: " +
                                line->substr(0, 200)});
  const json& id = reply["id"];
  if (id.is_null()) {  // about the connection, not a request: the daemon closes it
    std::string code = text_of(reply, "error", "");
    std::string text = text_of(reply, "message", code);
    return lose_connection(
        {code_of(code), "the rendezvous service closed the connection: " + text});
  }
  if (!id.is_number_unsigned())
    return lose_connection({Code::kProto, "a reply's id is not a request id: " + id.dump()});
  auto n = id.get<uint64_t>();
  if (waiting_.erase(n) > 0) {
    arrived_[n] = std::move(reply);
  } else if (abandoned_.erase(n) == 0) {
    return lose_connection(
        {Code::kProto, "a reply with id " + std::to_string(n) + ", which no request has"});
  }
  return Done{};
}

Failure Client::lose_connection(const Failure& why) {
  if (!broken_) broken_ = why;
  socket_.close();
  waiting_.clear();
  return *broken_;
}

}  // namespace jobset::rendezvous
