"""WarpRec's context-aware models (FM, NFM, AFM, DeepFM, WideAndDeep, DCN, DCNv2,
xDeepFM) beside BPR on MovieLens-100K with genres, one config, one split, one model seed
(run by hand; numbers go in the neural README).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/bench_context_ml100k.py \
        --epochs 5 --models FM AFM DeepFM

The genres are the wide side file of ``bench/bench_fm_warprec.py`` (one ``yes``/``no``
column per genre: 19 categorical attributes, so 19 item fields beside user and item),
the split ``random_holdout`` 0.2 seed 42, full ranking. Each model runs with its
defaults except ``epochs`` (``--epochs``); BPR with all of its defaults (its sparse
kernel makes its default epochs cheap). Each model is its own ``warprec run`` in a temporary
folder; the table gives nDCG@10, Recall@10 and the fit time (training and the final
evaluation) on this machine.
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
MODELS = ["BPR", "FM", "NFM", "AFM", "DeepFM", "WideAndDeep", "DCN", "DCNv2", "xDeepFM"]
METRICS = ["nDCG", "Recall"]


def write_genres(folder: Path) -> Path:
    """The interactions' folder; writes the wide genre side file into ``folder``."""
    data = Path(subprocess.run(["bash", str(DATA_SCRIPT)], check=True, capture_output=True,
                               text=True).stdout.strip().splitlines()[-1])
    items = pd.read_csv(data / "ml-100k-items.tsv", sep="\t", dtype=str, keep_default_na=False)
    wide = items["genres"].str.get_dummies("|").replace({1: "yes", 0: "no"})
    wide = wide.add_prefix("genre_")
    wide.insert(0, "item_id", items["item_id"])
    wide.to_csv(folder / "genres.tsv", sep="\t", index=False)
    return data


def config(data: Path, folder: Path, model: str, epochs: int) -> Path:
    params: dict = {} if model == "BPR" else {"epochs": epochs}
    path = folder / f"{model}.yml"
    path.write_text(yaml.safe_dump({
        "reader": {"loading_strategy": "dataset", "local_path": str(data / "ml-100k.tsv"),
                   "rating_type": "implicit", "sep": "\t",
                   "side": {"local_path": str(folder / "genres.tsv"), "sep": "\t"}},
        "splitter": {"test_splitting": {"strategy": "random_holdout", "ratio": 0.2,
                                        "seed": 42}},
        "general": {"threads": 1},  # two threads collapse when other jobs share the cores
        "evaluation": {"top_k": [10], "metrics": METRICS},
        "models": {model: params},
    }, sort_keys=False))
    return path


def run(path: Path, folder: Path, seed: int) -> dict:
    out = folder / f"run-{path.stem}"
    subprocess.run([sys.executable, "-c", "from warprec.cli import main; main()", "run",
                    str(path), "-o", str(out), "-q", "--seed", str(seed)], check=True,
                   stdout=subprocess.DEVNULL)
    entry = json.loads((out / "results.json").read_text())["models"][0]
    return {**entry["test"], "fit_seconds": entry["fit_seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = write_genres(folder)
        print(f"{args.epochs} epochs, seed {args.seed}")
        print(f"{'model':12} " + " ".join(f"{m + '@10':>10}" for m in METRICS) + "  fit s")
        for model in args.models:
            result = run(config(data, folder, model, args.epochs), folder, args.seed)
            print(f"{model:12} " + " ".join(f"{result[m + '@10']:10.4f}" for m in METRICS)
                  + f"  {result['fit_seconds']:.0f}", flush=True)


if __name__ == "__main__":
    main()
