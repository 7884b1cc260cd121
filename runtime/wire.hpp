// Glue between libevent bufferevents and the frames of messages.hpp, used
// by both ends of the connection (link.cpp in the launcher, daemon.cpp).
#pragma once

#include <event2/bufferevent.h>
#include <sys/time.h>

#include <functional>
#include <string_view>

#include "runtime/messages.hpp"

namespace jobset::runtime {

// A relative timeout for event_add.
inline timeval ms_to_timeval(int ms) {
  return timeval{ms / 1000, static_cast<suseconds_t>(ms % 1000) * 1000};
}

// Moves everything in the bufferevent's input buffer into the decoder.
void feed_from(bufferevent* bev, FrameDecoder& decoder);

// Appends one frame to the bufferevent's output buffer (never blocks).
void write_message(bufferevent* bev, const Message& m);

// Queues an Output frame without building it in a temporary first.
void write_output(bufferevent* bev, uint64_t launch, Stream stream, std::string_view data);

// Takes ownership of `bev`: stops reading, lets the queued output drain,
// half-closes, waits briefly for the peer's EOF (so that closing does not
// reset a connection the peer still writes to) and frees it. Gives up
// after `timeout_ms`. `bev` must have been created with
// BEV_OPT_CLOSE_ON_FREE. `done`, when given, is called once it is closed.
void close_when_flushed(bufferevent* bev, int timeout_ms, std::function<void()> done = {});

}  // namespace jobset::runtime
