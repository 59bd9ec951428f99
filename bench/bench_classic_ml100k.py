"""nDCG@10, Recall@10 and fit time of every classic model, with its defaults, on MovieLens-100K.

Run by hand (numbers go in warprec-models-classic/README.md)::

    bash /work/shared/data/movielens-100k.sh          # prints the folder holding ml-100k.tsv
    .venv/bin/python bench/bench_classic_ml100k.py --data <folder>/ml-100k.tsv
    .venv/bin/python bench/bench_classic_ml100k.py --data ... --models iALS SLIM
    .venv/bin/python bench/bench_classic_ml100k.py --data ... --validation \\
        --models iALS --params '{"factors": 128}'     # tune on a validation split, not on test

Every rating counts as an implicit interaction. The split is per user, random 80/20
(``RandomHoldout``, seed 42); ranking is over the full catalogue with each user's training
items masked. ``--validation`` carves 10% of each user's training rows out as a
validation split and reports on it (for choosing defaults without looking at test).
The fit time is the model's constructor (closed-form models fit there) in wall seconds;
the BLAS/OpenMP thread counts and the load average are printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

MODELS = (
    "EASE", "SANSA", "Slim", "ADMMSlim", "iALS", "iALS2008", "ItemKNN", "ItemKNNTD",
    "UserKNN", "UserKNNTD", "RP3beta", "Pop",
)


def _default_data() -> Path:
    return Path.home() / ".cache" / "warprec-data" / "ml-100k" / "ml-100k.tsv"


def _threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return ", ".join(f"{i['internal_api']}={i['num_threads']}" for i in threadpool_info())


def main() -> None:
    """Split MovieLens-100K once, fit each model with its defaults, print one row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=_default_data())
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--params", default="{}", help="JSON hyperparameters for every model")
    parser.add_argument("--validation", action="store_true",
                        help="report on a validation split of the training rows")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    import torch
    from warprec.data.dataset import Dataset
    from warprec.data.reader import read_interactions
    from warprec.data.splitting import RandomHoldout
    from warprec.evaluation.evaluator import Evaluator
    from warprec.recommenders.base_recommender import needs_interactions
    from warprec.utils.registry import model_registry

    frame = read_interactions(args.data).data
    split = RandomHoldout(
        test_ratio=0.2, validation_ratio=0.1 if args.validation else 0.0, seed=args.seed
    ).split(frame)
    dataset = Dataset(split.train, split.test, split.validation, implicit=True)
    which = "validation" if args.validation else "test"
    evaluator = Evaluator(metrics=("nDCG", "Recall"), top_k=[10], seed=args.seed)
    params = json.loads(args.params)
    print(f"MovieLens-100K: {dataset.n_users} users, {dataset.n_items} items, "
          f"{len(dataset.train)} training rows; reporting on {which}")
    print(f"threads: {_threads()}, torch={torch.get_num_threads()}; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'model':<10} {'nDCG@10':>8} {'Recall@10':>9} {'fit s':>7}")
    reference = None
    for name in args.models:
        cls = model_registry.get_class(name)
        positional = [dataset.train] if needs_interactions(cls) else []
        start = time.perf_counter()
        model = cls(dict(params), dataset.info(), *positional, seed=args.seed)
        fit = time.perf_counter() - start
        values = evaluator.evaluate(model, dataset, which).values
        ndcg = values["nDCG@10"]
        if name == "EASE":
            reference = ndcg
        share = f"  ({ndcg / reference:.0%} of EASE)" if reference and name != "EASE" else ""
        print(f"{name:<10} {ndcg:8.4f} {values['Recall@10']:9.4f} {fit:7.2f}{share}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
