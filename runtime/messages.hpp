// The launcher <-> jobsetd protocol: what travels on the authenticated TCP
// connection between the launcher and each node daemon. Pure data plus
// encoding; the sockets live in link.hpp.
//
// Wire format: every message is a frame
//     u32 length (big-endian; bytes after this field) | u8 type | payload
// Control messages carry a JSON payload; kOutput carries a binary payload
// (u64 launch, u8 stream, then raw bytes: one or more whole lines, or the
// last partial line of a stream at its end) so that bulk output costs no
// escaping, and so do kSpawn (length-prefixed strings, messages.cpp), the
// one control message that grows with the number of processes, and the
// rendezvous frames kRdzvRequest and kRdzvReply, whose JSON lines go
// through unescaped. Frames are at most kMaxFrame bytes.
//
// Connection: the daemon dials the launcher. Before anything else both
// prove they hold the run's key (HMAC-SHA256 challenge-response, see
// auth.hpp): daemon kHello -> launcher kChallenge -> daemon kAuth ->
// launcher kWelcome. Until kWelcome, frames are at most 4 KiB and any
// other type closes the connection.
//
// Every spawned process instance has a `launch` id chosen by the launcher,
// unique within the run: a process retried in place or restarted gets a
// new one, so late events of an old instance are recognisable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.hpp"

namespace jobset::runtime {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr size_t kMaxFrame = 16u << 20;
inline constexpr size_t kMaxHandshakeFrame = 4096;

enum class MessageType : uint8_t {
  // handshake
  kHello = 1,      // daemon -> launcher
  kChallenge = 2,  // launcher -> daemon
  kAuth = 3,       // daemon -> launcher
  kWelcome = 4,    // launcher -> daemon
  // launcher -> daemon
  kSpawn = 10,
  kKill = 11,
  kSignal = 12,
  kShutdown = 13,
  kHosts = 14,
  kRdzvReply = 15,
  // daemon -> launcher
  kStarted = 20,
  kSpawnFailed = 21,
  kExited = 22,
  kOutput = 23,
  kRdzvRequest = 24,
  kRdzvGone = 25,
};

struct Hello {
  uint32_t version = kProtocolVersion;
  std::string node;   // the node name this daemon stands for
  std::string nonce;  // 32 random bytes, hex

  bool operator==(const Hello&) const = default;
};

struct Challenge {
  std::string nonce;  // launcher's 32 random bytes, hex
  std::string mac;    // hex HMAC(key, "jobset-launcher" | daemon nonce | launcher nonce)

  bool operator==(const Challenge&) const = default;
};

struct Auth {
  std::string mac;  // hex HMAC(key, "jobset-daemon" | launcher nonce | daemon nonce | node)

  bool operator==(const Auth&) const = default;
};

struct Welcome {
  int32_t node_index = 0;

  bool operator==(const Welcome&) const = default;
};

struct ProcessSpec {
  uint64_t launch = 0;
  int32_t rank = 0;
  std::string name;               // stable name, for messages
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  std::vector<std::pair<std::string, std::string>> env;  // set on top of the daemon's environment
  std::string cwd;                                       // empty: the daemon's
  // Binding (topology/binding.hpp): the OS PU indexes the process is bound
  // to before exec (empty: not bound), and the node-local GPU and
  // accelerator indexes it may use (their variables, CUDA_VISIBLE_DEVICES
  // and friends, are already in `env`: launcher/run/process_spec).
  std::vector<int32_t> cpus;
  std::vector<int32_t> gpus;
  std::vector<int32_t> tpus;
  // MPI wire-up through jobsetd's PMI-1 server (pmi1_server.hpp). An empty
  // pmi_kvs: none for this process (and no PMI_* variables).
  std::string pmi_kvs;      // the world's key-value space name
  int32_t pmi_size = 0;     // ranks in the world; `rank` is this one's
  int32_t pmi_appnum = 0;   // its app (replicated job) index, MPI_APPNUM
  std::string pmi_mapping;  // PMI_process_mapping; empty: not served

  bool operator==(const ProcessSpec&) const = default;
};

struct Spawn {
  std::vector<ProcessSpec> processes;

  bool operator==(const Spawn&) const = default;
};

// Stops processes: SIGTERM to each one's process group, SIGKILL after
// grace_ms for those still alive. `all`: every process of the daemon.
struct Kill {
  bool all = false;
  std::vector<uint64_t> launches;
  int32_t grace_ms = 3000;

  bool operator==(const Kill&) const = default;
};

struct Signal {
  bool all = false;
  std::vector<uint64_t> launches;
  int32_t signo = 0;

  bool operator==(const Signal&) const = default;
};

struct Shutdown {
  int32_t grace_ms = 3000;  // kill what still runs as Kill does, then exit

  bool operator==(const Shutdown&) const = default;
};

struct Started {
  uint64_t launch = 0;
  int32_t pid = 0;

  bool operator==(const Started&) const = default;
};

struct SpawnFailed {
  uint64_t launch = 0;
  std::string error;  // "spawn ./a.out: No such file or directory"

  bool operator==(const SpawnFailed&) const = default;
};

struct Exited {
  uint64_t launch = 0;
  int32_t exit_code = 0;  // valid when signal == 0
  int32_t signal = 0;     // the signal that ended it, or 0
  // Non-empty: its end broke its MPI world, and why ("called MPI_Abort
  // with exit code 7"); a retry in place cannot join that world again.
  std::string mpi_failure;

  bool operator==(const Exited&) const = default;
};

enum class Stream : uint8_t { kStdout = 1, kStderr = 2 };

struct Output {
  uint64_t launch = 0;
  Stream stream = Stream::kStdout;
  std::string data;  // whole lines ending in '\n', or a stream's last partial line

  bool operator==(const Output&) const = default;
};

// Rendezvous (rendezvous/PROTOCOL.md): the daemon serves its node's
// processes on a Unix socket and forwards their requests, one JSON line
// each, to the launcher's store; `client` names the connection within the
// daemon. Hosts replaces the node's hosts file (JOBSET_HOSTS_FILE); the
// launcher sends it before the spawns of every attempt.
struct Hosts {
  int32_t attempt = 0;
  std::string text;  // /etc/hosts format

  bool operator==(const Hosts&) const = default;
};

struct RdzvRequest {
  uint64_t client = 0;
  std::string line;  // one request, without its newline

  bool operator==(const RdzvRequest&) const = default;
};

struct RdzvReply {
  uint64_t client = 0;
  uint64_t id = 0;   // the request's id, so the daemon need not parse the line
  std::string line;  // one reply, with its newline

  bool operator==(const RdzvReply&) const = default;
};

// The client's connection closed: whatever it waits for is dropped.
struct RdzvGone {
  uint64_t client = 0;

  bool operator==(const RdzvGone&) const = default;
};

using Message = std::variant<Hello, Challenge, Auth, Welcome, Spawn, Kill, Signal, Shutdown,
                             Started, SpawnFailed, Exited, Output, Hosts, RdzvReply, RdzvRequest,
                             RdzvGone>;

// One frame (length prefix included) for `m`.
std::string encode(const Message& m);

// The first bytes of an Output frame whose data (`data_size` bytes) follows,
// so that bulk output can be queued without copying it into a frame.
std::string encode_output_header(uint64_t launch, Stream stream, size_t data_size);

// The message's type name ("Spawn"), for error messages.
const char* message_name(const Message& m);

// Incremental decoder: feed bytes as they arrive, take whole messages out.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame = kMaxFrame) : max_frame_(max_frame) {}
  void set_max_frame(size_t max_frame) { max_frame_ = max_frame; }
  void feed(const char* data, size_t n);
  // The next complete message; nothing when more bytes are needed; an Error
  // (the connection must be closed) on a bad frame.
  std::optional<Result<Message>> next();

 private:
  std::string buf_;
  size_t pos_ = 0;
  size_t max_frame_;
};

}  // namespace jobset::runtime
