#!/bin/bash
# Captures what a real Slurm controller prints for `scontrol show topology`
# and `scontrol show node` (one-line and multi-line) into DIR, for the
# parsers in launcher/nodes/slurm_text.hpp and their tests.
#
# Starts munged and slurmctld only (scontrol show node/topology need no
# slurmd), everything under one fresh temporary directory (TEST-CLUSTERS.md
# section 2), all traffic on 127.0.0.1, and stops both by pid on exit,
# failure included. Every wait is bounded. Needs root and Debian's
# slurm-wlm, slurm-client and munge.
#
# The cluster: 16 nodes with features and generic resources (GRES) under a
# 2-level switch tree: leaf switches leaf[1-4] of 4 nodes each, spines
# spine[1-2] of 2 leaves each, one top switch over the spines.
#
# Usage: capture.sh DIR   writes DIR/{topology.txt,nodes-oneline.txt,nodes.txt}
set -euo pipefail

out=${1:?usage: capture.sh DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
for tool in munged mungekey slurmctld scontrol setpriv setsid pgrep timeout; do
  command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin
  command -v "$tool" >/dev/null || { echo "capture.sh: needs $tool" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "capture.sh: needs root (SlurmUser=root)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/jobset-slurm.XXXXXX)
munged_pid=
slurmctld_pid=

# TERM a pid, wait up to 10 s (a zombie counts as gone), then KILL.
stop_pid() {
  local pid=$1 i state
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 100); do
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || break
    [ "$state" = Z ] && break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# The same for a process group (slurmctld and its slurmscriptd): TERM,
# wait until no live member is left, then KILL what remains.
stop_group() {
  local pgid=$1 i live pid
  [ -n "$pgid" ] || return 0
  kill -TERM -- "-$pgid" 2>/dev/null || true
  for i in $(seq 100); do
    live=
    for pid in $(pgrep -g "$pgid" 2>/dev/null); do
      [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] || live=1
    done
    [ -n "$live" ] || break
    sleep 0.1
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
  wait "$pgid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  stop_group "$slurmctld_pid"
  stop_pid "$munged_pid"
  if [ "$rc" != 0 ]; then
    echo "capture.sh: failed (exit $rc); slurmctld log:" >&2
    tail -n 20 "$tmp/slurmctld.log" >&2 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free TCP port on 127.0.0.1 for the controller (others may run this too).
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    if ! ss -Htln "sport = :$port" | grep -q .; then echo "$port"; return 0; fi
  done
  return 1
}

# munge: its own key, socket and state; the socket's folder must be
# owned by munge with mode 755 and reachable by it.
chmod 755 "$tmp"
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool"
chown munge:munge "$tmp/munge"
chmod 755 "$tmp/munge"
setpriv --reuid=munge --regid=munge --init-groups \
  mungekey --create --keyfile="$tmp/munge/munge.key" >/dev/null
setpriv --reuid=munge --regid=munge --init-groups \
  munged --foreground --socket="$tmp/munge/munge.socket.2" \
  --key-file="$tmp/munge/munge.key" --pid-file="$tmp/munge/munged.pid" \
  --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/munged.seed" \
  --origin=127.0.0.1 2>>"$tmp/munge/munged.log" &
munged_pid=$!
for _ in $(seq 100); do [ -S "$tmp/munge/munge.socket.2" ] && break; sleep 0.1; done
[ -S "$tmp/munge/munge.socket.2" ] || { echo "capture.sh: munged did not start" >&2; exit 1; }

port=$(free_port)
cat >"$tmp/slurm.conf" <<CONF
ClusterName=jobsetcapture
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/munge.socket.2
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool/%n
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdPidFile=$tmp/slurmd-%n.pid
SlurmdLogFile=$tmp/slurmd-%n.log
PlugStackConfig=$tmp/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
TopologyPlugin=topology/tree
MpiDefault=none
ReturnToService=2
GresTypes=gpu,tpu
NodeName=n[01-04] NodeHostname=localhost NodeAddr=127.0.0.1 Sockets=2 CoresPerSocket=8 ThreadsPerCore=2 RealMemory=515000 Gres=gpu:a100:4 Features=ib,rack=r1,a100
NodeName=n[05-08] NodeHostname=localhost NodeAddr=127.0.0.1 Sockets=2 CoresPerSocket=8 ThreadsPerCore=2 RealMemory=515000 Gres=gpu:a100:2,gpu:v100:2 Features=ib,rack=r1
NodeName=n[09-12] NodeHostname=localhost NodeAddr=127.0.0.1 Sockets=1 CoresPerSocket=16 ThreadsPerCore=1 RealMemory=257000 Gres=gpu:2,tpu:4 Features=ib,rack:r2
NodeName=n[13-15] NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=8 RealMemory=64000 Features=cpu,avx512+vnni,local
NodeName=n16 NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=4
PartitionName=gpu Nodes=n[01-12] Default=YES
PartitionName=cpu Nodes=n[09-16]
CONF
: >"$tmp/plugstack.conf"
cat >"$tmp/topology.conf" <<'CONF'
SwitchName=leaf1 Nodes=n[01-04]
SwitchName=leaf2 Nodes=n[05-08]
SwitchName=leaf3 Nodes=n[09-12]
SwitchName=leaf4 Nodes=n[13-16]
SwitchName=spine1 Switches=leaf[1-2]
SwitchName=spine2 Switches=leaf[3-4]
SwitchName=top Switches=spine[1-2]
CONF
export SLURM_CONF=$tmp/slurm.conf

# In a process group of its own (setsid execs it: $! is its pid and the
# group's), so that its slurmscriptd is stopped with it.
setsid slurmctld -D -c -i >"$tmp/slurmctld.out" 2>&1 &
slurmctld_pid=$!
ready=
deadline=$((SECONDS + 30))
while [ "$SECONDS" -lt "$deadline" ]; do
  kill -0 "$slurmctld_pid" 2>/dev/null || break
  if timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'; then ready=1; break; fi
  sleep 0.2
done
[ -n "$ready" ] || { echo "capture.sh: slurmctld did not answer" >&2; cat "$tmp/slurmctld.out" >&2; exit 1; }

timeout 10 scontrol show topology >"$out/topology.txt"
timeout 10 scontrol -o show node >"$out/nodes-oneline.txt"
timeout 10 scontrol show node >"$out/nodes.txt"
