"""The feature-reading models side by side with WarpRec 2.2.8 on MovieLens-100K with
genres, same config and same split (run by hand; numbers go in the classic README).

    .venv/bin/python bench/bench_side_warprec.py --warprec-python /path/to/wr/bin/python

Needs WarpRec installed in a separate environment (``../shared/anchors/warprec.md``) and
MovieLens-100K (``bash ../shared/data/movielens-100k.sh``). The genres become a long
side file (``item_id genre``, one row per genre: WarpRec's multi-valued layout). Both
frameworks read one config: WarpRec through its design pipeline's steps (its reader,
dataset, models and evaluator), ours through ``warprec run``. Data is written to a
temporary folder only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA_SCRIPT = ROOT.parent / "shared" / "data" / "movielens-100k.sh"
MODELS = {
    "AttributeItemKNN": {"k": 100, "similarity": "cosine"},
    "AttributeUserKNN": {"k": 60, "similarity": "cosine", "user_profile": "tfidf"},
    "CEASE": {"l2": 500.0, "alpha": 1.0},
    "AddEASE": {"l2": 500.0, "alpha": 0.9},
    "VSM": {"similarity": "cosine", "user_profile": "tfidf", "item_profile": "tfidf"},
    "EASE": {"l2": 500.0},
}
METRICS = ["nDCG", "Recall", "SRecall"]

# The WarpRec side: its design pipeline's steps, printing {model: {metric: value}}.
WARPREC_SIDE = """
import json, sys
from warprec.common import initialize_datasets
from warprec.data.reader import ReaderFactory
from warprec.data.stash import MODEL_ARGUMENTS, check_stash
from warprec.data.timing import DataPreparationTimes
from warprec.evaluation import build_evaluator
from warprec.recommenders.reranking import build_reranker
from warprec.utils.callback import WarpRecCallback
from warprec.utils.config import load_design_configuration
from warprec.utils.helpers import build_evaluation_dataloader_kwargs, retrieve_evaluation_dataloader
from warprec.utils.registry import model_registry

config = load_design_configuration(sys.argv[1])
dataset, _, _ = initialize_datasets(reader=ReaderFactory.get_reader(config=config),
    callback=WarpRecCallback(), config=config, timings=DataPreparationTimes())
evaluator = build_evaluator(config.evaluation, dataset, build_reranker(config.rerank, dataset))
out = {"n_users": dataset.info()["n_users"], "n_items": dataset.info()["n_items"]}
for name, params in config.models.items():
    model = model_registry.get(name=name, params=params, interactions=dataset.train_set,
        transactions=dataset.train_transactions, knowledge=dataset.knowledge,
        multimodal=dataset.multimodal, sessions=dataset.train_session, seed=42,
        info=dataset.info(), **check_stash(dataset.get_stash(), MODEL_ARGUMENTS, "model"))
    loader = retrieve_evaluation_dataloader(dataset=dataset, model=model,
        strategy=config.evaluation.strategy, num_negatives=config.evaluation.num_negatives,
        seed=config.evaluation.seed, negative_sampling=config.evaluation.negative_sampling,
        neg_alpha=config.evaluation.neg_alpha,
        **build_evaluation_dataloader_kwargs(num_workers=0, device="cpu", reuse_loader=False))
    evaluator.evaluate(model=model, dataloader=loader, strategy=config.evaluation.strategy,
                       dataset=dataset, device="cpu", verbose=False)
    results = evaluator.compute_results()
    # Per-user values are averaged as WarpRec's own log does (nanmean).
    out[name] = {f"{metric}@{k}": float(value.nanmean()) if hasattr(value, "nanmean")
                 else float(value) for k, row in results.items()
                 for metric, value in row.items()}
print("RESULTS " + json.dumps(out))
"""


def prepare(folder: Path) -> Path:
    """Write the interactions, the long genre file and the config; return the config."""
    data = Path(subprocess.run(["bash", str(DATA_SCRIPT)], check=True, capture_output=True,
                               text=True).stdout.strip().splitlines()[-1])
    items = pd.read_csv(data / "ml-100k-items.tsv", sep="\t", dtype=str, keep_default_na=False)
    genres = items.assign(genre=items["genres"].str.split("|")).explode("genre")
    genres = genres[genres["genre"] != ""][["item_id", "genre"]]
    genres.to_csv(folder / "genres.tsv", sep="\t", index=False)
    config = {
        "reader": {"loading_strategy": "dataset", "data_type": "transaction",
                   "reading_method": "local", "local_path": str(data / "ml-100k.tsv"),
                   "rating_type": "implicit", "sep": "\t",
                   "side": {"local_path": str(folder / "genres.tsv"), "sep": "\t"}},
        "writer": {"dataset_name": "ml100k_side", "local_experiment_path": str(folder / "wr")},
        "splitter": {"test_splitting": {"strategy": "random_holdout", "ratio": 0.2,
                                        "seed": 42}},
        "evaluation": {"top_k": [10], "metrics": METRICS},
        "models": MODELS,
    }
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def warprec_side(python: str, config: Path) -> dict:
    done = subprocess.run([python, "-c", WARPREC_SIDE, str(config)], capture_output=True,
                          text=True, check=False)
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULTS ")]
    if done.returncode or not line:
        sys.exit(f"WarpRec failed:\n{done.stderr[-3000:]}")
    return json.loads(line[0].removeprefix("RESULTS "))


def our_side(config: Path, folder: Path) -> dict:
    run = folder / "ours"
    subprocess.run([sys.executable, "-c", "from warprec.cli import main; main()", "run",
                    str(config), "-o", str(run), "-q"], check=True)
    results = json.loads((run / "results.json").read_text())
    out = {"n_users": results["data"]["n_users"], "n_items": results["data"]["n_items"]}
    for model in results["models"]:
        out[model["model"]] = dict(model["test"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warprec-python", required=True,
                        help="the python of the environment WarpRec 2.2.8 is installed in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = prepare(folder)
        theirs = warprec_side(args.warprec_python, config)
        ours = our_side(config, folder)
    print(f"users/items: WarpRec {theirs['n_users']}/{theirs['n_items']}, "
          f"ours {ours['n_users']}/{ours['n_items']}")
    print(f"{'model':18} {'metric':12} {'WarpRec':>8} {'ours':>8}")
    for name in MODELS:
        for metric in (f"{m}@10" for m in METRICS):
            mine = ours.get(name, {}).get(metric)
            print(f"{name:18} {metric:12} {theirs.get(name, {}).get(metric, float('nan')):8.4f} "
                  f"{float('nan') if mine is None else mine:8.4f}")


if __name__ == "__main__":
    main()
