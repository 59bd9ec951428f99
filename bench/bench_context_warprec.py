"""WarpRec's context config (``test_context.yml``) side by side with WarpRec 2.2.8 on
Frappe-style data built from MovieLens-100K (``bench/frappe_like.py``), over several model
seeds (run by hand; numbers go in ``warprec-models-neural/README.md``).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/bench_context_warprec.py \\
        --warprec /path/to/wr/bin/warprec --model FM --seeds 42 43 44 --epochs 3

Both frameworks read one config: WarpRec's ``test_context.yml`` (its AFM block swapped
for ``--model`` with WarpRec's hyperparameter names, the seed in
``optimization.properties.seed``), ours through ``warprec run``, WarpRec's through its
design pipeline (``-p design``). Evaluation is WarpRec's sampled contextual protocol
(each test row against 99 negatives, under the row's context). Data and runs are
written to a temporary folder only.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from frappe_like import frappe_like, movielens  # noqa: E402

CONFIG = ROOT / "examples" / "frappe_context.yaml"  # WarpRec's test_context.yml
PARAMS = {
    "FM": {"embedding_size": 16, "reg_weight": 0.001, "batch_size": 2048,
           "learning_rate": 0.001, "neg_samples": 2},
    "AFM": {"embedding_size": 16, "attention_size": 16, "dropout": 0.3, "reg_weight": 0.001,
            "weight_decay": 0.0001, "batch_size": 2048, "learning_rate": 0.001,
            "neg_samples": 2},
}
ROW = re.compile(r"\| Top@(\d+)\s+\|\s+([\d.]+)\s+\|\s+([\d.]+)\s+\|\s+([\d.]+)\s+\|\s+([\d.]+)")
METRICS = ("nDCG", "Precision", "Recall", "HitRate")


def config(base: dict, model: str, seed: int, epochs: int, out: str) -> dict:
    run = dict(base)
    params = {**PARAMS[model], "epochs": epochs,
              "optimization": {"properties": {"seed": seed}}}
    run["models"] = {model: params}
    run["writer"] = {**base["writer"], "local_experiment_path": out}
    return run


def ours(path: Path, out: Path) -> dict[str, float]:
    subprocess.run([str(ROOT / ".venv" / "bin" / "warprec"), "run", str(path), "-o", str(out),
                    "-q"], check=True, cwd=path.parent)
    (model,) = json.loads((out / "results.json").read_text())["models"]
    return model["test"]


def theirs(warprec: str, path: Path) -> dict[str, float]:
    log = subprocess.run([warprec, "-c", str(path), "-p", "design"], check=True,
                         cwd=path.parent, capture_output=True, text=True)
    values = {}
    for k, *numbers in ROW.findall(log.stdout + log.stderr):
        for metric, number in zip(METRICS, numbers, strict=True):
            values[f"{metric}@{k}"] = float(number)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warprec", help="WarpRec 2.2.8's warprec executable")
    parser.add_argument("--model", default="FM", choices=sorted(PARAMS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--config", type=Path, default=CONFIG)
    args = parser.parse_args()
    base = yaml.safe_load(args.config.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        train, test = frappe_like(movielens())
        (folder / "data" / "frappe").mkdir(parents=True)
        for name, part in (("train", train), ("test", test)):
            part.to_csv(folder / "data" / "frappe" / f"{name}.csv", sep="\t", index=False)
        results: dict[str, list[dict[str, float]]] = {"ours": [], "WarpRec 2.2.8": []}
        for seed in args.seeds:
            path = folder / f"{args.model}_{seed}.yml"
            run = config(base, args.model, seed, args.epochs, f"experiment/{seed}/")
            path.write_text(yaml.safe_dump(run, sort_keys=False))
            results["ours"].append(ours(path, folder / f"ours_{seed}"))
            if args.warprec:
                results["WarpRec 2.2.8"].append(theirs(args.warprec, path))
            print(seed, {side: values[-1] for side, values in results.items() if values},
                  flush=True)
    keys = [f"{m}@{k}" for k in (10, 20, 50) for m in ("nDCG", "Recall")]
    print(f"| {args.model}, {args.epochs} epochs, seeds {args.seeds} | "
          + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for side, values in results.items():
        if values:
            cells = [f"{statistics.mean(v[k] for v in values):.4f} ± "
                     f"{statistics.pstdev(v[k] for v in values):.4f}" for k in keys]
            print(f"| {side} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
