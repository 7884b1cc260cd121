#! /bin/sh
# Fuzz with libFuzzer: run.sh SRCDIR SECONDS [TARGET]
#
# TARGET is parse (the default: the JobSet readers, tests/fuzz/parse_fuzz.cpp,
# seeded from the examples) or rdzv (the rendezvous protocol's session, codec
# and store, tests/fuzz/rdzv_fuzz.cpp, seeded with requests of every op).
# Builds its own copy of the target's libraries with clang and the address,
# undefined-behaviour and fuzzer sanitizers (the normal build uses g++) into
# a temporary directory and fuzzes tests/fuzz/TARGET_fuzz.cpp for SECONDS. Exits 0 when nothing was found,
# non-zero when the fuzzer found a crash, a leak, a timeout or an
# out-of-memory; the input that did it is kept and its path printed.
# FUZZ_WORKDIR=DIR builds and keeps everything in DIR instead (then a
# second run reuses the corpus); FUZZ_JOBS=N compiles N files at once.
set -u

if test $# -ne 2 && test $# -ne 3; then
  echo "usage: $0 SRCDIR SECONDS [parse|rdzv]" >&2
  exit 2
fi
srcdir=$(cd "$1" && pwd) || exit 2
seconds=$2
target=${3:-parse}
case $target in
  parse | rdzv) ;;
  *) echo "$0: TARGET must be parse or rdzv, found '$target'" >&2; exit 2 ;;
esac
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
if test "$target" = parse; then
  pkg-config --exists tomlplusplus || need "tomlplusplus" "libtomlplusplus-dev"
  pkg-config --exists yaml-cpp || need "yaml-cpp" "libyaml-cpp-dev"
else
  pkg-config --exists nlohmann_json || need "nlohmann_json" "nlohmann-json3-dev"
fi

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
# Each target has its own corpus, seeds and findings in a shared work dir.
corpus=$work/corpus-$target seeds=$work/seeds-$target artifacts=$work/artifacts-$target
mkdir -p "$work/obj" "$corpus" "$seeds" "$artifacts"

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

# Flags of every optional library a source may include; only the objects
# the target needs are linked (they go through an archive).
pkgs= LIBS= folders="rendezvous common"
if test "$target" = parse; then
  pkgs="tomlplusplus yaml-cpp"
  LIBS="-ltomlplusplus -lyaml-cpp"
  folders="launcher/spec topology common"
fi
for p in nlohmann_json CLI11 hwloc libevent; do
  if pkg-config --exists "$p"; then pkgs="$pkgs $p"; fi
done
CXXFLAGS="-std=c++20 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
CPPFLAGS="-I$srcdir $(pkg-config --cflags $pkgs)"

echo "fuzz: building with $CXX in $work"
sources=
for f in $(for d in $folders; do echo "$srcdir/$d"/*.cpp; done); do
  test -f "$f" || continue
  case $(basename "$f") in main.cpp | cli.cpp) continue ;; esac
  sources="$sources $f"
done
export CXX CXXFLAGS CPPFLAGS work
# One object per source, named after its folder and file; a source that does
# not compile is reported and left out (the link says if it was needed).
rm -f "$work"/obj/*.o "$work"/obj/*.log
printf '%s\n' $sources | xargs -P "${FUZZ_JOBS:-2}" -n 1 sh -c '
  o="$work/obj/$(basename "$(dirname "$1")")_$(basename "$1" .cpp).o"
  $CXX $CXXFLAGS $CPPFLAGS -c "$1" -o "$o" 2>"$o.log" || {
    echo "fuzz: warning: $1 does not compile with $CXX (left out):" >&2
    grep -m 3 "error" "$o.log" >&2
    rm -f "$o"
  }' sh
rm -f "$work/lib${target}_fuzz.a"
ar rcs "$work/lib${target}_fuzz.a" "$work"/obj/*.o || exit 1
fuzzer=$work/${target}_fuzz
if ! $CXX $CXXFLAGS -fsanitize=fuzzer $CPPFLAGS "$srcdir/tests/fuzz/${target}_fuzz.cpp" \
    "$work/lib${target}_fuzz.a" $LIBS -o "$fuzzer"; then
  echo "fuzz: the fuzz target does not build: every source it needs must compile with $CXX" >&2
  exit 1
fi

# Seeds and the mutator's dictionary, for each target.
seed_parse() {
  # Seeds: each example behind its format byte ('t' TOML, 'y' YAML).
  n=0
  for f in "$srcdir"/examples/*.toml "$srcdir"/examples/*/*.toml; do
    test -f "$f" || continue
    n=$((n + 1)); { printf t; cat "$f"; } >"$seeds/$n.toml"
  done
  for f in "$srcdir"/examples/*.yaml "$srcdir"/examples/*/*.yaml; do
    test -f "$f" || continue
    n=$((n + 1)); { printf y; cat "$f"; } >"$seeds/$n.yaml"
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
  } >"$work/parse.dict"
}

# Seeds: a session of every op behind the chunk-size byte; the protocol's
# words for the mutator.
seed_rdzv() {
  hello='{"id":1,"op":"hello","version":1,"name":"r-w-0-0"}'
  n=0
  for q in '{"id":2,"op":"put","key":"a/b","value":"v","persistent":true}' \
      '{"id":3,"op":"get","key":"a/b","timeout_ms":10}' \
      '{"id":4,"op":"watch","key":"a/b","version":1,"timeout_ms":5}' \
      '{"id":5,"op":"lookup","name":"r-w-0-1.r","timeout_ms":5}' \
      '{"id":6,"op":"barrier","scope":"job","tag":"t","value":"x"}' \
      '{"id":7,"op":"hosts"}' '{"id":8,"op":"get","key":"bad key"}'; do
    n=$((n + 1)); printf '%s%s\n%s\n' "$(echo ABCDEFG | cut -c "$n")" "$hello" "$q" >"$seeds/$n.jsonl"
  done
  echo "fuzz: $n seed files"
  {
    echo '"\x0A"'
    for w in '{' '}' ':' ',' '"id"' '"op"' '"hello"' '"put"' '"get"' '"watch"' '"lookup"' \
        '"barrier"' '"hosts"' '"version"' '"name"' '"key"' '"value"' '"persistent"' \
        '"timeout_ms"' '"scope"' '"all"' '"replicated_job"' '"job"' '"tag"' 'true' 'false' \
        'null' '9007199254740992' '86400000' '-1' '1e3' '"\u00e9"'; do
      printf '"%s"\n' "$(printf '%s' "$w" | sed 's/\\/\\\\/g; s/"/\\"/g')"
    done
  } >"$work/rdzv.dict"
}

seed_$target

echo "fuzz: running for $seconds s"
"$fuzzer" "$corpus" "$seeds" \
  -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -dict="$work/$target.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
  >"$work/fuzz-$target.log" 2>&1
status=$?
tail -n 25 "$work/fuzz-$target.log"
if test $status -ne 0; then
  keep=yes  # the log and the input that did it
  echo "fuzz: FAILED (exit $status); log: $work/fuzz-$target.log" >&2
  for a in "$artifacts"/*; do
    test -f "$a" && echo "fuzz: reproduce with: $fuzzer $a" >&2
  done
  exit $status
fi
echo "fuzz: nothing found in $seconds s"
exit 0
