// Port reservations and loopback blocks (local_claims.hpp).
#include "launcher/run/local_claims.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace jobset::launcher {
namespace {

// A socket bound to port 0 on every address with SO_REUSEADDR, or -1.
// IPv6's wildcard with IPV6_V6ONLY off covers IPv4's too; where IPv6 is
// off, IPv4's wildcard.
int bind_wildcard(int* port, int* err) {
  int one = 1, zero = 0;
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    socklen_t len = sizeof a;
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) == 0 &&
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      *port = ntohs(a.sin6_port);
      return fd;
    }
    ::close(fd);
  }
  fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t len = sizeof a;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
      ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    *port = ntohs(a.sin_port);
    return fd;
  }
  *err = errno;
  ::close(fd);
  return -1;
}

}  // namespace

PortReservations::~PortReservations() {
  for (int fd : fds_) ::close(fd);
}

Result<int> PortReservations::reserve() {
  int port = 0, err = 0;
  int fd = bind_wildcard(&port, &err);
  if (fd < 0) return Error(std::string("cannot reserve a free port: ") + std::strerror(err));
  fds_.push_back(fd);
  ports_.push_back(port);
  return port;
}

std::string loopback_block_claim_name(int block) {
  return "jobset-loopback-block-" + std::to_string(block);
}

Result<LoopbackBlock> LoopbackBlock::claim(int hint) {
  for (int i = 0; i < 254; ++i) {
    int block = 1 + (hint - 1 + i) % 254;
    if (block < 1) block += 254;
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return Error(std::string("cannot claim a loopback block: socket: ") + std::strerror(errno));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string name = loopback_block_claim_name(block);
    std::memcpy(a.sun_path + 1, name.data(), name.size());  // abstract: leading NUL
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0) return LoopbackBlock(fd, block);
    int err = errno;
    ::close(fd);
    if (err != EADDRINUSE)
      return Error("cannot claim loopback block 127." + std::to_string(block) +
                   ".0.0/16: " + std::strerror(err));
  }
  return Error(
      "cannot claim a loopback block for the simulated nodes: other runs hold all 254 "
      "(127.1.0.0/16 to 127.254.0.0/16)");
}

LoopbackBlock::~LoopbackBlock() {
  if (fd_ >= 0) ::close(fd_);
}

LoopbackBlock::LoopbackBlock(LoopbackBlock&& other) noexcept
    : fd_(other.fd_), block_(other.block_) {
  other.fd_ = -1;
}

}  // namespace jobset::launcher
