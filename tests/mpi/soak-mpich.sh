#! /bin/sh
# MPICH stress: COUNT consecutive 8-rank runs of the ring/allreduce program
# (tests/mpi/ring.c built with mpicc.mpich) on 4 simulated nodes (default
# 100), each under a 60 s `timeout` (the watchdog). Prints every failure or
# hang with the end of jobset's stderr, then the totals; exits non-zero if
# any run failed, hung or did not print 8 ranks of one world of 8.
#
#   sh tests/mpi/soak-mpich.sh BUILDDIR [COUNT]     (or: make -C tests soak-mpich)
set -u
if test $# -lt 1 || test $# -gt 2; then
  echo "usage: $0 BUILDDIR [COUNT]" >&2
  exit 2
fi
builddir=$1
count=${2:-100}
jobset=$builddir/launcher/jobset
prog=$builddir/tests/mpi/ring_mpich
for f in "$jobset" "$prog"; do
  if test ! -x "$f"; then
    echo "soak-mpich: $f is not built (make -C tests check TESTS=; needs mpicc.mpich)" >&2
    exit 2
  fi
done
scratch=$(mktemp -d "${TMPDIR:-/tmp}/jobset-soak-mpich-XXXXXX") || exit 2
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failures=0
hangs=0
start=$(date +%s.%N)
i=1
while test "$i" -le "$count"; do
  timeout -k 5 60 "$jobset" run -q --simulate-nodes 4 -n 8 "$prog" </dev/null >"$scratch/out" 2>"$scratch/err"
  rc=$?
  if test "$rc" -eq 124 || test "$rc" -eq 137; then
    hangs=$((hangs + 1))
    echo "run $i: hung (no end within 60 s; timeout status $rc)"
    tail -n 5 "$scratch/err" | sed 's/^/    /'
  elif test "$rc" -ne 0 || test "$(grep -c 'size 8 .* sum 28 ' "$scratch/out")" -ne 8; then
    failures=$((failures + 1))
    echo "run $i: exit $rc, $(grep -c 'size 8 .* sum 28 ' "$scratch/out") of 8 ranks in one world"
    tail -n 5 "$scratch/err" | sed 's/^/    /'
  fi
  i=$((i + 1))
done
end=$(date +%s.%N)
total=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
echo "soak-mpich: $count runs of 8 MPICH ranks on 4 simulated nodes in $total s: $failures failed, $hangs hung"
test "$failures" -eq 0 && test "$hangs" -eq 0
