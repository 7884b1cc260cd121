#!/usr/bin/env python3
"""jobset run -n N true against mpiexec.hydra -n N true, alternating runs so
that a noisy machine's drift hits both alike (hyperfine times one command's
runs, then the other's). Prints the medians and their ratio.

    python3 tests/bench/interleaved.py BUILDDIR N ROUNDS    (e.g. . 64 60)
"""
import statistics
import subprocess
import sys
import time


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    builddir, n, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cmds = {
        "jobset": [builddir + "/launcher/jobset", "run", "-q", "-n", n, "true"],
        "hydra": ["mpiexec.hydra", "-n", n, "true"],
    }
    times = {name: [] for name in cmds}
    warmup = 3
    for r in range(rounds + warmup):
        order = list(cmds) if r % 2 == 0 else list(reversed(list(cmds)))
        for name in order:
            start = time.perf_counter()
            subprocess.run(cmds[name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            if r >= warmup:
                times[name].append(time.perf_counter() - start)
    j, h = statistics.median(times["jobset"]), statistics.median(times["hydra"])
    print("N=%s, %d alternating rounds: jobset %.4f s, hydra %.4f s, jobset/hydra %.2f" % (n, rounds, j, h, j / h))


main()
