// The daemon's rendezvous endpoint: a Unix socket in a private (0700)
// directory that the node's processes dial (JOBSET_RDZV), and the node's
// hosts file beside it (JOBSET_HOSTS_FILE). Each client connection runs a
// rendezvous::Session (the pure protocol engine); the requests it lets
// through go to the launcher as RdzvRequest, and the launcher's RdzvReply
// comes back to the client. Clients of another uid (SO_PEERCRED) are
// refused at once; a client that floods or sends garbage loses its own
// connection, nothing else.
//
// Not thread-safe: use from the daemon's loop only.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "runtime/messages.hpp"

struct evconnlistener;
struct bufferevent;

namespace jobset::runtime {

class RdzvEndpoint {
 public:
  using Send = std::function<void(const Message&)>;    // to the launcher
  using Say = std::function<void(const std::string&)>;  // one line to the daemon's log

  // Makes the directory (under $TMPDIR, else /tmp) and listens.
  static Result<std::unique_ptr<RdzvEndpoint>> create(event_base* base, Send send, Say say);
  RdzvEndpoint(const RdzvEndpoint&) = delete;
  RdzvEndpoint& operator=(const RdzvEndpoint&) = delete;
  // Closes every client, removes the socket, the hosts file and the directory.
  ~RdzvEndpoint();

  const std::string& socket_path() const { return socket_; }
  const std::string& hosts_path() const { return hosts_; }

  // A reply of the launcher's store; dropped when its client is gone.
  void reply(const RdzvReply& r);
  // Replaces the hosts file atomically.
  Status write_hosts(const Hosts& h);
  // The launcher connection is gone: every client is closed.
  void close_all();

 private:
  struct Client;
  RdzvEndpoint(event_base* base, Send send, Say say, std::string dir);
  static void on_accept(evconnlistener*, int fd, struct sockaddr*, int, void* arg);
  static void on_read(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  void accept(int fd);
  void drop(uint64_t id, const std::string& why);

  event_base* base_;
  Send send_;
  Say say_;
  std::string dir_, socket_, hosts_;
  evconnlistener* listener_ = nullptr;
  std::map<uint64_t, std::unique_ptr<Client>> clients_;
  uint64_t next_id_ = 1;
};

}  // namespace jobset::runtime
