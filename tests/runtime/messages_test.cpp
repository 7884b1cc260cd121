// The launcher <-> daemon frames: every message survives a round trip,
// however the bytes are cut, and every kind of bad input is an error value.
#include "runtime/messages.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

using namespace jobset::runtime;

namespace {

ProcessSpec sample_spec() {
  ProcessSpec p;
  p.launch = 0xfedcba9876543210ull;
  p.rank = 17;
  p.name = "workers-0-1";
  p.argv = {"python3", "train.py", "--flag=a b", ""};
  p.env = {{"RANK", "17"}, {"A", "1"}, {"A", "2"}, {"EMPTY", ""}, {"UTF8", "h\xc3\xa9llo"}};
  p.cwd = "/tmp/work dir";
  p.cpus = {0, 32, 1, 33};
  p.gpus = {3};
  p.tpus = {0, 1, 2, 3};
  p.pmi_kvs = "jobset-train-1";
  p.pmi_size = 64;
  p.pmi_appnum = 2;
  p.pmi_mapping = "(vector,(0,8,8))";
  return p;
}

std::vector<Message> every_message() {
  Output bin;
  bin.launch = 42;
  bin.stream = Stream::kStderr;
  using namespace std::string_literals;
  bin.data = "line 1\nline\0 2\n\xff\xfe partial"s;  // an embedded NUL, invalid UTF-8
  return {
      Hello{kProtocolVersion, "node-7", std::string(64, 'a')},
      Challenge{std::string(64, 'b'), std::string(64, 'c')},
      Auth{std::string(64, 'd')},
      Welcome{12},
      Spawn{{sample_spec(), ProcessSpec{}}},
      Kill{false, {1, 2, 0xffffffffffffffffull}, 250},
      Signal{true, {}, 10},
      Shutdown{0},
      Started{7, 12345},
      SpawnFailed{8, "spawn workers-0-1: ./a.out: No such file or directory"},
      Exited{9, 0, 9},
      Exited{10, -1, 0},
      bin,
      Output{0, Stream::kStdout, ""},
      Hosts{3, "127.0.3.1\tjs-w-0-0.js js-w-0-0\n"},
      RdzvRequest{5, R"({"id":1,"op":"get","key":"k"})"},
      RdzvReply{5, 1, "{\"id\":1,\"ok\":true,\"value\":\"\\n\"}\n"},
      RdzvGone{0xffffffffffffffffull},
  };
}

// Compares by re-encoding: encode is deterministic.
void check_same(const Message& a, const Message& b) {
  REQUIRE(a.index() == b.index());
  CHECK(encode(a) == encode(b));
}

std::vector<Message> decode_all(FrameDecoder& d) {
  std::vector<Message> out;
  while (auto m = d.next()) {
    REQUIRE(m->ok());
    out.push_back(std::move(m->value()));
  }
  return out;
}

std::string frame_of(uint8_t type, const std::string& payload) {
  uint32_t len = static_cast<uint32_t>(payload.size() + 1);
  std::string f;
  for (int s = 24; s >= 0; s -= 8) f.push_back(static_cast<char>((len >> s) & 0xff));
  f.push_back(static_cast<char>(type));
  return f + payload;
}

std::string error_of(const std::string& bytes, size_t max = kMaxFrame) {
  FrameDecoder d(max);
  d.feed(bytes.data(), bytes.size());
  auto m = d.next();
  REQUIRE(m.has_value());
  REQUIRE(!m->ok());
  return m->error().message();
}

}  // namespace

TEST_CASE("messages: every message type survives a round trip", "[runtime]") {
  for (const Message& m : every_message()) {
    std::string bytes = encode(m);
    FrameDecoder d;
    d.feed(bytes.data(), bytes.size());
    auto got = d.next();
    REQUIRE(got.has_value());
    REQUIRE(got->ok());
    check_same(m, got->value());
    CHECK_FALSE(d.next().has_value());
  }
}

TEST_CASE("messages: decoded fields equal the encoded ones", "[runtime]") {
  std::string bytes = encode(Spawn{{sample_spec()}});
  FrameDecoder d;
  d.feed(bytes.data(), bytes.size());
  auto got = d.next();
  REQUIRE(got->ok());
  const ProcessSpec& p = std::get<Spawn>(got->value()).processes.at(0);
  ProcessSpec want = sample_spec();
  CHECK(p.launch == want.launch);
  CHECK(p.rank == want.rank);
  CHECK(p.name == want.name);
  CHECK(p.argv == want.argv);
  CHECK(p.env == want.env);  // order and repeated names kept
  CHECK(p.cwd == want.cwd);
  CHECK(p.cpus == want.cpus);
  CHECK(p.gpus == want.gpus);
  CHECK(p.tpus == want.tpus);

  bytes = encode(Output{5, Stream::kStderr, std::string("a\0b\n", 4)});
  FrameDecoder d2;
  d2.feed(bytes.data(), bytes.size());
  auto o = d2.next();
  REQUIRE(o->ok());
  CHECK(std::get<Output>(o->value()).data == std::string("a\0b\n", 4));
  CHECK(std::get<Output>(o->value()).stream == Stream::kStderr);
  CHECK(std::get<Output>(o->value()).launch == 5);
}

TEST_CASE("messages: output frames are binary with a 9-byte header", "[runtime]") {
  std::string bytes = encode(Output{0x0102030405060708ull, Stream::kStdout, "hi\n"});
  CHECK(bytes == std::string("\0\0\0\x0d\x17\x01\x02\x03\x04\x05\x06\x07\x08\x01hi\n", 17));
}

TEST_CASE("messages: frames fed byte by byte decode in order", "[runtime]") {
  std::vector<Message> msgs = every_message();
  std::string all;
  for (const Message& m : msgs) all += encode(m);
  FrameDecoder d;
  std::vector<Message> got;
  for (char c : all) {
    d.feed(&c, 1);
    for (Message& m : decode_all(d)) got.push_back(std::move(m));
  }
  REQUIRE(got.size() == msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) check_same(msgs[i], got[i]);
}

TEST_CASE("messages: many frames in one feed all come out", "[runtime]") {
  std::string all;
  for (int i = 0; i < 1000; ++i) all += encode(Started{static_cast<uint64_t>(i), i});
  FrameDecoder d;
  d.feed(all.data(), all.size());
  auto got = decode_all(d);
  REQUIRE(got.size() == 1000);
  CHECK(std::get<Started>(got[999]).launch == 999);
}

TEST_CASE("messages: a frame over the limit is an error before it arrives whole", "[runtime]") {
  std::string big = encode(Output{1, Stream::kStdout, std::string(5000, 'x')});
  FrameDecoder d(kMaxHandshakeFrame);
  d.feed(big.data(), 8);  // only the header has arrived
  auto m = d.next();
  REQUIRE(m.has_value());
  REQUIRE_FALSE(m->ok());
  CHECK_THAT(m->error().message(), Catch::Contains("more than the limit of 4096"));
  // The same frame is fine under the normal limit.
  FrameDecoder ok;
  ok.feed(big.data(), big.size());
  CHECK(ok.next()->ok());
  // A length field announcing 4 GiB is refused at once.
  CHECK_THAT(error_of(std::string("\xff\xff\xff\xff\x17", 5)),
             Catch::Contains("more than the limit"));
}

TEST_CASE("messages: garbage is an error value, never a crash", "[runtime]") {
  CHECK_THAT(error_of(std::string("\0\0\0\0", 4)), Catch::Contains("length 0"));
  CHECK_THAT(error_of(frame_of(99, "{}")), Catch::Contains("unknown message type 99"));
  CHECK_THAT(error_of(frame_of(0, "")), Catch::Contains("unknown message type 0"));
  CHECK_THAT(error_of("GET / HTTP/1.1\r\n\r\n"), Catch::Contains("bad frame"));
  CHECK_THAT(error_of(frame_of(1, "{not json")),
             Catch::Contains("bad Hello: payload is not valid JSON"));
  CHECK_THAT(error_of(frame_of(1, "[1,2]")), Catch::Contains("not a JSON object"));
  CHECK_THAT(error_of(frame_of(1, R"({"version":1,"node":"n"})")),
             Catch::Contains("missing field 'nonce'"));
  CHECK_THAT(error_of(frame_of(1, R"({"version":"1","node":"n","nonce":"x"})")),
             Catch::Contains("field 'version': expected an unsigned integer, found string"));
  CHECK_THAT(error_of(frame_of(20, R"({"launch":-1,"pid":3})")), Catch::Contains("field 'launch'"));
  CHECK_THAT(error_of(frame_of(20, R"({"launch":1,"pid":4294967296})")),
             Catch::Contains("field 'pid': out of range"));
  // Spawn is binary: a count that cannot fit, a process cut short, bytes left over.
  CHECK_THAT(error_of(frame_of(10, std::string("\xff\xff\xff\xff", 4))),
             Catch::Contains("bad Spawn: spawn: bad process count"));
  std::string one = encode(Message(Spawn{{ProcessSpec{7, 1, "js-w-0-1", {"x", "y"}, {{"A", "1"}}, "/tmp"}}}));
  std::string payload = one.substr(5);
  CHECK_THAT(error_of(frame_of(10, payload.substr(0, payload.size() - 3))),
             Catch::Contains("bad Spawn: spawn: processes[0] is truncated"));
  CHECK_THAT(error_of(frame_of(10, payload + "zz")), Catch::Contains("bad Spawn: spawn: trailing bytes"));
  CHECK_THAT(error_of(frame_of(11, R"({"all":1,"launches":[],"grace_ms":1})")),
             Catch::Contains("field 'all': expected true or false"));
  CHECK_THAT(error_of(frame_of(23, "short")), Catch::Contains("shorter than its 9-byte header"));
  CHECK_THAT(error_of(frame_of(23, std::string("\0\0\0\0\0\0\0\1\3x", 10))),
             Catch::Contains("unknown stream 3"));
}

TEST_CASE("messages: an error repeats until the connection is closed", "[runtime]") {
  std::string bad = frame_of(1, "{") + encode(Welcome{1});
  FrameDecoder d;
  d.feed(bad.data(), bad.size());
  for (int i = 0; i < 3; ++i) {
    auto m = d.next();
    REQUIRE(m.has_value());
    CHECK_FALSE(m->ok());
  }
}

TEST_CASE("messages: random bytes never crash the decoder", "[runtime]") {
  uint32_t x = 12345;
  for (int round = 0; round < 2000; ++round) {
    std::string bytes;
    size_t n = 1 + (round % 64);
    for (size_t i = 0; i < n; ++i) {
      x = x * 1664525u + 1013904223u;
      bytes.push_back(static_cast<char>(x >> 24));
    }
    if (round % 2) bytes = frame_of(static_cast<uint8_t>(1 + round % 23), bytes);
    FrameDecoder d(kMaxHandshakeFrame);
    d.feed(bytes.data(), bytes.size());
    for (int i = 0; i < 4; ++i) (void)d.next();
  }
  SUCCEED("no crash");
}

TEST_CASE("messages: strings that are not UTF-8 still encode", "[runtime]") {
  std::string bytes = encode(SpawnFailed{1, "spawn x: /tmp/\xff\xfe: No such file or directory"});
  FrameDecoder d;
  d.feed(bytes.data(), bytes.size());
  auto m = d.next();
  REQUIRE(m->ok());
  CHECK_THAT(std::get<SpawnFailed>(m->value()).error, Catch::Contains("No such file"));
}

// ---- every field, both directions -----------------------------------------

namespace {

// The number of members of the aggregate T: how many initialisers it takes.
struct AnyValue {
  template <typename T>
  operator T() const;
};
template <typename T, typename... Values>
constexpr size_t member_count() {
  if constexpr (requires { T{Values{}..., AnyValue{}}; }) {
    return member_count<T, Values..., AnyValue>();
  } else {
    return sizeof...(Values);
  }
}

// Spawn travels in binary, so no JSON keys tell whether a sample sets every
// field of a process: when this fails, a field was added; set it in
// sample_spec() (to a value that is not its default) and see that it travels.
static_assert(member_count<ProcessSpec>() == 13);
static_assert(member_count<Spawn>() == 1);
static_assert(member_count<Output>() == 3);
static_assert(member_count<RdzvRequest>() == 2);
static_assert(member_count<RdzvReply>() == 3);

// One of each message, every field set to something other than its default.
std::vector<Message> full_messages() {
  return {
      Hello{kProtocolVersion + 1, "node-7", "nonce"},
      Challenge{"nonce", "mac"},
      Auth{"mac"},
      Welcome{-12},
      Spawn{{sample_spec()}},
      Kill{true, {1, 0xffffffffffffffffull}, -1},
      Signal{true, {3}, 10},
      Shutdown{7},
      Started{7, -2},
      SpawnFailed{8, "spawn x: ./a.out: No such file or directory"},
      Exited{9, 3, 15, "called MPI_Abort with exit code 3"},
      Output{42, Stream::kStderr, "out\n"},
      Hosts{-1, "::1\tx.y x\n"},
      RdzvReply{1, 2, "{}\n"},
      RdzvRequest{2, "{}"},
      RdzvGone{3},
  };
}

bool is_json(const Message& m) {
  return !std::holds_alternative<Spawn>(m) && !std::holds_alternative<Output>(m) &&
         !std::holds_alternative<RdzvRequest>(m) && !std::holds_alternative<RdzvReply>(m);
}

Message default_like(const Message& m) {
  return std::visit([](const auto& v) -> Message { return std::decay_t<decltype(v)>{}; }, m);
}

size_t members_of(const Message& m) {
  return std::visit([](const auto& v) { return member_count<std::decay_t<decltype(v)>>(); }, m);
}

nlohmann::json json_payload(const Message& m) { return nlohmann::json::parse(encode(m).substr(5)); }

Message decode_one(const std::string& bytes) {
  FrameDecoder d;
  d.feed(bytes.data(), bytes.size());
  auto got = d.next();
  REQUIRE(got.has_value());
  REQUIRE(got->ok());
  return std::move(got->value());
}

}  // namespace

TEST_CASE("messages: every field of every message type travels both ways", "[runtime]") {
  std::vector<Message> msgs = full_messages();
  std::set<size_t> types;
  for (const Message& m : msgs) types.insert(m.index());
  CHECK(types.size() == std::variant_size_v<Message>);  // a new type needs a sample here

  for (const Message& m : msgs) {
    INFO(message_name(m));
    // Compared member by member (operator==), not through the codec.
    CHECK(decode_one(encode(m)) == m);
    if (!is_json(m)) continue;
    // One key per member: the writer forgot none ...
    nlohmann::json full = json_payload(m), dflt = json_payload(default_like(m));
    CHECK(full.size() == members_of(m));
    // ... and the sample sets each to a value the reader cannot have by default.
    for (const auto& [key, value] : full.items()) {
      INFO("field " << key);
      CHECK(value != dflt.at(key));
    }
  }
}

TEST_CASE("messages: a missing or mistyped field is an error naming it", "[runtime]") {
  for (const Message& m : full_messages()) {
    if (!is_json(m)) continue;
    std::string bytes = encode(m);
    uint8_t type = static_cast<uint8_t>(bytes[4]);
    std::string prefix = std::string("bad ") + message_name(m) + ": ";
    nlohmann::json full = json_payload(m);
    for (const auto& [key, value] : full.items()) {
      INFO(message_name(m) << " without " << key);
      nlohmann::json without = full;
      without.erase(key);
      std::string missing = prefix;
      missing.append("missing field '").append(key).append("'");
      CHECK(error_of(frame_of(type, without.dump())) == missing);
      nlohmann::json mistyped = full;
      mistyped[key] = nullptr;
      std::string expected = prefix;
      expected.append("field '").append(key).append("': expected ");
      CHECK_THAT(error_of(frame_of(type, mistyped.dump())),
                 Catch::StartsWith(expected) &&
                     Catch::EndsWith(", found null"));
    }
  }
}

TEST_CASE("messages: the bytes on the wire", "[runtime]") {
  CHECK(encode(Kill{true, {1, 2}, 250}) ==
        frame_of(11, R"({"all":true,"grace_ms":250,"launches":[1,2]})"));
  CHECK(encode(Hello{1, "n", "x"}) == frame_of(1, R"({"node":"n","nonce":"x","version":1})"));
  ProcessSpec p{0x0102030405060708ull, -2, "n", {"a"}, {{"K", "V"}}, "/", {1}, {}, {2, 3}};
  std::string payload(
      "\0\0\0\1"                    // one process
      "\1\2\3\4\5\6\7\x08"          // launch
      "\xff\xff\xff\xfe"            // rank
      "\0\0\0\1n"                   // name
      "\0\0\0\1\0\0\0\1a"           // argv
      "\0\0\0\1\0\0\0\1K\0\0\0\1V"  // env
      "\0\0\0\1/"                   // cwd
      "\0\0\0\1\0\0\0\1"            // cpus
      "\0\0\0\0"                    // gpus
      "\0\0\0\2\0\0\0\2\0\0\0\3"    // tpus
      "\0\0\0\0"                    // pmi_kvs
      "\0\0\0\0\0\0\0\0"            // pmi_size, pmi_appnum
      "\0\0\0\0",                   // pmi_mapping
      4 + 8 + 4 + 5 + 9 + 14 + 5 + 8 + 4 + 12 + 16);
  CHECK(encode(Spawn{{p}}) == frame_of(10, payload));
  // The rendezvous frames carry their JSON line as it is: no escaping.
  CHECK(encode(RdzvRequest{0x0102, R"({"id":1,"op":"hosts"})"}) ==
        frame_of(24, std::string("\0\0\0\0\0\0\1\2\0\0\0\x15", 12) + R"({"id":1,"op":"hosts"})"));
  CHECK(encode(RdzvReply{3, 4, "{\"id\":4,\"ok\":true}\n"}) ==
        frame_of(15, std::string("\0\0\0\0\0\0\0\3\0\0\0\0\0\0\0\4\0\0\0\x13", 20) +
                         "{\"id\":4,\"ok\":true}\n"));
  CHECK_THAT(error_of(frame_of(24, std::string("\0\0\0\0\0\0\0\1\0\0\0\x09{}", 14))),
             Catch::Contains("bad RdzvRequest: truncated payload"));
  CHECK_THAT(error_of(frame_of(24, std::string("\0\0\0\0\0\0\0\1\0\0\0\x02{}!", 15))),
             Catch::Contains("bad RdzvRequest: trailing bytes"));
}
