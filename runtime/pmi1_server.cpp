// jobsetd's PMI-1 server (pmi1_server.hpp): the ranks' sockets and the
// store requests their sessions' actions turn into.
#include "runtime/pmi1_server.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "runtime/wire.hpp"

namespace jobset::runtime {

namespace {

// A rank that does not read its replies: cut off above this many queued bytes.
constexpr size_t kMaxQueued = 1u << 20;

// Store keys allow A-Z a-z 0-9 . / : - and '_'; PMI keys may hold other
// bytes, so those and '_' itself become _XX (hex): one PMI key, one store key.
std::string store_key(const char* prefix, const std::string& key) {
  static const char hex[] = "0123456789abcdef";
  std::string s = prefix;
  for (unsigned char c : key) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '/' || c == ':' || c == '-') {
      s += static_cast<char>(c);
    } else {
      s += '_';
      s += hex[c >> 4];
      s += hex[c & 15];
    }
  }
  return s;
}

}  // namespace

struct Pmi1Server::Rank {
  Pmi1Server* server = nullptr;
  uint64_t id = 0;
  uint64_t launch = 0;
  std::string name;
  bufferevent* bev = nullptr;
  pmi1::Session session;
  uint64_t next_request = 1;
  bool in_world = false;  // as last told to in_world_
  Rank(pmi1::World w, int32_t rank, int32_t appnum) : session(std::move(w), rank, appnum) {}
  ~Rank() {
    if (bev) bufferevent_free(bev);
  }
};

Pmi1Server::Pmi1Server(event_base* base, Send send, Say say, Abort abort, InWorld in_world)
    : base_(base),
      send_(std::move(send)),
      say_(std::move(say)),
      abort_(std::move(abort)),
      in_world_(std::move(in_world)) {}

Pmi1Server::~Pmi1Server() = default;

Result<int> Pmi1Server::add(ProcessSpec& spec) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return Error(std::string("PMI-1: socketpair: ") + strerror(errno));
  if (sv[1] <= 2) {  // the spawner puts the child's stdio there
    int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
    close(sv[1]);
    if (moved < 0) {
      close(sv[0]);
      return Error(std::string("PMI-1: fcntl: ") + strerror(errno));
    }
    sv[1] = moved;
  }
  evutil_make_socket_nonblocking(sv[0]);
  pmi1::World w{spec.pmi_size, spec.pmi_size, spec.pmi_kvs, spec.pmi_mapping};
  auto r = std::make_unique<Rank>(std::move(w), spec.rank, spec.pmi_appnum);
  r->server = this;
  r->id = next_id_++;
  r->launch = spec.launch;
  r->name = spec.name;
  r->bev = bufferevent_socket_new(base_, sv[0], BEV_OPT_CLOSE_ON_FREE);
  if (!r->bev) {
    close(sv[0]);
    close(sv[1]);
    return Error("PMI-1: cannot watch the socket");
  }
  bufferevent_setcb(r->bev, on_read, nullptr, on_event, r.get());
  bufferevent_enable(r->bev, EV_READ | EV_WRITE);
  // The rank's store identity; the requests that follow ride behind it.
  rdzv::Request hello;
  hello.op = rdzv::Op::kHello;
  hello.version = rdzv::kProtocolVersion;
  hello.name = spec.name;
  request(*r, std::move(hello));
  spec.env.emplace_back("PMI_FD", std::to_string(sv[1]));
  spec.env.emplace_back("PMI_RANK", std::to_string(spec.rank));
  spec.env.emplace_back("PMI_SIZE", std::to_string(spec.pmi_size));
  ranks_[r->id] = std::move(r);
  return sv[1];
}

uint64_t Pmi1Server::request(Rank& rank, rdzv::Request q) {
  q.id = rank.next_request++;
  send_(RdzvRequest{rank.id, rdzv::encode_request(q)});
  pending_[{rank.id, q.id}] = Pending{q.op, q.key};
  return q.id;
}

void Pmi1Server::on_read(bufferevent* bev, void* arg) {
  auto* r = static_cast<Rank*>(arg);
  evbuffer* in = bufferevent_get_input(bev);
  std::string bytes(evbuffer_get_length(in), '\0');
  evbuffer_remove(in, bytes.data(), bytes.size());
  Pmi1Server* server = r->server;
  server->carry_out(*r, r->session.feed(bytes));
  if (evbuffer_get_length(bufferevent_get_output(bev)) > kMaxQueued) {
    server->say_("closed the PMI-1 connection of " + r->name +
                 ": it does not read its replies (more than 1 MiB queued)");
    server->drop(r->id);
  }
}

void Pmi1Server::on_event(bufferevent*, short what, void* arg) {
  auto* r = static_cast<Rank*>(arg);
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) r->server->drop(r->id);
}

void Pmi1Server::carry_out(Rank& rank, std::vector<pmi1::Action> actions) {
  using Kind = pmi1::Action::Kind;
  for (pmi1::Action& a : actions) {
    rdzv::Request q;
    switch (a.kind) {
      case Kind::kReply:
        bufferevent_write(rank.bev, a.text.data(), a.text.size());
        continue;
      case Kind::kPut:
        q.op = rdzv::Op::kPut;
        q.key = store_key("pmi1/", a.key);
        q.value = a.value;
        break;
      case Kind::kGet:
        fetch(rank, store_key("pmi1/", a.key));
        continue;
      case Kind::kBarrier:
        q.op = rdzv::Op::kBarrier;
        q.scope = rdzv::Scope::kAll;
        q.tag = "pmi1:" + std::to_string(a.code);
        break;
      case Kind::kPublish:
      case Kind::kUnpublish:  // an empty port is no port
        q.op = rdzv::Op::kPut;
        q.key = store_key("pmi1-service/", a.key);
        q.value = a.kind == Kind::kPublish ? a.value : "";
        break;
      case Kind::kLookup:
        q.op = rdzv::Op::kGet;
        q.key = store_key("pmi1-service/", a.key);
        break;
      case Kind::kAbort:
        abort_(rank.launch, static_cast<int>(a.code),
               "jobset: " + rank.name + " (rank " + std::to_string(rank.session.rank()) +
                   ") called MPI_Abort with exit code " + std::to_string(a.code) + "\n");
        continue;
      case Kind::kFinalize:
        continue;
    }
    request(rank, std::move(q));
  }
  const pmi1::Session& s = rank.session;
  bool in = s.initialized() && !s.finalized() && !s.aborted();
  if (in != rank.in_world) {
    rank.in_world = in;
    in_world_(rank.launch, in);
  }
}

// One store request per key at a time for the whole node; the answer is
// kept for the other ranks until a barrier completes.
void Pmi1Server::fetch(Rank& rank, const std::string& key) {
  if (auto it = cache_.find(key); it != cache_.end())
    return carry_out(rank, rank.session.got(it->second));
  auto& waiting = fetching_[key];
  waiting.push_back(rank.id);
  if (waiting.size() > 1) return;
  rdzv::Request q;
  q.op = rdzv::Op::kGet;
  q.key = key;
  request(rank, std::move(q));
}

void Pmi1Server::fetched(const std::string& key, const std::optional<std::string>& value,
                         const std::string& error) {
  if (value) cache_[key] = *value;
  auto it = fetching_.find(key);
  if (it == fetching_.end()) return;
  std::vector<uint64_t> waiting = std::move(it->second);
  fetching_.erase(it);
  for (uint64_t id : waiting) {
    auto r = ranks_.find(id);
    if (r != ranks_.end()) carry_out(*r->second, r->second->session.got(value, error));
  }
}

void Pmi1Server::reply(const RdzvReply& reply) {
  auto p = pending_.find({reply.client, reply.id});
  if (p == pending_.end()) return;
  Pending pend = std::move(p->second);
  pending_.erase(p);
  nlohmann::json j = nlohmann::json::parse(reply.line, nullptr, false);
  bool ok = j.is_object() && j.value("ok", false);
  std::string code = j.is_object() ? j.value("error", "") : "";
  std::string error;
  if (!ok) {
    error = j.is_object() ? code + ": " + j.value("message", "") : "unreadable reply";
  }
  if (pend.op == rdzv::Op::kGet && pend.key.rfind("pmi1/", 0) == 0) {
    if (!ok && code == "not_found") return fetched(pend.key, std::nullopt, "");
    std::optional<std::string> value;
    if (ok && j.contains("value") && j["value"].is_string()) value = j["value"].get<std::string>();
    return fetched(pend.key, value, error);
  }
  auto r = ranks_.find(reply.client);
  if (r == ranks_.end()) return;
  Rank& rank = *r->second;
  switch (pend.op) {
    case rdzv::Op::kHello:
    case rdzv::Op::kPut:
      if (pend.op == rdzv::Op::kPut && pend.key.rfind("pmi1-service/", 0) == 0)
        return carry_out(rank, rank.session.name_done(error));
      if (!ok) say_("PMI-1 for " + rank.name + ": the store refused a request: " + error);
      return;
    case rdzv::Op::kBarrier:
      if (ok) cache_.clear();  // values fetched before it may be put again after it
      return carry_out(rank, rank.session.barrier_done(error));
    case rdzv::Op::kGet: {  // a service name
      std::optional<std::string> port;
      if (ok && j.contains("value") && j["value"].is_string() &&
          !j["value"].get<std::string>().empty())
        port = j["value"].get<std::string>();
      if (!ok && code == "not_found") error.clear();
      return carry_out(rank, rank.session.looked_up(port, error));
    }
    default:
      return;
  }
}

void Pmi1Server::drop(uint64_t id) {
  auto it = ranks_.find(id);
  if (it == ranks_.end()) return;
  ranks_.erase(it);
  // Its answers go nowhere, except a node-wide fetch that others wait for.
  for (auto p = pending_.lower_bound({id, 0}); p != pending_.end() && p->first.first == id;) {
    bool fetch = p->second.op == rdzv::Op::kGet && p->second.key.rfind("pmi1/", 0) == 0;
    p = fetch ? std::next(p) : pending_.erase(p);
  }
  send_(RdzvGone{id});
}

void Pmi1Server::close_all() {
  while (!ranks_.empty()) drop(ranks_.begin()->first);
}

}  // namespace jobset::runtime
