"""Where a compiled-kernel BPR fit spends its time before the first sample, and whole
5-epoch fits against implicit's BPR.

    .venv/bin/python bench/bench_bpr_startup.py            # 1 M synthetic, 2 threads
    (pip install -r bench/requirements-peers.txt into the environment for implicit)

Three measurements on ``warprec.data.synthetic`` (1,000,000 interactions, 50,000 users x
20,000 items, per-user random 80/20 split; BPR ``kernel: compiled`` with its defaults):

1. Per process, each in a fresh child process: ``import numba``, the kernel module and
   its thread pool (``load_kernel``), the first call of each compiled function (numba
   loads its machine code from the on-disk cache, or compiles it when the cache is
   cold), then the first and the second whole 5-epoch fit (model built, Trainer fit).
   Once with the package's cache as it is (warm) and once with an empty
   ``NUMBA_CACHE_DIR`` (cold: a fresh environment's first fit).
2. Per fit, in this process after a warm-up: the kernel's CSR of the training
   interactions and its optimizer buffers.
3. ``--pairs`` alternating whole 5-epoch fits of ours (model built + ``Trainer.fit``)
   and of implicit's ``BayesianPersonalizedRanking`` (64 factors, its defaults), in this
   process after one warm-up fit each: each pair's ratio and the median.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np
import torch
from warprec.data.dataset import Dataset
from warprec.data.splitting import RandomHoldoutPerUser
from warprec.data.synthetic import synthetic
from warprec.recommenders.trainer import Trainer

PARAMS = {"kernel": "compiled"}


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def dataset_of(args: argparse.Namespace) -> Dataset:
    """The synthetic split."""
    frame = synthetic(n_users=args.users, n_items=args.items,
                      n_interactions=args.interactions, seed=0)
    return Dataset.from_dataframe(frame.drop(columns="rating"), RandomHoldoutPerUser(0.2, seed=0))


def fit_ours(dataset: Dataset, epochs: int) -> float:
    """Seconds of one whole fit: the model built, then trained by the Trainer."""
    from warprec_models_neural.bpr import BPR

    started = time.perf_counter()
    model = BPR(PARAMS, dataset.info())
    Trainer(model, dataset, epochs=epochs, monitor="loss", restore_best=False,
            progress=False).fit()
    return time.perf_counter() - started


def fit_implicit(dataset: Dataset, epochs: int, threads: int) -> float:
    """Seconds of one implicit BPR fit of the training matrix."""
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    matrix = dataset.train.get_sparse()
    started = time.perf_counter()
    model = BayesianPersonalizedRanking(factors=64, iterations=epochs, num_threads=threads,
                                        random_state=0)
    model.fit(matrix, show_progress=False)
    return time.perf_counter() - started


def first_calls(kernel: Any) -> dict[str, float]:
    """Seconds of the first call of each compiled function on tiny inputs of the
    training signatures (the machine-code load, or its compilation)."""
    f32, i64 = np.float32, np.int64
    seconds = {}
    started = time.perf_counter()
    kernel.shuffled(4, np.uint64(1))
    seconds["load shuffled"] = time.perf_counter() - started
    started = time.perf_counter()
    out = [np.empty(2, dtype=i64) for _ in range(3)]
    kernel.draw_run(np.arange(2), np.arange(2), np.arange(2), np.array([0, 1, 2], np.int32),
                    np.array([0, 1], np.int32), 5, np.uint64(3), 0, *out)
    seconds["load draw_run"] = time.perf_counter() - started

    def state(rows: int, width: int) -> tuple[np.ndarray, ...]:
        return np.zeros(rows, f32), np.zeros((0, 2, width), f32), np.zeros(0, i64)

    started = time.perf_counter()
    kernel.bpr_updates(np.zeros((3, 4), f32), np.zeros((3, 4), f32), np.zeros((3, 1), f32),
                       np.array([0]), np.array([1]), np.array([2]), kernel.ADAGRAD,
                       np.ones(3, f32), f32(0.01), state(3, 4), state(3, 4), state(3, 1), 1,
                       np.empty(1, f32), np.zeros(1))
    seconds["load bpr_updates"] = time.perf_counter() - started
    return seconds


def child(args: argparse.Namespace) -> None:
    """The per-process parts, printed as one JSON line."""
    torch.set_num_threads(args.threads)
    dataset = dataset_of(args)
    seconds = {}
    started = time.perf_counter()
    import numba  # noqa: F401

    seconds["import numba"] = time.perf_counter() - started
    from warprec_models_neural._bpr_compiled import load_kernel

    started = time.perf_counter()
    kernel = load_kernel()
    seconds["kernel module + thread pool"] = time.perf_counter() - started
    seconds.update(first_calls(kernel))
    seconds["first whole fit"] = fit_ours(dataset, args.epochs)
    seconds["second whole fit"] = fit_ours(dataset, args.epochs)
    print(json.dumps(seconds))


def run_child(args: argparse.Namespace, cache_dir: str | None) -> dict[str, float]:
    """The child's parts, with ``NUMBA_CACHE_DIR=cache_dir`` when given."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    command = [sys.executable, __file__, "--child", "--users", str(args.users), "--items",
               str(args.items), "--interactions", str(args.interactions), "--epochs",
               str(args.epochs), "--threads", str(args.threads)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def per_fit_parts(dataset: Dataset) -> dict[str, float]:
    """Seconds of the kernel's CSR and of its optimizer buffers, for one more fit."""
    from warprec_models_neural._bpr_compiled import kernel_state
    from warprec_models_neural.bpr import BPR

    model = BPR(PARAMS, dataset.info())
    started = time.perf_counter()
    model.get_dataloader(dataset.train)
    csr = time.perf_counter() - started
    started = time.perf_counter()
    kernel_state(model)
    return {"CSR": csr, "buffers": time.perf_counter() - started}


def main() -> None:
    """Per-process parts (cold and warm cache), per-fit parts, alternating pairs."""
    args = parse_args()
    if args.child:
        child(args)
        return
    torch.set_num_threads(args.threads)
    print(f"threads={args.threads}, load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs; {args.interactions} interactions, {args.epochs} epochs",
          flush=True)
    with tempfile.TemporaryDirectory() as empty:
        cold = run_child(args, empty)
    warm = run_child(args, None)
    print(f"{'per process':<30} {'cold cache':>10} {'warm cache':>10}")
    for part in warm:
        print(f"{part:<30} {cold[part]:>10.2f} {warm[part]:>10.2f}")
    dataset = dataset_of(args)
    fit_ours(dataset, 1)  # warm-up: machine code loaded, threads started
    print("per fit (after a warm-up): " + ", ".join(
        f"{part} {value:.3f} s" for part, value in per_fit_parts(dataset).items()))
    if importlib.util.find_spec("implicit") is None:
        print("implicit is not installed: no pairs")
        return
    fit_implicit(dataset, 1, args.threads)
    pairs = []
    for _ in range(args.pairs):
        ours = fit_ours(dataset, args.epochs)
        peer = fit_implicit(dataset, args.epochs, args.threads)
        pairs.append(ours / peer)
        print(f"pair: ours {ours:.2f} s  implicit {peer:.2f} s  ratio {ours / peer:.2f}",
              flush=True)
    print(f"whole {args.epochs}-epoch fit, ours / implicit BPR, {len(pairs)} alternating "
          f"pairs, {args.threads} threads: median {np.median(pairs):.2f}x "
          f"(pairs {', '.join(f'{r:.2f}' for r in pairs)})")


if __name__ == "__main__":
    sys.exit(main())
