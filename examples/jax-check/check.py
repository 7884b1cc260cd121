"""A stand-in for JAX's multi-process start-up: checks the variables
jobset sets for jax.distributed.initialize() and Megascale (multislice),
and that the coordinator is reachable where they say.

`jax` is not packaged for Debian 12, so this does what matters to a JAX
program under jobset, with the standard library only:

  JAX_COORDINATOR_ADDRESS   host:port; the host resolves (an address, or
                            a stable FQDN through jobset's NSS module)
  JAX_NUM_PROCESSES         a positive integer, the run's process count
  JAX_PROCESS_ID            in [0, JAX_NUM_PROCESSES), each once
  MEGASCALE_COORDINATOR_ADDRESS, MEGASCALE_NUM_SLICES, MEGASCALE_SLICE_ID
                            likewise, slice id in [0, slices), every slice
                            with the same number of processes

Process 0 is the coordinator, as in JAX: it listens on the port of
JAX_COORDINATOR_ADDRESS (and of MEGASCALE_COORDINATOR_ADDRESS), checks
that the host named there is its own address, and waits until every
other process has connected and said who it is. The others connect to
both (retrying while the coordinator starts) and wait for its answer.

Output: one line per process, "jax-check: process I of N ok ...";
problems go to standard error, and the exit status is then 1.
"""

import os
import socket
import sys
import time

TIMEOUT = float(os.environ.get("JAX_CHECK_TIMEOUT", "60"))


def fail(message):
    print(f"jax-check: process {os.environ.get('JAX_PROCESS_ID', '?')}: {message}",
          file=sys.stderr, flush=True)
    sys.exit(1)


def integer(name, low=0):
    value = os.environ.get(name)
    if value is None:
        fail(f"{name} is not set")
    try:
        number = int(value)
    except ValueError:
        fail(f"{name}={value!r} is not an integer")
    if number < low:
        fail(f"{name}={number} is below {low}")
    return number


def host_port(name):
    """The address of NAME's host (resolved) and its port."""
    value = os.environ.get(name)
    if not value:
        fail(f"{name} is not set")
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail(f"{name}={value!r} is not host:port")
    try:
        address = socket.getaddrinfo(host.strip("[]"), int(port), socket.AF_UNSPEC,
                                     socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as e:
        fail(f"{name}: {host} does not resolve: {e.strerror}")
    return host, address, int(port)


def own_address():
    """This process's address in jobset's hosts file, or None."""
    path, name = os.environ.get("JOBSET_HOSTS_FILE"), os.environ.get("JOBSET_HOSTNAME")
    if not path or not name:
        return None
    with open(path, encoding="utf-8") as hosts:
        for line in hosts:
            fields = line.split("#", 1)[0].split()
            if len(fields) > 1 and name in fields[1:]:
                return fields[0]
    return None


def listen(port):
    """A listener on every address, as gRPC's is (SO_REUSEADDR)."""
    server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("::", port))
    server.listen(64)
    server.settimeout(TIMEOUT)
    return server


def read_line(conn):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(256)
        if not chunk:
            break
        data += chunk
    return data.decode().strip()


def coordinate(jax_server, mega_server, processes, me, slice_id):
    """Hears from every other process on both ports; checks the slices."""
    slices = {me: slice_id}
    for server, what in ((jax_server, "JAX"), (mega_server, "Megascale")):
        heard = {me}
        conns = []
        while len(heard) < processes:
            try:
                conn, _ = server.accept()
            except socket.timeout:
                fail(f"the {what} coordinator heard from {sorted(heard)} only, "
                     f"of {processes} processes")
            conn.settimeout(TIMEOUT)
            words = read_line(conn).split()
            if len(words) != 2 or not all(w.isdigit() for w in words):
                fail(f"the {what} coordinator got {words!r}")
            pid, sid = int(words[0]), int(words[1])
            if pid in heard or not 0 <= pid < processes:
                fail(f"the {what} coordinator heard process id {pid} twice or out of range")
            heard.add(pid)
            slices[pid] = sid
            conns.append(conn)
        for conn in conns:
            conn.sendall(b"ok\n")
            conn.close()
    return slices


def connect(address, port, message):
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            conn = socket.create_connection((address, port), timeout=TIMEOUT)
            break
        except OSError as e:
            if time.monotonic() > deadline:
                fail(f"cannot connect to the coordinator at {address}:{port}: {e}")
            time.sleep(0.05)
    conn.sendall(message.encode())
    answer = read_line(conn)
    conn.close()
    if answer != "ok":
        fail(f"the coordinator at {address}:{port} answered {answer!r}")


def main():
    processes = integer("JAX_NUM_PROCESSES", 1)
    me = integer("JAX_PROCESS_ID")
    if me >= processes:
        fail(f"JAX_PROCESS_ID={me} is not below JAX_NUM_PROCESSES={processes}")
    world = os.environ.get("WORLD_SIZE")
    if world is not None and int(world) != processes:
        fail(f"JAX_NUM_PROCESSES={processes} but the run has WORLD_SIZE={world}")
    num_slices = integer("MEGASCALE_NUM_SLICES", 1)
    slice_id = integer("MEGASCALE_SLICE_ID")
    if slice_id >= num_slices:
        fail(f"MEGASCALE_SLICE_ID={slice_id} is not below MEGASCALE_NUM_SLICES={num_slices}")
    jax_host, jax_address, jax_port = host_port("JAX_COORDINATOR_ADDRESS")
    mega_host, mega_address, mega_port = host_port("MEGASCALE_COORDINATOR_ADDRESS")
    if jax_port == mega_port:
        fail(f"the JAX and Megascale coordinators share port {jax_port}")
    if me == 0:
        mine = own_address()
        if mine and jax_address != mine:
            fail(f"JAX_COORDINATOR_ADDRESS names {jax_host} ({jax_address}), "
                 f"but the coordinator (process 0) is at {mine}")
        slices = coordinate(listen(jax_port), listen(mega_port), processes, me, slice_id)
        sizes = [sum(1 for s in slices.values() if s == k) for k in range(num_slices)]
        if len(set(sizes)) != 1 or sum(sizes) != processes:
            fail(f"processes per slice {sizes}: not {num_slices} slices of equal size")
        print(f"jax-check: process 0 of {processes} ok, the coordinator at {jax_host}:"
              f"{jax_port} ({jax_address}) heard from all {processes} processes, "
              f"{num_slices} slices of {sizes[0]}", flush=True)
    else:
        for address, port in ((jax_address, jax_port), (mega_address, mega_port)):
            connect(address, port, f"{me} {slice_id}\n")
        print(f"jax-check: process {me} of {processes} ok, slice {slice_id} of {num_slices}, "
              f"reached the coordinator at {jax_host}:{jax_port} ({jax_address})", flush=True)


if __name__ == "__main__":
    main()
