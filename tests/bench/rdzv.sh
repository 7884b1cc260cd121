#!/bin/bash
# Rendezvous benchmarks (benchmark 7 of BENCHMARKS.md, issue 11):
#   1. lookups/s and put+get pairs/s through one daemon, 64 clients at once
#   2. barrier latency: 1,024 processes on 64 simulated nodes (goal < 50 ms),
#      and 4,096 on 256 with BENCH_BIG=1
#   3. a restart's hosts-file replacement: from the launcher's decision to
#      restart to every node's hosts file naming the new attempt
#   4. a process moving off a lost node: from the kill of its daemon to every
#      node's hosts file giving its name the new address
# Usage: rdzv.sh BUILDDIR SRCDIR (make bench). Not a test: it never fails
# on a figure, only when a command fails. BENCH_RUNS runs each (default 3).
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
jobset=$build/launcher/jobset
runs=${BENCH_RUNS:-3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jobset-rdzv-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
libdir=$build/rendezvous/.libs
cc -O2 -std=c99 -Wall -I"$src/rendezvous/include" -o "$tmp/rdzv_client" \
  "$src/tests/bench/rdzv_client.c" -L"$libdir" -ljobset-rdzv -Wl,-rpath,"$libdir"
client=$tmp/rdzv_client

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "machine: $(nproc) cores; $jobset"
echo
echo "== 1. one daemon, 64 clients, 3 s each (sum over clients; median of $runs runs)"
printf '%-10s %14s\n' op "ops/s"
for op in lookup putget; do
  for i in $(seq "$runs"); do
    "$jobset" run -q --simulate-nodes 1:64 -n 64 "$client" $op 3 >"$tmp/$op.$i" 2>"$tmp/$op.$i.err" || {
      echo "rdzv.sh: jobset run ($op) failed:"; tail -5 "$tmp/$op.$i.err"; exit 1; }
    awk -v op=$op '$1 == op || $2 == op { for (f = 1; f <= NF; f++) if ($f == op) { n += $(f + 1); s = $(f + 2) > s ? $(f + 2) : s } }
      END { printf "%.0f\n", n / s }' "$tmp/$op.$i"
  done | median | xargs printf '%-10s %14s\n' "$op"
done

barrier() {  # barrier NODES SLOTS PROCS ROUNDS
  local nodes=$1 slots=$2 procs=$3 rounds=$4
  : >"$tmp/b.all"
  for i in $(seq "$runs"); do
    "$jobset" run -q --simulate-nodes "$nodes:$slots" -n "$procs" "$client" barrier "$rounds" \
      >"$tmp/b.$i" 2>"$tmp/b.$i.err" || {
      echo "rdzv.sh: jobset run (barrier $procs) failed:"; tail -5 "$tmp/b.$i.err"; exit 1; }
    grep -o 'barrier_ms [0-9.]*' "$tmp/b.$i" | awk '{ print $2 }' >>"$tmp/b.all"
  done
  local med p90
  med=$(median <"$tmp/b.all")
  p90=$(sort -n "$tmp/b.all" | awk '{ v[NR] = $1 } END { i = int(NR * 0.9); if (i < 1) i = 1; print v[i] }')
  printf '%6s %6s %10s %10s %10s   %s\n' "$procs" "$nodes" "$med" "$p90" "$(wc -l <"$tmp/b.all")" \
    "$(awk -v m="$med" 'BEGIN { print (m < 50) ? "PASS (< 50 ms)" : "OVER (goal < 50 ms)" }')"
}
echo
echo "== 2. barrier of everyone, back to back (ms per barrier, rank 0's view; $runs runs)"
printf '%6s %6s %10s %10s %10s\n' procs nodes median p90 barriers
barrier 64 16 1024 20
if [ "${BENCH_BIG:-0}" = 1 ]; then
  barrier 256 16 4096 10
fi

echo
echo "== 3. restart of 64 processes on 16 nodes: the restart decision -> the last process of"
echo "   attempt 1 reading a hosts file of attempt 1 on its node (no process moves between nodes"
echo "   yet, so this times a restart's hosts-file replacement; an upper bound: it includes spawns)"
cat >"$tmp/restart.toml" <<'TOML'
name = "mv"
[failure_policy]
max_restarts = 1
[[replicated_jobs]]
name = "w"
[replicated_jobs.template]
parallelism = 64
backoff_limit = 0
command = ["sh", "-c", "if [ $JOBSET_RESTART_ATTEMPT = 0 ]; then [ $RANK = 0 ] && { sleep 0.3; exit 1; }; sleep 30; fi; echo hosts $(sed -n 's/.*attempt \\([0-9]*\\).*/\\1/p' $JOBSET_HOSTS_FILE | head -1) $(date +%s.%N)"]
TOML
: >"$tmp/r.all"
for i in $(seq "$runs"); do
  "$jobset" run -q --simulate-nodes 16:4 --events "$tmp/ev$i.jsonl" "$tmp/restart.toml" >"$tmp/r.$i" 2>&1 || {
    echo "rdzv.sh: the restart run failed:"; tail -5 "$tmp/r.$i"; exit 1; }
  python3 - "$tmp/ev$i.jsonl" "$tmp/r.$i" >>"$tmp/r.all" <<'PY'
import json, sys
t0 = next(json.loads(l)["time"] for l in open(sys.argv[1]) if '"jobset_restart"' in l)
seen = [l.split() for l in open(sys.argv[2]) if l.startswith("hosts ")]
if len(seen) != 64 or any(s[1] != "1" for s in seen):
    sys.exit("rdzv.sh: not every process of attempt 1 read a hosts file of attempt 1: %s" % seen)
print("%.1f" % ((max(float(s[2]) for s in seen) - t0) * 1e3))
PY
done
printf '   median %s ms over %s runs\n' "$(median <"$tmp/r.all")" "$runs"

echo
echo "== 4. a process moving: 64 processes on 16 of 17 simulated nodes; in attempt 0 a process"
echo "   of sim2 kills its node's daemon; the restart moves sim2's 4 processes to the spare."
echo "   From the kill to the last process of attempt 1 seeing, in its node's hosts file, the"
echo "   moved mv-w-0-4 at its new address (an upper bound: it includes the spawns)"
cat >"$tmp/move.toml" <<'TOML'
name = "mv"
[failure_policy]
max_restarts = 1
[[replicated_jobs]]
name = "w"
[replicated_jobs.template]
parallelism = 64
backoff_limit = 0
command = ["sh", "-c", "if [ $JOBSET_RESTART_ATTEMPT = 0 ]; then [ $RANK = 4 ] && { sleep 0.3; echo killed $(date +%s.%N); kill -9 $PPID; }; exec sleep 30; fi; echo moved $(awk '$NF == \"mv-w-0-4\" { print $1 }' $JOBSET_HOSTS_FILE) $(date +%s.%N) $JOBSET_NODE"]
TOML
: >"$tmp/m.all"
for i in $(seq "$runs"); do
  "$jobset" run -q --simulate-nodes 17:4 "$tmp/move.toml" >"$tmp/m.$i" 2>&1 || {
    echo "rdzv.sh: the move run failed:"; tail -5 "$tmp/m.$i"; exit 1; }
  python3 - "$tmp/m.$i" >>"$tmp/m.all" <<'PY'
import sys
lines = [l.split() for l in open(sys.argv[1])]
t0 = next(float(l[1]) for l in lines if l and l[0] == "killed")
seen = [l for l in lines if l and l[0] == "moved"]
if len(seen) != 64 or len({l[1] for l in seen}) != 1:
    sys.exit("rdzv.sh: not every process of attempt 1 saw mv-w-0-4 at one new address: %s" % seen)
print("%.1f" % ((max(float(l[2]) for l in seen) - t0) * 1e3))
PY
done
printf '   median %s ms over %s runs\n' "$(median <"$tmp/m.all")" "$runs"
