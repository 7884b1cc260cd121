// The PMI-1 "simple" wire protocol, server side, for one MPI rank: lines
// in, replies and requests out. Pure: no sockets, no store. The daemon
// (pmi1_server.hpp) feeds what the rank wrote and carries out the actions.
//
// The protocol (MPICH's simple PMI client, PMI_FD): one command a line,
// `cmd=NAME key=value ...`, tokens split by spaces; every command gets
// one reply line `cmd=REPLY ... rc=0` (rc=-1 with msg=... on failure).
// A rank sends one command at a time and waits for its reply, so while a
// command waits for the store (get, barrier, names), later lines are kept
// and read after its completion.
//
// Served here: init, get_maxes, get_appnum, get_my_kvsname,
// get_universe_size, put, get (PMI_process_mapping from the job),
// barrier_in, finalize, abort, publish_name, unpublish_name, lookup_name.
// Left to the caller (actions): the store's put, get, barrier and names,
// and what an abort does. A malformed or unknown line gets an rc=-1 reply
// that says what was wrong; the session goes on. `mcmd=` commands (spawn)
// are read up to their `endcmd` and refused.
//
// Not thread-safe; one session per rank.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobset::runtime::pmi1 {

// The bounds announced in get_maxes, and enforced.
inline constexpr size_t kMaxKvsName = 256;
inline constexpr size_t kMaxKey = 64;
inline constexpr size_t kMaxValue = 1024;
// A line longer than this is refused (and skipped up to its newline).
inline constexpr size_t kMaxLine = 4096;

// What every rank of the world shares.
struct World {
  int32_t size = 1;
  int32_t universe_size = 1;
  std::string kvsname;
  std::string process_mapping;  // MPICH's vector format; empty: not served
};

struct Action {
  enum class Kind {
    kReply,      // write `text` to the rank
    kPut,        // store `key` = `value` (no answer needed: the rank has its reply)
    kGet,        // look `key` up; answer with got()
    kBarrier,    // enter the world's barrier number `code`; answer with barrier_done()
    kPublish,    // publish service `key` with port `value`; answer with name_done()
    kUnpublish,  // withdraw service `key`; answer with name_done()
    kLookup,     // look service `key` up; answer with looked_up()
    kAbort,      // the rank aborts the job with exit code `code`, message `value`
    kFinalize,   // the rank finalized (its reply is in the same batch)
  };
  Kind kind = Kind::kReply;
  std::string text;
  std::string key;
  std::string value;
  int64_t code = 0;

  bool operator==(const Action&) const = default;
};

class Session {
 public:
  Session(World world, int32_t rank, int32_t appnum)
      : world_(std::move(world)), rank_(rank), appnum_(appnum) {}

  // The next bytes the rank wrote; what to do, in order. After an action
  // that waits (get, barrier, names) nothing more is read until its answer.
  std::vector<Action> feed(std::string_view bytes);

  // Answers to the waiting action; each returns the reply and whatever the
  // lines that came meanwhile ask. An answer nobody waits for is ignored.
  std::vector<Action> got(const std::optional<std::string>& value, std::string_view error = {});
  std::vector<Action> barrier_done(std::string_view error = {});  // empty: success
  std::vector<Action> name_done(std::string_view error = {});
  std::vector<Action> looked_up(const std::optional<std::string>& port,
                                std::string_view error = {});

  bool waiting() const { return waiting_ != Wait::kNone; }
  bool initialized() const { return initialized_; }
  bool finalized() const { return finalized_; }
  bool aborted() const { return aborted_; }
  int32_t rank() const { return rank_; }

 private:
  enum class Wait { kNone, kGet, kBarrier, kPublish, kUnpublish, kLookup };
  void drain(std::vector<Action>& out);
  void line(std::string_view line, std::vector<Action>& out);
  void command(const std::string& cmd, std::string_view args, std::vector<Action>& out);
  void abort(std::string_view args, std::vector<Action>& out);
  std::vector<Action> resume(Wait expected, std::string reply);

  World world_;
  int32_t rank_;
  int32_t appnum_;
  std::string buf_;
  bool skipping_ = false;  // inside an over-long line, up to its newline
  bool in_mcmd_ = false;   // inside an mcmd=... block, up to endcmd
  Wait waiting_ = Wait::kNone;
  int64_t barriers_ = 0;
  bool initialized_ = false;
  bool finalized_ = false;
  bool aborted_ = false;
};

// PMI_process_mapping for ranks 0..N-1 given each rank's node (any ids):
// "(vector,(first_node,node_count,ranks_per_node),...)", nodes numbered in
// the order they first appear. Empty when it would not fit kMaxValue (MPICH
// then works it out itself).
std::string process_mapping(const std::vector<int32_t>& node_of_rank);

}  // namespace jobset::runtime::pmi1
