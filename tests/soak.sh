#! /bin/sh
# Soak: COUNT consecutive `jobset run -n 64 true` (default 1000), each
# under a 30 s `timeout`. Prints every failure or hang with the end of
# jobset's stderr, then the totals and the time taken; exits non-zero if
# any run failed or hung.
#
#   sh tests/soak.sh BUILDDIR [COUNT]      (or: make -C tests soak)
set -u
if test $# -lt 1 || test $# -gt 2; then
  echo "usage: $0 BUILDDIR [COUNT]" >&2
  exit 2
fi
builddir=$1
count=${2:-1000}
jobset=$builddir/launcher/jobset
if test ! -x "$jobset"; then
  echo "soak: $jobset is not built" >&2
  exit 2
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/jobset-soak-XXXXXX") || exit 2
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failures=0
hangs=0
start=$(date +%s.%N)
i=1
while test "$i" -le "$count"; do
  timeout -k 5 30 "$jobset" run -n 64 true </dev/null >"$scratch/out" 2>"$scratch/err"
  rc=$?
  if test "$rc" -ne 0; then
    # timeout(1) says 124 when it had to stop jobset, 137 when it had to kill it.
    if test "$rc" -eq 124 || test "$rc" -eq 137; then
      hangs=$((hangs + 1))
      echo "run $i: hung (no end within 30 s; timeout status $rc)"
    else
      failures=$((failures + 1))
      echo "run $i: exit $rc"
    fi
    tail -n 5 "$scratch/err" | sed 's/^/    /'
  fi
  i=$((i + 1))
done
end=$(date +%s.%N)
total=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
echo "soak: $count runs of 'jobset run -n 64 true' in $total s: $failures failed, $hangs hung"
test "$failures" -eq 0 && test "$hangs" -eq 0
