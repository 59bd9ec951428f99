"""EASE fit time and peak memory against a bare LAPACK potrf+potri, and the guide's MyEASE.

Run by hand (numbers go in warprec-models-classic/README.md)::

    .venv/bin/python bench/bench_ease.py                       # 8,000 items
    .venv/bin/python bench/bench_ease.py --items 20000 --skip-myease

Each measurement runs in a fresh worker process on the same synthetic matrix (same
seed), alternating EASE and the bare factorisation so that machine noise hits both:

- ``ease``: ``warprec_models_classic.EASE(...)`` end to end (Gram matrix from the sparse
  input, float32 Cholesky inverse in place, symmetric fill, normalisation).
- ``bare``: ``scipy.linalg.lapack.spotrf`` + ``spotri`` (overwrite, no clean) of the
  same-size SPD matrix ``X^T X + l2 I``, built before the clock starts.
- ``myease``: the guide's ``MyEASE`` (``np.linalg.inv`` in float64).

Wall time swings with other jobs on a shared machine, so the report gives the fastest
run, the CPU time (``time.process_time``, all threads: less sensitive to waiting for a
core) and the ratio of each adjacent EASE/bare pair.

Peak memory is the growth of the worker's peak resident set (``VmHWM`` in
``/proc/self/status``, reset through ``/proc/self/clear_refs`` right before the timed
part) over its resident set at that point: it counts everything the fit allocates,
BLAS/LAPACK buffers included, but not the input, which already exists.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp


def synthetic_matrix(n_users: int, n_items: int, n_interactions: int, seed: int) -> sp.csr_matrix:
    """Binary user-item matrix with Zipf-like item popularity (exponent 0.8)."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    popularity /= popularity.sum()
    users = rng.integers(0, n_users, n_interactions)
    items = rng.permutation(n_items)[rng.choice(n_items, n_interactions, p=popularity)]
    X = sp.csr_matrix(
        (np.ones(n_interactions, dtype=np.float32), (users, items)), shape=(n_users, n_items)
    )
    X.data[:] = 1.0  # duplicates were summed
    return X


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> int:
    Path("/proc/self/clear_refs").write_text("5")
    return _rss_kib("VmRSS")


def worker(kind: str, args: argparse.Namespace) -> dict:
    """Time one fit of ``kind`` in this process; return seconds and memory growth."""
    from scipy.linalg import lapack
    from warprec.data.dataset import Interactions
    from warprec_models_classic.ease import EASE  # imported before the clock starts

    X = synthetic_matrix(args.users, args.items, args.interactions, args.seed)
    if kind == "bare":
        # C order, so that G.T is the Fortran array LAPACK overwrites without a copy.
        G = np.ascontiguousarray((X.T @ X).toarray())
        G.ravel()[:: args.items + 1] += args.l2
        G += 0.0  # fault every page in now, so the clock sees LAPACK only
    interactions = Interactions(*X.nonzero(), args.users, args.items)
    interactions.get_sparse()
    base = _reset_peak()
    start, cpu_start = time.perf_counter(), time.process_time()
    if kind == "ease":
        EASE({"l2": args.l2}, {"n_users": args.users, "n_items": args.items}, interactions)
    elif kind == "bare":
        factor, info = lapack.spotrf(G.T, lower=1, overwrite_a=1, clean=0)
        _, info = lapack.spotri(factor, lower=1, overwrite_c=1)
        assert info == 0
    else:
        _myease(args, interactions)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak = _rss_kib("VmHWM")
    return {
        "kind": kind,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_growth_bytes": (peak - base) * 1024,
    }


def _myease(args: argparse.Namespace, interactions: object) -> object:
    """The guide's MyEASE, verbatim (from the example script), fitted on ``interactions``."""
    from warprec.custom_modules import import_custom_modules
    from warprec.utils.registry import model_registry

    script = Path(__file__).resolve().parents[1] / "examples" / "custom_modules" / "my_models.py"
    (module,) = import_custom_modules([script.name], script.parent)
    my_ease = model_registry.get_class(f"{module}:MyEASE")
    return my_ease({"l2": args.l2}, {"n_users": args.users, "n_items": args.items}, interactions)


def _run(kind: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--worker", kind, *_forward(args)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _forward(args: argparse.Namespace) -> list[str]:
    return [
        f"--items={args.items}",
        f"--users={args.users}",
        f"--interactions={args.interactions}",
        f"--l2={args.l2}",
        f"--seed={args.seed}",
    ]


def main() -> None:
    """Parse arguments; run the workers and print a summary (or be one worker)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=8000)
    parser.add_argument("--users", type=int, default=None, help="default: 6 x items")
    parser.add_argument("--interactions", type=int, default=None, help="default: 150 x items")
    parser.add_argument("--l2", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-myease", action="store_true")
    parser.add_argument("--worker", choices=["ease", "bare", "myease"])
    args = parser.parse_args()
    args.users = args.users or 6 * args.items
    args.interactions = args.interactions or 150 * args.items
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return
    runs: dict[str, list[dict]] = {"ease": [], "bare": [], "myease": []}
    for _ in range(args.repeats):
        for kind in ("ease", "bare"):
            runs[kind].append(_run(kind, args))
    if not args.skip_myease:
        runs["myease"].append(_run("myease", args))
    _report(runs, args)


def _report(runs: dict[str, list[dict]], args: argparse.Namespace) -> None:
    n = args.items
    print(f"items={n} users={args.users} interactions~{args.interactions} l2={args.l2}")
    best = {kind: min(r["seconds"] for r in rs) for kind, rs in runs.items() if rs}
    cpu = {kind: min(r["cpu_seconds"] for r in rs) for kind, rs in runs.items() if rs}
    for kind, rs in runs.items():
        if not rs:
            continue
        times = [r["seconds"] for r in rs]
        memory = max(r["peak_growth_bytes"] for r in rs)
        print(
            f"{kind:7s} wall min {min(times):7.2f}s  median {statistics.median(times):7.2f}s  "
            f"cpu min {cpu[kind]:7.2f}s  "
            f"peak growth {memory / 2**20:8.1f} MiB = {memory / (4 * n * n):.2f} x n^2*4B"
        )
    pairs = [e["seconds"] / b["seconds"] for e, b in zip(runs["ease"], runs["bare"], strict=True)]
    print(
        f"EASE / bare potrf+potri: wall {best['ease'] / best['bare']:.2f}x (min over runs), "
        f"cpu {cpu['ease'] / cpu['bare']:.2f}x (min over runs), "
        f"wall per adjacent pair {' '.join(f'{p:.2f}' for p in pairs)}"
    )
    if "myease" in best:
        print(
            f"MyEASE / EASE: wall {best['myease'] / best['ease']:.2f}x, "
            f"cpu {cpu['myease'] / cpu['ease']:.2f}x"
        )


if __name__ == "__main__":
    main()
