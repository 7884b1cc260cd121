// libFuzzer target over the rendezvous protocol (run by tests/fuzz/run.sh
// SRCDIR SECONDS rdzv, or `make fuzz`). The first byte picks the chunk size,
// the rest is what a client sends. Promises checked, whatever the bytes:
// - a Session's actions do not depend on how the bytes were cut into reads;
// - nothing follows a close, and a close comes after its reply;
// - every reply, of the session or of the store the forwarded requests go
//   to, is one '\n'-terminated JSON object with "id" and "ok";
// - every request the session forwards survives encode then parse, and so
//   does every line that parse_request accepts on its own.
// A broken promise aborts, which libFuzzer reports as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "rendezvous/protocol.hpp"
#include "rendezvous/session.hpp"
#include "rendezvous/store.hpp"

namespace {

using namespace jobset::rdzv;

[[noreturn]] void broken(const char* promise, const std::string& detail) {
  std::fprintf(stderr, "rdzv_fuzz: broken promise: %s\n%s\n", promise, detail.c_str());
  std::abort();
}

Limits small_limits() {
  Limits l;
  l.max_line = 512;
  l.max_value = 128;
  l.max_in_flight = 8;
  l.max_keys = 4;
  l.max_value_bytes = 256;
  l.max_waiting = 3;
  return l;
}

void check_reply(const std::string& line) {
  if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1)
    broken("a reply is one line", line);
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j.contains("ok"))
    broken("a reply is a JSON object with id and ok", line);
}

void check_round_trip(const Request& r) {
  auto back = parse_request(encode_request(r), small_limits());
  if (!back.ok() || !(*back == r)) broken("encode then parse gives the request", encode_request(r));
}

std::vector<Action> feed_in_chunks(std::string_view bytes, size_t chunk) {
  Session s(small_limits());
  std::vector<Action> all;
  for (size_t i = 0; i < bytes.size(); i += chunk) {
    if (!all.empty() && all.back().kind == Action::Kind::kClose) {
      if (!s.feed(bytes.substr(i, chunk)).empty()) broken("nothing follows a close", "");
      continue;
    }
    auto some = s.feed(bytes.substr(i, chunk));
    all.insert(all.end(), some.begin(), some.end());
  }
  return all;
}

bool same(const std::vector<Action>& a, const std::vector<Action>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].text != b[i].text || !(a[i].request == b[i].request))
      return false;
  }
  return true;
}

std::vector<Member> members() {
  return {Member{"r-w-0-0", "r-w-0-0.r", "w", 0, "n0", "127.0.3.1", {{"p", 1}}},
          Member{"r-w-0-1", "r-w-0-1.r", "w", 0, "n0", "127.0.3.2", {}},
          Member{"r-d-0-0", "r-d-0-0.r", "d", 0, "n1", "127.0.3.3", {}}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::vector<Action> whole = feed_in_chunks(bytes, bytes.size() + 1);
  if (!same(whole, feed_in_chunks(bytes, chunk)))
    broken("actions do not depend on how reads cut the bytes", std::to_string(chunk));

  Store store(
      "r", [](const Origin&, const std::string& line) { check_reply(line); }, small_limits());
  store.begin_attempt(0, members());
  int64_t now = 0;
  for (size_t i = 0; i < whole.size(); ++i) {
    const Action& a = whole[i];
    if (a.kind == Action::Kind::kClose) {
      if (i + 1 != whole.size()) broken("a close is the last action", a.text);
      if (i == 0 || whole[i - 1].kind != Action::Kind::kReply)
        broken("a close follows its reply", a.text);
      continue;
    }
    if (a.kind == Action::Kind::kReply) {
      check_reply(a.text);
      continue;
    }
    check_round_trip(a.request);
    now += static_cast<int64_t>(a.request.id % 100);
    store.handle(Origin{0, 1}, a.request, now);
    if (a.request.id % 7 == 0) store.set_registered(members()[a.request.id % 3].name, true);
    if (a.request.id % 11 == 0) store.drop(Origin{0, 1});
    if (a.request.id % 13 == 0) store.begin_attempt(static_cast<int>(i), members());
    store.tick(now);
  }
  store.close("end");

  // Each line on its own, with the protocol's own limits.
  size_t start = 0;
  while (start < bytes.size()) {
    size_t nl = bytes.find('\n', start);
    std::string_view line = bytes.substr(start, nl == std::string_view::npos ? nl : nl - start);
    auto r = parse_request(line);
    if (r.ok()) {
      auto back = parse_request(encode_request(*r));
      if (!back.ok() || !(*back == *r)) broken("a parsed line round-trips", std::string(line));
    } else if (r.error().message().empty()) {
      broken("every parse error has a message", std::string(line));
    }
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return 0;
}
