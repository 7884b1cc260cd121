// The daemon's rendezvous endpoint (rdzv_endpoint.hpp).
#include "runtime/rdzv_endpoint.hpp"

#include <dirent.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "rendezvous/hosts.hpp"
#include "rendezvous/session.hpp"
#include "runtime/wire.hpp"

namespace jobset::runtime {

namespace {

constexpr char kPrefix[] = "jobset-rdzv-";
constexpr char kLockName[] = "lock";

std::string tmp_dir() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

// A directory of ours whose lock nobody holds: its daemon is gone. One
// without a lock file is left alone (it may be being made right now, or
// belong to an older daemon still running).
bool is_stale(const std::string& dir) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) return false;
  int fd = open((dir + "/" + kLockName).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  bool free = flock(fd, LOCK_EX | LOCK_NB) == 0;
  close(fd);  // releases it again
  return free;
}

}  // namespace

struct RdzvEndpoint::Client {
  RdzvEndpoint* endpoint = nullptr;
  uint64_t id = 0;
  bufferevent* bev = nullptr;
  bool parked = false;
  rdzv::Session session;
  ~Client() {
    if (bev) bufferevent_free(bev);
  }
};

int RdzvEndpoint::remove_stale(const std::string& tmpdir) {
  int removed = 0;
  DIR* d = opendir(tmpdir.c_str());
  if (!d) return 0;
  std::vector<std::string> dirs;
  while (dirent* e = readdir(d))
    if (std::strncmp(e->d_name, kPrefix, sizeof kPrefix - 1) == 0)
      dirs.push_back(tmpdir + "/" + e->d_name);
  closedir(d);
  for (const std::string& dir : dirs) {
    if (!is_stale(dir)) continue;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);  // does not follow symbolic links
    if (!ec) ++removed;
  }
  return removed;
}

Result<std::unique_ptr<RdzvEndpoint>> RdzvEndpoint::create(event_base* base, Send send, Say say,
                                                           Congested congested) {
  if (int n = remove_stale(tmp_dir()); n > 0)
    say("removed " + std::to_string(n) + " rendezvous director" + (n == 1 ? "y" : "ies") +
        " of daemons that died (" + tmp_dir() + "/" + kPrefix + "*)");
  std::string pattern = tmp_dir() + "/" + kPrefix + "XXXXXX";
  if (!mkdtemp(pattern.data()))  // mode 0700
    return Error("cannot make a directory " + pattern + ": " + strerror(errno));
  std::unique_ptr<RdzvEndpoint> e(
      new RdzvEndpoint(base, std::move(send), std::move(say), std::move(congested), pattern));
  // The lock is taken under another name and then renamed, so that no
  // other daemon ever sees the lock file unlocked.
  std::string taking = e->dir_ + "/lock.new";
  e->lock_fd_ = open(taking.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (e->lock_fd_ < 0 || flock(e->lock_fd_, LOCK_EX | LOCK_NB) != 0 ||
      rename(taking.c_str(), e->lock_.c_str()) != 0)
    return Error("cannot lock " + e->lock_ + ": " + strerror(errno));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (e->socket_.size() >= sizeof sa.sun_path)
    return Error("the rendezvous socket path " + e->socket_ + " is too long (set TMPDIR shorter)");
  std::memcpy(sa.sun_path, e->socket_.c_str(), e->socket_.size() + 1);
  e->listener_ = evconnlistener_new_bind(
      base, on_accept, e.get(), LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128,
      reinterpret_cast<sockaddr*>(&sa), static_cast<int>(sizeof sa));
  if (!e->listener_) return Error("cannot listen on " + e->socket_ + ": " + strerror(errno));
  e->resume_timer_ = evtimer_new(base, on_resume_timer, e.get());
  return e;
}

RdzvEndpoint::RdzvEndpoint(event_base* base, Send send, Say say, Congested congested,
                           std::string dir)
    : base_(base),
      send_(std::move(send)),
      say_(std::move(say)),
      congested_(std::move(congested)),
      dir_(std::move(dir)),
      socket_(dir_ + "/rdzv.sock"),
      hosts_(dir_ + "/hosts"),
      lock_(dir_ + "/" + kLockName) {}

RdzvEndpoint::~RdzvEndpoint() {
  clients_.clear();
  if (listener_) evconnlistener_free(listener_);
  if (resume_timer_) event_free(resume_timer_);
  unlink(socket_.c_str());
  unlink(hosts_.c_str());
  unlink(lock_.c_str());
  if (lock_fd_ >= 0) close(lock_fd_);
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

// Straight to the socket when nothing is queued (the common case: a
// reply the client waits for), saving the event loop's two epoll changes
// and a turn per reply; whatever the socket does not take is queued.
void RdzvEndpoint::write_to(Client& c, std::string_view bytes) {
  evbuffer* out = bufferevent_get_output(c.bev);
  if (evbuffer_get_length(out) == 0) {
    ssize_t n =
        ::send(bufferevent_getfd(c.bev), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) bytes.remove_prefix(static_cast<size_t>(n));
  }
  if (!bytes.empty()) bufferevent_write(c.bev, bytes.data(), bytes.size());
}

void RdzvEndpoint::on_read(bufferevent*, void* arg) {
  auto* c = static_cast<Client*>(arg);
  c->endpoint->read_from(*c);
}

bool RdzvEndpoint::park(Client& c) {
  if (!congested_ || !congested_()) return false;
  if (!c.parked) {
    c.parked = true;
    bufferevent_disable(c.bev, EV_READ);
  }
  if (!parked_) {
    parked_ = true;
    timeval tv = ms_to_timeval(kResumePollMs);
    evtimer_add(resume_timer_, &tv);
  }
  return true;
}

void RdzvEndpoint::read_from(Client& c) {
  if (park(c)) return;
  evbuffer* in = bufferevent_get_input(c.bev);
  std::string bytes(evbuffer_get_length(in), '\0');
  evbuffer_remove(in, bytes.data(), bytes.size());
  uint64_t id = c.id;
  for (rdzv::Action& a : c.session.feed(bytes)) {
    switch (a.kind) {
      case rdzv::Action::Kind::kReply:
        write_to(c, a.text);
        break;
      case rdzv::Action::Kind::kForward:
        send_(RdzvRequest{id, rdzv::encode_request(a.request)});
        break;
      case rdzv::Action::Kind::kClose:
        return drop(id, a.text);  // the last action; `c` is gone
    }
  }
  // Error replies to endless garbage count too.
  if (evbuffer_get_length(bufferevent_get_output(c.bev)) > kMaxQueuedReplies)
    drop(id, "it does not read its replies (more than 4 MiB queued)");
}

void RdzvEndpoint::on_resume_timer(evutil_socket_t, short, void* arg) {
  auto* e = static_cast<RdzvEndpoint*>(arg);
  e->parked_ = false;
  e->resume();
}

void RdzvEndpoint::resume() {
  if (congested_ && congested_()) {
    if (parked_ || clients_.empty()) return;
    bool any = false;
    for (auto& entry : clients_) any = any || entry.second->parked;
    if (any) {
      parked_ = true;
      timeval tv = ms_to_timeval(kResumePollMs);
      evtimer_add(resume_timer_, &tv);
    }
    return;
  }
  std::vector<uint64_t> ids;
  for (auto& [id, c] : clients_)
    if (c->parked) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = clients_.find(id);
    if (it == clients_.end()) continue;
    Client& c = *it->second;
    c.parked = false;
    bufferevent_enable(c.bev, EV_READ);
    // What was read before parking is not announced again.
    if (evbuffer_get_length(bufferevent_get_input(c.bev)) > 0) read_from(c);
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
  write_to(c, r.line);
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
