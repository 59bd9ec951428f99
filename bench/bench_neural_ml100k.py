"""Accuracy and fit time of the neural models with their defaults on MovieLens-100K,
next to EASE (the bar: nDCG@10 >= 90% of EASE's) in the same run.

    .venv/bin/python bench/bench_neural_ml100k.py [--threads 2] [--models EASE,NeuMF,...]
        [--params '{"NGCF": {"epochs": 50}}'] [--curve 5] [--json out.json]

Data: ``ml-100k.tsv`` (``bash /work/shared/data/movielens-100k.sh`` prints its folder;
or ``--data``), every rating an implicit interaction, a per-user random 80/20
``RandomHoldout`` (seed 42), no validation part. Every model is trained with its
defaults (``--params`` overrides) through the core ``Trainer`` with ``monitor="loss"``
(what a config without ``early_stopping`` does), then scored by the core ``Evaluator``:
full ranking over all items, training items masked. Fit time is the constructor plus
the training (the closed-form EASE fits in its constructor), without the ``--curve``
evaluations. ``--curve N`` also prints the test nDCG@10 at N evenly spaced epochs (the
last one included), to show where training peaks (it reads the test split: a diagnostic
of the defaults, not a tuning protocol).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
from warprec.data.dataset import Dataset
from warprec.data.reader import read_interactions
from warprec.data.splitting import RandomHoldout
from warprec.evaluation import Evaluator
from warprec.recommenders.base_recommender import IterativeRecommender, needs_interactions
from warprec.recommenders.trainer import Trainer
from warprec.utils.registry import model_registry

DEFAULT_MODELS = "EASE,NeuMF,MultiDAE,CDAE,NGCF,SimGCL"
METRICS = ("nDCG@10", "Recall@10")


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="folder holding ml-100k.tsv")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--params", default="{}",
                        help='JSON {"Model": {hyperparameters}} overriding the defaults')
    parser.add_argument("--curve", type=int, default=0,
                        help="also print test nDCG@10 at N evenly spaced epochs (0: only at "
                             "the end)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args()


def load(folder: Path | None, seed: int) -> Dataset:
    """The per-user random 80/20 split of MovieLens-100K (all ratings as interactions)."""
    if folder is None:
        script = "/work/shared/data/movielens-100k.sh"
        folder = Path(subprocess.run(["bash", script], check=True, capture_output=True,
                                     text=True).stdout.strip().splitlines()[-1])
    frame = read_interactions(folder / "ml-100k.tsv", implicit=True).data
    return Dataset.from_dataframe(frame, RandomHoldout(0.2, seed=seed), implicit=True)


def scores(model: Any, dataset: Dataset) -> dict[str, float]:
    """Full-ranking test metrics of ``model`` (training items masked)."""
    evaluator = Evaluator(metrics=["nDCG", "Recall"], top_k=[10])
    summary = evaluator.evaluate(model, dataset, split="test").summary()
    return {key: round(float(summary[key]), 4) for key in METRICS}


def run(name: str, params: dict[str, Any], dataset: Dataset, args: argparse.Namespace
        ) -> dict[str, Any]:
    """Build and train one model with its defaults (plus ``params``); its metrics."""
    cls = model_registry.get_class(name)
    extra = [dataset.train] if needs_interactions(cls) else []
    curve: list[tuple[int, float]] = []
    paused = 0.0
    started = time.perf_counter()
    model = cls(dict(params), dataset.info(), *extra, seed=args.seed, device=args.device)
    epochs = None
    if isinstance(model, IterativeRecommender):
        if args.curve:
            hook = model.on_epoch_end
            every = max(1, -(-model.epochs // args.curve))  # ceil: at most N points

            def on_epoch_end(epoch: int) -> None:
                nonlocal paused
                hook(epoch)
                if epoch % every == 0 or epoch == model.epochs:
                    begin = time.perf_counter()
                    curve.append((epoch, scores(model, dataset)["nDCG@10"]))
                    print(f"  {name} epoch {epoch}: nDCG@10 {curve[-1][1]}", flush=True)
                    model.train()
                    paused += time.perf_counter() - begin

            model.on_epoch_end = on_epoch_end  # type: ignore[method-assign]
        history = Trainer(model, dataset, monitor="loss", progress=False).fit()
        epochs = history.epochs_run
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started - paused
    result = {"params": model.get_params(), "epochs": epochs, "fit_s": round(seconds, 1),
              **scores(model, dataset)}
    if curve:
        result["curve"] = curve
    return result


def main() -> None:
    """Run every model, print the table (and the ratio to EASE), optionally write JSON."""
    args = parse_args()
    torch.set_num_threads(args.threads)
    dataset = load(args.data, args.seed)
    overrides = json.loads(args.params)
    load_avg = os.getloadavg()[0]
    print(f"data: {dataset.n_users} users x {dataset.n_items} items, "
          f"{len(dataset.train)} train / {len(dataset.test)} test; "
          f"torch.set_num_threads({args.threads}), device={args.device}, "
          f"torch {torch.__version__}, load average {load_avg:.1f}", flush=True)
    results = {}
    for name in args.models.split(","):
        results[name] = run(name, overrides.get(name, {}), dataset, args)
        print(name, json.dumps(results[name]), flush=True)
    base = results.get("EASE", {}).get("nDCG@10")
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    print(f"| model | nDCG@10 | Recall@10 | vs EASE | epochs | fit s ({args.threads} threads) |")
    print("|---|---|---|---|---|---|")
    for name, result in results.items():
        ratio = f"{result['nDCG@10'] / base:.0%}" if base else "-"
        print(f"| `{name}` | {result['nDCG@10']:.4f} | {result['Recall@10']:.4f} | {ratio} | "
              f"{result['epochs'] or '-'} | {result['fit_s']} |")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json),
                                                               "data": str(args.data)},
                                         "results": results}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
