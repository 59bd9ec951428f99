"""iALS2008 fit time against implicit's AlternatingLeastSquares, side by side in one process.

    .venv/bin/python bench/bench_als.py                 # 1 M synthetic, 2 threads, 5 pairs
    (pip install -r bench/requirements-peers.txt into the environment for implicit)

Data: ``warprec.data.synthetic`` (1,000,000 interactions, 50,000 users, 20,000 items by
default), all of it as training data. Both fit the same binary matrix with the same
factors (64), iterations (15) and conjugate-gradient steps (3), on ``--threads`` threads
(``torch.set_num_threads``, as ``general.threads`` sets it, for ours; ``num_threads`` for
implicit). Ours is ``iALS`` with ``alpha0=1, reg`` implicit's regularization and ``nu=0``
(a plain ridge, implicit's objective with confidence 1: the same work per sweep).
One untimed warm-up fit each (numba loads or compiles the kernel, threads start), then
``--pairs`` alternating fits: each pair's ratio ours / implicit and their median.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

import numpy as np
import scipy.sparse as sp
import torch
from threadpoolctl import threadpool_limits
from warprec.data.dataset import Interactions
from warprec.data.synthetic import synthetic
from warprec_models_classic.als import iALS2008


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--cg-steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=5)
    return parser.parse_args()


def fit_ours(args: argparse.Namespace, interactions: Interactions) -> float:
    """Seconds of one iALS2008 fit (the model is built by its fit)."""
    params = {"factors": args.factors, "n_iterations": args.iterations,
              "cg_steps": args.cg_steps, "alpha": 1.0, "reg": 0.01}
    info = {"n_users": interactions.n_users, "n_items": interactions.n_items}
    started = time.perf_counter()
    iALS2008(params, info, interactions)
    return time.perf_counter() - started


def fit_implicit(args: argparse.Namespace, matrix: sp.csr_matrix) -> float:
    """Seconds of one implicit ALS fit (CPU, its conjugate gradient) of the confidence
    matrix ``matrix``."""
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(factors=args.factors, regularization=0.01,
                                    iterations=args.iterations, use_cg=True,
                                    num_threads=args.threads, random_state=0,
                                    calculate_training_loss=False)
    model.cg_steps = args.cg_steps  # not an __init__ argument of implicit 0.7
    started = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):  # as implicit asks (its warning)
        model.fit(matrix, show_progress=False)
    return time.perf_counter() - started


def main() -> None:
    """Warm up both, then alternate fits and print each pair and the median ratio."""
    args = parse_args()
    torch.set_num_threads(args.threads)
    frame = synthetic(n_users=args.users, n_items=args.items,
                      n_interactions=args.interactions, seed=0)
    users = frame["user_id"].to_numpy() - 1  # synthetic ids count from 1
    items = frame["item_id"].to_numpy() - 1
    interactions = Interactions(users, items, args.users, args.items)
    matrix = sp.csr_matrix(interactions.get_sparse(), dtype=np.float32)
    matrix.data[:] = 2.0  # implicit's confidences: 1 + alpha r with alpha = 1, r = 1
    has_peer = importlib.util.find_spec("implicit") is not None
    print(f"data: {args.users} users x {args.items} items, {matrix.nnz} interactions; "
          f"{args.factors} factors, {args.iterations} iterations, {args.cg_steps} CG steps; "
          f"threads={args.threads} (torch {torch.get_num_threads()}), load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    small = Interactions(users[:5000] % 500, items[:5000] % 200, 500, 200)
    warm = argparse.Namespace(**{**vars(args), "iterations": 1})
    print(f"warm-up (kernel load or compile, thread start): ours "
          f"{fit_ours(warm, small):.2f} s", flush=True)
    if has_peer:
        fit_implicit(warm, sp.csr_matrix(small.get_sparse(), dtype=np.float32))
    pairs = []
    for _ in range(args.pairs):
        ours = fit_ours(args, interactions)
        peer = fit_implicit(args, matrix) if has_peer else float("nan")
        pairs.append((ours, peer))
        print(f"pair: ours {ours:.2f} s  implicit {peer:.2f} s  ratio {ours / peer:.2f}",
              flush=True)
    ratios = [ours / peer for ours, peer in pairs]
    print(f"iALS2008 / implicit ALS fit time, {len(pairs)} alternating pairs, {args.threads} "
          f"threads: median {np.median(ratios):.2f}x (ours median "
          f"{np.median([o for o, _ in pairs]):.2f} s, implicit "
          f"{np.median([p for _, p in pairs]):.2f} s; pairs "
          f"{', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    sys.exit(main())
