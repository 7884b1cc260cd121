#!/bin/sh
# The NSS module libnss_jobset.so.2 end to end: real programs (getent,
# Python's socket.getaddrinfo) resolve a run's names through glibc with
# `hosts: files jobset dns`, the module loaded from the build tree through
# LD_LIBRARY_PATH.
#
# Everything happens in private mount and network namespaces (unshare -mn
# as root, unshare -rmn where user namespaces work; else the test is
# skipped, saying why): a temporary nsswitch.conf and resolv.conf are
# bind-mounted over /etc's, and the only network is a loopback with one
# IPv4 and one IPv6 test address (so that getaddrinfo's AI_ADDRCONFIG
# keeps both families). Names that fall through to `dns` go to a resolver
# on 127.0.0.1 that does not exist: no packet leaves the machine.
#
# `-r automake` (how tests/catch-driver runs every test) prints one result
# line per check for automake's harness; a skip is then a SKIP line and
# exit 0 (the driver fails any other exit). Run alone it exits 77 to skip.
report=
if [ "${1:-}" = "-r" ]; then report=$2; shift 2; fi

if [ "${1:-}" != --inside ]; then
  # Outside: find the module, choose how to unshare, rerun this inside.
  top=${abs_top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
  moddir=$top/rendezvous/nss
  skip() {
    echo "nss_test: SKIP: $1"
    if [ "$report" = automake ]; then
      echo ":test-result: SKIP nss: names resolve through libnss_jobset.so.2 ($1)"
      exit 0
    fi
    exit 77
  }
  if [ ! -f "$moddir/libnss_jobset.so.2" ]; then
    echo "nss_test: $moddir/libnss_jobset.so.2 is missing (run make first)" >&2
    [ "$report" = automake ] && echo ":test-result: FAIL nss: the module is built"
    exit 1
  fi
  command -v getent >/dev/null || skip "no getent (apt-get install libc-bin)"
  command -v ip >/dev/null || skip "no ip (apt-get install iproute2)"
  command -v unshare >/dev/null || skip "no unshare (apt-get install util-linux)"
  if [ "$(id -u)" = 0 ] && unshare -mn true 2>/dev/null; then
    ns="unshare -mn"
  elif unshare -rmn true 2>/dev/null; then
    ns="unshare -rmn"
  else
    skip "cannot make mount and network namespaces (not root, and no user namespaces)"
  fi
  tmp=$(mktemp -d /tmp/jobset-nss-XXXXXX) || exit 1
  trap 'rm -rf "$tmp"' EXIT
  $ns sh "$0" --inside "$tmp" "$moddir" "$report" "$top/launcher/jobset"
  exit $?
fi

# Inside the namespaces.
tmp=$2 moddir=$3 report=$4 jobset=${5:-}
set -u
printf 'hosts: files jobset dns\n' >"$tmp/nsswitch.conf"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$tmp/resolv.conf"
mount --bind "$tmp/nsswitch.conf" /etc/nsswitch.conf || exit 1
if [ -e /etc/resolv.conf ]; then mount --bind "$tmp/resolv.conf" /etc/resolv.conf || exit 1; fi
# No nscd: its cache would answer instead of the module.
for d in /var/run/nscd /run/nscd; do [ -d "$d" ] && mount -t tmpfs none "$d"; done
ip link set lo up && ip addr add 192.0.2.1/32 dev lo && ip addr add fd00:ab::1/128 dev lo || exit 1

export LD_LIBRARY_PATH=$moddir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
hosts=$tmp/run/hosts
mkdir -p "$tmp/run"
unset JOBSET_HOSTS_FILE JOBSET_RDZV

failed=0
result() {  # PASS|FAIL, what
  if [ "$report" = automake ]; then echo ":test-result: $1 nss: $2"; else echo "$1: nss: $2"; fi
  [ "$1" = PASS ] || failed=1
}
# check WHAT EXPECTED COMMAND...: PASS when COMMAND succeeds and its output
# contains EXPECTED (a grep -E pattern); prints the output when not.
check() {
  what=$1 expected=$2
  shift 2
  out=$("$@" 2>&1)
  status=$?
  if [ $status = 0 ] && printf '%s\n' "$out" | grep -Eq -- "$expected"; then
    result PASS "$what"
  else
    result FAIL "$what"
    echo "  $*: exit $status, expected /$expected/, got:"
    printf '%s\n' "$out" | sed 's/^/    /'
  fi
}
# check_not_found WHAT NAME [ENV...]: getent hosts NAME fails (exit 2), in
# under a second.
check_not_found() {
  what=$1 name=$2
  shift 2
  start=$(date +%s%N)
  out=$(env "$@" getent hosts "$name" 2>&1)
  status=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  if [ $status = 2 ] && [ $ms -lt 1000 ]; then
    result PASS "$what"
  else
    result FAIL "$what"
    echo "  getent hosts $name: exit $status (2 expected) after $ms ms (under 1000 expected): $out"
  fi
}
# Replaces the hosts file as the launcher does: a new file, renamed.
put_hosts() {
  printf "$1" >"$hosts.new" && mv "$hosts.new" "$hosts"
}
getaddrinfo() {  # NAME [FAMILY]: every address and the canonical name
  python3 -c 'import socket, sys
fam = socket.AF_INET6 if sys.argv[2] == "6" else socket.AF_UNSPEC
for ai in socket.getaddrinfo(sys.argv[1], 80, fam, socket.SOCK_STREAM, 0, socket.AI_CANONNAME):
    print(ai[4][0], ai[3])' "$1" "${2:-0}"
}

put_hosts '# jobset run demo\n10.1.2.3\tdemo-workers-0-1.demo demo-workers-0-1\n10.1.2.4\tdemo-workers-0-2.demo demo-workers-0-2\nfd00:ab::17\tdemo-driver-0-0.demo demo-driver-0-0\n'
export JOBSET_HOSTS_FILE="$hosts"

check "getent hosts resolves an fqdn" "^10\.1\.2\.3[[:space:]]+demo-workers-0-1\.demo demo-workers-0-1\$" \
  getent hosts demo-workers-0-1.demo
check "getent hosts resolves a short name, whatever its case" "^10\.1\.2\.3[[:space:]]" \
  getent hosts DEMO-Workers-0-1
check "getent hosts takes a trailing dot" "^10\.1\.2\.4[[:space:]]" getent hosts demo-workers-0-2.demo.
check "getent ahosts (getaddrinfo) resolves a name" "^10\.1\.2\.3[[:space:]]+STREAM demo-workers-0-1\.demo" \
  getent ahosts demo-workers-0-1
check "getent hosts on an address gives its names" "demo-workers-0-2\.demo demo-workers-0-2" \
  getent hosts 10.1.2.4
check "getent ahostsv6 resolves an IPv6 entry" "^fd00:ab::17[[:space:]]+STREAM demo-driver-0-0\.demo" \
  getent ahostsv6 demo-driver-0-0
check "getent hosts resolves an IPv6 entry" "^fd00:ab::17[[:space:]]+demo-driver-0-0\.demo" \
  getent hosts demo-driver-0-0.demo
if command -v python3 >/dev/null; then
  check "python getaddrinfo resolves a short name to the fqdn's address" \
    "^10\.1\.2\.3 demo-workers-0-1\.demo\$" getaddrinfo demo-workers-0-1
  check "python getaddrinfo resolves an IPv6 entry" "^fd00:ab::17 demo-driver-0-0\.demo\$" \
    getaddrinfo demo-driver-0-0.demo 6
else
  echo "nss_test: no python3: the getaddrinfo checks from Python are left out"
fi

check_not_found "an unknown name is not found, at once" demo-nobody-0-0.demo
start=$(date +%s%N)
if ! getent ahosts demo-nobody-0-0 >/dev/null && [ $((($(date +%s%N) - start) / 1000000)) -lt 1000 ]; then
  result PASS "an unknown name is not found by getaddrinfo, at once"
else
  result FAIL "an unknown name is not found by getaddrinfo, at once"
fi
check_not_found "without JOBSET_HOSTS_FILE the names are not found" demo-workers-0-1 -u JOBSET_HOSTS_FILE
check_not_found "without the module the names are not found (the control)" demo-workers-0-1 \
  LD_LIBRARY_PATH=
check "with JOBSET_RDZV only, the hosts file beside its socket is read" "^10\.1\.2\.3[[:space:]]" \
  env -u JOBSET_HOSTS_FILE JOBSET_RDZV="$tmp/run/rdzv.sock" getent hosts demo-workers-0-1.demo
check_not_found "a missing hosts file: not found" demo-workers-0-1 JOBSET_HOSTS_FILE="$tmp/none"

put_hosts '10.9.9.9\tdemo-workers-0-1.demo demo-workers-0-1\n'
check "a rewritten file is seen by the next lookup" "^10\.9\.9\.9[[:space:]]" \
  getent hosts demo-workers-0-1.demo
check_not_found "a name gone from the rewritten file is not found" demo-workers-0-2.demo

put_hosts '10.1.2.5\tdemo-cut-0-0.demo demo-cut-0-0'
check_not_found "a last line without its newline (cut short) is not used" demo-cut-0-0
head -c 65536 /dev/urandom >"$hosts.new" && mv "$hosts.new" "$hosts"
check_not_found "a garbage file: not found" demo-workers-0-1
long=$(head -c 5000 /dev/zero | tr '\0' x)
put_hosts "10.0.0.1\t$long demo-long-0-0\n10.1.2.6\tdemo-after-0-0\n"
check "a line too long is skipped, the next one is read" "^10\.1\.2\.6[[:space:]]" getent hosts demo-after-0-0
check_not_found "a name on a line too long is not found" demo-long-0-0

# Answers larger than glibc's first buffer (1 KiB): ERANGE, then a retry.
a=$(head -c 120 /dev/zero | tr '\0' a)
lines="10.3.0.1\tdemo-big-0-0.demo demo-big-0-0 ${a}1 ${a}2 ${a}3 ${a}4 ${a}5 ${a}6 ${a}7\n"
i=2
while [ $i -le 32 ]; do lines="${lines}10.3.0.$i\tdemo-big-0-0.demo\n"; i=$((i + 1)); done
put_hosts "$lines"
check "a name with long aliases and 32 addresses resolves (buffer grown)" "demo-big-0-0 ${a}1 .*${a}7" getent hosts demo-big-0-0.demo
count=$(getent ahostsv4 demo-big-0-0.demo | grep -c STREAM)
if [ "$count" = 32 ]; then
  result PASS "getaddrinfo gets all 32 addresses of a name (buffer grown)"
else
  result FAIL "getaddrinfo gets all 32 addresses of a name (buffer grown)"
  echo "  getent ahostsv4 demo-big-0-0.demo: $count STREAM lines, 32 expected"
fi

# A live run on three simulated nodes: js-w-1-0's node (sim2) is lost in
# attempt 0 (the process kills its own daemon once js-w-0-0 has looked its
# name up), the JobSet restarts, and
# js-w-1-0 moves to the spare, sim3. Every process of both attempts asks
# glibc (getent, through the module) where js-w-1-0.js is: the name
# follows the process to its new node's address.
if [ -x "$jobset" ]; then
  cat >"$tmp/move.toml" <<'TOML'
name = "js"
[failure_policy]
max_restarts = 1
[[replicated_jobs]]
name = "w"
replicas = 2
[replicated_jobs.template]
backoff_limit = 0
command = ["sh", "-c", '''
case "$JOBSET_NODE/$JOBSET_RESTART_ATTEMPT" in
sim2/0) while [ ! -e @TMP@/printed ]; do sleep 0.05; done; kill -9 $PPID; exec sleep 100;;
esac
echo "attempt $JOBSET_RESTART_ATTEMPT on $JOBSET_NODE: $(getent hosts js-w-1-0.js)"
touch @TMP@/printed''']
TOML
  sed -i "s|@TMP@|$tmp|g" "$tmp/move.toml"
  out=$(cd "$tmp" && "$jobset" run --simulate-nodes 3:1 move.toml 2>"$tmp/move.err")
  status=$?
  seen() { printf '%s\n' "$out" | sed -n "s/^attempt $1 on $2: \([0-9.]*\)[[:space:]].*/\1/p"; }
  before=$(seen 0 sim1) after=$(seen 1 sim1) moved=$(seen 1 sim3)
  if [ $status = 0 ] && [ -n "$before" ] && [ -n "$after" ] && [ "$before" != "$after" ] &&
    [ "$after" = "$moved" ] && grep -q "js-w-1-0 moves from lost node sim2 to sim3" "$tmp/move.err"; then
    result PASS "a live run's name resolves to its new address after its node is lost"
  else
    result FAIL "a live run's name resolves to its new address after its node is lost"
    echo "  jobset run: exit $status; js-w-1-0 seen at '$before' then '$after' (from sim3: '$moved')"
    printf '%s\n' "$out" | sed 's/^/    out: /'
    sed 's/^/    err: /' "$tmp/move.err"
  fi
else
  result FAIL "the launcher is built ($jobset)"
fi

exit $failed
