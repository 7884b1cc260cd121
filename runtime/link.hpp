// The launcher's end of the daemon connections, on a libevent event_base
// owned by the caller (one loop, no threads).
//
// DaemonListener accepts TCP connections from jobsetd daemons, runs the
// handshake of auth.hpp on each, and hands over every daemon that proved
// the key as a DaemonLink; the others are reported through on_reject and
// dropped. A DaemonLink sends control messages (queued, never blocking)
// and calls its handlers for the daemon's events.
//
// Callbacks may destroy the object that called them (a `closed` handler
// may delete its link, on_daemon may delete the listener).
// Not thread-safe: use from the loop's thread only.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <set>
#include <string>

#include "common/result.hpp"
#include "runtime/messages.hpp"

struct bufferevent;
struct evconnlistener;

namespace jobset::runtime {

// One authenticated daemon connection.
class DaemonLink {
 public:
  struct Handlers {
    std::function<void(const Started&)> started;
    std::function<void(const SpawnFailed&)> spawn_failed;
    std::function<void(const Exited&)> exited;
    std::function<void(const Output&)> output;
    std::function<void(const RdzvRequest&)> rdzv_request;
    std::function<void(const RdzvGone&)> rdzv_gone;
    // EOF, error, protocol violation; called at most once, not after close().
    std::function<void(const std::string& reason)> closed;
  };

  DaemonLink(const DaemonLink&) = delete;
  DaemonLink& operator=(const DaemonLink&) = delete;
  // Closes as close() does.
  ~DaemonLink();

  // Set them inside on_daemon: events that arrive while a handler is
  // empty are dropped.
  void set_handlers(Handlers h);
  // Queued; never blocks. Ignored after the link closed.
  void send(const Message& m);
  const std::string& node() const { return node_; }  // from Hello
  int32_t node_index() const { return node_index_; }
  bool is_open() const { return bev_ != nullptr; }
  // Bytes queued for the daemon and not yet written to the socket.
  size_t queued_bytes() const;
  // Stops reading, lets queued messages reach the daemon (bounded time),
  // then closes. No handler is called afterwards.
  void close();

 private:
  friend class DaemonListener;
  DaemonLink(bufferevent* bev, FrameDecoder decoder, std::string node, int32_t node_index);
  static void on_read(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  void dispatch();
  void fail(const std::string& reason);

  bufferevent* bev_;
  FrameDecoder decoder_;
  std::string node_;
  int32_t node_index_;
  Handlers handlers_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

class DaemonListener {
 public:
  // Listens on bind_addr:0 (default 127.0.0.1), never a wildcard address.
  static Result<std::unique_ptr<DaemonListener>> create(event_base* base, std::string key_bytes,
                                                        const std::string& bind_addr = "127.0.0.1");
  DaemonListener(const DaemonListener&) = delete;
  DaemonListener& operator=(const DaemonListener&) = delete;
  // Stops listening and drops connections still in their handshake.
  ~DaemonListener();

  uint16_t port() const { return port_; }
  std::string address() const;  // "127.0.0.1:PORT" ("[::1]:PORT" for IPv6)

  // Called once per daemon that completed the handshake, in order of
  // arrival; node_index assigned 0,1,2...
  std::function<void(std::unique_ptr<DaemonLink>)> on_daemon;
  // A peer that failed the handshake (wrong key, garbage, timeout, a
  // replayed Hello): reported and dropped; nothing it sent goes further.
  std::function<void(const std::string& why)> on_reject;
  // How long a peer may take to complete the handshake.
  int handshake_timeout_ms = 10000;

 private:
  struct Pending;
  DaemonListener(event_base* base, std::string key, std::string host);
  static void on_accept(evconnlistener*, int fd, struct sockaddr* sa, int len, void* arg);
  static void on_read(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  static void on_timeout(evutil_socket_t, short, void* arg);
  void step(Pending* p);
  void reject(Pending* p, const std::string& why);
  void remove(Pending* p);

  event_base* base_;
  std::string key_;
  std::string host_;
  uint16_t port_ = 0;
  evconnlistener* listener_ = nullptr;
  std::list<std::unique_ptr<Pending>> pending_;
  int32_t next_index_ = 0;
  // Daemon nonces seen, the last kMaxSeenNonces of them: a Hello that
  // repeats one is a replay.
  static constexpr size_t kMaxSeenNonces = 65536;
  std::set<std::string> seen_nonces_;
  std::deque<std::string> seen_order_;
};

}  // namespace jobset::runtime
