"""SANSA on a catalogue where EASE cannot run: fit time, peak memory and a quality check.

Run by hand (numbers go in warprec-models-classic/README.md)::

    .venv/bin/python bench/bench_sansa.py                       # 200,000+ items in training
    .venv/bin/python bench/bench_sansa.py --items 8000 --users 48000 --interactions 1200000 \\
        --with-ease                                             # side by side with EASE

The data is ``warprec.data.synthetic.synthetic`` (a topic model with Zipf popularity, so
co-occurrence carries signal), split per user 80/20 at random. EASE's dense float32
``n x n`` matrix alone is ``4 n^2`` bytes: 149 GiB at 200,000 items, so EASE cannot run
on a 24 GB machine; ``--with-ease`` runs it too (small catalogues only). Peak memory is
the growth of this process's peak resident set (``VmHWM``, reset through
``/proc/self/clear_refs`` just before the fit) over its resident set at that point.
The quality check ranks the full catalogue for ``--eval-users`` test users, training
items masked, against Pop and ItemKNN fitted on the same data.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_ease import _reset_peak, _rss_kib


def main() -> None:
    """Build the data, fit SANSA (and the baselines), print time, memory and nDCG@10."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=400_000)
    parser.add_argument("--users", type=int, default=300_000)
    parser.add_argument("--interactions", type=int, default=3_000_000)
    parser.add_argument("--l2", type=float, default=20.0)
    parser.add_argument("--target-density", type=float, default=1e-4)
    parser.add_argument("--eval-users", type=int, default=3000)
    parser.add_argument("--with-ease", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from warprec.data.dataset import Dataset
    from warprec.data.splitting import RandomHoldout
    from warprec.data.synthetic import synthetic
    from warprec.evaluation.evaluator import Evaluator
    from warprec_models_classic.baselines import Pop
    from warprec_models_classic.ease import EASE
    from warprec_models_classic.knn import ItemKNN
    from warprec_models_classic.sansa import SANSA

    frame = synthetic(n_users=args.users, n_items=args.items, n_interactions=args.interactions,
                      seed=args.seed)
    split = RandomHoldout(test_ratio=0.2, seed=args.seed).split(frame)
    test = split.test[split.test["user_id"] <= args.eval_users]  # ids are 1..n_users
    dataset = Dataset(split.train, test, implicit=True)
    n = dataset.n_items
    print(f"{dataset.n_users} users, {n} items, {len(dataset.train)} training interactions; "
          f"EASE's dense matrix would be {4 * n * n / 2**30:.1f} GiB")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    evaluator = Evaluator(metrics=("nDCG", "Recall"), top_k=[10])
    runs = [("SANSA", SANSA, {"l2": args.l2, "target_density": args.target_density}),
            ("ItemKNN", ItemKNN, {"k": 100}), ("Pop", Pop, {})]
    if args.with_ease:
        runs.insert(1, ("EASE", EASE, {"l2": args.l2}))
    print(f"{'model':<8} {'fit s':>8} {'peak MiB':>9} {'nDCG@10':>8} {'Recall@10':>9}")
    for name, cls, params in runs:
        base = _reset_peak()
        start = time.perf_counter()
        model = cls(params, dataset.info(), dataset.train)
        fit = time.perf_counter() - start
        peak = (_rss_kib("VmHWM") - base) / 1024
        values = evaluator.evaluate(model, dataset, "test").values
        extra = ""
        if name == "SANSA":
            nnz = model.encoder.nnz + model.decoder.nnz
            extra = f"  factors: {nnz:,} non-zeros ({nnz / n:.0f} per item)"
        print(f"{name:<8} {fit:8.1f} {peak:9.0f} {values['nDCG@10']:8.4f} "
              f"{values['Recall@10']:9.4f}{extra}", flush=True)
        del model
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
