"""The models that read item features beside their collaborative counterparts on
MovieLens-100K with its genres, on a warm split and on an item cold-start split
(``item_cold_start``); nDCG@10 / Recall@10 into the package READMEs.

    bash /work/shared/data/movielens-100k.sh       # prints the folder of ml-100k.tsv
    .venv/bin/python bench/bench_side_ml100k.py [--split-seeds 20240514,20240515]
        [--splits warm,cold] [--threads 1] [--epochs 10] [--models DeepFM,WideAndDeep]
        [--only FM,BPR] [--json out.json]
    .venv/bin/python bench/bench_side_ml100k.py --tables out.json [more.json ...]
    .venv/bin/python bench/bench_side_ml100k.py --write-readmes out.json [more.json ...]

Data: the interactions as implicit feedback; the genres of ``ml-100k-items.tsv``
(``Action|Comedy``: a multi-valued categorical attribute, ``list_sep`` ``|``) are the item
features. The user table (age, gender, occupation) is not read: none of these models
takes user attributes, in WarpRec 2.2.8 either (its side information describes items).

Splits, one of each kind in ``--splits`` per seed of ``--split-seeds``:

- warm: per user, a random 20% of the interactions for test
  (``RandomHoldoutPerUser(0.2)``), no validation.
- cold: every interaction of a random 20% of the items for test
  (``ItemColdStart(0.2)``, WarpRec's ``item_cold_start``); the held-out items stay in the
  catalogue and training never meets them, not even as negatives.

Each model is fitted once per split with the hyperparameters of :data:`MODELS` (defaults
except the epochs of the iterative models, ``--epochs``: fast settings, no early
stopping; ``--epochs 0``: the defaults) and evaluated with full ranking over every
item, training items masked. On the cold split it is evaluated twice: over the whole
catalogue (what a model meets in use: the cold items compete with the warm ones) and
over the held-out items alone (the warm items' scores set to ``-inf``; WarpRec's
``evaluation.candidates: cold``), where only the order of the cold items counts.

:data:`MODELS` lists every model in one place with the counterpart it is compared with;
``--models`` adds registered models by name (e.g. the context-aware DeepFM, WideAndDeep,
AFM, xDeepFM, DCN, DCNv2 once installed) with BPR as counterpart and their defaults.
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

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
DATA_SCRIPT = ROOT.parent / "shared" / "data" / "movielens-100k.sh"
SPLIT_SEED = 20240514
METRICS = ["nDCG", "Recall"]
TOP_K = 10

# Model -> (hyperparameters, the model it is compared with, kind). Kinds: "hybrid" (reads
# interactions and features), "content" (features only, beside ItemKNN and Pop),
# "collaborative" (the counterparts). Iterative models get --epochs.
MODELS: dict[str, tuple[dict[str, Any], str | None, str]] = {
    "CEASE": ({}, "EASE", "hybrid"),
    "AddEASE": ({}, "EASE", "hybrid"),
    "FM": ({}, "BPR", "hybrid"),
    "NFM": ({}, "BPR", "hybrid"),
    "AttributeItemKNN": ({}, "ItemKNN", "content"),
    "AttributeUserKNN": ({}, "ItemKNN", "content"),
    "VSM": ({}, "ItemKNN", "content"),
    "EASE": ({}, None, "collaborative"),
    "BPR": ({}, None, "collaborative"),
    "ItemKNN": ({}, None, "collaborative"),
    "Pop": ({}, None, "collaborative"),
    "Random": ({}, None, "collaborative"),
}


def data_folder() -> Path:
    done = subprocess.run(["bash", str(DATA_SCRIPT)], check=True, capture_output=True,
                          text=True)
    return Path(done.stdout.strip().splitlines()[-1])


def load(folder: Path) -> tuple[pd.DataFrame, Any]:
    """The implicit interactions and the checked genre side information."""
    from warprec.data.side import side_information

    frame = pd.read_csv(folder / "ml-100k.tsv", sep="\t")[["user_id", "item_id", "timestamp"]]
    items = pd.read_csv(folder / "ml-100k-items.tsv", sep="\t", keep_default_na=False)
    genres = items[["item_id", "genres"]].replace("", None).dropna()
    genres.index = pd.RangeIndex(2, 2 + len(genres))
    side = side_information(genres, frame["item_id"].dtype, "ml-100k-items.tsv", list_sep="|")
    return frame, side


def dataset_of(frame: pd.DataFrame, side: Any, splitter: Any) -> Any:
    """Split, keep the items with genres, attach the feature matrix."""
    from warprec.data.dataset import Dataset

    split = splitter.split(frame)
    report: dict[str, int] = {}
    parts = side.restrict({"train": split.train, "test": split.test}, "item_id", report)
    dataset = Dataset(parts["train"], parts["test"], implicit=True, report=report,
                      cold_start=getattr(splitter, "holds_out", None))
    dataset.set_item_features(*side.matrix(dataset.item_ids))
    return dataset


def fit(name: str, params: dict[str, Any], dataset: Any, epochs: int) -> tuple[Any, float]:
    from warprec.recommenders.base_recommender import IterativeRecommender, needs_interactions
    from warprec.recommenders.trainer import Trainer
    from warprec.utils.registry import model_registry

    cls = model_registry.get_class(name)
    if issubclass(cls, IterativeRecommender) and epochs:
        params = {"epochs": epochs, **params}
    start = time.process_time()
    args = [dataset.train] if needs_interactions(cls) else []
    model = cls(dict(params), dataset.info(), *args, seed=42)
    if isinstance(model, IterativeRecommender):
        Trainer(model, dataset, progress=False).fit()
    return model, time.process_time() - start


def cold_only(model: Any, cold: np.ndarray) -> None:
    """Make ``model`` rank the ``cold`` items alone: every other item scores ``-inf``."""
    predict = model.predict
    warm = torch.ones(model.n_items, dtype=torch.bool)
    warm[torch.from_numpy(cold)] = False

    def masked(user_indices: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        scores = predict(user_indices, *args, **kwargs)
        if kwargs.get("item_indices") is not None:
            raise NotImplementedError("full ranking only")
        return scores.masked_fill(warm.to(scores.device), float("-inf"))

    model.predict = masked


def evaluate(model: Any, dataset: Any) -> dict[str, float]:
    from warprec.evaluation import Evaluator

    result = Evaluator(metrics=METRICS, top_k=[TOP_K]).evaluate(model, dataset, split="test")
    return {key: round(float(value), 4) for key, value in result.summary().items()}


def run_split(kind: str, dataset: Any, names: list[str], epochs: int) -> dict[str, Any]:
    held = np.unique(dataset.test.items)
    trained = np.asarray(dataset.train.get_sparse().sum(axis=0)).ravel() > 0
    cold = held[~trained[held]]
    rows = {}
    for name in names:
        params = MODELS[name][0]
        model, cpu = fit(name, params, dataset, epochs)
        row = {"full": evaluate(model, dataset), "cpu_s": round(cpu, 1)}
        if kind == "cold":
            cold_only(model, cold)
            row["cold_only"] = evaluate(model, dataset)
        print(f"  {kind} {name}: {row}", flush=True)
        rows[name] = row
    return {"n_users": dataset.n_users, "n_items": dataset.n_items,
            "n_train": len(dataset.train), "n_test": len(dataset.test),
            "n_cold_items": int(cold.size), "models": rows}


# README -> the models of its tables (between <!-- bench_side_ml100k:<key> --> and
# <!-- /bench_side_ml100k -->); "*": the models --models added (the neural package's
# context-aware models).
READMES = {
    "classic": ("warprec-models-classic/README.md",
                ["CEASE", "AddEASE", "AttributeItemKNN", "AttributeUserKNN", "VSM", "EASE",
                 "ItemKNN", "Pop", "Random"]),
    "neural": ("warprec-models-neural/README.md", ["FM", "NFM", "*", "BPR", "Pop", "Random"]),
}


def write_readmes(paths: list[Path]) -> None:
    """Replace the tables between each README's markers."""
    for key, (readme, names) in READMES.items():
        path = ROOT / readme
        text = path.read_text()
        start, end = f"<!-- bench_side_ml100k:{key} -->", "<!-- /bench_side_ml100k -->"
        head, rest = text.split(start, 1)
        body = tables(paths, names)
        path.write_text(f"{head}{start}\n{body}\n{end}{rest.split(end, 1)[1]}")
        print(f"written {readme}")


def tables(paths: list[Path], only: list[str] | None = None) -> str:
    """Markdown tables of result files: per model and split kind, the mean nDCG@10 and
    Recall@10 over the split seeds (± standard deviation when there are several), the
    number of seeds in the heading."""
    values: dict[tuple[str, str, str], list[float]] = {}
    seeds: set[int] = set()
    for path in paths:
        for split in json.loads(path.read_text())["splits"]:
            seeds.add(split["seed"])
            for name, row in split["models"].items():
                for ranking in ("full", "cold_only"):
                    for metric, value in row.get(ranking, {}).items():
                        values.setdefault((split["kind"], name, f"{ranking} {metric}"),
                                          []).append(value)

    def cell(kind: str, name: str, column: str) -> str:
        got = values.get((kind, name, column))
        if not got:
            return "-"
        spread = f" ± {np.std(got, ddof=1):.4f}" if len(got) > 1 else ""
        return f"{np.mean(got):.4f}{spread}"

    names = list(dict.fromkeys(name for _, name, _ in values))
    if only is not None:
        added = [n for n in names if n not in MODELS] if "*" in only else []
        at = only.index("*") if "*" in only else len(only)
        order = [*only[:at], *added, *only[at + 1:]]
        names = [n for n in order if n in names]
    warm = ["| model | kind | compared with | nDCG@10 | Recall@10 |", "|---|---|---|---|---|"]
    cold = ["| model | nDCG@10, all items | Recall@10, all items | nDCG@10, cold items "
            "only | Recall@10, cold items only |", "|---|---|---|---|---|"]
    for name in names:
        _, counterpart, kind = MODELS.get(name, ({}, "BPR", "hybrid"))
        warm.append(f"| {name} | {kind} | {counterpart or '-'} | "
                    f"{cell('warm', name, 'full nDCG@10')} | "
                    f"{cell('warm', name, 'full Recall@10')} |")
        cold.append(f"| {name} | " + " | ".join(
            cell("cold", name, f"{ranking} {metric}") for ranking in ("full", "cold_only")
            for metric in ("nDCG@10", "Recall@10")) + " |")
    over = f"mean ± standard deviation over {len(seeds)} split seeds" if len(seeds) > 1 \
        else "one split seed"
    return "\n".join([f"Warm split ({over}):", "", *warm, "",
                      f"Item cold-start split ({over}):", "", *cold])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split-seeds", default=str(SPLIT_SEED), help="comma-separated")
    parser.add_argument("--splits", default="warm,cold", help="warm, cold or both")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=10,
                        help="of the iterative models (0: their defaults)")
    parser.add_argument("--models", default="", help="more registered models, by name")
    parser.add_argument("--only", default="", help="run these of MODELS only")
    parser.add_argument("--json", type=Path, default=Path("side_ml100k.json"))
    parser.add_argument("--tables", type=Path, nargs="+",
                        help="print the markdown tables of these result files and stop")
    parser.add_argument("--write-readmes", type=Path, nargs="+",
                        help="write the tables of these result files into the READMEs")
    args = parser.parse_args()
    if args.tables:
        print(tables(args.tables))
        return
    if args.write_readmes:
        write_readmes(args.write_readmes)
        return

    from warprec.data.splitting import ItemColdStart, RandomHoldoutPerUser
    from warprec.utils.registry import model_registry
    from warprec.utils.threads import thread_limit

    for extra in filter(None, args.models.split(",")):
        if extra not in model_registry.names():
            sys.exit(f"--models: {extra!r} is not a registered model")
        MODELS[extra] = ({}, "BPR", "hybrid")
    names = [n for n in MODELS if not args.only or n in args.only.split(",")]
    frame, side = load(data_folder())
    results: dict[str, Any] = {"epochs": args.epochs, "threads": args.threads,
                               "load": os.getloadavg()[0], "splits": []}
    with thread_limit(args.threads):
        for seed in map(int, args.split_seeds.split(",")):
            splitters = {"warm": RandomHoldoutPerUser(0.2, seed=seed),
                         "cold": ItemColdStart(0.2, seed=seed)}
            for kind in args.splits.split(","):
                splitter = splitters[kind]
                print(f"{kind} split, seed {seed}", flush=True)
                dataset = dataset_of(frame, side, splitter)
                results["splits"].append({"kind": kind, "seed": seed,
                                          **run_split(kind, dataset, names, args.epochs)})
    args.json.write_text(json.dumps(results, indent=1))
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
