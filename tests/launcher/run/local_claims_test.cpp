// What a run claims on this machine (launcher/run/local_claims.hpp), with
// real sockets: reserved ports that nothing else is given, loopback blocks
// that two runs never share.
#include "launcher/run/local_claims.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <optional>
#include <set>

namespace jobset::launcher {
namespace {

// Binds a new IPv4 socket to `port` on `address` (0: the kernel chooses);
// the port bound, or the negated errno. `reuse`: SO_REUSEADDR first;
// `listen_too`: then listens.
int bind_v4(uint32_t address, int port, bool reuse, bool listen_too = false) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  int one = 1;
  if (reuse) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(address);
  a.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof a;
  int rc = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      (listen_too && ::listen(fd, 1) != 0))
    rc = -errno;
  else if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    rc = ntohs(a.sin_port);
  ::close(fd);
  return rc;
}

TEST_CASE(
    "local claims: reserved ports are distinct and given to no other socket, while a "
    "SO_REUSEADDR server can still listen on one",
    "[claims]") {
  std::set<int> held;
  int last = 0;
  {
    PortReservations r;
    for (int i = 0; i < 32; ++i) {
      auto port = r.reserve();
      REQUIRE(port);
      CHECK(*port > 0);
      held.insert(*port);
      last = *port;
    }
    CHECK(held.size() == 32);
    CHECK(std::set<int>(r.ports().begin(), r.ports().end()) == held);
    // The kernel's choice for port 0 never falls on a reserved port (as it
    // did for the next run when the launcher closed its probe).
    for (int i = 0; i < 2000; ++i) {
      int p = bind_v4(INADDR_LOOPBACK, 0, /*reuse=*/true);
      REQUIRE(p > 0);
      CHECK(held.count(p) == 0);
    }
    CHECK(bind_v4(INADDR_ANY, last, /*reuse=*/false) == -EADDRINUSE);
    CHECK(bind_v4(INADDR_LOOPBACK, last, /*reuse=*/false) == -EADDRINUSE);
    CHECK(bind_v4(0x7f050001, last, /*reuse=*/false) == -EADDRINUSE);  // 127.5.0.1
    CHECK(bind_v4(INADDR_ANY, last, /*reuse=*/true, /*listen_too=*/true) == last);
  }
  // Released with the object.
  CHECK(bind_v4(INADDR_ANY, last, /*reuse=*/false) == last);
}

TEST_CASE("local claims: two runs never hold the same loopback block; a block ends with its run",
          "[claims]") {
  auto a = LoopbackBlock::claim(200);
  REQUIRE(a);
  auto b = LoopbackBlock::claim(a->block());  // the same first choice
  REQUIRE(b);
  CHECK(a->block() != b->block());
  CHECK(a->block() >= 1);
  CHECK(a->block() <= 254);
  int first = a->block();
  {
    std::optional<LoopbackBlock> moved;
    moved.emplace(std::move(*a));  // the claim moves with the object
    auto c = LoopbackBlock::claim(first);
    REQUIRE(c);
    CHECK(c->block() != first);
  }
  auto again = LoopbackBlock::claim(first);  // released when `moved` ended
  REQUIRE(again);
  CHECK(again->block() == first);
  CHECK(loopback_block_claim_name(7) == "jobset-loopback-block-7");
  // Hints wrap around 1..254.
  auto wrapped = LoopbackBlock::claim(254 + 254);
  REQUIRE(wrapped);
  CHECK(wrapped->block() >= 1);
  CHECK(wrapped->block() <= 254);
}

}  // namespace
}  // namespace jobset::launcher
