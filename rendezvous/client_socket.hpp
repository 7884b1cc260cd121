// The client's end of the rendezvous socket: a non-blocking Unix stream
// socket that sends and reads whole lines, each call bounded by a
// deadline, so that no call of the client library can hang on a daemon
// that stopped answering. Knows nothing of JSON.
#pragma once

#include <chrono>
#include <string>

#include "rendezvous/client_answer.hpp"

namespace jobset::rendezvous {

using Clock = std::chrono::steady_clock;

class LineSocket {
 public:
  // Connects to the Unix socket at `path`. A path nobody listens on fails
  // at once (kIo, naming the path and the reason).
  static Answer<LineSocket> connect(const std::string& path, Clock::time_point deadline);

  LineSocket(LineSocket&& other) noexcept;
  LineSocket& operator=(LineSocket&& other) noexcept;
  LineSocket(const LineSocket&) = delete;
  LineSocket& operator=(const LineSocket&) = delete;
  ~LineSocket();

  // Sends `line` and a newline. kTimeout when the peer does not take it by
  // the deadline, kIo when the connection broke.
  Answer<Done> send_line(const std::string& line, Clock::time_point deadline);
  // The next line without its newline. kTimeout at the deadline (what was
  // read so far is kept for the next call), kIo at end of file or error,
  // kProto for a line longer than `max_line` bytes.
  Answer<std::string> read_line(Clock::time_point deadline, size_t max_line);

  bool open() const { return fd_ >= 0; }
  void close();

 private:
  explicit LineSocket(int fd) : fd_(fd) {}
  // Waits until fd_ is ready for `events` (poll(2)); false at the deadline.
  Answer<bool> wait_for(short events, Clock::time_point deadline) const;

  int fd_ = -1;
  std::string buffer_;  // bytes read past the last line returned
};

}  // namespace jobset::rendezvous
