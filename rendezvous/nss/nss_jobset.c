/* libnss_jobset.so.2: the glibc NSS "hosts" module that resolves a JobSet
 * run's stable names ("<jobset>-<rjob>-<jobIndex>-<podIndex>" and
 * "<name>.<subdomain>") for every program, with "hosts: files jobset dns"
 * in /etc/nsswitch.conf.
 *
 * It answers from the run's hosts file (rendezvous/hosts.hpp), whose path
 * is JOBSET_HOSTS_FILE in the calling process's environment, or else the
 * file "hosts" beside the rendezvous socket JOBSET_RDZV. Without either
 * it answers "not found" at once: a program that is not part of a run
 * never waits for this module and it never touches the network. The file
 * is read on every call (the launcher replaces it by rename when an
 * address changes, so the next lookup sees the new address); it is small.
 *
 * This file gets loaded into every program that resolves a name, so it is
 * plain C with no state, no threads, no allocation and nothing exported
 * but the NSS entry points. A file that is missing, not a regular file or
 * garbage is "not found"; so is any line that does not parse, a line
 * longer than kLineMax, and a last line without its newline (it may have
 * been cut short). Names match without regard to ASCII case, with or
 * without a trailing dot; a line's first name is the canonical name (the
 * FQDN in the launcher's file), the others are aliases.
 *
 * Status conventions (glibc's nss_files): not found is NSS_STATUS_NOTFOUND
 * with *h_errnop = HOST_NOT_FOUND; a buffer too small for the answer is
 * NSS_STATUS_TRYAGAIN with *errnop = ERANGE and *h_errnop = NETDB_INTERNAL
 * (the caller retries with a larger one). */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <nss.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

enum {
  kNameMax = 255,  /* longest DNS name */
  kLineMax = 1024, /* longer lines are skipped */
  kPathMax = 4096,
  kMaxAddrs = 32,    /* addresses kept per answer */
  kMaxAliases = 8,   /* aliases kept per answer */
  kReadChunk = 4096, /* read(2) size */
};

/* What a lookup found: the canonical name and aliases of the first
 * matching line, and the addresses of every matching line. */
struct answer {
  char canon[kNameMax + 1];
  char aliases[kMaxAliases][kNameMax + 1];
  int naliases;
  int naddrs;
  struct {
    int family;
    unsigned char bytes[16];
  } addrs[kMaxAddrs];
};

/* The hosts file's path into out; 0, or -1 when there is none. */
static int hosts_path(char* out, size_t cap) {
  const char* file = secure_getenv("JOBSET_HOSTS_FILE");
  if (file != NULL && file[0] != '\0') {
    size_t len = strlen(file);
    if (len >= cap) return -1;
    memcpy(out, file, len + 1);
    return 0;
  }
  const char* sock = secure_getenv("JOBSET_RDZV");
  if (sock == NULL || sock[0] != '/') return -1;
  const char* slash = strrchr(sock, '/');
  size_t dirlen = (size_t)(slash - sock) + 1;
  static const char kName[] = "hosts";
  if (dirlen + sizeof kName > cap) return -1;
  memcpy(out, sock, dirlen);
  memcpy(out + dirlen, kName, sizeof kName);
  return 0;
}

/* Reads a file line by line through a fixed buffer. */
struct reader {
  int fd;
  int eof;
  size_t pos, len;
  char buf[kReadChunk];
};

/* The next whole line (without '\n', NUL-terminated) into line: 1, or 0 at
 * the end of the file, or -1 on a read error. Skips lines of kLineMax or
 * more bytes and lines holding a NUL; drops a last line without '\n'. */
static int next_line(struct reader* r, char line[kLineMax]) {
  size_t len = 0;
  int bad = 0;
  for (;;) {
    if (r->pos == r->len) {
      if (r->eof) return 0;
      ssize_t n = read(r->fd, r->buf, sizeof r->buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return -1;
      if (n == 0) {
        r->eof = 1;
        return 0;
      }
      r->pos = 0;
      r->len = (size_t)n;
    }
    char c = r->buf[r->pos++];
    if (c == '\n') {
      if (!bad) {
        line[len] = '\0';
        return 1;
      }
      len = 0;
      bad = 0;
    } else if (c == '\0' || len + 1 >= kLineMax) {
      bad = 1;
    } else if (!bad) {
      line[len++] = c;
    }
  }
}

static int lower_ascii(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

/* Whether name (len bytes) equals the NUL-terminated field, ASCII case
 * ignored: unlike strcasecmp, the same in every locale. */
static int same_name(const char* name, size_t len, const char* field) {
  size_t i = 0;
  for (; i < len; i++)
    if (field[i] == '\0' ||
        lower_ascii((unsigned char)name[i]) != lower_ascii((unsigned char)field[i]))
      return 0;
  return field[i] == '\0';
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* One parsed line: its address and its names (pointers into the line). */
struct line_fields {
  int family;
  unsigned char bytes[16];
  int nnames;
  char* names[kMaxAliases + 1];
};

/* Cuts line into fields in place; 1 when it is "address name...", with a
 * valid IPv4 or IPv6 address and names no longer than kNameMax. */
static int parse_line(char* line, struct line_fields* f) {
  char* hash = strchr(line, '#');
  if (hash != NULL) *hash = '\0';
  char* fields[kMaxAliases + 2];
  int n = 0;
  char* p = line;
  for (;;) {
    while (is_blank(*p)) p++;
    if (*p == '\0') break;
    if (n == kMaxAliases + 2) break; /* further aliases are ignored */
    fields[n++] = p;
    while (*p != '\0' && !is_blank(*p)) p++;
    if (*p != '\0') *p++ = '\0';
  }
  if (n < 2) return 0;
  if (inet_pton(AF_INET, fields[0], f->bytes) == 1) {
    f->family = AF_INET;
  } else if (inet_pton(AF_INET6, fields[0], f->bytes) == 1) {
    f->family = AF_INET6;
  } else {
    return 0;
  }
  f->nnames = n - 1;
  for (int i = 1; i < n; i++) {
    if (strlen(fields[i]) > kNameMax) return 0;
    f->names[i - 1] = fields[i];
  }
  return 1;
}

/* Records the names of a first matching line as the answer's. */
static void take_names(struct answer* a, const struct line_fields* f) {
  strcpy(a->canon, f->names[0]); /* parse_line checked the length */
  a->naliases = 0;
  for (int i = 1; i < f->nnames && a->naliases < kMaxAliases; i++)
    strcpy(a->aliases[a->naliases++], f->names[i]);
}

static void add_address(struct answer* a, const struct line_fields* f) {
  if (a->naddrs == kMaxAddrs) return;
  a->addrs[a->naddrs].family = f->family;
  memcpy(a->addrs[a->naddrs].bytes, f->bytes, sizeof f->bytes);
  a->naddrs++;
}

/* What the hosts file says about a name (by_addr == NULL) or an address
 * (name == NULL): 1 when something matched into *a, else 0. Lines of a
 * family other than af (AF_UNSPEC: any) are skipped. A reverse lookup
 * takes the first matching line only. Leaves errno as it was. */
static int lookup(const char* name, const unsigned char* by_addr, int af, struct answer* a) {
  int saved_errno = errno;
  char path[kPathMax];
  char line[kLineMax];
  struct reader r;
  struct line_fields f;
  size_t len = 0;
  int found = 0;

  a->canon[0] = '\0';
  a->naliases = 0;
  a->naddrs = 0;
  if (name != NULL) {
    len = strlen(name);
    if (len > 0 && name[len - 1] == '.') len--; /* "x.y." is "x.y" */
    if (len == 0 || len > kNameMax) return 0;
  }
  if (hosts_path(path, sizeof path) != 0) return 0;

  /* O_NONBLOCK: a FIFO in place of the file must not block us. */
  r.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (r.fd < 0) goto out;
  struct stat st;
  if (fstat(r.fd, &st) != 0 || !S_ISREG(st.st_mode)) goto out;
  r.eof = 0;
  r.pos = r.len = 0;

  int got;
  while ((got = next_line(&r, line)) == 1) {
    if (!parse_line(line, &f)) continue;
    if (af != AF_UNSPEC && f.family != af) continue;
    int match = 0;
    if (by_addr != NULL) {
      match = memcmp(f.bytes, by_addr, f.family == AF_INET ? 4 : 16) == 0;
    } else {
      for (int i = 0; i < f.nnames && !match; i++) match = same_name(name, len, f.names[i]);
    }
    if (!match) continue;
    if (!found) take_names(a, &f);
    add_address(a, &f);
    found = 1;
    if (by_addr != NULL) break;
  }
  if (got < 0) found = 0; /* a read error: the answer may be incomplete */

out:
  if (r.fd >= 0) close(r.fd);
  errno = saved_errno;
  return found;
}

static enum nss_status not_found(int* errnop, int* h_errnop) {
  *errnop = ENOENT;
  *h_errnop = HOST_NOT_FOUND;
  return NSS_STATUS_NOTFOUND;
}

static enum nss_status too_small(int* errnop, int* h_errnop) {
  *errnop = ERANGE;
  *h_errnop = NETDB_INTERNAL;
  return NSS_STATUS_TRYAGAIN;
}

/* Bytes to skip at p so that it is aligned for type alignment `align`. */
static size_t pad_for(const char* p, size_t align) {
  return (align - (uintptr_t)p % align) % align;
}

/* Lays out the answer (all of family af) as a hostent in buffer. */
static enum nss_status fill_hostent(const struct answer* a, int af, struct hostent* result,
                                    char* buffer, size_t buflen, int* errnop, int* h_errnop,
                                    char** canonp) {
  size_t addrlen = af == AF_INET ? 4 : 16;
  size_t pad = pad_for(buffer, _Alignof(char*));
  size_t need = pad + (size_t)(a->naddrs + 1 + a->naliases + 1) * sizeof(char*) +
                (size_t)a->naddrs * addrlen + strlen(a->canon) + 1;
  for (int i = 0; i < a->naliases; i++) need += strlen(a->aliases[i]) + 1;
  if (buflen < need) return too_small(errnop, h_errnop);

  char** addr_list = (char**)(void*)(buffer + pad);
  char** alias_list = addr_list + a->naddrs + 1;
  char* p = (char*)(alias_list + a->naliases + 1);
  for (int i = 0; i < a->naddrs; i++) {
    memcpy(p, a->addrs[i].bytes, addrlen);
    addr_list[i] = p;
    p += addrlen;
  }
  addr_list[a->naddrs] = NULL;
  for (int i = 0; i < a->naliases; i++) {
    size_t n = strlen(a->aliases[i]) + 1;
    memcpy(p, a->aliases[i], n);
    alias_list[i] = p;
    p += n;
  }
  alias_list[a->naliases] = NULL;
  size_t n = strlen(a->canon) + 1;
  memcpy(p, a->canon, n);

  result->h_name = p;
  result->h_aliases = alias_list;
  result->h_addrtype = af;
  result->h_length = (int)addrlen;
  result->h_addr_list = addr_list;
  if (canonp != NULL) *canonp = p;
  return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_jobset_gethostbyname3_r(const char* name, int af,
                                                    struct hostent* result, char* buffer,
                                                    size_t buflen, int* errnop, int* h_errnop,
                                                    int32_t* ttlp, char** canonp) {
  if (af != AF_INET && af != AF_INET6) {
    *errnop = EAFNOSUPPORT;
    *h_errnop = NO_DATA;
    return NSS_STATUS_UNAVAIL;
  }
  struct answer a;
  if (!lookup(name, NULL, af, &a)) return not_found(errnop, h_errnop);
  if (ttlp != NULL) *ttlp = 0;
  return fill_hostent(&a, af, result, buffer, buflen, errnop, h_errnop, canonp);
}

EXPORT enum nss_status _nss_jobset_gethostbyname2_r(const char* name, int af,
                                                    struct hostent* result, char* buffer,
                                                    size_t buflen, int* errnop, int* h_errnop) {
  return _nss_jobset_gethostbyname3_r(name, af, result, buffer, buflen, errnop, h_errnop, NULL,
                                      NULL);
}

EXPORT enum nss_status _nss_jobset_gethostbyname_r(const char* name, struct hostent* result,
                                                   char* buffer, size_t buflen, int* errnop,
                                                   int* h_errnop) {
  return _nss_jobset_gethostbyname3_r(name, AF_INET, result, buffer, buflen, errnop, h_errnop, NULL,
                                      NULL);
}

/* getaddrinfo's entry point: every address of the name, both families, as
 * a list of tuples in buffer. glibc may pass a first tuple of its own in
 * *pat; it then gets a copy of our first. */
EXPORT enum nss_status _nss_jobset_gethostbyname4_r(const char* name, struct gaih_addrtuple** pat,
                                                    char* buffer, size_t buflen, int* errnop,
                                                    int* h_errnop, int32_t* ttlp) {
  struct answer a;
  if (!lookup(name, NULL, AF_UNSPEC, &a)) return not_found(errnop, h_errnop);

  size_t namelen = strlen(a.canon) + 1;
  size_t pad = pad_for(buffer, _Alignof(struct gaih_addrtuple));
  size_t need = pad + (size_t)a.naddrs * sizeof(struct gaih_addrtuple) + namelen;
  if (buflen < need) return too_small(errnop, h_errnop);

  struct gaih_addrtuple* tuples = (struct gaih_addrtuple*)(void*)(buffer + pad);
  char* canon = (char*)(tuples + a.naddrs);
  memcpy(canon, a.canon, namelen);
  for (int i = 0; i < a.naddrs; i++) {
    struct gaih_addrtuple* t = &tuples[i];
    memset(t, 0, sizeof *t);
    t->next = i + 1 < a.naddrs ? &tuples[i + 1] : NULL;
    t->name = canon;
    t->family = a.addrs[i].family;
    memcpy(t->addr, a.addrs[i].bytes, a.addrs[i].family == AF_INET ? 4 : 16);
  }
  if (*pat != NULL)
    **pat = tuples[0];
  else
    *pat = tuples;
  if (ttlp != NULL) *ttlp = 0;
  return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_jobset_gethostbyaddr_r(const void* addr, socklen_t len, int af,
                                                   struct hostent* result, char* buffer,
                                                   size_t buflen, int* errnop, int* h_errnop) {
  if ((af != AF_INET || len != 4) && (af != AF_INET6 || len != 16)) {
    *errnop = EAFNOSUPPORT;
    *h_errnop = NO_DATA;
    return NSS_STATUS_UNAVAIL;
  }
  struct answer a;
  if (!lookup(NULL, addr, af, &a)) return not_found(errnop, h_errnop);
  return fill_hostent(&a, af, result, buffer, buflen, errnop, h_errnop, NULL);
}
