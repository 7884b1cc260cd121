// Encoding and decoding of the launcher <-> jobsetd frames (messages.hpp).
//
// Each message type has one row in kTypes (its number and name) and each
// message struct one field table (Wire<M>::fields: name and member, in wire
// order); the JSON writer and reader and the binary codec all walk these,
// so a new message is a struct, a row and a table.
//
// Control messages are JSON objects whose keys are the struct's field
// names; every field is written, and every field is required when reading
// (unknown keys are ignored, so a newer peer may add fields). kOutput is
// binary: u64 launch (big-endian), u8 stream, raw bytes; so are kSpawn (see
// encode_spawn) and the rendezvous frames kRdzvRequest and kRdzvReply
// (encode_binary).
//
// JSON strings must be UTF-8: bytes that are not (a file name in another
// encoding) are replaced by U+FFFD rather than making encode() fail.
#include "runtime/messages.hpp"

#include <limits>
#include <nlohmann/json.hpp>
#include <tuple>

namespace jobset::runtime {

namespace {

using nlohmann::json;

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint64_t get_be(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// ---- the messages, each described once -----------------------------------

// The Message alternatives, in the variant's order: type number and name.
struct TypeRow {
  MessageType type;
  const char* name;
};
constexpr TypeRow kTypes[] = {
    {MessageType::kHello, "Hello"},     {MessageType::kChallenge, "Challenge"},
    {MessageType::kAuth, "Auth"},       {MessageType::kWelcome, "Welcome"},
    {MessageType::kSpawn, "Spawn"},     {MessageType::kKill, "Kill"},
    {MessageType::kSignal, "Signal"},   {MessageType::kShutdown, "Shutdown"},
    {MessageType::kStarted, "Started"}, {MessageType::kSpawnFailed, "SpawnFailed"},
    {MessageType::kExited, "Exited"},   {MessageType::kOutput, "Output"},
    {MessageType::kHosts, "Hosts"},     {MessageType::kRdzvReply, "RdzvReply"},
    {MessageType::kRdzvRequest, "RdzvRequest"}, {MessageType::kRdzvGone, "RdzvGone"},
};
static_assert(std::size(kTypes) == std::variant_size_v<Message>);

// The variant index of a type number, or -1 for a number no message has.
int type_index(uint8_t type) {
  for (size_t i = 0; i < std::size(kTypes); ++i) {
    if (static_cast<uint8_t>(kTypes[i].type) == type) return static_cast<int>(i);
  }
  return -1;
}

template <typename M, typename T>
struct Field {
  const char* name;
  T M::*member;
};
template <typename M, typename T>
Field(const char*, T M::*) -> Field<M, T>;

// Wire<M>::fields: the fields of M in wire order. Two messages are framed
// by hand around them: Spawn, whose one field is its ProcessSpecs (read
// with their own errors, decode_spawn), and Output, whose header is built
// without its data (encode_output_header).
template <typename M>
struct Wire;

template <>
struct Wire<Hello> {
  static constexpr std::tuple fields{Field{"version", &Hello::version}, Field{"node", &Hello::node},
                                     Field{"nonce", &Hello::nonce}};
};
template <>
struct Wire<Challenge> {
  static constexpr std::tuple fields{Field{"nonce", &Challenge::nonce},
                                     Field{"mac", &Challenge::mac}};
};
template <>
struct Wire<Auth> {
  static constexpr std::tuple fields{Field{"mac", &Auth::mac}};
};
template <>
struct Wire<Welcome> {
  static constexpr std::tuple fields{Field{"node_index", &Welcome::node_index}};
};
template <>
struct Wire<ProcessSpec> {
  static constexpr std::tuple fields{Field{"launch", &ProcessSpec::launch},
                                     Field{"rank", &ProcessSpec::rank},
                                     Field{"name", &ProcessSpec::name},
                                     Field{"argv", &ProcessSpec::argv},
                                     Field{"env", &ProcessSpec::env},
                                     Field{"cwd", &ProcessSpec::cwd},
                                     Field{"cpus", &ProcessSpec::cpus},
                                     Field{"gpus", &ProcessSpec::gpus},
                                     Field{"tpus", &ProcessSpec::tpus},
                                     Field{"pmi_kvs", &ProcessSpec::pmi_kvs},
                                     Field{"pmi_size", &ProcessSpec::pmi_size},
                                     Field{"pmi_appnum", &ProcessSpec::pmi_appnum},
                                     Field{"pmi_mapping", &ProcessSpec::pmi_mapping}};
};
template <>
struct Wire<Kill> {
  static constexpr std::tuple fields{Field{"all", &Kill::all}, Field{"launches", &Kill::launches},
                                     Field{"grace_ms", &Kill::grace_ms}};
};
template <>
struct Wire<Signal> {
  static constexpr std::tuple fields{Field{"all", &Signal::all},
                                     Field{"launches", &Signal::launches},
                                     Field{"signo", &Signal::signo}};
};
template <>
struct Wire<Shutdown> {
  static constexpr std::tuple fields{Field{"grace_ms", &Shutdown::grace_ms}};
};
template <>
struct Wire<Started> {
  static constexpr std::tuple fields{Field{"launch", &Started::launch},
                                     Field{"pid", &Started::pid}};
};
template <>
struct Wire<SpawnFailed> {
  static constexpr std::tuple fields{Field{"launch", &SpawnFailed::launch},
                                     Field{"error", &SpawnFailed::error}};
};
template <>
struct Wire<Exited> {
  static constexpr std::tuple fields{
      Field{"launch", &Exited::launch}, Field{"exit_code", &Exited::exit_code},
      Field{"signal", &Exited::signal}, Field{"mpi_failure", &Exited::mpi_failure}};
};

template <>
struct Wire<Hosts> {
  static constexpr std::tuple fields{Field{"attempt", &Hosts::attempt},
                                     Field{"text", &Hosts::text}};
};
template <>
struct Wire<RdzvRequest> {
  static constexpr std::tuple fields{Field{"client", &RdzvRequest::client},
                                     Field{"line", &RdzvRequest::line}};
};
template <>
struct Wire<RdzvReply> {
  static constexpr std::tuple fields{Field{"client", &RdzvReply::client},
                                     Field{"id", &RdzvReply::id}, Field{"line", &RdzvReply::line}};
};
template <>
struct Wire<RdzvGone> {
  static constexpr std::tuple fields{Field{"client", &RdzvGone::client}};
};

// Calls f(name, member) for each field of `m` (const or not), in wire order.
template <typename M, typename F>
void for_each_field(M& m, F&& f) {
  std::apply([&](const auto&... field) { (f(field.name, m.*field.member), ...); },
             Wire<std::remove_const_t<M>>::fields);
}

// ---- JSON -----------------------------------------------------------------

template <typename M>
json to_json(const M& m) {
  json j = json::object();
  for_each_field(m, [&](const char* name, const auto& value) { j[name] = value; });
  return j;
}

// Typed access to the fields of one JSON object; the first problem wins.
class JsonReader {
 public:
  explicit JsonReader(const json& j) : j_(j) {}

  void get(const char* key, std::string& out) {
    if (const json* v = find(key, "a string", &json::is_string)) out = v->get<std::string>();
  }
  void get(const char* key, bool& out) {
    if (const json* v = find(key, "true or false", &json::is_boolean)) out = v->get<bool>();
  }
  void get(const char* key, uint64_t& out) {
    if (const json* v = find(key, "an unsigned integer", &json::is_number_unsigned)) {
      out = v->get<uint64_t>();
    }
  }
  void get(const char* key, uint32_t& out) {
    uint64_t v = 0;
    get(key, v);
    if (v > std::numeric_limits<uint32_t>::max()) fail(key, "out of range");
    out = static_cast<uint32_t>(v);
  }
  void get(const char* key, int32_t& out) {
    const json* v = find(key, "an integer", &json::is_number_integer);
    if (!v) return;
    bool fits = v->is_number_unsigned()
                    ? v->get<uint64_t>() <= uint64_t{std::numeric_limits<int32_t>::max()}
                    : v->get<int64_t>() >= std::numeric_limits<int32_t>::min() &&
                          v->get<int64_t>() <= std::numeric_limits<int32_t>::max();
    if (!fits) return fail(key, "out of range");
    out = static_cast<int32_t>(v->get<int64_t>());
  }
  void get(const char* key, std::vector<std::string>& out) {
    const json* v = find(key, "an array", &json::is_array);
    if (!v) return;
    for (const json& e : *v) {
      if (!e.is_string()) return fail(key, "expected an array of strings");
      out.push_back(e.get<std::string>());
    }
  }
  void get(const char* key, std::vector<uint64_t>& out) {
    const json* v = find(key, "an array", &json::is_array);
    if (!v) return;
    for (const json& e : *v) {
      if (!e.is_number_unsigned()) return fail(key, "expected an array of unsigned integers");
      out.push_back(e.get<uint64_t>());
    }
  }
  void get(const char* key, std::vector<std::pair<std::string, std::string>>& out) {
    const json* v = find(key, "an array", &json::is_array);
    if (!v) return;
    for (const json& e : *v) {
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_string()) {
        return fail(key, "expected an array of [name, value] string pairs");
      }
      out.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    }
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void fail(const std::string& key, const std::string& what) {
    if (error_.empty()) error_ = "field '" + key + "': " + what;
  }

 private:
  const json* find(const char* key, const char* expected, bool (json::*is)() const noexcept) {
    if (!error_.empty()) return nullptr;
    auto it = j_.find(key);
    if (it == j_.end()) {
      error_ = std::string("missing field '") + key + "'";
      return nullptr;
    }
    if (!((*it).*is)()) {
      fail(key, std::string("expected ") + expected + ", found " + it->type_name());
      return nullptr;
    }
    return &*it;
  }

  const json& j_;
  std::string error_;
};

template <typename M>
Result<Message> decode_json(std::string_view payload) {
  json j = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error("payload is not valid JSON");
  if (!j.is_object()) return Error("payload is not a JSON object");
  M m;
  JsonReader r(j);
  for_each_field(m, [&](const char* name, auto& value) { r.get(name, value); });
  if (!r.ok()) return Error(r.error());
  return Message(std::move(m));
}

// ---- binary Spawn ---------------------------------------------------------

// kSpawn is binary too: it is the one message whose size grows with the
// processes (about 45 variables each), and JSON cost ~0.1 ms per process on
// each side, more than a Hydra launch spends on the whole process. Its
// fields in table order, each as
//   u64 | u32 (int32 too) | str = u32 length + bytes (any bytes: argv need
//   not be UTF-8) | pair = str str | vector = u32 count + items
// which makes: u32 count, then per process: u64 launch, u32 rank, str name,
// u32 argc, str argv..., u32 envc, (str name, str value)..., str cwd, then
// cpus, gpus and tpus, each u32 count + u32 values, then str pmi_kvs,
// u32 pmi_size, u32 pmi_appnum, str pmi_mapping.

// Appends the encoding to `out`, or with no `out` only counts its bytes
// (so that the output can be reserved at its final size first).
class BinaryWriter {
 public:
  explicit BinaryWriter(std::string* out) : out_(out) {}
  void put(uint64_t v) { be(v, 8); }
  void put(uint32_t v) { be(v, 4); }
  void put(int32_t v) { be(static_cast<uint32_t>(v), 4); }
  void put(const std::string& s) {
    put(static_cast<uint32_t>(s.size()));
    size_ += s.size();
    if (out_) *out_ += s;
  }
  void put(const std::pair<std::string, std::string>& kv) {
    put(kv.first);
    put(kv.second);
  }
  void put(const ProcessSpec& p) {
    for_each_field(p, [this](const char*, const auto& value) { put(value); });
  }
  template <typename M>
  void put_fields(const M& m) {
    for_each_field(m, [this](const char*, const auto& value) { put(value); });
  }
  template <typename T>
  void put(const std::vector<T>& v) {
    put(static_cast<uint32_t>(v.size()));
    for (const T& x : v) put(x);
  }
  size_t size() const { return size_; }

 private:
  void be(uint64_t v, int bytes) {
    size_ += static_cast<size_t>(bytes);
    if (out_) put_be(*out_, v, bytes);
  }
  std::string* out_;
  size_t size_ = 0;
};

std::string encode_spawn(const Spawn& m) {
  BinaryWriter counter(nullptr);
  counter.put(m.processes);
  std::string out;
  out.reserve(counter.size());
  BinaryWriter(&out).put(m.processes);
  return out;
}

// Reads what BinaryWriter wrote; every length is checked against what is left.
class BinaryReader {
 public:
  explicit BinaryReader(std::string_view in) : in_(in) {}
  bool get(uint64_t& v) {
    return take(8, [&](const char* p) { v = get_be(p, 8); });
  }
  bool get(uint32_t& v) {
    return take(4, [&](const char* p) { v = static_cast<uint32_t>(get_be(p, 4)); });
  }
  bool get(int32_t& v) {
    return take(4, [&](const char* p) { v = static_cast<int32_t>(get_be(p, 4)); });
  }
  bool get(std::string& s) {
    uint32_t n = 0;
    return get(n) && take(n, [&](const char* p) { s.assign(p, n); });
  }
  bool get(std::pair<std::string, std::string>& kv) { return get(kv.first) && get(kv.second); }
  bool get(ProcessSpec& p) {
    bool ok = true;
    for_each_field(p, [&](const char*, auto& value) { ok = ok && get(value); });
    return ok;
  }
  template <typename M>
  bool get_fields(M& m) {
    bool ok = true;
    for_each_field(m, [&](const char*, auto& value) { ok = ok && get(value); });
    return ok;
  }
  template <typename T>
  bool get(std::vector<T>& v) {
    uint32_t n = 0;
    if (!count(n, min_size<T>())) return false;
    for (uint32_t i = 0; i < n; ++i) {
      if (!get(v.emplace_back())) return false;
    }
    return true;
  }
  // A count of items of at least `min_item` bytes each must fit what is left.
  bool count(uint32_t& n, size_t min_item) { return get(n) && n <= (in_.size() - pos_) / min_item; }
  bool done() const { return pos_ == in_.size(); }

 private:
  // The fewest bytes an item of a vector takes.
  template <typename T>
  static constexpr size_t min_size() {
    if constexpr (std::is_same_v<T, std::pair<std::string, std::string>>) {
      return 8;
    } else if constexpr (std::is_same_v<T, std::string>) {
      return 4;
    } else {
      return sizeof(T);
    }
  }
  template <typename F>
  bool take(size_t n, F f) {
    if (in_.size() - pos_ < n) return false;
    f(in_.data() + pos_);
    pos_ += n;
    return true;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

Result<Message> decode_spawn(std::string_view payload) {
  BinaryReader r(payload);
  uint32_t n = 0;
  if (!r.count(n, 40)) return Error("spawn: bad process count");
  Spawn spawn;
  spawn.processes.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (!r.get(spawn.processes[i])) {
      return Error("spawn: processes[" + std::to_string(i) + "] is truncated");
    }
  }
  if (!r.done()) return Error("spawn: trailing bytes");
  return Message(std::move(spawn));
}

// ---- binary rendezvous frames -----------------------------------------------

// RdzvRequest and RdzvReply carry a JSON line: inside a JSON frame it would
// be escaped and parsed once more on each side, per request (a barrier's
// reply with every member's values is megabytes). Binary, in table order:
// RdzvRequest = u64 client, str line; RdzvReply = u64 client, u64 id, str line.
template <typename M>
constexpr bool kBinaryRdzv = std::is_same_v<M, RdzvRequest> || std::is_same_v<M, RdzvReply>;

template <typename M>
std::string encode_binary(const M& m) {
  BinaryWriter counter(nullptr);
  counter.put_fields(m);
  std::string out;
  out.reserve(counter.size());
  BinaryWriter(&out).put_fields(m);
  return out;
}

template <typename M>
Result<Message> decode_binary(std::string_view payload) {
  BinaryReader r(payload);
  M m;
  if (!r.get_fields(m)) return Error("truncated payload");
  if (!r.done()) return Error("trailing bytes");
  return Message(std::move(m));
}

// ---- Output ---------------------------------------------------------------

Result<Message> decode_output(std::string_view payload) {
  if (payload.size() < 9) return Error("payload shorter than its 9-byte header");
  uint8_t stream = static_cast<uint8_t>(payload[8]);
  if (stream != static_cast<uint8_t>(Stream::kStdout) &&
      stream != static_cast<uint8_t>(Stream::kStderr)) {
    return Error("unknown stream " + std::to_string(stream));
  }
  Output out;
  out.launch = get_be(payload.data(), 8);
  out.stream = static_cast<Stream>(stream);
  out.data.assign(payload.substr(9));
  return Message(std::move(out));
}

// ---- frames ---------------------------------------------------------------

std::string frame(MessageType type, const std::string& payload) {
  std::string out;
  out.reserve(5 + payload.size());
  put_be(out, 1 + payload.size(), 4);
  out.push_back(static_cast<char>(type));
  out += payload;
  return out;
}

// The payload as the message of variant index `index` (from type_index).
template <size_t I = 0>
Result<Message> decode_payload(size_t index, std::string_view payload) {
  if constexpr (I == std::variant_size_v<Message>) {
    return Error("unknown message type");
  } else {
    using M = std::variant_alternative_t<I, Message>;
    if (index != I) return decode_payload<I + 1>(index, payload);
    if constexpr (std::is_same_v<M, Output>) {
      return decode_output(payload);
    } else if constexpr (std::is_same_v<M, Spawn>) {
      return decode_spawn(payload);
    } else if constexpr (kBinaryRdzv<M>) {
      return decode_binary<M>(payload);
    } else {
      return decode_json<M>(payload);
    }
  }
}

}  // namespace

std::string encode_output_header(uint64_t launch, Stream stream, size_t data_size) {
  std::string f;
  put_be(f, 1 + 9 + data_size, 4);
  f.push_back(static_cast<char>(MessageType::kOutput));
  put_be(f, launch, 8);
  f.push_back(static_cast<char>(stream));
  return f;
}

std::string encode(const Message& m) {
  MessageType type = kTypes[m.index()].type;
  return std::visit(
      [&](const auto& v) -> std::string {
        using M = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<M, Output>) {
          return encode_output_header(v.launch, v.stream, v.data.size()) + v.data;
        } else if constexpr (std::is_same_v<M, Spawn>) {
          return frame(type, encode_spawn(v));
        } else if constexpr (kBinaryRdzv<M>) {
          return frame(type, encode_binary(v));
        } else {
          return frame(type, to_json(v).dump(-1, ' ', false, json::error_handler_t::replace));
        }
      },
      m);
}

const char* message_name(const Message& m) { return kTypes[m.index()].name; }

void FrameDecoder::feed(const char* data, size_t n) {
  // Drop consumed bytes once they are the larger part, so that feeding
  // byte by byte stays linear.
  if (pos_ > 0 && pos_ * 2 >= buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(data, n);
}

std::optional<Result<Message>> FrameDecoder::next() {
  size_t avail = buf_.size() - pos_;
  if (avail < 4) return std::nullopt;
  const char* p = buf_.data() + pos_;
  uint64_t length = get_be(p, 4);
  if (length == 0) return Result<Message>(Error("bad frame: length 0"));
  if (length + 4 > max_frame_) {
    return Result<Message>(Error("bad frame: " + std::to_string(length + 4) +
                                 " bytes, more than the limit of " + std::to_string(max_frame_)));
  }
  // The type is checked as soon as it is there, so garbage fails early.
  if (avail < 5) return std::nullopt;
  uint8_t type = static_cast<uint8_t>(p[4]);
  int index = type_index(type);
  if (index < 0) {
    return Result<Message>(Error("bad frame: unknown message type " + std::to_string(type)));
  }
  if (avail < 4 + length) return std::nullopt;
  Result<Message> m =
      decode_payload(static_cast<size_t>(index), std::string_view(p + 5, length - 1));
  // A bad frame is not consumed: the error repeats until the owner closes.
  if (!m.ok()) {
    return Result<Message>(m.error().with_context(std::string("bad ") + kTypes[index].name));
  }
  pos_ += 4 + length;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
    if (buf_.capacity() > (1u << 20)) buf_.shrink_to_fit();  // after one large frame
  }
  return m;
}

}  // namespace jobset::runtime
