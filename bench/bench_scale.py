"""How each stage's time and memory grow with the data: synthetic interactions at 1 M,
3 M, 10 M and 30 M, read -> filter -> split -> each model's fit -> full-ranking evaluation.

    .venv/bin/python bench/bench_scale.py                       # 1M,3M,10M (2 threads)
    .venv/bin/python bench/bench_scale.py --sizes 30000000      # one more size
    .venv/bin/python bench/bench_scale.py --plot                # table + plot of the results

Data: ``warprec.data.synthetic`` with ``n`` interactions, ``50,000 (n / 1M)^0.6`` users
and ``20,000 (n / 1M)^0.3`` items (1 M: 50 k x 20 k; 10 M: 200 k x 40 k), written once
as a tab-separated file (not timed). Each size runs in a fresh child process, one stage
after another: ``read_interactions``; ``KCore(5)``; ``RandomHoldoutPerUser(0.2)`` and the
``Dataset``; the fits of ``Pop``, ``ItemKNN`` (cosine, k 100), ``EASE`` (only up to
``--ease-max-items`` items: its dense item x item matrix), ``iALS`` (64 factors, 15
iterations, 3 CG steps) and ``BPR`` ``kernel: compiled`` (5 epochs, after a warm-up fit
on tiny data so numba's per-process start-up is not charged to the size); the
full-ranking evaluation (nDCG@10, Recall@10, training items masked) of the iALS model
on the test users. Each stage's wall seconds and its peak resident memory (``VmHWM``,
reset at the stage's start by writing 5 to ``/proc/self/clear_refs``, so it is the
process's peak during that stage, live data of earlier stages included; the RSS at the
stage's start is stored too). Results are
appended to ``bench/scale_results.jsonl``; ``--plot`` writes ``bench/scale.png`` and
prints the markdown table with each stage's growth exponent (the least-squares slope of
log seconds on log interactions).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "scale_results.jsonl"
PLOT = HERE / "scale.png"


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,3000000,10000000")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ease-max-items", type=int, default=20_000)
    parser.add_argument("--bpr-epochs", type=int, default=5)
    parser.add_argument("--skip", default="",
                        help="comma-separated stages to leave out, e.g. 'fit iALS,evaluate'")
    parser.add_argument("--plot", action="store_true", help="table and plot of the results")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def shape_of(n: int) -> tuple[int, int]:
    """Users and items of the size ``n`` data."""
    scale = n / 1_000_000
    return int(50_000 * scale**0.6), int(20_000 * scale**0.3)


def peak_rss_mib() -> float:
    """The process's peak resident memory since the last reset (``VmHWM``), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stage(results: dict[str, Any], name: str, action: Callable[[], Any],
          skip: frozenset[str] = frozenset()) -> Any:
    """Run ``action`` as the stage ``name``: its seconds and peak RSS into ``results``
    (``None`` when ``name`` starts with one of ``skip``)."""
    if any(name.startswith(prefix) for prefix in skip):
        return None
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := current RSS
    start_mib = peak_rss_mib()
    started = time.perf_counter()
    value = action()
    results[name] = {"seconds": round(time.perf_counter() - started, 3),
                     "start_mib": round(start_mib, 1), "peak_mib": round(peak_rss_mib(), 1)}
    print(f"  {name}: {results[name]}", file=sys.stderr, flush=True)
    return value


def child(args: argparse.Namespace) -> None:
    """Every stage on the file ``args.child``; one JSON line on stdout."""
    import torch
    from warprec.data.dataset import Dataset
    from warprec.data.filtering import KCore, apply_filters
    from warprec.data.reader import read_interactions
    from warprec.data.splitting import RandomHoldoutPerUser
    from warprec.evaluation import Evaluator
    from warprec.recommenders.trainer import Trainer
    from warprec_models_classic.als import iALS
    from warprec_models_classic.baselines import Pop
    from warprec_models_classic.ease import EASE
    from warprec_models_classic.knn import ItemKNN
    from warprec_models_neural.bpr import BPR

    torch.set_num_threads(args.threads)
    results: dict[str, Any] = {}
    skip = frozenset(filter(None, args.skip.split(",")))
    read = stage(results, "read", lambda: read_interactions(args.child))
    frame = stage(results, "filter", lambda data=read.data: apply_filters(data, [KCore(5)]))
    del read  # each stage keeps only what the next ones need, as a run would

    def split(data: Any = frame) -> Dataset:
        parts = RandomHoldoutPerUser(test_ratio=0.2, seed=42).split(data)
        return Dataset(parts.train, parts.test, implicit=True)

    dataset = stage(results, "split", split)
    del frame, split
    info, train = dataset.info(), dataset.train
    stage(results, "fit Pop", lambda: Pop({}, info, train), skip)
    stage(results, "fit ItemKNN", lambda: ItemKNN({"k": 100}, info, train), skip)
    if dataset.n_items <= args.ease_max_items:
        stage(results, "fit EASE", lambda: EASE({}, info, train), skip)
    ials = stage(results, "fit iALS", lambda: iALS({}, info, train), skip)
    tiny = Dataset.from_dataframe(_tiny_frame(), RandomHoldoutPerUser(0.2, seed=0))
    warm = BPR({"kernel": "compiled"}, tiny.info())
    Trainer(warm, tiny, epochs=1, monitor="loss", progress=False).fit()

    def fit_bpr() -> None:
        model = BPR({"kernel": "compiled"}, info)
        Trainer(model, dataset, epochs=args.bpr_epochs, monitor="loss", restore_best=False,
                progress=False).fit()

    stage(results, "fit BPR (compiled)", fit_bpr, skip)
    evaluator = Evaluator(metrics=["nDCG", "Recall"], top_k=[10])
    if ials is not None:
        stage(results, "evaluate (full ranking)",
              lambda: evaluator.evaluate(ials, dataset, split="test"), skip)
    print(json.dumps({"interactions": len(train) + len(dataset.test), "users": dataset.n_users,
                      "items": dataset.n_items, "threads": args.threads, "stages": results}))


def _tiny_frame() -> Any:
    from warprec.data.synthetic import synthetic

    return synthetic(n_users=50, n_items=40, n_interactions=500, seed=1).drop(columns="rating")


def run_size(args: argparse.Namespace, n: int) -> dict[str, Any]:
    """Write the size ``n`` file, run the child on it, return its result."""
    from warprec.data.synthetic import synthetic

    users, items = shape_of(n)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "interactions.tsv"
        frame = synthetic(n_users=users, n_items=items, n_interactions=n, seed=0)
        frame.to_csv(path, sep="\t", index=False)
        del frame
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads),
               "OPENBLAS_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
        command = [sys.executable, __file__, "--child", str(path), "--threads",
                   str(args.threads), "--ease-max-items", str(args.ease_max_items),
                   "--bpr-epochs", str(args.bpr_epochs), "--skip", args.skip]
        done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"size": n, "load_average": os.getloadavg()[0], **result}


def exponent(sizes: list[float], values: list[float]) -> float:
    """Least-squares slope of ``log values`` on ``log sizes``."""
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def report() -> None:
    """The markdown table (seconds / peak MiB per stage and size, exponents) and the plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = {}
    for line in RESULTS.read_text().splitlines():
        run = json.loads(line)
        runs[run["size"]] = run  # the latest run of each size
    sizes = sorted(runs)
    stages = list(dict.fromkeys(name for n in sizes for name in runs[n]["stages"]))
    header = " | ".join(f"{n / 1e6:g} M" for n in sizes)
    print(f"| stage | {header} | time exponent | memory exponent |")
    print("|---|" + "---|" * (len(sizes) + 2))
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name in stages:
        have = [n for n in sizes if name in runs[n]["stages"]]
        seconds = [runs[n]["stages"][name]["seconds"] for n in have]
        peaks = [runs[n]["stages"][name]["peak_mib"] for n in have]
        cells = [f"{runs[n]['stages'][name]['seconds']:.2f} s / "
                 f"{runs[n]['stages'][name]['peak_mib']:,.0f} MiB"
                 if name in runs[n]["stages"] else "-" for n in sizes]
        slopes = ((f"{exponent(have, seconds):.2f}", f"{exponent(have, peaks):.2f}")
                  if len(have) > 1 else ("-", "-"))
        print(f"| {name} | {' | '.join(cells)} | {slopes[0]} | {slopes[1]} |")
        left.loglog(have, [max(s, 1e-3) for s in seconds], "o-", label=name)
        right.loglog(have, peaks, "o-", label=name)
    shapes = ", ".join(f"{n / 1e6:g} M: {runs[n]['users']:,} x {runs[n]['items']:,}"
                       for n in sizes)
    print(f"\nusers x items after the filter: {shapes}")
    left.set(xlabel="interactions", ylabel="seconds", title="time per stage")
    right.set(xlabel="interactions", ylabel="peak RSS (MiB)", title="peak memory per stage")
    left.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(PLOT, dpi=110)


def main() -> None:
    """Child, report, or run each size and append its result."""
    args = parse_args()
    if args.child:
        child(args)
        return
    if args.plot:
        report()
        return
    for n in (int(size) for size in args.sizes.split(",")):
        print(f"size {n:,} ({args.threads} threads)", file=sys.stderr, flush=True)
        result = run_size(args, n)
        result["skipped"] = args.skip
        with RESULTS.open("a") as out:
            out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    sys.exit(main())
