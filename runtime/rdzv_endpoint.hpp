// The daemon's rendezvous endpoint: a Unix socket in a private (0700)
// directory that the node's processes dial (JOBSET_RDZV), and the node's
// hosts file beside it (JOBSET_HOSTS_FILE). Each client connection runs a
// rendezvous::Session (the pure protocol engine); the requests it lets
// through go to the launcher as RdzvRequest, and the launcher's RdzvReply
// comes back to the client. Clients of another uid (SO_PEERCRED) are
// refused at once and logged; a client that floods or sends garbage loses
// its own connection (logged with the reason), nothing else:
// - a line over the protocol's bound, a first request that is not hello,
//   more than max_in_flight requests unanswered: the Session closes it;
// - more than kMaxQueuedReplies bytes written to it and not read by it
//   (replies, or the error replies to endless garbage): closed.
// Backpressure: while `congested` says the launcher link is backed up, no
// client is read (the kernel's socket buffers then stop the writers);
// reading resumes on resume(), which the daemon calls when its link
// drains, or at the latest after kResumePollMs.
//
// Directories of daemons that died without cleaning up (SIGKILL) are
// removed by the next endpoint made on the node: each directory holds a
// lock file that its live endpoint keeps flock(2)ed.
//
// Not thread-safe: use from the daemon's loop only.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "runtime/messages.hpp"

struct evconnlistener;
struct bufferevent;

namespace jobset::runtime {

class RdzvEndpoint {
 public:
  using Send = std::function<void(const Message&)>;     // to the launcher
  using Say = std::function<void(const std::string&)>;  // one line to the daemon's log
  using Congested = std::function<bool()>;              // the launcher link is backed up

  // Bytes a client may leave unread before it is cut off.
  static constexpr size_t kMaxQueuedReplies = size_t{4} << 20;
  static constexpr int kResumePollMs = 20;

  // Removes stale directories (above), makes the directory (under
  // $TMPDIR, else /tmp) and listens.
  static Result<std::unique_ptr<RdzvEndpoint>> create(event_base* base, Send send, Say say,
                                                      Congested congested = {});
  // The stale directories removal alone (for tests): returns how many went.
  static int remove_stale(const std::string& tmpdir);
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
  // The launcher link drained: read the clients again.
  void resume();

  size_t clients() const { return clients_.size(); }
  const std::string& directory() const { return dir_; }

 private:
  struct Client;
  RdzvEndpoint(event_base* base, Send send, Say say, Congested congested, std::string dir);
  static void on_accept(evconnlistener*, int fd, struct sockaddr*, int, void* arg);
  static void on_read(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  static void on_resume_timer(evutil_socket_t, short, void* arg);
  void accept(int fd);
  void read_from(Client& c);
  void write_to(Client& c, std::string_view bytes);
  bool park(Client& c);  // true when reading has to wait for the link
  void drop(uint64_t id, const std::string& why);

  event_base* base_;
  Send send_;
  Say say_;
  Congested congested_;
  std::string dir_, socket_, hosts_, lock_;
  int lock_fd_ = -1;
  evconnlistener* listener_ = nullptr;
  event* resume_timer_ = nullptr;
  bool parked_ = false;  // some client waits for the link to drain
  std::map<uint64_t, std::unique_ptr<Client>> clients_;
  uint64_t next_id_ = 1;
};

}  // namespace jobset::runtime
