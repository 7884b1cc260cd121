// jobsetd's PMI-1 server, for MPICH: each rank gets one end of a
// socketpair (PMI_FD, with PMI_RANK and PMI_SIZE) and a pmi1::Session
// (pmi1_protocol.hpp) reads what it writes. Everything that crosses nodes
// rides the rendezvous path the daemon already has: each rank is a
// rendezvous client of the launcher's store (RdzvRequest/RdzvReply, with
// client ids of their own, kClientBit), named by its stable name, so
//   put          -> put "pmi1/<key>" (attempt-scoped: a restart forgets it)
//   barrier_in   -> barrier scope "all", tag "pmi1:<n>" (the store answers
//                   once every rank of the run entered: puts before it
//                   are visible after it)
//   get          -> get "pmi1/<key>", at most one request per key and node
//                   at a time; the answer is kept for the node's other
//                   ranks until that rank's next barrier completes
//   publish/unpublish/lookup_name -> put/get "pmi1-service/<name>"
// so the launcher ships a value once per node that asks for it, not to
// every rank. abort: a line on the rank's stderr says so, and the daemon
// ends the rank with the abort code as its exit code (MPICH waits to be
// killed), which the controller then sees as the process's failure.
//
// Not thread-safe: use from the daemon's loop only.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "rendezvous/protocol.hpp"
#include "runtime/messages.hpp"
#include "runtime/pmi1_protocol.hpp"

struct bufferevent;

namespace jobset::runtime {

class Pmi1Server {
 public:
  using Send = std::function<void(const Message&)>;     // to the launcher
  using Say = std::function<void(const std::string&)>;  // one line to the daemon's log
  // A rank aborted the job: end it with `code` (and show `line` on its stderr).
  using Abort = std::function<void(uint64_t launch, int code, std::string line)>;
  // A rank entered (PMI init) or left (finalize) its MPI world.
  using InWorld = std::function<void(uint64_t launch, bool in)>;

  // Rendezvous client ids of ranks have this bit; the endpoint's do not.
  static constexpr uint64_t kClientBit = uint64_t{1} << 62;

  Pmi1Server(event_base* base, Send send, Say say, Abort abort, InWorld in_world);
  Pmi1Server(const Pmi1Server&) = delete;
  Pmi1Server& operator=(const Pmi1Server&) = delete;
  ~Pmi1Server();

  // Whether the launcher asked for PMI-1 for this process.
  static bool wants(const ProcessSpec& spec) { return !spec.pmi_kvs.empty(); }
  static bool owns(uint64_t client) { return (client & kClientBit) != 0; }

  // Makes the rank's socketpair and its rendezvous client, and sets
  // PMI_FD, PMI_RANK and PMI_SIZE in spec.env. Returns the child's end
  // (close-on-exec: pass it to the spawner to keep, close it after).
  Result<int> add(ProcessSpec& spec);
  // A reply of the store to one of the ranks' requests.
  void reply(const RdzvReply& r);
  // The launcher connection is gone: every rank's connection is closed.
  void close_all();

 private:
  struct Rank;
  static void on_read(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  void carry_out(Rank& rank, std::vector<pmi1::Action> actions);
  uint64_t request(Rank& rank, rdzv::Request q);
  void fetch(Rank& rank, const std::string& key);
  void fetched(const std::string& key, const std::optional<std::string>& value,
               const std::string& error);
  void drop(uint64_t id);

  event_base* base_;
  Send send_;
  Say say_;
  Abort abort_;
  InWorld in_world_;
  struct Pending {
    rdzv::Op op;
    std::string key;
  };
  std::map<uint64_t, std::unique_ptr<Rank>> ranks_;
  std::map<std::pair<uint64_t, uint64_t>, Pending> pending_;  // (client, request id)
  uint64_t next_id_ = kClientBit | 1;
  std::map<std::string, std::string> cache_;               // store key -> value, fetched
  std::map<std::string, std::vector<uint64_t>> fetching_;  // store key -> ranks waiting
};

}  // namespace jobset::runtime
