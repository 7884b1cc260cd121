// The PMI-1 server's protocol engine (pmi1_protocol.hpp).
#include "runtime/pmi1_protocol.hpp"

#include <charconv>
#include <map>

namespace jobset::runtime::pmi1 {

namespace {

using Fields = std::map<std::string, std::string, std::less<>>;

// `key=value` tokens separated by spaces (the simple PMI client's framing:
// no quoting, a value ends at the next space). Nothing when a token has no '='.
std::optional<Fields> parse_fields(std::string_view s, std::string& bad) {
  Fields f;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i == s.size()) break;
    size_t end = s.find(' ', i);
    if (end == std::string_view::npos) end = s.size();
    std::string_view tok = s.substr(i, end - i);
    size_t eq = tok.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      bad = std::string(tok);
      return std::nullopt;
    }
    f[std::string(tok.substr(0, eq))] = std::string(tok.substr(eq + 1));
    i = end;
  }
  return f;
}

std::string failure(const std::string& reply, std::string_view why) {
  std::string msg(why);
  for (char& c : msg) {
    if (c == ' ') c = '_';  // the client reads msg up to the next space
  }
  return "cmd=" + reply + " rc=-1 msg=" + msg + "\n";
}

// Values travel as JSON strings to the store: visible ASCII only.
bool printable(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

Action reply(std::string text) { return Action{Action::Kind::kReply, std::move(text), {}, {}, 0}; }

const std::map<std::string, std::string, std::less<>>& reply_names() {
  static const std::map<std::string, std::string, std::less<>> names = {
      {"init", "response_to_init"},
      {"get_maxes", "maxes"},
      {"get_appnum", "appnum"},
      {"get_my_kvsname", "my_kvsname"},
      {"get_universe_size", "universe_size"},
      {"put", "put_result"},
      {"get", "get_result"},
      {"barrier_in", "barrier_out"},
      {"finalize", "finalize_ack"},
      {"publish_name", "publish_result"},
      {"unpublish_name", "unpublish_result"},
      {"lookup_name", "lookup_result"},
  };
  return names;
}

}  // namespace

std::vector<Action> Session::feed(std::string_view bytes) {
  buf_.append(bytes);
  std::vector<Action> out;
  drain(out);
  return out;
}

// Reads whole lines while nothing waits.
void Session::drain(std::vector<Action>& out) {
  size_t pos = 0;
  while (waiting_ == Wait::kNone) {
    size_t nl = buf_.find('\n', pos);
    if (nl == std::string::npos) {
      if (buf_.size() - pos > kMaxLine && !skipping_) {
        out.push_back(
            reply(failure("error", "line longer than " + std::to_string(kMaxLine) + " bytes")));
        skipping_ = true;
      }
      if (skipping_) pos = buf_.size();
      break;
    }
    std::string_view l(buf_.data() + pos, nl - pos);
    pos = nl + 1;
    if (skipping_) {
      skipping_ = false;
      continue;
    }
    if (l.size() > kMaxLine) {
      out.push_back(
          reply(failure("error", "line longer than " + std::to_string(kMaxLine) + " bytes")));
      continue;
    }
    line(l, out);
  }
  buf_.erase(0, pos);
}

void Session::line(std::string_view l, std::vector<Action>& out) {
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  if (l.find_first_not_of(' ') == std::string_view::npos) return;  // blank
  if (in_mcmd_) {
    if (l == "endcmd") {
      in_mcmd_ = false;
      out.push_back(reply(failure("spawn_result", "jobset does not support MPI_Comm_spawn")));
    }
    return;
  }
  if (l.rfind("mcmd=", 0) == 0) {
    in_mcmd_ = true;
    return;
  }
  if (l.rfind("cmd=", 0) != 0) {
    out.push_back(reply(failure(
        "error", "expected a line starting cmd=, found '" + std::string(l.substr(0, 64)) + "'")));
    return;
  }
  size_t sp = l.find(' ');
  std::string cmd(l.substr(4, sp == std::string_view::npos ? std::string_view::npos : sp - 4));
  command(cmd, sp == std::string_view::npos ? std::string_view{} : l.substr(sp + 1), out);
}

void Session::command(const std::string& cmd, std::string_view args, std::vector<Action>& out) {
  if (cmd == "abort") return abort(args, out);
  auto named = reply_names().find(cmd);
  if (named == reply_names().end()) {
    out.push_back(reply(failure(cmd + "_result", "unknown command '" + cmd + "'")));
    return;
  }
  const std::string& r = named->second;
  std::string bad;
  std::optional<Fields> f = parse_fields(args, bad);
  if (!f) {
    out.push_back(reply(failure(r, "expected key=value, found '" + bad + "'")));
    return;
  }
  auto field = [&](const char* name) -> const std::string* {
    auto it = f->find(name);
    return it == f->end() ? nullptr : &it->second;
  };
  auto missing = [&](const char* name) {
    out.push_back(reply(failure(r, std::string("missing ") + name + "=")));
  };
  // put and get name the KVS: only the world's exists.
  auto check_kvs = [&]() {
    const std::string* kvs = field("kvsname");
    if (!kvs) return missing("kvsname"), false;
    if (*kvs != world_.kvsname) {
      out.push_back(reply(
          failure(r, "unknown kvsname '" + *kvs + "' (this world's is '" + world_.kvsname + "')")));
      return false;
    }
    return true;
  };
  auto check_key = [&](const std::string* key) {
    if (!key) return missing("key"), false;
    if (key->empty() || key->size() > kMaxKey) {
      out.push_back(reply(failure(r, "key must be 1 to " + std::to_string(kMaxKey) +
                                         " bytes, found " + std::to_string(key->size()))));
      return false;
    }
    if (!printable(*key)) {
      out.push_back(reply(failure(r, "key holds a byte that is not visible ASCII")));
      return false;
    }
    return true;
  };
  if (cmd == "init") {
    const std::string* v = field("pmi_version");
    const std::string* sv = field("pmi_subversion");
    if (!v || *v != "1") {
      out.push_back(
          reply("cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=-1 "
                "msg=only_PMI_version_1_is_served\n"));
      return;
    }
    (void)sv;  // 1.0 and 1.1 clients speak the same commands here
    initialized_ = true;
    out.push_back(reply("cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n"));
  } else if (cmd == "get_maxes") {
    out.push_back(reply("cmd=maxes kvsname_max=" + std::to_string(kMaxKvsName) +
                        " keylen_max=" + std::to_string(kMaxKey) +
                        " vallen_max=" + std::to_string(kMaxValue) + " rc=0\n"));
  } else if (cmd == "get_appnum") {
    out.push_back(reply("cmd=appnum appnum=" + std::to_string(appnum_) + " rc=0\n"));
  } else if (cmd == "get_my_kvsname") {
    out.push_back(reply("cmd=my_kvsname kvsname=" + world_.kvsname + " rc=0\n"));
  } else if (cmd == "get_universe_size") {
    out.push_back(
        reply("cmd=universe_size size=" + std::to_string(world_.universe_size) + " rc=0\n"));
  } else if (cmd == "put") {
    const std::string* key = field("key");
    const std::string* value = field("value");
    if (!check_kvs() || !check_key(key)) return;
    if (!value) return missing("value");
    if (value->size() > kMaxValue) {
      out.push_back(reply(failure(r, "value longer than " + std::to_string(kMaxValue) + " bytes (" +
                                         std::to_string(value->size()) + ")")));
      return;
    }
    if (!printable(*value)) {
      out.push_back(reply(failure(r, "value holds a byte that is not visible ASCII")));
      return;
    }
    out.push_back(Action{Action::Kind::kPut, {}, *key, *value, 0});
    out.push_back(reply("cmd=put_result rc=0 msg=success\n"));
  } else if (cmd == "get") {
    const std::string* key = field("key");
    if (!check_kvs() || !check_key(key)) return;
    if (*key == "PMI_process_mapping" && !world_.process_mapping.empty()) {
      out.push_back(
          reply("cmd=get_result rc=0 msg=success value=" + world_.process_mapping + "\n"));
      return;
    }
    waiting_ = Wait::kGet;
    out.push_back(Action{Action::Kind::kGet, {}, *key, {}, 0});
  } else if (cmd == "barrier_in") {
    waiting_ = Wait::kBarrier;
    out.push_back(Action{Action::Kind::kBarrier, {}, {}, {}, barriers_++});
  } else if (cmd == "finalize") {
    finalized_ = true;
    out.push_back(reply("cmd=finalize_ack rc=0\n"));
    out.push_back(Action{Action::Kind::kFinalize, {}, {}, {}, 0});
  } else if (cmd == "publish_name" || cmd == "unpublish_name" || cmd == "lookup_name") {
    const std::string* service = field("service");
    if (!service || service->empty()) return missing("service");
    if (cmd == "publish_name") {
      const std::string* port = field("port");
      if (!port || port->empty()) return missing("port");
      waiting_ = Wait::kPublish;
      out.push_back(Action{Action::Kind::kPublish, {}, *service, *port, 0});
    } else if (cmd == "unpublish_name") {
      waiting_ = Wait::kUnpublish;
      out.push_back(Action{Action::Kind::kUnpublish, {}, *service, {}, 0});
    } else {
      waiting_ = Wait::kLookup;
      out.push_back(Action{Action::Kind::kLookup, {}, *service, {}, 0});
    }
  }
}

// No reply: MPICH 4 waits for its launcher to end it (an answer would make
// MPI_Abort return and the program go on).
void Session::abort(std::string_view args, std::vector<Action>& out) {
  std::string bad;
  std::optional<Fields> f = parse_fields(args, bad);
  int64_t code = 1;  // an abort without a readable code still fails the job
  std::string why = "aborted";
  if (f) {
    if (auto it = f->find("exitcode"); it != f->end()) {
      const std::string& v = it->second;
      int64_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec == std::errc() && p == v.data() + v.size()) code = n;
    }
    if (auto it = f->find("msg"); it != f->end()) why = it->second;
  }
  aborted_ = true;
  out.push_back(Action{Action::Kind::kAbort, {}, {}, why, code});
}

std::vector<Action> Session::resume(Wait expected, std::string text) {
  std::vector<Action> out;
  if (waiting_ != expected) return out;
  waiting_ = Wait::kNone;
  out.push_back(reply(std::move(text)));
  drain(out);
  return out;
}

std::vector<Action> Session::got(const std::optional<std::string>& value, std::string_view error) {
  if (!error.empty()) return resume(Wait::kGet, failure("get_result", error));
  if (!value) return resume(Wait::kGet, "cmd=get_result rc=-1 msg=key_not_found\n");
  return resume(Wait::kGet, "cmd=get_result rc=0 msg=success value=" + *value + "\n");
}

std::vector<Action> Session::barrier_done(std::string_view error) {
  if (!error.empty()) return resume(Wait::kBarrier, failure("barrier_out", error));
  return resume(Wait::kBarrier, "cmd=barrier_out rc=0\n");
}

std::vector<Action> Session::name_done(std::string_view error) {
  Wait w = waiting_;
  const char* r = w == Wait::kUnpublish ? "unpublish_result" : "publish_result";
  if (w != Wait::kPublish && w != Wait::kUnpublish) return {};
  if (!error.empty()) return resume(w, failure(r, error));
  return resume(w, std::string("cmd=") + r + " rc=0 msg=success\n");
}

std::vector<Action> Session::looked_up(const std::optional<std::string>& port,
                                       std::string_view error) {
  if (!error.empty()) return resume(Wait::kLookup, failure("lookup_result", error));
  if (!port) return resume(Wait::kLookup, "cmd=lookup_result rc=-1 msg=service_not_found\n");
  return resume(Wait::kLookup, "cmd=lookup_result rc=0 msg=success port=" + *port + "\n");
}

std::string process_mapping(const std::vector<int32_t>& node_of_rank) {
  std::map<int32_t, int32_t> ids;  // node -> order of first appearance
  struct Run {
    int32_t node, count;
  };
  std::vector<Run> runs;
  for (int32_t n : node_of_rank) {
    int32_t id = ids.emplace(n, static_cast<int32_t>(ids.size())).first->second;
    if (!runs.empty() && runs.back().node == id)
      ++runs.back().count;
    else
      runs.push_back({id, 1});
  }
  // Consecutive runs of one size on consecutive nodes make one block.
  std::string s = "(vector";
  for (size_t i = 0; i < runs.size();) {
    size_t j = i + 1;
    while (j < runs.size() && runs[j].count == runs[i].count &&
           runs[j].node == runs[j - 1].node + 1)
      ++j;
    s += ",(" + std::to_string(runs[i].node) + "," + std::to_string(j - i) + "," +
         std::to_string(runs[i].count) + ")";
    i = j;
  }
  s += ")";
  return s.size() <= kMaxValue ? s : std::string();
}

}  // namespace jobset::runtime::pmi1
