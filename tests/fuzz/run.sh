#! /bin/sh
# Fuzz the JobSet readers with libFuzzer: run.sh SRCDIR SECONDS
#
# Builds its own copy of the launcher library with clang and the address,
# undefined-behaviour and fuzzer sanitizers (the normal build uses g++) into
# a temporary directory, seeds a corpus from the examples, and fuzzes
# tests/fuzz/parse_fuzz.cpp for SECONDS. Exits 0 when nothing was found,
# non-zero when the fuzzer found a crash, a leak, a timeout or an
# out-of-memory; the input that did it is kept and its path printed.
# FUZZ_WORKDIR=DIR builds and keeps everything in DIR instead (then a
# second run reuses the corpus); FUZZ_JOBS=N compiles N files at once.
set -u

if test $# -ne 2; then
  echo "usage: $0 SRCDIR SECONDS" >&2
  exit 2
fi
srcdir=$(cd "$1" && pwd) || exit 2
seconds=$2
case $seconds in
  '' | *[!0-9]*) echo "$0: SECONDS must be a whole number, found '$seconds'" >&2; exit 2 ;;
esac

need() {  # need WHAT DEBIAN-PACKAGES
  echo "fuzz: $1 is missing: install the Debian package(s) $2 (apt-get install $2)" >&2
  exit 1
}

# The newest clang there is (CLANGXX=... to choose).
CXX=${CLANGXX:-}
if test -z "$CXX"; then
  for c in clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++ clang++-14; do
    if command -v "$c" >/dev/null 2>&1; then CXX=$c; break; fi
  done
fi
test -n "$CXX" || need "clang++" "clang"
version=$("$CXX" --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n 1)
command -v pkg-config >/dev/null 2>&1 || need "pkg-config" "pkg-config"
pkg-config --exists tomlplusplus || need "tomlplusplus" "libtomlplusplus-dev"
pkg-config --exists yaml-cpp || need "yaml-cpp" "libyaml-cpp-dev"

if test -n "${FUZZ_WORKDIR:-}"; then
  work=$FUZZ_WORKDIR
  mkdir -p "$work" || exit 1
  keep=yes
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/jobset-fuzz.XXXXXX") || exit 1
  keep=no
fi
trap 'test $keep = yes || rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$work/obj" "$work/corpus" "$work/seeds" "$work/artifacts"

# The fuzzer runtime comes with clang's compiler-rt, a separate package.
cat >"$work/probe.cpp" <<'EOF'
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }
EOF
if ! "$CXX" -fsanitize=fuzzer,address,undefined "$work/probe.cpp" -o "$work/probe" \
    >"$work/probe.log" 2>&1; then
  cat "$work/probe.log" >&2
  need "the libFuzzer runtime of $CXX" "libclang-rt-${version:-14}-dev"
fi

# Flags of every optional library a launcher source may include; only the
# objects the target needs are linked (they go through an archive).
pkgs="tomlplusplus yaml-cpp"
for p in nlohmann_json CLI11 hwloc libevent; do
  if pkg-config --exists "$p"; then pkgs="$pkgs $p"; fi
done
CXXFLAGS="-std=c++20 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
CPPFLAGS="-I$srcdir $(pkg-config --cflags $pkgs)"
LIBS="-ltomlplusplus -lyaml-cpp"

echo "fuzz: building with $CXX in $work"
sources=
for f in "$srcdir"/launcher/spec/*.cpp "$srcdir"/topology/*.cpp "$srcdir"/common/*.cpp; do
  test -f "$f" || continue
  case $(basename "$f") in main.cpp | cli.cpp) continue ;; esac
  sources="$sources $f"
done
export CXX CXXFLAGS CPPFLAGS work
# One object per source, named after its folder and file; a source that does
# not compile is reported and left out (the link says if it was needed).
rm -f "$work"/obj/*.o
printf '%s\n' $sources | xargs -P "${FUZZ_JOBS:-2}" -n 1 sh -c '
  o="$work/obj/$(basename "$(dirname "$1")")_$(basename "$1" .cpp).o"
  $CXX $CXXFLAGS $CPPFLAGS -c "$1" -o "$o" 2>"$o.log" || {
    echo "fuzz: warning: $1 does not compile with $CXX (left out):" >&2
    grep -m 3 "error" "$o.log" >&2
    rm -f "$o"
  }' sh
rm -f "$work/liblauncher_fuzz.a"
ar rcs "$work/liblauncher_fuzz.a" "$work"/obj/*.o || exit 1
if ! $CXX $CXXFLAGS -fsanitize=fuzzer $CPPFLAGS "$srcdir/tests/fuzz/parse_fuzz.cpp" \
    "$work/liblauncher_fuzz.a" $LIBS -o "$work/parse_fuzz"; then
  echo "fuzz: the fuzz target does not build: every launcher source it needs must compile with $CXX" >&2
  exit 1
fi

# Seeds: each example behind its format byte ('t' TOML, 'y' YAML).
n=0
for f in "$srcdir"/examples/*.toml "$srcdir"/examples/*/*.toml; do
  test -f "$f" || continue
  n=$((n + 1)); { printf t; cat "$f"; } >"$work/seeds/$n.toml"
done
for f in "$srcdir"/examples/*.yaml "$srcdir"/examples/*/*.yaml; do
  test -f "$f" || continue
  n=$((n + 1)); { printf y; cat "$f"; } >"$work/seeds/$n.yaml"
done
echo "fuzz: $n seed files"

# The words of both formats and of the JobSet API, for the mutator.
{
  echo '"\x0A"'
  for w in '=' '[' ']' '[[' ']]' '{' '}' ',' '.' '"' "'" '"""' "'''" '#' \
      ': ' '- ' '---' '...' '&a' '*a' '!!str' '? ' '|' '>' 'true' 'false' \
      '0x10' '1e400' '-9223372036854775808' '2147483647' 'nan' 'inf' '1979-05-27' \
      'name' 'replicas' 'parallelism' 'completions' 'backoff_limit' 'command' 'args' \
      'env' 'ports' 'resources' 'cpus' 'memory' 'gpus' 'tpus' 'node_selector' \
      'replicated_jobs' 'template' 'depends_on' 'group_name' 'failure_policy' \
      'max_restarts' 'rules' 'action' 'success_policy' 'coordinator' 'network' \
      'subdomain' 'startup_policy' 'exclusive_topology' 'pod_failure_policy' \
      'apiVersion' 'jobset.x-k8s.io/v1alpha2' 'kind' 'JobSet' 'metadata' 'spec' \
      'replicatedJobs' 'containers' 'containerPort' 'limits' 'requests' 'annotations' \
      'backoffLimit' 'dependsOn' 'failurePolicy' 'onExitCodes' 'values' 'operator'; do
    printf '"%s"\n' "$(printf '%s' "$w" | sed 's/\\/\\\\/g; s/"/\\"/g')"
  done
} >"$work/jobset.dict"

echo "fuzz: running for $seconds s"
"$work/parse_fuzz" "$work/corpus" "$work/seeds" \
  -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -dict="$work/jobset.dict" -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
  >"$work/fuzz.log" 2>&1
status=$?
tail -n 25 "$work/fuzz.log"
if test $status -ne 0; then
  keep=yes  # the log and the input that did it
  echo "fuzz: FAILED (exit $status); log: $work/fuzz.log" >&2
  for a in "$work"/artifacts/*; do
    test -f "$a" && echo "fuzz: reproduce with: $work/parse_fuzz $a" >&2
  done
  exit $status
fi
echo "fuzz: nothing found in $seconds s"
exit 0
