/* An MPI program for the launcher's MPI tests, built with each MPI's own
 * compiler wrapper (mpicc.mpich for MPICH): MPI_Init, a ring sendrecv, an
 * MPI_Allreduce and MPI_Finalize, printing one line per rank:
 *   rank R size N appnum A left L sum S node NODE
 * Modes (argv[1]):
 *   (none)            the above;
 *   abort CODE RANK   rank RANK calls MPI_Abort(MPI_COMM_WORLD, CODE) after
 *                     the ring; the others wait in an allreduce;
 *   kill RANK         every rank loops on allreduce; rank RANK SIGKILLs
 *                     itself in the middle (after 50 rounds). */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0, appnum = -1, flag = 0, *attr = NULL;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_APPNUM, &attr, &flag);
  if (flag) appnum = *attr;

  int right = (rank + 1) % size, left = (rank + size - 1) % size, from = -1;
  MPI_Sendrecv(&rank, 1, MPI_INT, right, 0, &from, 1, MPI_INT, left, 0, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "abort") == 0 && argc > 3 && rank == atoi(argv[3])) {
    printf("rank %d aborting\n", rank);
    fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, atoi(argv[2]));
  }
  long sum = 0, mine = rank;
  if (strcmp(mode, "kill") == 0 && argc > 2) {
    for (int round = 0;; ++round) {
      if (round == 50 && rank == atoi(argv[2])) raise(SIGKILL);
      MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    }
  }
  MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  const char* node = getenv("JOBSET_NODE");
  printf("rank %d size %d appnum %d left %d sum %ld node %s\n", rank, size, appnum, from, sum,
         node ? node : "?");
  fflush(stdout);
  MPI_Finalize();
  return 0;
}
