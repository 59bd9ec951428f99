"""What the thread count does on a busy machine: BPR steps (torch and compiled kernel)
and a BLAS-heavy step (EASE's Gram-matrix inverse) with 1 vs 2 threads, each timed
without and then with a competing CPU-bound process that this script starts (a busy
Python loop, bounded by ``--busy-seconds``).

    .venv/bin/python bench/bench_threads.py

Every measurement runs inside ``warprec.utils.threads.thread_limit(n)``; the competitor
is started before the loaded measurements and ended after them (it also stops on its
own deadline). Times are medians of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from warprec.data.dataset import Dataset
from warprec.data.splitting import RandomHoldoutPerUser
from warprec.data.synthetic import synthetic
from warprec.utils.threads import thread_limit
from warprec_models_neural.bpr import BPR

BUSY = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,2", help="thread counts to compare")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy-seconds", type=float, default=300.0,
                        help="upper bound on the competitor's life")
    parser.add_argument("--gram", type=int, default=2500, help="EASE Gram matrix size")
    return parser.parse_args()


def bpr_workload(kernel: str) -> Callable[[], float]:
    """Ten BPR training steps (batch 32768) on 300k synthetic interactions; returns the
    seconds they took."""
    frame = synthetic(n_users=20_000, n_items=10_000, n_interactions=300_000, seed=0)
    dataset = Dataset.from_dataframe(frame.drop(columns="rating"),
                                     RandomHoldoutPerUser(0.2, seed=0))
    model = BPR({"kernel": kernel}, dataset.info())
    loader = model.get_dataloader(dataset.train)
    loader.prefetch = 0
    batches = list(loader)[:10]

    def run() -> float:
        optimizer = model.configure_optimizer()
        started = time.perf_counter()
        for batch in batches:
            loss = model.train_step(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return time.perf_counter() - started

    run()  # warm-up (and the kernel's compilation or cache load)
    return run


def ease_workload(size: int) -> Callable[[], float]:
    """EASE's closed form on a ``size`` x ``size`` Gram matrix: ``inv(G + lambda I)``."""
    rng = np.random.default_rng(0)
    x = (rng.random((4 * size, size)) < 0.02).astype(np.float64)
    gram = x.T @ x + 200.0 * np.eye(size)

    def run() -> float:
        started = time.perf_counter()
        np.linalg.inv(gram)
        return time.perf_counter() - started

    return run


def measure(run: Callable[[], float], threads: int, repeats: int) -> float:
    """Median seconds of ``repeats`` runs with ``threads`` threads."""
    with thread_limit(threads):
        return statistics.median(run() for _ in range(repeats))


def main() -> None:
    """Time every workload with each thread count, quiet then loaded; print the table."""
    args = parse_args()
    counts = [int(n) for n in args.threads.split(",")]
    workloads: dict[str, Callable[[], float]] = {"BPR torch (10 steps)": bpr_workload("torch")}
    if importlib.util.find_spec("numba") is not None:
        workloads["BPR compiled (10 steps)"] = bpr_workload("compiled")
    workloads[f"EASE inverse ({args.gram}x{args.gram})"] = ease_workload(args.gram)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs before the "
          f"competitor; torch {torch.__version__}", flush=True)
    quiet: dict[tuple[str, int], float] = {}
    for name, run in workloads.items():
        for n in counts:
            quiet[name, n] = measure(run, n, args.repeats)
    busy = subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=args.busy_seconds)])
    try:
        time.sleep(0.5)
        loaded = {(name, n): measure(run, n, args.repeats)
                  for name, run in workloads.items() for n in counts}
    finally:
        busy.terminate()
        busy.wait()
    print(f"\n{'workload':<28} {'threads':>7} {'no competitor s':>16} {'competitor s':>13} "
          f"{'slowdown':>9}")
    for name in workloads:
        for n in counts:
            q, b = quiet[name, n], loaded[name, n]
            print(f"{name:<28} {n:>7} {q:>16.3f} {b:>13.3f} {b / q:>8.2f}x")
    rows: list[Any] = []
    for name in workloads:
        if 1 in counts and 2 in counts:
            rows.append((name, quiet[name, 1] / quiet[name, 2], loaded[name, 1] / loaded[name, 2]))
    print("\nspeed-up of 2 threads over 1: without / with the competitor")
    for name, without, with_busy in rows:
        print(f"{name:<28} {without:.2f}x / {with_busy:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
