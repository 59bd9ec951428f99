"""FM side by side with WarpRec 2.2.8 on MovieLens-100K with genres, same config and same
split, over several model seeds, and BPR on the same split (run by hand; numbers go in
the neural README).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/bench_fm_warprec.py \
        --warprec-python /path/to/wr/bin/python --seeds 42 43 44 [--epochs 20]

Needs WarpRec installed in a separate environment (``../shared/anchors/warprec.md``) and
MovieLens-100K (``bash ../shared/data/movielens-100k.sh``). WarpRec's context-aware
models take one side row per item (they refuse the long layout), so the genres become a
wide side file: one ``yes``/``no`` column per genre, a categorical attribute each (one
feature per value in both frameworks). WarpRec's config layer refuses FM without
``context_labels``; its FM scores and trains without them (it reads the interaction
matrix and the item features), so the WarpRec side lifts that flag for the run. Both
read one config: WarpRec through its design pipeline's steps (reader, dataset, model,
Lightning trainer, evaluator), ours through ``warprec run --seed``. Data is written to a
temporary folder only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from warprec_models_neural.fm import FM as FMModel

ROOT = Path(__file__).resolve().parents[1]
DATA_SCRIPT = ROOT.parent / "shared" / "data" / "movielens-100k.sh"
FM = {"embedding_size": 64, "reg_weight": 1e-4, "batch_size": 2048, "learning_rate": 1e-3,
      "neg_samples": 2}
BPR = {"embedding_size": 64, "reg_weight": 1e-4, "batch_size": 2048, "learning_rate": 1e-3}
METRICS = ["nDCG", "Recall", "SRecall"]

# The WarpRec side: its design pipeline's steps, printing {metric: value} of FM.
WARPREC_SIDE = """
import json, sys
import lightning as L
import torch
from warprec.common import initialize_datasets
from warprec.data.reader import ReaderFactory
from warprec.data.timing import DataPreparationTimes
from warprec.evaluation import build_evaluator
from warprec.recommenders.reranking import build_reranker
from warprec.utils.callback import WarpRecCallback
from warprec.utils.config import load_design_configuration
from warprec.utils.helpers import build_evaluation_dataloader_kwargs, retrieve_evaluation_dataloader
from warprec.utils.registry import model_registry, params_registry

torch.set_num_threads(1)
params_registry.get_class("FM").need_context = False
config = load_design_configuration(sys.argv[1])
seed = int(sys.argv[2])
dataset, _, _ = initialize_datasets(reader=ReaderFactory.get_reader(config=config),
    callback=WarpRecCallback(), config=config, timings=DataPreparationTimes())
evaluator = build_evaluator(config.evaluation, dataset, build_reranker(config.rerank, dataset))
params = config.models["FM"]
model = model_registry.get(name="FM", params=params, interactions=dataset.train_set,
    transactions=dataset.train_transactions, sessions=dataset.train_session, seed=seed,
    info=dataset.info())
loader = model.get_dataloader(interactions=dataset.train_set, sessions=dataset.train_session,
                              seed=seed)
L.Trainer(max_epochs=model.epochs, accelerator="cpu", devices=1, logger=False,
          enable_checkpointing=False, enable_progress_bar=False,
          enable_model_summary=False).fit(model, train_dataloaders=loader)
model.eval()
evaluation = retrieve_evaluation_dataloader(dataset=dataset, model=model,
    strategy=config.evaluation.strategy, num_negatives=config.evaluation.num_negatives,
    seed=config.evaluation.seed, negative_sampling=config.evaluation.negative_sampling,
    neg_alpha=config.evaluation.neg_alpha,
    **build_evaluation_dataloader_kwargs(num_workers=0, device="cpu", reuse_loader=False))
evaluator.evaluate(model=model, dataloader=evaluation, strategy=config.evaluation.strategy,
                   dataset=dataset, device="cpu", verbose=False)
out = {f"{metric}@{k}": float(value.nanmean()) if hasattr(value, "nanmean") else float(value)
       for k, row in evaluator.compute_results().items() for metric, value in row.items()}
print("RESULTS " + json.dumps(out))
"""


def prepare(folder: Path, epochs: int) -> Path:
    """Write the wide genre file and the config; return the config."""
    data = Path(subprocess.run(["bash", str(DATA_SCRIPT)], check=True, capture_output=True,
                               text=True).stdout.strip().splitlines()[-1])
    items = pd.read_csv(data / "ml-100k-items.tsv", sep="\t", dtype=str, keep_default_na=False)
    genres = items["genres"].str.get_dummies("|")
    wide = genres.replace({1: "yes", 0: "no"}).add_prefix("genre_")
    wide.insert(0, "item_id", items["item_id"])
    wide.to_csv(folder / "genres.tsv", sep="\t", index=False)
    config = {
        # Ours: one torch thread (two are pathological for these small steps on a loaded
        # machine: the neural README's "Threads"); WarpRec's side sets its own.
        "general": {"threads": 1},
        "reader": {"loading_strategy": "dataset", "data_type": "transaction",
                   "reading_method": "local", "local_path": str(data / "ml-100k.tsv"),
                   "rating_type": "implicit", "sep": "\t",
                   "side": {"local_path": str(folder / "genres.tsv"), "sep": "\t"}},
        "writer": {"dataset_name": "ml100k_fm", "local_experiment_path": str(folder / "wr")},
        "splitter": {"test_splitting": {"strategy": "random_holdout", "ratio": 0.2,
                                        "seed": 42}},
        "evaluation": {"top_k": [10], "metrics": METRICS},
        "models": {"FM": {**FM, "epochs": epochs}, "BPR": {**BPR, "epochs": epochs}},
    }
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def warprec_fm(python: str, config: Path, seed: int) -> dict:
    done = subprocess.run([python, "-c", WARPREC_SIDE, str(config), str(seed)],
                          capture_output=True, text=True, check=False)
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULTS ")]
    if done.returncode or not line:
        sys.exit(f"WarpRec failed:\n{done.stderr[-3000:]}")
    return json.loads(line[0].removeprefix("RESULTS "))


def ours(config: Path, folder: Path, seed: int) -> dict:
    run = folder / f"ours-{seed}"
    subprocess.run([sys.executable, "-c", "from warprec.cli import main; main()", "run",
                    str(config), "-o", str(run), "-q", "--seed", str(seed)], check=True)
    results = json.loads((run / "results.json").read_text())
    return {model["model"]: dict(model["test"]) for model in results["models"]}


def spread(values: list[float]) -> str:
    deviation = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {deviation:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warprec-python", required=True,
                        help="the python of the environment WarpRec 2.2.8 is installed in")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--epochs", type=int, default=FMModel.epochs,
                        help="epochs of FM and BPR (default: FM's default epochs)")
    args = parser.parse_args()
    rows: dict[str, list[dict]] = {"FM WarpRec": [], "FM ours": [], "BPR ours": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = prepare(folder, args.epochs)
        for seed in args.seeds:
            rows["FM WarpRec"].append(warprec_fm(args.warprec_python, config, seed))
            mine = ours(config, folder, seed)
            rows["FM ours"].append(mine["FM"])
            rows["BPR ours"].append(mine["BPR"])
            print(f"seed {seed}: " + json.dumps({k: v[-1] for k, v in rows.items()}),
                  flush=True)
    print(f"{args.epochs} epochs, seeds {args.seeds} (mean ± stdev)")
    print(f"{'run':12} " + " ".join(f"{m + '@10':>16}" for m in METRICS))
    for name, results in rows.items():
        print(f"{name:12} " + " ".join(
            f"{spread([r[m + '@10'] for r in results]):>16}" for m in METRICS))


if __name__ == "__main__":
    main()
