// Bufferevent helpers for framed messages (wire.hpp).
#include "runtime/wire.hpp"

#include <event2/buffer.h>
#include <event2/event.h>
#include <sys/socket.h>

#include <vector>

namespace jobset::runtime {

void feed_from(bufferevent* bev, FrameDecoder& decoder) {
  evbuffer* in = bufferevent_get_input(bev);
  size_t len = evbuffer_get_length(in);
  if (len == 0) return;
  int n = evbuffer_peek(in, -1, nullptr, nullptr, 0);
  std::vector<evbuffer_iovec> vec(static_cast<size_t>(n));
  n = evbuffer_peek(in, -1, nullptr, vec.data(), n);
  for (int i = 0; i < n; ++i) {
    decoder.feed(static_cast<const char*>(vec[static_cast<size_t>(i)].iov_base),
                 vec[static_cast<size_t>(i)].iov_len);
  }
  evbuffer_drain(in, len);
}

void write_message(bufferevent* bev, const Message& m) {
  std::string frame = encode(m);
  bufferevent_write(bev, frame.data(), frame.size());
}

void write_output(bufferevent* bev, uint64_t launch, Stream stream, std::string_view data) {
  // Header and data go into one chain with room for both. (Adding by
  // reference, or a small add after a big chain, makes libevent allocate
  // a chain as large as the previous one for a few bytes.)
  std::string header = encode_output_header(launch, stream, data.size());
  evbuffer* out = bufferevent_get_output(bev);
  evbuffer_expand(out, header.size() + data.size());
  evbuffer_add(out, header.data(), header.size());
  evbuffer_add(out, data.data(), data.size());
}

namespace {

struct Closer {
  bufferevent* bev = nullptr;
  event* timer = nullptr;
  bool half_closed = false;
  std::function<void()> done;
};

void finish(Closer* c) {
  event_free(c->timer);
  bufferevent_free(c->bev);
  auto done = std::move(c->done);
  delete c;
  if (done) done();
}

void half_close(Closer* c) {
  c->half_closed = true;
  shutdown(bufferevent_getfd(c->bev), SHUT_WR);
  bufferevent_enable(c->bev, EV_READ);
}

void on_read(bufferevent* bev, void*) {
  evbuffer* in = bufferevent_get_input(bev);
  evbuffer_drain(in, evbuffer_get_length(in));  // the peer's last words are not ours to read
}

void on_write(bufferevent* bev, void* arg) {
  auto* c = static_cast<Closer*>(arg);
  if (!c->half_closed && evbuffer_get_length(bufferevent_get_output(bev)) == 0) half_close(c);
}

void on_event(bufferevent*, short, void* arg) { finish(static_cast<Closer*>(arg)); }

void on_timeout(evutil_socket_t, short, void* arg) { finish(static_cast<Closer*>(arg)); }

}  // namespace

void close_when_flushed(bufferevent* bev, int timeout_ms, std::function<void()> done) {
  auto* c = new Closer;
  c->bev = bev;
  c->done = std::move(done);
  c->timer = evtimer_new(bufferevent_get_base(bev), on_timeout, c);
  timeval tv = ms_to_timeval(timeout_ms);
  evtimer_add(c->timer, &tv);
  bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
  bufferevent_setcb(bev, on_read, on_write, on_event, c);
  if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
    half_close(c);
  } else {
    bufferevent_disable(bev, EV_READ);
    bufferevent_enable(bev, EV_WRITE);
  }
}

}  // namespace jobset::runtime
