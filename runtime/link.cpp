// DaemonListener and DaemonLink (link.hpp): the launcher's side of the
// handshake and of the message stream, on bufferevents.
//
// A connection starts as a Pending entry of the listener, with a small
// frame limit (kMaxHandshakeFrame) and a timer. When the daemon's Auth
// checks out, the listener sends Welcome and moves the bufferevent (and
// the decoder, with anything already buffered) into a new DaemonLink,
// which from then on belongs to whoever takes it in on_daemon.
#include "runtime/link.hpp"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "runtime/auth.hpp"
#include "runtime/wire.hpp"

namespace jobset::runtime {

namespace {

constexpr int kCloseTimeoutMs = 5000;
constexpr size_t kMaxSingleRead =
    size_t{256} * 1024;  // also for writes; libevent's default is 16 KiB

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string socket_error_text() {
  int err = EVUTIL_SOCKET_ERROR();
  return err ? std::string(strerror(err)) : std::string("unknown error");
}

std::string peer_name(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "?";
}

}  // namespace

// ---- DaemonLink -------------------------------------------------------------

DaemonLink::DaemonLink(bufferevent* bev, FrameDecoder decoder, std::string node, int32_t node_index)
    : bev_(bev), decoder_(std::move(decoder)), node_(std::move(node)), node_index_(node_index) {
  decoder_.set_max_frame(kMaxFrame);
  bufferevent_set_max_single_read(bev_, kMaxSingleRead);
  bufferevent_set_max_single_write(bev_, kMaxSingleRead);
  bufferevent_setcb(bev_, on_read, nullptr, on_event, this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
}

DaemonLink::~DaemonLink() { close(); }

void DaemonLink::set_handlers(Handlers h) { handlers_ = std::move(h); }

void DaemonLink::send(const Message& m) {
  if (bev_) write_message(bev_, m);
}

size_t DaemonLink::queued_bytes() const {
  return bev_ ? evbuffer_get_length(bufferevent_get_output(bev_)) : 0;
}

void DaemonLink::close() {
  if (!bev_) return;
  bufferevent* bev = bev_;
  bev_ = nullptr;
  close_when_flushed(bev, kCloseTimeoutMs);
}

void DaemonLink::on_read(bufferevent* bev, void* arg) {
  auto* self = static_cast<DaemonLink*>(arg);
  feed_from(bev, self->decoder_);
  self->dispatch();
}

void DaemonLink::on_event(bufferevent*, short what, void* arg) {
  auto* self = static_cast<DaemonLink*>(arg);
  if (what & BEV_EVENT_EOF) {
    self->fail("connection closed by the daemon");
  } else if (what & BEV_EVENT_ERROR) {
    self->fail("connection error: " + socket_error_text());
  }
}

void DaemonLink::dispatch() {
  std::weak_ptr<int> alive = alive_;
  while (bev_) {
    std::optional<Result<Message>> next = decoder_.next();
    if (!next) return;
    if (!next->ok()) return fail("protocol error: " + next->error().message());
    Message& m = next->value();
    if (auto* s = std::get_if<Started>(&m)) {
      if (handlers_.started) handlers_.started(*s);
    } else if (auto* f = std::get_if<SpawnFailed>(&m)) {
      if (handlers_.spawn_failed) handlers_.spawn_failed(*f);
    } else if (auto* e = std::get_if<Exited>(&m)) {
      if (handlers_.exited) handlers_.exited(*e);
    } else if (auto* o = std::get_if<Output>(&m)) {
      if (handlers_.output) handlers_.output(*o);
    } else if (auto* r = std::get_if<RdzvRequest>(&m)) {
      if (handlers_.rdzv_request) handlers_.rdzv_request(*r);
    } else if (auto* g = std::get_if<RdzvGone>(&m)) {
      if (handlers_.rdzv_gone) handlers_.rdzv_gone(*g);
    } else {
      return fail(std::string("protocol violation: unexpected ") + message_name(m) +
                  " from the daemon");
    }
    if (alive.expired()) return;  // a handler destroyed this link
  }
}

void DaemonLink::fail(const std::string& reason) {
  if (!bev_) return;
  bufferevent_free(bev_);
  bev_ = nullptr;
  if (handlers_.closed) {
    auto closed = handlers_.closed;  // the handler may destroy this link
    closed(reason);
  }
}

// ---- DaemonListener ---------------------------------------------------------

struct DaemonListener::Pending {
  DaemonListener* owner = nullptr;
  bufferevent* bev = nullptr;
  event* timer = nullptr;
  std::string peer;
  FrameDecoder decoder{kMaxHandshakeFrame};
  std::optional<Hello> hello;
  std::optional<Challenge> challenge;

  ~Pending() {
    if (timer) event_free(timer);
    if (bev) bufferevent_free(bev);
  }
};

DaemonListener::DaemonListener(event_base* base, std::string key, std::string host)
    : base_(base), key_(std::move(key)), host_(std::move(host)) {}

Result<std::unique_ptr<DaemonListener>> DaemonListener::create(event_base* base,
                                                               std::string key_bytes,
                                                               const std::string& bind_addr) {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (evutil_parse_sockaddr_port(bind_addr.c_str(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return Error("listen on '" + bind_addr + "': not an IP address");
  }
  bool wildcard = false;
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    wildcard = in->sin_addr.s_addr == htonl(INADDR_ANY);
    in->sin_port = 0;
  } else if (ss.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    wildcard = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
    in6->sin6_port = 0;
  }
  if (wildcard) return Error("listen on '" + bind_addr + "': refusing a wildcard address");
  if (key_bytes.empty()) return Error("listen: empty key");

  std::string host = peer_name(reinterpret_cast<sockaddr*>(&ss));
  host = host.substr(0, host.rfind(':'));
  std::unique_ptr<DaemonListener> l(new DaemonListener(base, std::move(key_bytes), host));
  l->listener_ = evconnlistener_new_bind(
      base, on_accept, l.get(), LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
      SOMAXCONN, reinterpret_cast<sockaddr*>(&ss), len);
  if (!l->listener_) return Error("listen on " + bind_addr + ": " + socket_error_text());
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(evconnlistener_get_fd(l->listener_), reinterpret_cast<sockaddr*>(&bound), &blen);
  l->port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return l;
}

DaemonListener::~DaemonListener() {
  if (listener_) evconnlistener_free(listener_);
}

std::string DaemonListener::address() const { return host_ + ":" + std::to_string(port_); }

void DaemonListener::on_accept(evconnlistener*, int fd, sockaddr* sa, int, void* arg) {
  auto* self = static_cast<DaemonListener*>(arg);
  set_nodelay(fd);
  auto p = std::make_unique<Pending>();
  p->owner = self;
  p->peer = peer_name(sa);
  p->bev = bufferevent_socket_new(self->base_, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!p->bev) {
    evutil_closesocket(fd);
    return;
  }
  p->timer = evtimer_new(self->base_, on_timeout, p.get());
  timeval tv = ms_to_timeval(self->handshake_timeout_ms);
  evtimer_add(p->timer, &tv);
  bufferevent_setcb(p->bev, on_read, nullptr, on_event, p.get());
  bufferevent_enable(p->bev, EV_READ | EV_WRITE);
  self->pending_.push_back(std::move(p));
}

void DaemonListener::on_read(bufferevent* bev, void* arg) {
  auto* p = static_cast<Pending*>(arg);
  feed_from(bev, p->decoder);
  p->owner->step(p);
}

void DaemonListener::on_event(bufferevent*, short what, void* arg) {
  auto* p = static_cast<Pending*>(arg);
  p->owner->reject(p, (what & BEV_EVENT_EOF) ? "connection closed during the handshake"
                                             : "connection error: " + socket_error_text());
}

void DaemonListener::on_timeout(evutil_socket_t, short, void* arg) {
  auto* p = static_cast<Pending*>(arg);
  p->owner->reject(p,
                   "no handshake within " + std::to_string(p->owner->handshake_timeout_ms) + " ms");
}

void DaemonListener::step(Pending* p) {
  for (;;) {
    std::optional<Result<Message>> next = p->decoder.next();
    if (!next) return;
    if (!next->ok()) return reject(p, "protocol error: " + next->error().message());
    Message& m = next->value();
    if (!p->hello) {
      auto* hello = std::get_if<Hello>(&m);
      if (!hello) return reject(p, std::string("expected Hello, got ") + message_name(m));
      auto challenge = make_challenge(key_, *hello);
      if (!challenge.ok()) return reject(p, challenge.error().message());
      // A recorded handshake replayed: its Auth could never match the fresh
      // challenge, but it is refused before the launcher answers anything.
      if (!seen_nonces_.insert(hello->nonce).second)
        return reject(
            p, "replayed handshake (node '" + hello->node + "' sent a nonce that was used before)");
      seen_order_.push_back(hello->nonce);
      if (seen_order_.size() > kMaxSeenNonces) {
        seen_nonces_.erase(seen_order_.front());
        seen_order_.pop_front();
      }
      p->hello = std::move(*hello);
      p->challenge = std::move(*challenge);
      write_message(p->bev, *p->challenge);
      continue;
    }
    auto* auth = std::get_if<Auth>(&m);
    if (!auth) return reject(p, std::string("expected Auth, got ") + message_name(m));
    if (Status s = check_auth(key_, *p->hello, *p->challenge, *auth); !s.ok()) {
      return reject(p, "node '" + p->hello->node + "': " + s.error().message());
    }
    int32_t index = next_index_++;
    write_message(p->bev, Welcome{index});
    std::unique_ptr<DaemonLink> link(
        new DaemonLink(p->bev, std::move(p->decoder), p->hello->node, index));
    p->bev = nullptr;  // now the link's
    remove(p);
    if (on_daemon) {
      auto cb = on_daemon;  // it may destroy this listener
      cb(std::move(link));
    }
    return;  // the link reads what follows; `p` is gone
  }
}

void DaemonListener::reject(Pending* p, const std::string& why) {
  std::string message = "daemon connection from " + p->peer + " rejected: " + why;
  remove(p);
  if (on_reject) {
    auto cb = on_reject;  // it may destroy this listener
    cb(message);
  }
}

void DaemonListener::remove(Pending* p) {
  pending_.remove_if([p](const std::unique_ptr<Pending>& q) { return q.get() == p; });
}

}  // namespace jobset::runtime
