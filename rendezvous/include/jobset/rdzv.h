/* jobset rendezvous client: the C interface (libjobset-rdzv, pkg-config
 * jobset-rdzv). A process started by `jobset run` reaches the run's
 * rendezvous service (key-value store, name lookup, barriers) through the
 * Unix socket named by $JOBSET_RDZV; see jobset-rdzv(1) for the commands,
 * the protocol and a Python ctypes example.
 *
 * Values are UTF-8 text (they travel as JSON strings): a value that is not
 * valid UTF-8 is refused with JOBSET_RDZV_EBADREQUEST. NUL bytes are valid
 * UTF-8 and kept, so values come back with their length. Encode binary
 * data (base64, hex) before putting it. Keys are 1..256 bytes of
 * [A-Za-z0-9._/:-]; values at most JOBSET_RDZV_MAX_VALUE bytes.
 *
 * Every call returns JOBSET_RDZV_OK (0) or a negative jobset_rdzv_code;
 * jobset_rdzv_error() then says what happened in words. Connecting to a
 * socket nobody listens on fails at once, and a call waits at most its
 * timeout_ms plus a 5 s margin for the reply. timeout_ms is 0 (answer at
 * once) to 86400000 (24 h); for a barrier, 0 waits without a limit (as
 * the protocol says), the one call that may block until the run ends.
 *
 * Threads: a handle is used by one thread at a time (one handle per
 * thread); distinct handles are independent. Strings returned through
 * out-parameters are NUL-terminated, owned by the caller and freed with
 * jobset_rdzv_free(). On failure out-parameters are left untouched. */
#ifndef JOBSET_RDZV_H
#define JOBSET_RDZV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes: the protocol's error codes, plus what the client sees. */
enum jobset_rdzv_code {
  JOBSET_RDZV_OK = 0,
  JOBSET_RDZV_EBADREQUEST = -1,   /* bad argument or malformed request */
  JOBSET_RDZV_ENOTFOUND = -2,     /* no such key or name */
  JOBSET_RDZV_ETIMEOUT = -3,      /* timeout_ms passed first */
  JOBSET_RDZV_ETOOLARGE = -4,     /* key, value or request too long */
  JOBSET_RDZV_ELIMIT = -5,        /* a per-process bound of the service */
  JOBSET_RDZV_EATTEMPTENDED = -6, /* the JobSet restarted while waiting */
  JOBSET_RDZV_ECLOSED = -7,       /* the run is ending */
  JOBSET_RDZV_EUNAUTHORIZED = -8, /* the service refused this process */
  JOBSET_RDZV_EIO = -9,           /* cannot connect, or the connection failed */
  JOBSET_RDZV_EPROTO = -10        /* the service's reply broke the protocol */
};

#define JOBSET_RDZV_MAX_VALUE 1048576
#define JOBSET_RDZV_MAX_TIMEOUT_MS 86400000

typedef struct jobset_rdzv jobset_rdzv_t;

/* Connects and says hello. socket_path NULL: $JOBSET_RDZV. name NULL:
 * $JOBSET_HOSTNAME, or "" (a client that is not one of the run's
 * processes: everything but barriers). Returns NULL on failure; then
 * jobset_rdzv_error(NULL) says why (per thread). */
jobset_rdzv_t* jobset_rdzv_open(const char* socket_path, const char* name);
/* Closes the connection and frees the handle; NULL is ignored. */
void jobset_rdzv_close(jobset_rdzv_t* h);
/* Frees a string returned by this library; NULL is ignored. */
void jobset_rdzv_free(void* p);

/* The message of the last call on h that failed, "" after a success.
 * h NULL: the last failed jobset_rdzv_open of this thread. Valid until the
 * next call on h (or open). */
const char* jobset_rdzv_error(const jobset_rdzv_t* h);
/* The protocol's name of a code: "not_found", "timeout", "io", ... */
const char* jobset_rdzv_strerror(int code);

/* Puts key = value (value_len bytes). persistent nonzero: the key survives
 * JobSet restarts; else it belongs to the current attempt. */
int jobset_rdzv_put(jobset_rdzv_t* h, const char* key, const char* value, size_t value_len,
                    int persistent);
/* Gets key's value; waits up to timeout_ms for it to be put (0: at once,
 * ENOTFOUND when absent). len_out may be NULL. */
int jobset_rdzv_get(jobset_rdzv_t* h, const char* key, int timeout_ms, char** value_out,
                    size_t* len_out);
/* Waits until key's version is above `version` (at once if it already
 * is) and gets that value and version. Versions count the puts of a key
 * from 1, so version 0 waits for the first put. len_out, version_out may
 * be NULL. */
int jobset_rdzv_watch(jobset_rdzv_t* h, const char* key, int64_t version, int timeout_ms,
                      char** value_out, size_t* len_out, int64_t* version_out);
/* Enters the barrier of scope "all", "replicated_job" or "job" (NULL:
 * "all") with tag (NULL: "", at most 64 bytes) and returns once every
 * member of the scope has entered it; timeout_ms 0 waits as long as that
 * takes. Needs a name (see open). */
int jobset_rdzv_barrier(jobset_rdzv_t* h, const char* scope, const char* tag, int timeout_ms);
/* The address of a process by its stable name or FQDN; waits up to
 * timeout_ms for it to start. A name that is not the run's: ENOTFOUND. */
int jobset_rdzv_lookup(jobset_rdzv_t* h, const char* name, int timeout_ms, char** address_out);
/* As lookup, but the whole answer as a JSON object: name, fqdn, node,
 * address, ports (an object: declared name -> port), attempt. */
int jobset_rdzv_lookup_json(jobset_rdzv_t* h, const char* name, int timeout_ms, char** json_out);
/* Every process of the run as JSON: {"attempt":N,"hosts":[{"name",
 * "fqdn","node","address","registered"}, ...]}. */
int jobset_rdzv_hosts_json(jobset_rdzv_t* h, char** json_out);

#ifdef __cplusplus
}
#endif

#endif /* JOBSET_RDZV_H */
