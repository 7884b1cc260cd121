// The daemon's rendezvous endpoint (rdzv_endpoint.hpp).
#include "runtime/rdzv_endpoint.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "rendezvous/hosts.hpp"
#include "rendezvous/session.hpp"
#include "runtime/wire.hpp"

namespace jobset::runtime {

namespace {
// A client that does not read its replies: cut off above this many queued bytes.
constexpr size_t kMaxQueuedReplies = 4u << 20;
}  // namespace

struct RdzvEndpoint::Client {
  RdzvEndpoint* endpoint = nullptr;
  uint64_t id = 0;
  bufferevent* bev = nullptr;
  rdzv::Session session;
  ~Client() {
    if (bev) bufferevent_free(bev);
  }
};

Result<std::unique_ptr<RdzvEndpoint>> RdzvEndpoint::create(event_base* base, Send send, Say say) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/jobset-rdzv-XXXXXX";
  if (!mkdtemp(pattern.data()))  // mode 0700
    return Error("cannot make a directory " + pattern + ": " + strerror(errno));
  std::unique_ptr<RdzvEndpoint> e(new RdzvEndpoint(base, std::move(send), std::move(say), pattern));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (e->socket_.size() >= sizeof sa.sun_path)
    return Error("the rendezvous socket path " + e->socket_ + " is too long (set TMPDIR shorter)");
  std::memcpy(sa.sun_path, e->socket_.c_str(), e->socket_.size() + 1);
  e->listener_ = evconnlistener_new_bind(
      base, on_accept, e.get(), LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128,
      reinterpret_cast<sockaddr*>(&sa), static_cast<int>(sizeof sa));
  if (!e->listener_)
    return Error("cannot listen on " + e->socket_ + ": " + strerror(errno));
  return e;
}

RdzvEndpoint::RdzvEndpoint(event_base* base, Send send, Say say, std::string dir)
    : base_(base),
      send_(std::move(send)),
      say_(std::move(say)),
      dir_(std::move(dir)),
      socket_(dir_ + "/rdzv.sock"),
      hosts_(dir_ + "/hosts") {}

RdzvEndpoint::~RdzvEndpoint() {
  clients_.clear();
  if (listener_) evconnlistener_free(listener_);
  unlink(socket_.c_str());
  unlink(hosts_.c_str());
  rmdir(dir_.c_str());
}

void RdzvEndpoint::on_accept(evconnlistener*, int fd, sockaddr*, int, void* arg) {
  static_cast<RdzvEndpoint*>(arg)->accept(fd);
}

void RdzvEndpoint::accept(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != geteuid()) {
    say_("refused a rendezvous client of uid " + std::to_string(cred.uid) + " (pid " +
         std::to_string(cred.pid) + "): only uid " + std::to_string(geteuid()) + " may connect");
    close(fd);
    return;
  }
  evutil_make_socket_nonblocking(fd);
  auto c = std::make_unique<Client>();
  c->endpoint = this;
  c->id = next_id_++;
  c->bev = bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!c->bev) {
    close(fd);
    return;
  }
  bufferevent_setcb(c->bev, on_read, nullptr, on_event, c.get());
  bufferevent_enable(c->bev, EV_READ | EV_WRITE);
  clients_[c->id] = std::move(c);
}

void RdzvEndpoint::on_read(bufferevent* bev, void* arg) {
  auto* c = static_cast<Client*>(arg);
  evbuffer* in = bufferevent_get_input(bev);
  std::string bytes(evbuffer_get_length(in), '\0');
  evbuffer_remove(in, bytes.data(), bytes.size());
  for (rdzv::Action& a : c->session.feed(bytes)) {
    switch (a.kind) {
      case rdzv::Action::Kind::kReply:
        bufferevent_write(bev, a.text.data(), a.text.size());
        break;
      case rdzv::Action::Kind::kForward:
        c->endpoint->send_(RdzvRequest{c->id, rdzv::encode_request(a.request)});
        break;
      case rdzv::Action::Kind::kClose:
        return c->endpoint->drop(c->id, a.text);  // the last action; `c` is gone
    }
  }
}

void RdzvEndpoint::on_event(bufferevent*, short what, void* arg) {
  auto* c = static_cast<Client*>(arg);
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) c->endpoint->drop(c->id, "");
}

// The client's queued replies (the error that explains a close) still go
// out; then the connection closes, and the launcher forgets its waiters.
void RdzvEndpoint::drop(uint64_t id, const std::string& why) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  if (!why.empty()) say_("closed a rendezvous client: " + why);
  bufferevent* bev = it->second->bev;
  it->second->bev = nullptr;
  clients_.erase(it);
  close_when_flushed(bev, 1000);
  send_(RdzvGone{id});
}

void RdzvEndpoint::reply(const RdzvReply& r) {
  auto it = clients_.find(r.client);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  bufferevent_write(c.bev, r.line.data(), r.line.size());
  c.session.answered(r.id);
  if (evbuffer_get_length(bufferevent_get_output(c.bev)) > kMaxQueuedReplies)
    drop(r.client, "it does not read its replies (more than 4 MiB queued)");
}

Status RdzvEndpoint::write_hosts(const Hosts& h) {
  if (auto s = rdzv::write_hosts_file(hosts_, h.text); !s) return s;
  return {};
}

void RdzvEndpoint::close_all() {
  while (!clients_.empty()) drop(clients_.begin()->first, "");
}

}  // namespace jobset::runtime
