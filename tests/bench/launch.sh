#!/bin/bash
# Runtime benchmarks of `jobset run` against the anchors of BENCHMARKS.md,
# each printed as a ratio measured in one run:
#   1. launch N `true`: jobset vs MPICH's mpiexec.hydra vs the spawn floor
#   2. restart: a process's death -> all 64 running again, vs a cold launch
#   3. output: 8 writers of M MB each, jobset vs mpiexec.hydra
#   4. jobsetd peak RSS with 64 processes
# Usage: launch.sh BUILDDIR SRCDIR. Not a test: it never fails on a figure.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
jobset=$build/launcher/jobset
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v hyperfine >/dev/null || { echo "launch.sh: install hyperfine (apt-get install hyperfine)"; exit 1; }
hydra=$(command -v mpiexec.hydra || true)
cc -O2 -o "$tmp/spawn_floor" "$src/tests/bench/spawn_floor.c"

mean() {  # hyperfine JSON -> "mean median" of command $2
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]; print('%.4f %.4f' % (r['mean'], r['median']))" "$1" "$2"
}

echo "== 1. launch N true (median seconds; ratio = jobset / anchor)"
printf '%6s %10s %10s %10s %12s %12s\n' N jobset hydra floor jobset/hydra jobset/floor
for n in 64 256 1024; do
  cmds=("$jobset run -q -n $n true" "$tmp/spawn_floor $n true")
  [ -n "$hydra" ] && cmds+=("$hydra -n $n true")
  # Short runs are noisy on a small machine: more of them at 64 and 256.
  runs=40
  [ "$n" -ge 1024 ] && runs=10
  hyperfine -N -w 3 -r $runs --export-json "$tmp/l$n.json" "${cmds[@]}" >/dev/null 2>&1
  j=$(mean "$tmp/l$n.json" 0 | cut -d' ' -f2)
  f=$(mean "$tmp/l$n.json" 1 | cut -d' ' -f2)
  h=nan
  [ -n "$hydra" ] && h=$(mean "$tmp/l$n.json" 2 | cut -d' ' -f2)
  python3 -c "import sys; j,h,f=map(float,sys.argv[2:5]); n=sys.argv[1]; print('%6s %10.4f %10.4f %10.4f %12.2f %12.2f' % (n,j,h,f,j/h if h==h else float('nan'),j/f))" "$n" "$j" "$h" "$f"
done

echo
echo "== 2. restart of 64 processes (seconds, from --events)"
cat > "$tmp/restart.toml" <<TOML
name = "restart"
[failure_policy]
max_restarts = 1
[[replicated_jobs]]
name = "w"
[replicated_jobs.template]
parallelism = 64
backoff_limit = 0
command = ["sh", "-c", "if [ \$JOBSET_RESTART_ATTEMPT = 0 ] && [ \$RANK = 0 ]; then sleep 0.5; exit 1; fi; sleep 1"]
TOML
for i in 1 2 3 4 5; do
  "$jobset" run -q --events "$tmp/ev$i.jsonl" "$tmp/restart.toml" >/dev/null 2>&1 || true
done
python3 - "$tmp" <<'PY'
import json, sys, statistics
cold, restart = [], []
for i in range(1, 6):
    ev = [json.loads(l) for l in open(f"{sys.argv[1]}/ev{i}.jsonl")]
    t0 = next(e["time"] for e in ev if e["event"] == "jobset_started")
    started0 = [e["time"] for e in ev if e["event"] == "process_started" and e["attempt"] == 0]
    death = next(e["time"] for e in ev if e["event"] == "process_exited" and e["attempt"] == 0)
    started1 = [e["time"] for e in ev if e["event"] == "process_started" and e["attempt"] == 1]
    if len(started0) == 64 and len(started1) == 64:
        cold.append(max(started0) - t0)
        restart.append(max(started1) - death)
c, r = statistics.median(cold), statistics.median(restart)
print(f"cold launch to 64 running: {c:.4f} s; death to 64 running again: {r:.4f} s; restart/cold = {r/c:.2f}")
PY

echo
echo "== 3. output: 8 writers x 20 MB of numbered lines (median seconds)"
writer="seq -f '%.0f output line of some typical length' 1 500000"
cmds=("$jobset run -q -n 8 sh -c \"$writer\"")
[ -n "$hydra" ] && cmds+=("$hydra -n 8 sh -c \"$writer\"")
hyperfine -N -w 1 -r 5 --output=pipe --export-json "$tmp/out.json" "${cmds[@]}" >/dev/null 2>&1 || true
j=$(mean "$tmp/out.json" 0 | cut -d' ' -f2)
if [ -n "$hydra" ]; then
  h=$(mean "$tmp/out.json" 1 | cut -d' ' -f2)
  python3 -c "import sys; j,h=map(float,sys.argv[1:3]); mb=8*500000*40/1e6; print('jobset %.3f s (%.0f MB/s), hydra %.3f s, jobset/hydra = %.2f' % (j, mb/j, h, j/h))" "$j" "$h"
else
  echo "jobset $j s (mpiexec.hydra not installed: no anchor)"
fi
lines=$("$jobset" run -q -n 8 sh -c "$writer" | wc -l)
echo "lines delivered: $lines of $((8 * 500000))"

echo
echo "== 4. jobsetd peak RSS with 64 processes"
"$jobset" run -q --simulate-nodes 1 -n 64 sleep 2 &
launcher=$!
sleep 1
for pid in $(pgrep -P "$launcher" || true); do
  grep -E 'VmHWM' "/proc/$pid/status" 2>/dev/null | sed "s/^/jobsetd $pid: /"
done
wait "$launcher"
