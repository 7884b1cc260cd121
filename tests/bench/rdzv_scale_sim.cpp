// A simulation of one barrier at the launcher at scale (tests/bench/
// RDZV-SCALE.md): the real Store, fed the real frames a daemon sends
// (RdzvRequest), answering with the real frames it sends back (RdzvReply),
// for NODES simulated nodes of 16 processes each. It counts the messages
// and bytes that cross the launcher's links per barrier and measures the
// launcher's CPU per message (frame decode, request parse, store, reply
// encode), without sockets: the kernel's share is measured by make bench
// (rdzv.sh), not here.
//
// Star: every process's request reaches the launcher (today's design).
// Fan-in: each daemon enters once for its 16 processes (one request, one
// reply per node), and with tree fan-in F, aggregators of F daemons each
// send one message up: the launcher sees NODES/F of each. Fan-in rows are
// the same Store fed one member per node (or per aggregator): the store
// and the frames are what they would be.
//
//   rdzv_scale_sim [VALUE_BYTES [NODES...]]   (0: a plain barrier; else an
//   allgather of values of VALUE_BYTES; NODES default 64 256 1000 2500 10000)
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "rendezvous/protocol.hpp"
#include "rendezvous/store.hpp"
#include "runtime/messages.hpp"

using namespace jobset;

namespace {

// This thread's CPU time: the machine is shared, wall time would count others' work.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

struct Figures {
  size_t members = 0;
  size_t msgs_in = 0, msgs_out = 0;
  double bytes_in = 0, bytes_out = 0;
  double seconds = 0;  // launcher CPU for the whole barrier
};

// One barrier of `members` members, one per connection, spread over
// `nodes` links; each enters with a value of `value_bytes` (0: none).
Figures barrier(size_t members, size_t nodes, size_t value_bytes) {
  Figures f;
  f.members = members;
  std::vector<rdzv::Member> ms;
  ms.reserve(members);
  for (size_t i = 0; i < members; ++i) {
    std::string name = "sim-w-0-" + std::to_string(i);
    ms.push_back(
        rdzv::Member{name, name + ".sim", "w", 0, "n" + std::to_string(i % nodes), "10.0.0.1", {}});
  }
  rdzv::Store store("sim", [&](const rdzv::Origin& to, std::string line) {
    uint64_t id = rdzv::reply_id(line).value_or(0);
    f.bytes_out += static_cast<double>(
        runtime::encode(runtime::RdzvReply{to.client, id, std::move(line)}).size());
    ++f.msgs_out;
  });
  store.begin_attempt(0, ms);
  std::string value(value_bytes, 'v');
  // Hellos first (not counted: once per connection, not per barrier).
  for (size_t i = 0; i < members; ++i) {
    rdzv::Request q;
    q.id = 1;
    q.op = rdzv::Op::kHello;
    q.version = 1;
    q.name = ms[i].name;
    store.handle({static_cast<int>(i % nodes), i + 1}, q, 0);
  }
  f.msgs_out = 0;
  f.bytes_out = 0;
  // The frames as daemons send them, made before the clock starts.
  std::vector<std::string> frames;
  frames.reserve(members);
  for (size_t i = 0; i < members; ++i) {
    rdzv::Request q;
    q.id = 2;
    q.op = rdzv::Op::kBarrier;
    q.scope = rdzv::Scope::kAll;
    q.tag = "step";
    if (value_bytes) q.value = value;
    std::string line = rdzv::encode_request(q);
    line.pop_back();
    frames.push_back(runtime::encode(runtime::RdzvRequest{i + 1, std::move(line)}));
    f.bytes_in += static_cast<double>(frames.back().size());
  }
  f.msgs_in = members;
  double t0 = cpu_seconds();
  runtime::FrameDecoder decoder;
  for (size_t i = 0; i < members; ++i) {
    decoder.feed(frames[i].data(), frames[i].size());
    auto m = decoder.next();
    const auto& r = std::get<runtime::RdzvRequest>(m->value());
    auto q = rdzv::parse_request(r.line);
    store.handle({static_cast<int>(i % nodes), r.client}, *q, 1);
  }
  f.seconds = cpu_seconds() - t0;
  return f;
}

void row(const char* design, size_t nodes, const Figures& f) {
  std::printf("%-14s %7zu %9zu %9zu %11.2f %11.2f %9.2f %10.2f\n", design, nodes, f.members,
              f.msgs_in + f.msgs_out, f.bytes_in / 1e6, f.bytes_out / 1e6, f.seconds * 1e3,
              f.seconds * 1e9 / static_cast<double>(f.msgs_in + f.msgs_out));
}

}  // namespace

int main(int argc, char** argv) {
  size_t value = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 0;
  const size_t per_node = 16;
  std::printf("one barrier at the launcher, %zu processes a node, values of %zu bytes\n", per_node,
              value);
  std::printf("%-14s %7s %9s %9s %11s %11s %9s %10s\n", "design", "nodes", "members", "messages",
              "MB in", "MB out", "CPU ms", "ns/message");
  std::vector<size_t> sizes = {64, 256, 1000, 2500, 10000};
  if (argc > 2) sizes.clear();
  for (int i = 2; i < argc; ++i) sizes.push_back(std::strtoul(argv[i], nullptr, 10));
  for (size_t nodes : sizes) {
    // With values, star replies carry every value to every process:
    // quadratic bytes; past 1,000 nodes that is beyond this machine's memory.
    if (value == 0 || nodes <= 1000) row("star", nodes, barrier(nodes * per_node, nodes, value));
    row("daemon fan-in", nodes, barrier(nodes, nodes, value * per_node));
    for (size_t fan : {32, 128}) {
      if (nodes < fan * 2) continue;
      std::string name = "tree F=" + std::to_string(fan);
      row(name.c_str(), nodes, barrier(nodes / fan, nodes / fan, value * per_node * fan));
    }
  }
  return 0;
}
