// Encoding and decoding of the launcher <-> jobsetd frames (messages.hpp).
//
// Control messages are JSON objects whose keys are the struct's field
// names; every field is written, and every field is required when reading
// (unknown keys are ignored, so a newer peer may add fields). A process's
// env travels as an array of [name, value] pairs so that order and
// repeated names survive. kOutput is binary: u64 launch (big-endian), u8
// stream, raw bytes; so is kSpawn (see encode_spawn).
//
// JSON strings must be UTF-8: bytes that are not (a file name in another
// encoding) are replaced by U+FFFD rather than making encode() fail.
#include "runtime/messages.hpp"

#include <limits>
#include <nlohmann/json.hpp>

namespace jobset::runtime {

namespace {

using nlohmann::json;

void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_be64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint64_t get_be(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

const char* type_name(MessageType t) {
  switch (t) {
    case MessageType::kHello:
      return "Hello";
    case MessageType::kChallenge:
      return "Challenge";
    case MessageType::kAuth:
      return "Auth";
    case MessageType::kWelcome:
      return "Welcome";
    case MessageType::kSpawn:
      return "Spawn";
    case MessageType::kKill:
      return "Kill";
    case MessageType::kSignal:
      return "Signal";
    case MessageType::kShutdown:
      return "Shutdown";
    case MessageType::kStarted:
      return "Started";
    case MessageType::kSpawnFailed:
      return "SpawnFailed";
    case MessageType::kExited:
      return "Exited";
    case MessageType::kOutput:
      return "Output";
  }
  return "?";
}

// ---- encoding -------------------------------------------------------------

json to_json(const Hello& m) {
  return {{"version", m.version}, {"node", m.node}, {"nonce", m.nonce}};
}
json to_json(const Challenge& m) { return {{"nonce", m.nonce}, {"mac", m.mac}}; }
json to_json(const Auth& m) { return {{"mac", m.mac}}; }
json to_json(const Welcome& m) { return {{"node_index", m.node_index}}; }



json to_json(const Kill& m) {
  return {{"all", m.all}, {"launches", m.launches}, {"grace_ms", m.grace_ms}};
}
json to_json(const Signal& m) {
  return {{"all", m.all}, {"launches", m.launches}, {"signo", m.signo}};
}
json to_json(const Shutdown& m) { return {{"grace_ms", m.grace_ms}}; }
json to_json(const Started& m) { return {{"launch", m.launch}, {"pid", m.pid}}; }
json to_json(const SpawnFailed& m) { return {{"launch", m.launch}, {"error", m.error}}; }
json to_json(const Exited& m) {
  return {{"launch", m.launch}, {"exit_code", m.exit_code}, {"signal", m.signal}};
}

MessageType type_of(const Message& m) {
  static constexpr MessageType kTypes[] = {
      MessageType::kHello,       MessageType::kChallenge, MessageType::kAuth,
      MessageType::kWelcome,     MessageType::kSpawn,     MessageType::kKill,
      MessageType::kSignal,      MessageType::kShutdown,  MessageType::kStarted,
      MessageType::kSpawnFailed, MessageType::kExited,    MessageType::kOutput};
  static_assert(std::size(kTypes) == std::variant_size_v<Message>);
  return kTypes[m.index()];
}

std::string frame(MessageType type, const std::string& payload) {
  std::string out;
  out.reserve(5 + payload.size());
  put_be32(out, static_cast<uint32_t>(1 + payload.size()));
  out.push_back(static_cast<char>(type));
  out += payload;
  return out;
}

// ---- decoding -------------------------------------------------------------

// Typed access to the fields of one JSON object; the first problem wins.
class Fields {
 public:
  explicit Fields(const json& j) : j_(j) {}

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

void read_fields(Fields& f, Hello& m) {
  f.get("version", m.version);
  f.get("node", m.node);
  f.get("nonce", m.nonce);
}
void read_fields(Fields& f, Challenge& m) {
  f.get("nonce", m.nonce);
  f.get("mac", m.mac);
}
void read_fields(Fields& f, Auth& m) { f.get("mac", m.mac); }
void read_fields(Fields& f, Welcome& m) { f.get("node_index", m.node_index); }
void read_fields(Fields& f, Kill& m) {
  f.get("all", m.all);
  f.get("launches", m.launches);
  f.get("grace_ms", m.grace_ms);
}
void read_fields(Fields& f, Signal& m) {
  f.get("all", m.all);
  f.get("launches", m.launches);
  f.get("signo", m.signo);
}
void read_fields(Fields& f, Shutdown& m) { f.get("grace_ms", m.grace_ms); }
void read_fields(Fields& f, Started& m) {
  f.get("launch", m.launch);
  f.get("pid", m.pid);
}
void read_fields(Fields& f, SpawnFailed& m) {
  f.get("launch", m.launch);
  f.get("error", m.error);
}
void read_fields(Fields& f, Exited& m) {
  f.get("launch", m.launch);
  f.get("exit_code", m.exit_code);
  f.get("signal", m.signal);
}

// kSpawn is binary too: it is the one message whose size grows with the
// processes (about 45 variables each), and JSON cost ~0.1 ms per process on
// each side, more than a Hydra launch spends on the whole process.
//   u32 count, then per process: u64 launch, u32 rank, str name,
//   u32 argc, str argv..., u32 envc, (str name, str value)..., str cwd,
//   then cpus, gpus and tpus, each u32 count + u32 values
// where str is u32 length + bytes (any bytes: argv need not be UTF-8).
void put_str(std::string& out, const std::string& s) {
  put_be32(out, static_cast<uint32_t>(s.size()));
  out += s;
}

void put_ints(std::string& out, const std::vector<int32_t>& v) {
  put_be32(out, static_cast<uint32_t>(v.size()));
  for (int32_t x : v) put_be32(out, static_cast<uint32_t>(x));
}

std::string encode_spawn(const Spawn& m) {
  size_t size = 4;
  for (const ProcessSpec& p : m.processes) {
    size += 8 + 4 + 4 + p.name.size() + 4 + 4 + 4 + p.cwd.size() + 12;
    size += 4 * (p.cpus.size() + p.gpus.size() + p.tpus.size());
    for (const auto& a : p.argv) size += 4 + a.size();
    for (const auto& [k, v] : p.env) size += 8 + k.size() + v.size();
  }
  std::string out;
  out.reserve(size);
  put_be32(out, static_cast<uint32_t>(m.processes.size()));
  for (const ProcessSpec& p : m.processes) {
    put_be64(out, p.launch);
    put_be32(out, static_cast<uint32_t>(p.rank));
    put_str(out, p.name);
    put_be32(out, static_cast<uint32_t>(p.argv.size()));
    for (const auto& a : p.argv) put_str(out, a);
    put_be32(out, static_cast<uint32_t>(p.env.size()));
    for (const auto& [k, v] : p.env) {
      put_str(out, k);
      put_str(out, v);
    }
    put_str(out, p.cwd);
    put_ints(out, p.cpus);
    put_ints(out, p.gpus);
    put_ints(out, p.tpus);
  }
  return out;
}

// Reads what encode_spawn wrote; every length is checked against what is left.
class SpawnReader {
 public:
  explicit SpawnReader(std::string_view in) : in_(in) {}
  bool u32(uint32_t& v) { return take(4, [&](const char* p) { v = static_cast<uint32_t>(get_be(p, 4)); }); }
  bool u64(uint64_t& v) { return take(8, [&](const char* p) { v = get_be(p, 8); }); }
  bool str(std::string& s) {
    uint32_t n = 0;
    return u32(n) && take(n, [&](const char* p) { s.assign(p, n); });
  }
  // A count of items of at least `min_item` bytes each must fit what is left.
  bool count(uint32_t& n, size_t min_item) { return u32(n) && n <= (in_.size() - pos_) / min_item; }
  bool ints(std::vector<int32_t>& v) {
    uint32_t n = 0;
    if (!count(n, 4)) return false;
    v.resize(n);
    for (auto& x : v) {
      uint32_t u = 0;
      if (!u32(u)) return false;
      x = static_cast<int32_t>(u);
    }
    return true;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
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
  SpawnReader r(payload);
  uint32_t n = 0;
  if (!r.count(n, 40)) return Error("spawn: bad process count");
  Spawn spawn;
  spawn.processes.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    ProcessSpec& p = spawn.processes[i];
    uint32_t rank = 0, argc = 0, envc = 0;
    bool ok = r.u64(p.launch) && r.u32(rank) && r.str(p.name) && r.count(argc, 4);
    for (uint32_t a = 0; ok && a < argc; ++a) ok = r.str(p.argv.emplace_back());
    ok = ok && r.count(envc, 8);
    for (uint32_t e = 0; ok && e < envc; ++e) {
      auto& kv = p.env.emplace_back();
      ok = r.str(kv.first) && r.str(kv.second);
    }
    ok = ok && r.str(p.cwd) && r.ints(p.cpus) && r.ints(p.gpus) && r.ints(p.tpus);
    if (!ok) return Error("spawn: processes[" + std::to_string(i) + "] is truncated");
    p.rank = static_cast<int32_t>(rank);
  }
  if (!r.done()) return Error("spawn: trailing bytes");
  return Message(std::move(spawn));
}

template <typename T>
Result<Message> decode_json(std::string_view payload) {
  json j = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error("payload is not valid JSON");
  if (!j.is_object()) return Error("payload is not a JSON object");
  T m;
  Fields f(j);
  read_fields(f, m);
  if (!f.ok()) return Error(f.error());
  return Message(std::move(m));
}

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

Result<Message> decode_payload(MessageType type, std::string_view payload) {
  switch (type) {
    case MessageType::kHello:
      return decode_json<Hello>(payload);
    case MessageType::kChallenge:
      return decode_json<Challenge>(payload);
    case MessageType::kAuth:
      return decode_json<Auth>(payload);
    case MessageType::kWelcome:
      return decode_json<Welcome>(payload);
    case MessageType::kSpawn:
      return decode_spawn(payload);
    case MessageType::kKill:
      return decode_json<Kill>(payload);
    case MessageType::kSignal:
      return decode_json<Signal>(payload);
    case MessageType::kShutdown:
      return decode_json<Shutdown>(payload);
    case MessageType::kStarted:
      return decode_json<Started>(payload);
    case MessageType::kSpawnFailed:
      return decode_json<SpawnFailed>(payload);
    case MessageType::kExited:
      return decode_json<Exited>(payload);
    case MessageType::kOutput:
      return decode_output(payload);
  }
  return Error("unknown message type");
}

bool known_type(uint8_t t) {
  return (t >= 1 && t <= 4) || (t >= 10 && t <= 13) || (t >= 20 && t <= 23);
}

}  // namespace

std::string encode_output_header(uint64_t launch, Stream stream, size_t data_size) {
  std::string f;
  put_be32(f, static_cast<uint32_t>(1 + 9 + data_size));
  f.push_back(static_cast<char>(MessageType::kOutput));
  put_be64(f, launch);
  f.push_back(static_cast<char>(stream));
  return f;
}

std::string encode(const Message& m) {
  MessageType type = type_of(m);
  if (const Output* out = std::get_if<Output>(&m)) {
    std::string f = encode_output_header(out->launch, out->stream, out->data.size());
    f += out->data;
    return f;
  }
  if (const Spawn* spawn = std::get_if<Spawn>(&m)) return frame(type, encode_spawn(*spawn));
  json j = std::visit(
      [](const auto& v) -> json {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, Output> ||
                      std::is_same_v<std::decay_t<decltype(v)>, Spawn>) {
          return json();  // binary, handled above
        } else {
          return to_json(v);
        }
      },
      m);
  return frame(type, j.dump(-1, ' ', false, json::error_handler_t::replace));
}

const char* message_name(const Message& m) { return type_name(type_of(m)); }

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
  uint8_t type = avail >= 5 ? static_cast<uint8_t>(p[4]) : 0;
  if (avail >= 5 && !known_type(type)) {
    return Result<Message>(Error("bad frame: unknown message type " + std::to_string(type)));
  }
  if (avail < 4 + length) return std::nullopt;
  auto mt = static_cast<MessageType>(type);
  Result<Message> m = decode_payload(mt, std::string_view(p + 5, length - 1));
  // A bad frame is not consumed: the error repeats until the owner closes.
  if (!m.ok()) return Result<Message>(m.error().with_context(std::string("bad ") + type_name(mt)));
  pos_ += 4 + length;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
    if (buf_.capacity() > (1u << 20)) buf_.shrink_to_fit();  // after one large frame
  }
  return m;
}

}  // namespace jobset::runtime
