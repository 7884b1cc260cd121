#! /bin/sh
# From a JobSet file to a plan (a companion to benchmark 5 of
# BENCHMARKS.md, which places onto islands): how long `jobset validate`
# and `jobset plan` take, and how much memory they hold at their peak, for a
# JobSet of 1,000, 10,000 and 100,000 processes (replicas x 100) planned on
# ceil(processes / 80) imaginary nodes of 80 slots each.
#
#   run.sh BUILDDIR SRCDIR        (make bench)
#
# Wall time is the median of BENCH_RUNS runs (5) after a warm-up, measured by
# hyperfine when it is installed, else by a loop of `date +%s.%N`; peak
# memory is the maximum resident set of one more run, from GNU time
# (/usr/bin/time, Debian package `time`) or else from python3's getrusage
# (which counts python's own 10 MB or so too: an upper bound).
# The goal (validate, expand and plan 100,000 processes in under 1 s and
# 300 MB) is printed beside each row as PASS or OVER. Benchmarks are not
# pass/fail: the exit status is non-zero only when a command fails.
set -u

if test $# -ne 2; then
  echo "usage: $0 BUILDDIR SRCDIR" >&2
  exit 2
fi
builddir=$1
jobset=$builddir/launcher/jobset
runs=${BENCH_RUNS:-5}
goal_seconds=1
goal_mb=300
slots=80

if test ! -x "$jobset"; then
  echo "bench: $jobset is not built (run make first)" >&2
  exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/jobset-bench.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

have() { command -v "$1" >/dev/null 2>&1; }

if have hyperfine; then
  timer="hyperfine"
else
  timer="date loop"
  echo "bench: hyperfine not found (Debian package hyperfine); timing with a loop of date" >&2
fi
if test -x /usr/bin/time && /usr/bin/time -f %M true >/dev/null 2>&1; then
  memory="GNU time"
elif have python3; then
  memory="python3 getrusage"
else
  memory=""
  echo "bench: neither GNU time (Debian package time) nor python3: no memory figures" >&2
fi

# A JobSet of `replicas` jobs of 100 processes, in the native TOML format.
generate() {  # generate FILE REPLICAS
  cat >"$1" <<EOF
# Benchmark JobSet: $2 jobs of 100 processes.
name = "bench"

[[replicated_jobs]]
name = "workers"
replicas = $2

[replicated_jobs.template]
parallelism = 100
command = ["/bin/true"]
env = { OMP_NUM_THREADS = 1 }
EOF
}

# Seconds (median) of running "$@", its output thrown away.
median_seconds() {
  if test "$timer" = hyperfine; then
    cmd=""
    for a in "$@"; do cmd="$cmd '$a'"; done
    hyperfine -N -w 1 -r "$runs" --export-json "$work/timing.json" "$cmd" >"$work/hyperfine.log" 2>&1 ||
      return 1
    sed -n 's/.*"median": *\([0-9.eE+-]*\).*/\1/p' "$work/timing.json" | head -n 1
    return 0
  fi
  "$@" >/dev/null 2>&1 || return 1  # warm-up
  : >"$work/times"
  i=0
  while test $i -lt "$runs"; do
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || return 1
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f\n", b - a }' >>"$work/times"
    i=$((i + 1))
  done
  sort -n "$work/times" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Peak resident memory of one run of "$@", in MB.
peak_mb() {
  case $memory in
    "GNU time")
      /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>&1 || return 1
      awk '{ printf "%.1f\n", $1 / 1024 }' "$work/rss" ;;
    "python3 getrusage")
      python3 -c '
import resource, subprocess, sys
if subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL): sys.exit(1)
print("%.1f" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024))' "$@" ;;
    *) echo "n/a" ;;
  esac
}

verdict() {  # verdict SECONDS MB (against goal_seconds and goal_mb)
  awk -v s="$1" -v m="$2" -v gs=$goal_seconds -v gm=$goal_mb \
    'BEGIN { print (s < gs && (m == "n/a" || m < gm)) ? "PASS" : "OVER" }'
}

failed=0
row() {  # row LABEL PROCESSES COMMAND...
  label=$1 procs=$2
  shift 2
  if ! "$@" >"$work/out" 2>&1; then
    printf '%-34s %9s  command failed: %s\n' "$label" "$procs" "$*"
    sed 's/^/    /' "$work/out" | head -n 5
    failed=1
    return
  fi
  secs=$(median_seconds "$@") || secs=""
  mb=$(peak_mb "$@") || mb=""
  if test -z "$secs" || test -z "$mb"; then
    printf '%-34s %9s  command failed while measuring\n' "$label" "$procs"
    failed=1
    return
  fi
  printf '%-34s %9s %10.3f %9s   %-16s %s\n' "$label" "$procs" "$secs" "$mb" \
    "< ${goal_seconds} s, < ${goal_mb} MB" "$(verdict "$secs" "$mb")"
}

echo "jobset validate and plan: median of $runs runs ($timer), peak memory ($memory)"
echo "machine: $(nproc) cores; $jobset"
echo
printf '%-34s %9s %10s %9s   %-16s %s\n' "command" "processes" "median s" "peak MB" "goal" "verdict"
for replicas in 10 100 1000; do
  procs=$((replicas * 100))
  nodes=$(((procs + slots - 1) / slots))
  file=$work/bench-$procs.toml
  generate "$file" "$replicas"
  row "validate" $procs "$jobset" validate "$file"
  row "plan --format json ($nodes x $slots)" $procs \
    "$jobset" plan "$file" --nodes $nodes --slots $slots --format json -o /dev/null
  row "plan --format text ($nodes x $slots)" $procs \
    "$jobset" plan "$file" --nodes $nodes --slots $slots --format text -o /dev/null
done
echo
echo "goal: validate + expand + plan of 100,000 processes in under ${goal_seconds} s and ${goal_mb} MB"

# Placement onto islands (benchmark 5 of BENCHMARKS.md, the topology
# issue): NODES nodes in racks of 16 (hostfile labels), each an hwloc
# synthetic node of 2 packages x 4 cores, 8 processes per node, every job
# of 128 processes on a rack of its own (exclusive_topology = "rack"),
# bound to cores. 1,000 nodes hold 62 whole racks, 10,000 nodes 625.
islands_hostfile() {  # islands_hostfile FILE NODES
  awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "n%05d slots=8 rack=r%04d\n", i, int(i / 16) }' >"$1"
}
islands_jobset() {  # islands_jobset FILE JOBS
  cat >"$1" <<EOF
# Benchmark JobSet: $2 jobs of 128 processes, each on a rack of its own.
name = "islands"
exclusive_topology = "rack"

[[replicated_jobs]]
name = "workers"
replicas = $2

[replicated_jobs.template]
parallelism = 128
command = ["/bin/true"]
EOF
}
goal_mb=500
node_model="pack:2 core:4 pu:2"
echo
echo "placement onto exclusive racks of 16 nodes, nodes '$node_model', --bind-to core"
printf '%-34s %9s %10s %9s   %-16s %s\n' "command" "processes" "median s" "peak MB" "goal" "verdict"
for nodes in 1000 10000; do
  jobs=$((nodes / 16))
  procs=$((jobs * 128))
  islands_hostfile "$work/islands-$nodes.hosts" $nodes
  islands_jobset "$work/islands-$nodes.toml" $jobs
  for format in text json svg; do
    row "plan --format $format ($nodes nodes)" $procs \
      "$jobset" plan "$work/islands-$nodes.toml" --hostfile "$work/islands-$nodes.hosts" \
      --node-topology "$node_model" --bind-to core --format $format -o /dev/null
  done
done
echo
echo "goal: 10,000 nodes / 80,000 processes placed in under ${goal_seconds} s and ${goal_mb} MB"
exit $failed
