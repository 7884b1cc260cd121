/* The C ABI from C: this file is compiled as C99 with -pedantic -Werror
 * and includes nothing of jobset but <jobset/rdzv.h>, so it proves the
 * installed header is valid C and the shared library links. It calls
 * every function against whatever $JOBSET_RDZV names (the fake daemon of
 * tests/rendezvous/rdzv_c_test.cpp) and prints one line per call, which
 * that test compares. `c_abi_test --no-env` only opens with JOBSET_RDZV
 * unset. */
#include <jobset/rdzv.h>
#include <stdio.h>
#include <string.h>

static void show(const char* what, int rc, jobset_rdzv_t* h) {
  printf("%s %d %s [%s]\n", what, rc, jobset_rdzv_strerror(rc), jobset_rdzv_error(h));
}

/* NUL bytes shown as '|'. */
static void show_value(const char* what, const char* value, size_t len) {
  size_t i;
  printf("%s %lu ", what, (unsigned long)len);
  for (i = 0; i < len; ++i) putchar(value[i] == '\0' ? '|' : value[i]);
  putchar('\n');
}

int main(int argc, char** argv) {
  jobset_rdzv_t* h;
  char* value = NULL;
  size_t len = 0;
  int64_t version = 0;
  int rc;

  if (argc > 1 && strcmp(argv[1], "--no-env") == 0) {
    h = jobset_rdzv_open(NULL, "x");
    printf("open %s [%s]\n", h ? "handle" : "NULL", jobset_rdzv_error(NULL));
    return 0;
  }
  h = jobset_rdzv_open(argc > 1 ? argv[1] : "/nonexistent/rdzv.sock", NULL);
  printf("open missing %s [%s]\n", h ? "handle" : "NULL", jobset_rdzv_error(NULL));
  h = jobset_rdzv_open(NULL, NULL);
  if (h == NULL) {
    printf("open failed [%s]\n", jobset_rdzv_error(NULL));
    return 1;
  }
  show("put", jobset_rdzv_put(h, "greeting", "hello\0world", 11, 1), h);
  rc = jobset_rdzv_get(h, "greeting", 0, &value, &len);
  show("get", rc, h);
  if (rc == JOBSET_RDZV_OK) show_value("  value", value, len);
  jobset_rdzv_free(value);
  value = NULL;
  show("get missing", jobset_rdzv_get(h, "missing", 0, &value, &len), h);
  printf("  untouched %s\n", value == NULL ? "yes" : "no");
  show("put binary", jobset_rdzv_put(h, "bin", "\xff", 1, 0), h);
  show("get NULL out", jobset_rdzv_get(h, "greeting", 0, NULL, NULL), h);
  rc = jobset_rdzv_watch(h, "greeting", 0, 1000, &value, NULL, &version);
  show("watch", rc, h);
  if (rc == JOBSET_RDZV_OK) printf("  version %ld value %s\n", (long)version, value);
  jobset_rdzv_free(value);
  show("barrier", jobset_rdzv_barrier(h, NULL, NULL, 1000), h);
  show("barrier timeout", jobset_rdzv_barrier(h, "job", "never", 100), h);
  show("barrier bad scope", jobset_rdzv_barrier(h, "world", NULL, 100), h);
  rc = jobset_rdzv_lookup(h, "demo-workers-0-0", 1000, &value);
  show("lookup", rc, h);
  if (rc == JOBSET_RDZV_OK) printf("  address %s\n", value);
  jobset_rdzv_free(value);
  rc = jobset_rdzv_lookup_json(h, "demo-workers-0-0", 0, &value);
  show("lookup_json", rc, h);
  if (rc == JOBSET_RDZV_OK) printf("  %s\n", value);
  jobset_rdzv_free(value);
  rc = jobset_rdzv_hosts_json(h, &value);
  show("hosts_json", rc, h);
  if (rc == JOBSET_RDZV_OK) printf("  %lu bytes\n", (unsigned long)strlen(value));
  jobset_rdzv_free(value);
  show("timeout -1", jobset_rdzv_get(h, "greeting", -1, &value, &len), h);
  printf("strerror %s %s %s\n", jobset_rdzv_strerror(JOBSET_RDZV_EIO),
         jobset_rdzv_strerror(JOBSET_RDZV_EATTEMPTENDED), jobset_rdzv_strerror(42));
  jobset_rdzv_close(h);
  jobset_rdzv_close(NULL);
  jobset_rdzv_free(NULL);
  return 0;
}
