/* MPI hello: every rank says who and where it is, and all of them check
 * one collective. The sum of the ranks 0..n-1 over MPI_Allreduce must be
 * n(n-1)/2; a wrong sum (a broken wire-up) makes every rank exit 1.
 *
 * Build with the MPI of your choice (Open MPI or MPICH), then run under
 * jobset, which serves PMIx to Open MPI and PMI-1 to MPICH:
 *   mpicc -o hello hello.c
 *   jobset run hello.toml
 */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);

  int rank = 0;
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  char host[MPI_MAX_PROCESSOR_NAME];
  int host_len = 0;
  MPI_Get_processor_name(host, &host_len);

  /* One app per replicated job: MPI_APPNUM tells them apart. */
  int *appnum = NULL;
  int has_appnum = 0;
  MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_APPNUM, &appnum, &has_appnum);

  long long mine = rank;
  long long sum = 0;
  MPI_Allreduce(&mine, &sum, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  long long expected = (long long)size * (size - 1) / 2;
  int ok = sum == expected;

  printf("hello from rank %d of %d on %s (app %d): sum of ranks %lld, %s\n",
         rank, size, host, has_appnum ? *appnum : 0, sum,
         ok ? "ok" : "WRONG");
  fflush(stdout);

  MPI_Finalize();
  return ok ? 0 : 1;
}
