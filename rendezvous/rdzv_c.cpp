// The C ABI of include/jobset/rdzv.h over the C++ Client: argument checks
// for C's NULLs, strings copied out with malloc (freed by
// jobset_rdzv_free), codes as negative ints, and no exception ever
// crossing into the caller's C.
#include <jobset/rdzv.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "rendezvous/client.hpp"
#include "rendezvous/client_checks.hpp"

using jobset::rendezvous::Client;
using jobset::rendezvous::Code;
using jobset::rendezvous::Failure;

struct jobset_rdzv {
  explicit jobset_rdzv(Client c) : client(std::move(c)) {}
  Client client;
  std::string error;
};

static_assert(JOBSET_RDZV_EBADREQUEST == -static_cast<int>(Code::kBadRequest));
static_assert(JOBSET_RDZV_EUNAUTHORIZED == -static_cast<int>(Code::kUnauthorized));
static_assert(JOBSET_RDZV_EIO == -static_cast<int>(Code::kIo));
static_assert(JOBSET_RDZV_EPROTO == -static_cast<int>(Code::kProto));
static_assert(JOBSET_RDZV_MAX_VALUE == jobset::rendezvous::kMaxValue);
static_assert(JOBSET_RDZV_MAX_TIMEOUT_MS == jobset::rendezvous::kMaxTimeoutMs);

namespace {

thread_local std::string open_error;  // jobset_rdzv_error(NULL)

int fail(jobset_rdzv_t* h, Code code, std::string message) {
  h->error = std::move(message);
  return -static_cast<int>(code);
}

int fail(jobset_rdzv_t* h, const Failure& f) { return fail(h, f.code, f.message); }

// Runs `body` (which returns a code) with h's error cleared, turning a
// NULL handle or argument and any exception into codes.
template <typename Body>
int guarded(jobset_rdzv_t* h, const char* what, bool args_ok, Body body) {
  if (h == nullptr) return JOBSET_RDZV_EBADREQUEST;
  h->error.clear();
  if (!args_ok)
    return fail(h, Code::kBadRequest, std::string(what) + ": a required argument is NULL");
  try {
    return static_cast<int>(body());
  } catch (const std::exception& e) {
    return fail(h, Code::kIo, std::string(what) + ": internal error: " + e.what());
  }
}

// A malloc'd NUL-terminated copy (the caller frees it with jobset_rdzv_free).
char* copy_out(const std::string& s) {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

const char* env_or(const char* value, const char* var, const char* otherwise) {
  if (value != nullptr) return value;
  const char* v = std::getenv(var);
  return v != nullptr ? v : otherwise;
}

}  // namespace

extern "C" {

jobset_rdzv_t* jobset_rdzv_open(const char* socket_path, const char* name) {
  try {
    open_error.clear();
    const char* path = env_or(socket_path, "JOBSET_RDZV", nullptr);
    if (path == nullptr) {
      open_error = "JOBSET_RDZV is not set; run this inside a process started by jobset run";
      return nullptr;
    }
    auto c = Client::connect(path, env_or(name, "JOBSET_HOSTNAME", ""));
    if (!c) {
      open_error = c.failure().message;
      return nullptr;
    }
    return new jobset_rdzv(std::move(c.value()));
  } catch (const std::exception& e) {
    open_error = std::string("jobset_rdzv_open: internal error: ") + e.what();
    return nullptr;
  }
}

void jobset_rdzv_close(jobset_rdzv_t* h) { delete h; }

void jobset_rdzv_free(void* p) { std::free(p); }

const char* jobset_rdzv_error(const jobset_rdzv_t* h) {
  return h == nullptr ? open_error.c_str() : h->error.c_str();
}

const char* jobset_rdzv_strerror(int code) {
  if (code > 0 || code < JOBSET_RDZV_EPROTO) return "unknown";
  return jobset::rendezvous::code_name(static_cast<Code>(-code));
}

int jobset_rdzv_put(jobset_rdzv_t* h, const char* key, const char* value, size_t value_len,
                    int persistent) {
  return guarded(h, "put", key != nullptr && (value != nullptr || value_len == 0), [&] {
    auto r =
        h->client.put(key, std::string(value == nullptr ? "" : value, value_len), persistent != 0);
    return r ? static_cast<int>(JOBSET_RDZV_OK) : fail(h, r.failure());
  });
}

int jobset_rdzv_get(jobset_rdzv_t* h, const char* key, int timeout_ms, char** value_out,
                    size_t* len_out) {
  return guarded(h, "get", key != nullptr && value_out != nullptr, [&] {
    auto r = h->client.get(key, timeout_ms);
    if (!r) return fail(h, r.failure());
    *value_out = copy_out(r->value);
    if (len_out != nullptr) *len_out = r->value.size();
    return static_cast<int>(JOBSET_RDZV_OK);
  });
}

int jobset_rdzv_watch(jobset_rdzv_t* h, const char* key, int64_t version, int timeout_ms,
                      char** value_out, size_t* len_out, int64_t* version_out) {
  return guarded(h, "watch", key != nullptr && value_out != nullptr, [&] {
    auto r = h->client.watch(key, version, timeout_ms);
    if (!r) return fail(h, r.failure());
    *value_out = copy_out(r->value);
    if (len_out != nullptr) *len_out = r->value.size();
    if (version_out != nullptr) *version_out = r->version;
    return static_cast<int>(JOBSET_RDZV_OK);
  });
}

int jobset_rdzv_barrier(jobset_rdzv_t* h, const char* scope, const char* tag, int timeout_ms) {
  return guarded(h, "barrier", true, [&] {
    auto r =
        h->client.barrier(scope == nullptr ? "all" : scope, tag == nullptr ? "" : tag, timeout_ms);
    return r ? static_cast<int>(JOBSET_RDZV_OK) : fail(h, r.failure());
  });
}

int jobset_rdzv_lookup(jobset_rdzv_t* h, const char* name, int timeout_ms, char** address_out) {
  return guarded(h, "lookup", name != nullptr && address_out != nullptr, [&] {
    auto r = h->client.lookup(name, timeout_ms);
    if (!r) return fail(h, r.failure());
    *address_out = copy_out((*r)["address"].get<std::string>());
    return static_cast<int>(JOBSET_RDZV_OK);
  });
}

int jobset_rdzv_lookup_json(jobset_rdzv_t* h, const char* name, int timeout_ms, char** json_out) {
  return guarded(h, "lookup", name != nullptr && json_out != nullptr, [&] {
    auto r = h->client.lookup(name, timeout_ms);
    if (!r) return fail(h, r.failure());
    *json_out = copy_out(r->dump());
    return static_cast<int>(JOBSET_RDZV_OK);
  });
}

int jobset_rdzv_hosts_json(jobset_rdzv_t* h, char** json_out) {
  return guarded(h, "hosts", json_out != nullptr, [&] {
    auto r = h->client.hosts();
    if (!r) return fail(h, r.failure());
    *json_out = copy_out(r->dump());
    return static_cast<int>(JOBSET_RDZV_OK);
  });
}

}  // extern "C"
