#!/bin/sh
# The one-way rule of the folders (launcher/README.md, ARCHITECTURE.md):
# every `#include "room/..."` of a source must name a room that its own room
# may use. Prints each crossing against the rule and fails when there is one.
# `-r automake` (how tests/catch-driver runs every test) adds the result
# line that automake's harness counts.
report=
if [ "${1:-}" = "-r" ]; then report=$2; shift 2; fi
srcdir=${srcdir:-.}
top=${1:-$srcdir/..}
cd "$top" || exit 1

# room: the rooms it may include (itself is always allowed)
allowed() {
  case $1 in
    common) echo "" ;;
    topology) echo "common" ;;
    rendezvous) echo "common" ;;
    runtime) echo "common topology rendezvous" ;;
    launcher/spec) echo "common topology" ;;
    launcher/nodes) echo "common topology launcher/spec" ;;
    launcher/plan) echo "common topology launcher/spec" ;;
    launcher/run) echo "common topology runtime rendezvous launcher/spec launcher/plan" ;;
    launcher) echo "common topology runtime rendezvous launcher/spec launcher/nodes launcher/plan launcher/run" ;;
    *) echo "?" ;;
  esac
}

# The room of a path: launcher/<sub>/ for the launcher's rooms, else the top folder.
room_of() {
  case $1 in
    launcher/*/*) echo "$1" | cut -d/ -f1-2 ;;
    *) echo "${1%%/*}" ;;
  esac
}

bad=0 checked=0
for f in $(find common topology rendezvous runtime launcher -name '*.cpp' -o -name '*.hpp' | sort); do
  from=$(room_of "$f")
  ok=$(allowed "$from")
  if [ "$ok" = "?" ]; then
    echo "check-includes: $f: folder $from is not in the table of tests/check-includes.sh" >&2
    bad=1
    continue
  fi
  for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
    case $inc in */*) ;; *) continue ;; esac
    to=$(room_of "$inc")
    checked=$((checked + 1))
    [ "$to" = "$from" ] && continue
    case " $ok " in *" $to "*) continue ;; esac
    echo "check-includes: $f includes $inc: $from may not include $to (allowed: ${ok:-nothing})" >&2
    bad=1
  done
done
[ "$checked" -gt 0 ] || { echo "check-includes: no includes found under $top" >&2; exit 1; }
echo "check-includes: $checked includes checked"
if [ "$report" = automake ]; then
  result=PASS
  [ "$bad" = 0 ] || result=FAIL
  echo ":test-result: $result check-includes: every #include follows the one-way rule of the folders"
fi
exit $bad
