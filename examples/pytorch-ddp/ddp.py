"""Tiny PyTorch DistributedDataParallel training with checkpoint and resume.

Run by jobset (see ddp.toml), which gives every process the variables that
torch.distributed's env:// rendezvous reads: MASTER_ADDR, MASTER_PORT,
RANK and WORLD_SIZE. Uses the gloo backend, so it runs on CPUs.

Each rank fits a linear model to its own shard of synthetic data; DDP
averages the gradients. Rank 0 writes a checkpoint every few steps into
the directory given as the first argument or by CHECKPOINT_DIR (none: no
checkpoints). When rank 0 finds a checkpoint there at start, training
resumes from it, e.g. after jobset restarted the JobSet. Across several
nodes the directory should be shared, since a restart may move rank 0.

Every rank's gloo transport listens on its own node's address: the one
jobset's hosts file (JOBSET_HOSTS_FILE) gives its stable name
(JOBSET_HOSTNAME). On nodes that jobset simulates on one machine those
differ per node (127.<block>.0.<node+1>), so the ranks of different nodes
really talk across two addresses. Without the hosts file, gloo's default
(the address of this machine's hostname).

Training is deterministic (fixed seeds, plain SGD, one thread per rank):
a run that restarts and resumes from a checkpoint of its last step ends
with exactly the final loss of a run that never stopped; rank 0 prints it
rounded and exactly (Python's repr of the float).

Environment (all optional):
  STEPS             total training steps (default 40)
  CHECKPOINT_EVERY  steps between checkpoints (default 10; 1: every step)
  STEP_SECONDS      pause after each step (default 0), to give time to
                    kill a rank mid-run
  CRASH_AT_STEP     on the first attempt (JOBSET_RESTART_ATTEMPT 0), the
                    last rank exits 1 when it reaches this step, to show a
                    restart resuming from the checkpoint

By hand, without jobset (two ranks on this machine):
  MASTER_ADDR=127.0.0.1 MASTER_PORT=29411 WORLD_SIZE=2 RANK=0 /usr/bin/python3 ddp.py &
  MASTER_ADDR=127.0.0.1 MASTER_PORT=29411 WORLD_SIZE=2 RANK=1 /usr/bin/python3 ddp.py
"""

import datetime
import os
import sys
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

FEATURES = 8
SAMPLES_PER_RANK = 256
LEARNING_RATE = 0.05


def env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value else default


def synthetic_shard(rank):
    """The same true weights everywhere, different samples on each rank."""
    truth = torch.Generator().manual_seed(1234)
    weights = torch.randn(FEATURES, 1, generator=truth)
    bias = torch.randn(1, generator=truth)
    mine = torch.Generator().manual_seed(5678 + rank)
    x = torch.randn(SAMPLES_PER_RANK, FEATURES, generator=mine)
    noise = 0.01 * torch.randn(SAMPLES_PER_RANK, 1, generator=mine)
    return x, x @ weights + bias + noise


def node_address():
    """This process's address in jobset's hosts file, or None."""
    path, name = os.environ.get("JOBSET_HOSTS_FILE"), os.environ.get("JOBSET_HOSTNAME")
    if not path or not name:
        return None
    try:
        with open(path, encoding="utf-8") as hosts:
            for line in hosts:
                fields = line.split("#", 1)[0].split()
                if len(fields) > 1 and name in fields[1:]:
                    return fields[0]
    except OSError:
        return None
    return None


def gloo_at(address):
    """Registers the backend "gloo_at_node": gloo listening on `address`."""
    def create(store, rank, size, timeout):
        options = dist.ProcessGroupGloo._Options()
        options._devices = [dist.ProcessGroupGloo.create_device(hostname=address)]
        options._timeout = timeout
        return dist.ProcessGroupGloo(store, rank, size, options)
    dist.Backend.register_backend("gloo_at_node", create)
    return "gloo_at_node"


def checkpoint_path(directory):
    return os.path.join(directory, "checkpoint.pt") if directory else None


def load_checkpoint(path, model, optimizer):
    """Restores model and optimizer; returns the step to start from."""
    if not path or not os.path.exists(path):
        return 0
    state = torch.load(path, map_location="cpu")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return state["step"]


def save_checkpoint(path, model, optimizer, step):
    """Writes to a temporary file first so a crash never leaves half a file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".tmp"
    torch.save({"model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": step}, temporary)
    os.replace(temporary, path)


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CHECKPOINT_DIR", "")
    steps = env_int("STEPS", 40)
    every = max(1, env_int("CHECKPOINT_EVERY", 10))
    pause = float(os.environ.get("STEP_SECONDS", "") or 0)
    crash_at = env_int("CRASH_AT_STEP", -1)
    attempt = env_int("JOBSET_RESTART_ATTEMPT", 0)

    address = node_address()
    backend = gloo_at(address) if address else "gloo"
    dist.init_process_group(backend, init_method="env://",
                            timeout=datetime.timedelta(seconds=60))
    rank = dist.get_rank()
    world = dist.get_world_size()
    print(f"ddp: rank {rank} of {world} at {address or 'the default address'}, rendezvous at "
          f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}", flush=True)

    torch.manual_seed(0)
    model = nn.Linear(FEATURES, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    path = checkpoint_path(directory)
    # Only rank 0 reads the checkpoint (so only its node needs the file): it
    # sends the step to start from, and DDP's constructor broadcasts its
    # weights. Plain SGD keeps no per-parameter state to share.
    start = torch.tensor([load_checkpoint(path, model, optimizer) if rank == 0 else 0])
    dist.broadcast(start, src=0)
    start = int(start.item())
    ddp = DistributedDataParallel(model)
    if rank == 0:
        how = f"resuming at step {start}" if start else "starting"
        print(f"ddp: {world} ranks, {how}, {steps} steps (attempt {attempt})", flush=True)

    x, y = synthetic_shard(rank)
    loss_fn = nn.MSELoss()
    for step in range(start, steps):
        if step == crash_at and attempt == 0 and rank == world - 1:
            print(f"ddp: rank {rank} crashing at step {step} as asked", flush=True)
            sys.exit(1)
        optimizer.zero_grad()
        loss = loss_fn(ddp(x), y)
        loss.backward()
        optimizer.step()
        done = step + 1
        if path and rank == 0 and (done % every == 0 or done == steps):
            save_checkpoint(path, model, optimizer, done)
        if pause:
            time.sleep(pause)

    with torch.no_grad():
        final = torch.tensor([loss_fn(model(x), y).item()])
    dist.all_reduce(final)  # sum over the ranks
    if rank == 0:
        loss = final.item() / world
        print(f"ddp: final loss {loss:.6f} after {steps} steps (exactly {loss!r})", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
