// A fake rendezvous daemon for the client's tests: a thread listening on a
// Unix socket in a scratch directory that records every request line it
// gets and answers each with what the test's handler returns (raw lines,
// so a test can send malformed ones, replies out of order, or none). It
// tests the client's side of rdzv-contract.md only; the real service is
// rendezvous/session and store, tested on their own.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/scratch.hpp"

namespace rdzvtest {

using nlohmann::json;

// The lines to send for one request, in order. kClose closes the connection.
using Lines = std::vector<std::string>;
using Handler = std::function<Lines(const json& request)>;
inline const std::string kClose = "<close>";

// {"id": the request's, "ok": true, fields...}
inline std::string ok(const json& request, json fields = json::object()) {
  fields["id"] = request["id"];
  fields["ok"] = true;
  return fields.dump();
}

inline std::string error(const json& request, const std::string& code, const std::string& msg) {
  return json{{"id", request["id"]}, {"ok", false}, {"error", code}, {"message", msg}}.dump();
}

// A small service that answers as the contract says: a run "demo" with
// two processes, a key-value store, barriers of 4 (tag "never": timeout),
// "demo-late-0-0" that never starts (timeout).
inline Handler canned() {
  auto store = std::make_shared<std::map<std::string, std::pair<std::string, int64_t>>>();
  return [store](const json& r) -> Lines {
    if (!r.is_object()) return {kClose};
    std::string op = r.value("op", "");
    if (op == "hello")
      return {ok(r, {{"run", "demo"}, {"attempt", 0}, {"name", r["name"]}, {"fqdn", "x.demo"}})};
    if (op == "put") {
      auto& e = (*store)[r["key"]];
      e = {r["value"], e.second + 1};
      return {ok(r, {{"version", e.second}})};
    }
    if (op == "get" || op == "watch") {
      auto it = store->find(r["key"]);
      if (it != store->end() && it->second.second > r.value("version", int64_t{0}))
        return {ok(r, {{"value", it->second.first}, {"version", it->second.second}})};
      if (r.value("timeout_ms", 0) > 0)
        return {error(r, "timeout", "key " + r["key"].get<std::string>() + " was not put in time")};
      return {error(r, "not_found", "no key " + r["key"].get<std::string>())};
    }
    if (op == "barrier")
      return {r["tag"] == "never" ? error(r, "timeout", "3 of 4 members arrived")
                                  : ok(r, {{"size", 4}})};
    if (op == "lookup") {
      if (r["name"] == "demo-workers-0-0" || r["name"] == "demo-workers-0-0.demo")
        return {ok(r, {{"name", "demo-workers-0-0"},
                       {"fqdn", "demo-workers-0-0.demo"},
                       {"node", "n1"},
                       {"address", "127.0.3.2"},
                       {"ports", {{"http", 8080}}},
                       {"attempt", 0}})};
      if (r["name"] == "demo-late-0-0")
        return {error(r, "timeout", "demo-late-0-0 has not started")};
      return {error(r, "not_found", r["name"].get<std::string>() + " is not a process of demo")};
    }
    if (op == "hosts")
      return {ok(r, {{"attempt", 0},
                     {"hosts",
                      {{{"name", "demo-workers-0-0"},
                        {"fqdn", "demo-workers-0-0.demo"},
                        {"node", "n1"},
                        {"address", "127.0.3.2"},
                        {"registered", true}},
                       {{"name", "demo-workers-0-1"},
                        {"fqdn", "demo-workers-0-1.demo"},
                        {"node", "n2"},
                        {"address", "127.0.3.3"},
                        {"registered", false}}}}})};
    return {error(r, "bad_request", "op: unknown " + op)};
  };
}

class FakeServer {
 public:
  explicit FakeServer(Handler handler = canned()) : handler_(std::move(handler)) {
    path_ = scratch_.path("rdzv.sock");
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 16) != 0)
      throw std::runtime_error("fake rendezvous server: cannot listen on " + path_);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeServer() {
    stop_ = true;
    thread_.join();
    for (auto& [fd, buffer] : conns_) close(fd);
    close(listen_fd_);
  }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  const std::string& path() const { return path_; }
  // Every line received so far, in order, without the newline.
  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  // The same, parsed (a line that is not JSON: a discarded value).
  std::vector<json> requests() const {
    std::vector<json> out;
    for (const auto& l : lines()) out.push_back(json::parse(l, nullptr, false));
    return out;
  }
  const jobset_test::Scratch& scratch() const { return scratch_; }

 private:
  void serve() {
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (auto& [fd, buffer] : conns_) fds.push_back({fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) conns_[c] = "";
      }
      for (size_t i = 1; i < fds.size(); ++i)
        if (fds[i].revents != 0) read_from(fds[i].fd);
    }
  }

  void read_from(int fd) {
    char chunk[65536];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return drop(fd);
    std::string& buffer = conns_[fd];
    size_t scanned = buffer.size();  // no newline before this
    buffer.append(chunk, static_cast<size_t>(n));
    for (size_t nl; (nl = buffer.find('\n', scanned)) != std::string::npos; scanned = 0) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      {
        std::lock_guard<std::mutex> lock(mu_);
        lines_.push_back(line);
      }
      for (const auto& out : handler_(json::parse(line, nullptr, false))) {
        if (out == kClose) return drop(fd);
        std::string data = out + "\n";
        if (send(fd, data.data(), data.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(data.size()))
          return drop(fd);
      }
    }
  }

  void drop(int fd) {
    close(fd);
    conns_.erase(fd);
  }

  jobset_test::Scratch scratch_;
  std::string path_;
  Handler handler_;
  int listen_fd_ = -1;
  std::map<int, std::string> conns_;  // connection -> bytes after its last line
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
  std::thread thread_;
};

}  // namespace rdzvtest
