"""torch.distributed without torchrun: rank 0 found by its stable name.

Upstream JobSet manifests set MASTER_ADDR to rank 0's FQDN,
`<jobset>-<replicated job>-0-0.<subdomain>`, and leave it to the cluster's
DNS to resolve. Under jobset that is the NSS module's job
(libnss_jobset.so.2 with `hosts: files jobset dns` in /etc/nsswitch.conf;
see jobset(1), STABLE HOSTNAMES). This program reads what torchrun would
have set (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE), resolves
MASTER_ADDR and its own FQDN (JOBSET_FQDN) through the C library as any
program does, and does a gloo all_reduce whose sum it checks. Gloo
listens on the address its own FQDN resolves to, so ranks of different
(simulated) nodes talk across their nodes' addresses.

MASTER_ADDR may also be an address (jobset's default when names do not
resolve on this machine); then nothing is looked up, and gloo listens on
this process's address from jobset's hosts file (JOBSET_HOSTS_FILE).

Exit status: 0 when the sum is right, 1 when it is not, 2 when a name
does not resolve (with the reason on standard error).
"""

import datetime
import ipaddress
import os
import socket
import sys

import torch
import torch.distributed as dist


def is_address(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def resolve(name, what):
    """The IPv4 address of `name` as the C library resolves it (NSS)."""
    try:
        return socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as e:
        print(f"allreduce: {what} {name} does not resolve: {e.strerror} (is jobset's NSS "
              "module enabled? /etc/nsswitch.conf needs 'hosts: files jobset dns')",
              file=sys.stderr, flush=True)
        sys.exit(2)


def hosts_file_address():
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


def main():
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    master = os.environ["MASTER_ADDR"]
    fqdn = os.environ.get("JOBSET_FQDN")
    if is_address(master):
        # Names do not resolve here: gloo listens on this process's address
        # from jobset's hosts file, if there is one.
        print(f"allreduce: rank {rank}: MASTER_ADDR is the address {master}", flush=True)
        me = hosts_file_address()
    else:
        print(f"allreduce: rank {rank}: MASTER_ADDR {master} resolves to "
              f"{resolve(master, 'MASTER_ADDR')}", flush=True)
        me = fqdn
        if fqdn:
            print(f"allreduce: rank {rank} is {fqdn} at {resolve(fqdn, 'JOBSET_FQDN')}",
                  flush=True)
    if me:
        # gloo resolves a name itself, through the C library again.
        device = dist.ProcessGroupGloo.create_device(hostname=me)

        def gloo_at(store, group_rank, size, timeout):
            options = dist.ProcessGroupGloo._Options()
            options._devices = [device]
            options._timeout = timeout
            return dist.ProcessGroupGloo(store, group_rank, size, options)
        dist.Backend.register_backend("gloo_at", gloo_at)

    dist.init_process_group("gloo_at" if me else "gloo", init_method="env://",
                            timeout=datetime.timedelta(seconds=60))
    value = torch.tensor([float(rank + 1)])
    dist.all_reduce(value)
    expected = world * (world + 1) / 2
    print(f"allreduce: rank {rank} of {world} on port {os.environ['MASTER_PORT']}: "
          f"sum {value.item():g}, expected {expected:g}", flush=True)
    dist.destroy_process_group()
    return 0 if value.item() == expected else 1


if __name__ == "__main__":
    sys.exit(main())
