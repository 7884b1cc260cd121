// LineSocket: every wait is a poll(2) with the time left to the deadline,
// every write MSG_NOSIGNAL (a daemon that went away is an error value,
// not a SIGPIPE that kills the user's program).
#include "rendezvous/client_socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace jobset::rendezvous {

namespace {

Failure io_failure(const std::string& what, int err) {
  return {Code::kIo, what + ": " + std::strerror(err)};
}

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
}

}  // namespace

Answer<LineSocket> LineSocket::connect(const std::string& path, Clock::time_point deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty()) return Failure{Code::kIo, "rendezvous socket: the path is empty"};
  if (path.size() >= sizeof addr.sun_path)
    return Failure{Code::kIo, "rendezvous socket " + path + ": path too long (" +
                                  std::to_string(path.size()) + " bytes, at most " +
                                  std::to_string(sizeof addr.sun_path - 1) + ")"};
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return io_failure("rendezvous socket " + path + ": socket", errno);
  LineSocket sock(fd);
  // A non-blocking Unix connect either completes, fails at once, or says
  // EAGAIN when the listener's backlog is full: then try again shortly.
  while (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    if (err == EISCONN) break;  // an interrupted connect that completed
    if (err != EAGAIN) {
      std::string message = "cannot connect to the rendezvous socket " + path + ": ";
      message += std::strerror(err);
      if (err == ECONNREFUSED || err == ENOENT)
        message += " (no rendezvous service there: has the run ended?)";
      return Failure{Code::kIo, message};
    }
    if (Clock::now() >= deadline)
      return Failure{Code::kIo, "cannot connect to the rendezvous socket " + path +
                                    ": the service does not accept connections (backlog full)"};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return sock;
}

LineSocket::LineSocket(LineSocket&& other) noexcept
    : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

LineSocket& LineSocket::operator=(LineSocket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    buffer_ = std::move(other.buffer_);
    other.fd_ = -1;
  }
  return *this;
}

LineSocket::~LineSocket() { close(); }

void LineSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

Answer<bool> LineSocket::wait_for(short events, Clock::time_point deadline) const {
  for (;;) {
    pollfd p{fd_, events, 0};
    int n = ::poll(&p, 1, ms_left(deadline));
    if (n > 0) return true;
    if (n == 0) {
      if (Clock::now() >= deadline) return false;
      continue;
    }
    if (errno != EINTR) return io_failure("rendezvous socket: poll", errno);
  }
}

Answer<Done> LineSocket::send_line(const std::string& line, Clock::time_point deadline) {
  if (fd_ < 0) return Failure{Code::kIo, "the connection to the rendezvous service is closed"};
  std::string data = line + "\n";
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto ready = wait_for(POLLOUT, deadline);
      if (!ready) return ready.failure();
      if (!ready.value())
        return Failure{Code::kTimeout, "the rendezvous service did not take the request in time"};
      continue;
    }
    return io_failure("sending to the rendezvous service", errno);
  }
  return Done{};
}

Answer<std::string> LineSocket::read_line(Clock::time_point deadline, size_t max_line) {
  if (fd_ < 0) return Failure{Code::kIo, "the connection to the rendezvous service is closed"};
  size_t scanned = 0;
  for (;;) {
    size_t nl = buffer_.find('\n', scanned);
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    scanned = buffer_.size();
    if (buffer_.size() > max_line)
      return Failure{Code::kProto, "a reply of the rendezvous service is longer than " +
                                       std::to_string(max_line) + " bytes"};
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return Failure{Code::kIo, "the rendezvous service closed the connection"};
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return io_failure("reading from the rendezvous service", errno);
    auto ready = wait_for(POLLIN, deadline);
    if (!ready) return ready.failure();
    if (!ready.value()) return Failure{Code::kTimeout, "no reply from the rendezvous service"};
  }
}

}  // namespace jobset::rendezvous
