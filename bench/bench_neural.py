"""Epoch times of the graph and sequential models (LightGCN, SASRec, MultVAE) on the
BPR benchmark's synthetic data, trained through the core Trainer.

    .venv/bin/python bench/bench_neural.py [--epochs 1] [--device cpu] [--models ...]

Data: ``warprec.data.synthetic`` (1,000,000 interactions, 50,000 users, 20,000 items by
default, with timestamps), a per-user temporal 80/20 holdout. Reported: seconds per
epoch (the data loader included) and training samples per second, where a sample is a
training interaction (BPR triple for LightGCN, predicted next item for SASRec) or a user
row (MultVAE). Optionally nDCG@10 on the held-out part after the timed epochs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
from warprec.data.dataset import Dataset
from warprec.data.splitting import TemporalHoldout
from warprec.data.synthetic import synthetic
from warprec.evaluation import Evaluator
from warprec.recommenders.trainer import Trainer
from warprec.utils.registry import model_registry

DEFAULT_MODELS = "LightGCN,SASRec,MultVAE"


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--params", default="{}",
                        help='JSON {"Model": {hyperparameters}} overriding the defaults')
    parser.add_argument("--evaluate", action="store_true", help="nDCG@10 after training")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args()


def samples_per_epoch(name: str, dataset: Dataset) -> int:
    """What one epoch of the model goes through (see the module docstring)."""
    if name == "MultVAE":
        return dataset.n_users
    if name == "SASRec":
        return len(dataset.train) - int((dataset.train_sessions.lengths > 0).sum())
    return len(dataset.train)


def run(name: str, params: dict[str, Any], dataset: Dataset, args: argparse.Namespace
        ) -> dict[str, Any]:
    """Train one model for ``args.epochs`` epochs; its timing (and nDCG@10)."""
    model = model_registry.get(name, {**params, "epochs": args.epochs}, dataset.info(),
                               device=args.device)
    started = time.perf_counter()
    history = Trainer(model, dataset, monitor="loss", progress=False).fit()
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    result = {"params": model.get_params(), "epochs": history.epochs_run,
              "seconds_per_epoch": round(seconds / history.epochs_run, 2),
              "samples_per_s": round(samples_per_epoch(name, dataset) * history.epochs_run
                                     / seconds),
              "losses": [round(loss, 4) for loss in history.losses]}
    if args.evaluate:
        evaluator = Evaluator(metrics=["nDCG"], top_k=[10])
        result["nDCG@10"] = round(evaluator.evaluate(model, dataset, "test").summary()
                                  ["nDCG@10"], 4)
    return result


def main() -> None:
    """Run every model, print the table, optionally write JSON."""
    args = parse_args()
    torch.set_num_threads(args.threads)
    frame = synthetic(n_users=args.users, n_items=args.items,
                      n_interactions=args.interactions, seed=0).drop(columns="rating")
    dataset = Dataset.from_dataframe(frame, TemporalHoldout(0.2))
    overrides = json.loads(args.params)
    print(f"data: {dataset}, threads={args.threads}, device={args.device}, "
          f"torch {torch.__version__}", flush=True)
    results = {}
    for name in args.models.split(","):
        results[name] = run(name, overrides.get(name, {}), dataset, args)
        print(name, results[name], flush=True)
    print(f"\n{'model':<10} {'s/epoch':>9} {'samples/s':>11}")
    for name, result in results.items():
        print(f"{name:<10} {result['seconds_per_epoch']:>9} {result['samples_per_s']:>11,}")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "results": results}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
