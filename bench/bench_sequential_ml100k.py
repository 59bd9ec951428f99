"""Sequential models on MovieLens-100K under temporal leave-one-out: SASRec, gSASRec,
BERT4Rec, GRU4Rec and Caser next to Pop and EASE, nDCG@10 / Recall@10 and fit time.

    bash /work/shared/data/movielens-100k.sh        # prints the folder of ml-100k.tsv
    .venv/bin/python bench/bench_sequential_ml100k.py [--data DIR] [--threads 2]
        [--models SASRec,gSASRec,...] [--params '{"SASRec": {...}}'] [--max-epochs 200]

Protocol (the one of the SASRec paper): per user, by timestamp, the last interaction is
the test item and the one before it the validation item; users with fewer than three
interactions stay in training only. Each sequential model trains on the training part
with early stopping on validation nDCG@10 (checked every ``--eval-every`` epochs,
``--patience`` checks, best weights restored); then its histories are extended with the
validation item (``set_history``, no retraining) and it ranks every item for the test
item (items seen in train and validation masked). Pop and EASE are fitted on train +
validation (EASE's ``l2`` chosen on validation from a small grid). Fit time: the
training of the sequential models (validation checks included), the fit of Pop/EASE.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from warprec.data.dataset import Dataset, Sessions
from warprec.data.splitting import TemporalLeaveKOut
from warprec.evaluation import Evaluator
from warprec.recommenders.trainer import Trainer
from warprec.utils.registry import model_registry

SEQUENTIAL = ("SASRec", "gSASRec", "BERT4Rec", "GRU4Rec", "Caser")
EASE_L2 = (50.0, 100.0, 200.0, 500.0, 1000.0)


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="folder of ml-100k.tsv (default: run the download script)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", default="Pop,EASE," + ",".join(SEQUENTIAL))
    parser.add_argument("--params", default="{}",
                        help='JSON {"Model": {hyperparameters}} overriding the defaults')
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="cap on the epochs of every sequential model")
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args()


def load(folder: Path | None) -> pd.DataFrame:
    """MovieLens-100K as a frame of user_id, item_id, rating, timestamp."""
    if folder is None:
        out = subprocess.run(["bash", "/work/shared/data/movielens-100k.sh"], check=True,
                             capture_output=True, text=True).stdout
        folder = Path(out.strip().splitlines()[-1])
    return pd.read_csv(folder / "ml-100k.tsv", sep="\t")


def leave_one_out(frame: pd.DataFrame) -> Dataset:
    """Per user, by time: the last interaction for test, the one before for validation."""
    split = TemporalLeaveKOut(test_k=1, validation_k=1).split(frame)
    return Dataset(split.train, split.test, split.validation)


def full_history(dataset: Dataset) -> Sessions:
    """The train + validation histories, in time order."""
    both = dataset.train_validation
    return Sessions(both.users, both.items, dataset.n_users, dataset.n_items, both.timestamps)


def scores(evaluator: Evaluator, model: Any, dataset: Dataset, split: str) -> dict[str, float]:
    """nDCG@10 and Recall@10 of ``model`` on ``split``."""
    return {k: round(v, 4) for k, v in evaluator.evaluate(model, dataset, split).summary().items()}


def run_closed_form(name: str, params: dict, dataset: Dataset, evaluator: Evaluator
                    ) -> dict[str, Any]:
    """Pop or EASE: tune (EASE's l2) on validation, fit on train + validation, test."""
    cls = model_registry.get_class(name)
    chosen = dict(params)
    validation = None
    if name == "EASE" and "l2" not in params:
        best = None
        for l2 in EASE_L2:
            model = cls({**params, "l2": l2}, dataset.info(), dataset.train)
            value = scores(evaluator, model, dataset, "validation")["nDCG@10"]
            if best is None or value > best[0]:
                best = (value, l2)
        assert best is not None
        validation, chosen["l2"] = best
    started = time.perf_counter()
    model = cls(chosen, dataset.info(), dataset.train_validation)
    seconds = time.perf_counter() - started
    return {"params": chosen, "validation_nDCG@10": validation,
            "test": scores(evaluator, model, dataset, "test"), "fit_seconds": round(seconds, 2)}


def run_sequential(name: str, params: dict, dataset: Dataset, evaluator: Evaluator,
                   args: argparse.Namespace) -> dict[str, Any]:
    """Train with early stopping on validation, extend the histories, score test."""
    if args.max_epochs is not None:
        params = {"epochs": args.max_epochs, **params}
    model = model_registry.get(name, params, dataset.info(), seed=args.seed,
                               device=args.device)
    trainer = Trainer(model, dataset, evaluator, monitor="nDCG@10", eval_every=args.eval_every,
                      patience=args.patience, progress=False)
    history = trainer.fit()
    validation = scores(evaluator, model, dataset, "validation")["nDCG@10"]
    model.set_history(full_history(dataset))
    test = scores(evaluator, model, dataset, "test")
    return {"params": model.get_params(), "epochs_run": history.epochs_run,
            "best_epoch": history.best_epoch, "validation_nDCG@10": validation,
            "test": test, "fit_seconds": round(history.seconds, 1),
            "seconds_per_epoch": round(history.seconds / max(history.epochs_run, 1), 2)}


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    overrides = json.loads(args.params)
    dataset = leave_one_out(load(args.data))
    evaluator = Evaluator(metrics=["nDCG", "Recall"], top_k=[10])
    print(f"{dataset}; {args.threads} threads, torch {torch.__version__}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    results: dict[str, Any] = {}
    for name in [m for m in args.models.split(",") if m]:
        params = overrides.get(name, {})
        if name in SEQUENTIAL:
            result = run_sequential(name, params, dataset, evaluator, args)
        else:
            result = run_closed_form(name, params, dataset, evaluator)
        results[name] = result
        test = result["test"]
        extra = {k: v for k, v in result.items() if k not in ("test", "params")}
        print(f"{name:9s} nDCG@10 {test['nDCG@10']:.4f}  Recall@10 {test['Recall@10']:.4f}  "
              f"fit {result['fit_seconds']:7.1f} s  {json.dumps(extra)}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
