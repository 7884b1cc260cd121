/* A rendezvous benchmark client on the C ABI (jobset/rdzv.h), run as the
 * processes of a `jobset run` (tests/bench/rdzv.sh):
 *
 *   rdzv_client barrier ROUNDS      a warm-up barrier of everyone, then
 *                                   ROUNDS barriers back to back; rank 0
 *                                   prints "barrier_ms X" per round
 *   rdzv_client putget SECONDS      after a barrier, put + get of its own
 *                                   key in a loop; prints "putget N SECONDS"
 *   rdzv_client lookup SECONDS      after a barrier, lookups of its own
 *                                   name; prints "lookup N SECONDS"
 *
 * Exit status 1 and a message on the first failure. */
#define _POSIX_C_SOURCE 200809L
#include <jobset/rdzv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int fail(jobset_rdzv_t* h, const char* what, int code) {
  fprintf(stderr, "rdzv_client: %s: %s (%s)\n", what, jobset_rdzv_error(h),
          jobset_rdzv_strerror(code));
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: rdzv_client barrier ROUNDS | putget SECONDS | lookup SECONDS\n");
    return 2;
  }
  const char* mode = argv[1];
  double arg = atof(argv[2]);
  const char* rank_env = getenv("RANK");
  int rank = rank_env ? atoi(rank_env) : 0;
  jobset_rdzv_t* h = jobset_rdzv_open(NULL, NULL);
  if (!h) return fail(NULL, "open", JOBSET_RDZV_EIO);
  int rc = jobset_rdzv_barrier(h, "all", "warm-up", 0);
  if (rc) return fail(h, "barrier warm-up", rc);

  if (strcmp(mode, "barrier") == 0) {
    char tag[32];
    double before = now_s();
    for (int i = 0; i < (int)arg; ++i) {
      snprintf(tag, sizeof tag, "r%d", i);
      rc = jobset_rdzv_barrier(h, "all", tag, 0);
      if (rc) return fail(h, "barrier", rc);
      double after = now_s();
      if (rank == 0) printf("barrier_ms %.3f\n", (after - before) * 1e3);
      before = after;
    }
  } else if (strcmp(mode, "putget") == 0 || strcmp(mode, "lookup") == 0) {
    int put = strcmp(mode, "putget") == 0;
    char key[64];
    snprintf(key, sizeof key, "bench/%d", rank);
    const char* me = getenv("JOBSET_HOSTNAME");
    long n = 0;
    double start = now_s(), end = start + arg, t = start;
    while (t < end) {
      char* out = NULL;
      if (put) {
        rc = jobset_rdzv_put(h, key, "0123456789abcdef", 16, 0);
        if (rc) return fail(h, "put", rc);
        rc = jobset_rdzv_get(h, key, 0, &out, NULL);
        if (rc) return fail(h, "get", rc);
      } else {
        rc = jobset_rdzv_lookup(h, me, 0, &out);
        if (rc) return fail(h, "lookup", rc);
      }
      jobset_rdzv_free(out);
      ++n;
      if ((n & 15) == 0) t = now_s();
    }
    printf("%s %ld %.3f\n", mode, n, now_s() - start);
  } else {
    fprintf(stderr, "rdzv_client: unknown mode '%s'\n", mode);
    return 2;
  }
  fflush(stdout);
  jobset_rdzv_close(h);
  return 0;
}
