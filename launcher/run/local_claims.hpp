// What a run claims on this machine so that runs at the same time never
// clash (the OS edge of names.hpp's addresses and ports). Both claims last
// as long as the object that holds them: the run's lifetime.
//
// Ports. A port handed out (MASTER_PORT, the JAX and Megascale coordinator
// ports, a process's replacement for a declared port) stays reserved: the
// launcher keeps a socket bound to it on every address (IPv6 and IPv4
// wildcard, SO_REUSEADDR, never listening). The kernel then gives that
// port to no other bind(port 0) or outgoing connection, so another run
// cannot be handed it, nor can any program's ephemeral socket take it
// before the process it is meant for binds it, and it stays the run's
// across restarts. The process binds it as servers do, with SO_REUSEADDR
// (torch's TCPStore, gRPC, Python's socketserver and asyncio, Go, Java);
// Linux lets a socket listen beside bound, non-listening ones when all set
// SO_REUSEADDR. A server that does not set it gets EADDRINUSE.
//
// Simulated-node addresses. Runs that simulate nodes on this machine each
// take a block 127.<block>.0.0/16 of loopback addresses (names.hpp), block
// 1..254. A run claims its block by binding the abstract Unix socket
// "@jobset-loopback-block-<block>": one per network namespace (the scope
// of 127.0.0.0/8 itself), for any user, released by the kernel when the
// launcher ends however it ends; no files are left behind.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace jobset::launcher {

class PortReservations {
 public:
  PortReservations() = default;
  ~PortReservations();
  PortReservations(const PortReservations&) = delete;
  PortReservations& operator=(const PortReservations&) = delete;

  // A port free on every address now, held until this object ends.
  Result<int> reserve();
  const std::vector<int>& ports() const { return ports_; }

 private:
  std::vector<int> fds_;
  std::vector<int> ports_;
};

// The abstract socket name of a block's claim (without the leading NUL).
std::string loopback_block_claim_name(int block);

class LoopbackBlock {
 public:
  // Claims the first free block, trying `hint`, hint+1, ... (wrapping in
  // 1..254); an error when other runs hold all 254.
  static Result<LoopbackBlock> claim(int hint);
  ~LoopbackBlock();
  LoopbackBlock(LoopbackBlock&& other) noexcept;
  LoopbackBlock& operator=(LoopbackBlock&&) = delete;
  LoopbackBlock(const LoopbackBlock&) = delete;

  int block() const { return block_; }

 private:
  LoopbackBlock(int fd, int block) : fd_(fd), block_(block) {}
  int fd_ = -1;
  int block_ = 0;
};

}  // namespace jobset::launcher
