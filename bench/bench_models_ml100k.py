"""Every registered model with its defaults on MovieLens-100K: nDCG@10 / Recall@10, fit
time (wall and process CPU) and threads, written into the package READMEs.

    bash /work/shared/data/movielens-100k.sh           # prints the folder of ml-100k.tsv
    .venv/bin/python bench/bench_models_ml100k.py [--models EASE,BPR] [--skip SASRec]
        [--kind general|sequential|all] [--threads 2] [--time-limit 900] [--max-epochs N]
        [--params '{"BPR": {...}}'] [--validation with|without|both]
        [--split-seeds 20240514,20240515,20240516] [--write-readmes]

Models: every name of the model registry (the core's and every plugin's, Pop and Random
included), one run per model class; models that need a hyperparameter without a default
(``ProxyRecommender``) are listed as skipped. Models deriving from
``warprec_models_neural._sequential.SequentialRecommender`` are *sequential*; all others
*general*.

Splits (made once from a seed written here, saved under ``--work`` as pre-split files
with their SHA-256, and read by every run through ``reader.loading_strategy: split``):

- general: per user, a random 20% of the interactions for test and 10% of the remaining
  for validation (``RandomHoldoutPerUser(0.2, 0.1, seed=SPLIT_SEED)``).
- sequential: temporal leave-one-out (``TemporalLeaveKOut(1, 1)``): each user's last
  interaction is the test item, the one before it the validation item. Pop and EASE
  run on it too, as references.

``--validation without`` splits the same test rows (the first draw of the seed) but keeps
no validation part (train is the whole 80%): iterative models train for their default
epochs, no early stopping, no refit (what a user without a validation split gets).
``--split-seeds`` runs every general model on the split of each seed; the
``<!-- bench_models_ml100k:<package>:seeds -->`` table gives, per model and mode, the
mean nDCG@10 over the seeds, its spread (standard deviation, min-max) and the ratio to
EASE on the same splits. The sequential split is temporal (no seed): it runs only with
validation on the first seed.

Each model runs in its own process (``--time-limit`` bounds it) through
``warprec.experiment.run_experiment``: an iterative model trains on the training part
with ``early_stopping`` on validation nDCG@10 (checked every epoch, ``--patience``
checks; the best epoch's weights restored); then, on the general split, it is refitted
on train + validation for its best epoch count (``optimization.refit``; the refit keeps
its last weights, as the trainer does when it monitors the loss: see
``warprec.recommenders.trainer``), as every general model is, so all general models
are tested after fitting on the same 80%. The
sequential models are not refitted: they score test after reading the validation item
as history (the runner's ``set_history``). Test: full ranking over every item, training
(and validation) items masked. ``general.threads`` = ``--threads`` bounds torch's and
the BLAS pools.

Fit time is the fit that produced the tested model (the refit where there is one: the
training epochs only, no validation checks), in wall seconds and in process CPU
seconds (all threads). On a machine shared with other jobs the wall time grows with the
load average, which is printed and stored with every row; compare CPU times and the
ratios to EASE measured in the same run.

``--write-readmes`` replaces the tables between the markers
``<!-- bench_models_ml100k:<package>:<kind> -->`` and ``<!-- /bench_models_ml100k -->``
of each package README (added at the end when missing) from the results cache
(``--work``/results.json: rerunning some models updates their rows only).
``--anchor`` also fits EASE ``l2`` 500 on WarpRec's own ``random_holdout`` 0.2 (seed
42, the same rows as WarpRec 2.2.8's: ``bench_split_parity.py``), where WarpRec itself
measured nDCG@10 0.4430, Recall@10 0.2399.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml100k_readme import write_readmes

ROOT = Path(__file__).resolve().parents[1]
SPLIT_SEED = 20240514
"""Seed of the per-user random split (fixed: the saved split is the benchmark's)."""
MODEL_SEED = 42
TEST_RATIO, VALIDATION_RATIO = 0.2, 0.1
DATA_SCRIPT = "/work/shared/data/movielens-100k.sh"
RESULT_TAG = "BENCH-RESULT "
VARIANTS = {"SASRec (BCE, 1 negative)": ("SASRec", {"neg_samples": 1})}
"""Rows run beside the defaults: SASRec's sampled BCE (the paper's loss) next to its
default full softmax."""


@dataclass
class ModelInfo:
    """A registered model as the benchmark runs it."""

    name: str
    provider: str
    kind: str  # "general" or "sequential"
    iterative: bool
    defaults: dict[str, Any]
    skip: str | None = None
    label: str = ""
    fixed: dict[str, Any] | None = None
    """Overrides of a variant row (``VARIANTS``)."""

    @property
    def key(self) -> str:
        """The row's name: the model's, or the variant's label."""
        return self.label or self.name


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="folder of ml-100k.tsv (default: what the data script prints)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "ml100k",
                        help="split files, run folders and the results cache (git-ignored)")
    parser.add_argument("--models", default="",
                        help="comma-separated names (default: every registered model)")
    parser.add_argument("--skip", default="", help="comma-separated names not to run")
    parser.add_argument("--kind", choices=["general", "sequential", "all"], default="all")
    parser.add_argument("--threads", type=int, default=2, help="general.threads of each run")
    parser.add_argument("--time-limit", type=float, default=1800.0,
                        help="seconds one model's process may take (then it is stopped)")
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="cap on every iterative model's epochs (recorded in the rows)")
    parser.add_argument("--patience", type=int, default=20,
                        help="validation checks without improvement before stopping")
    parser.add_argument("--params", default="{}",
                        help='JSON {"Model": {hyperparameters}} replacing defaults (the rows '
                        "then show them)")
    parser.add_argument("--validation", choices=["with", "without", "both"], default="with",
                        help="general split with a validation part (early stopping and refit),"
                        " without (train/test: default epochs), or both")
    parser.add_argument("--split-seeds", default=str(SPLIT_SEED),
                        help="comma-separated seeds of the general split (one run each)")
    parser.add_argument("--anchor", action="store_true",
                        help="also EASE l2 500 on WarpRec's random_holdout 0.2 (seed 42)")
    parser.add_argument("--list", action="store_true", help="list the models and stop")
    parser.add_argument("--write-readmes", action="store_true",
                        help="write the tables into the package READMEs")
    parser.add_argument("--readme-blocks", default="general,seeds,sequential",
                        help="which README tables --write-readmes replaces (a table is "
                        "made from the cached rows only: keep the others when the cache "
                        "lacks their rows)")
    parser.add_argument("--readmes-only", action="store_true",
                        help="run nothing; write the READMEs from the results cache")
    parser.add_argument("--no-variants", action="store_true",
                        help=f"skip the extra rows ({', '.join(VARIANTS)})")
    parser.add_argument("--worker", nargs=4, metavar=("KIND", "MODEL", "SEED", "VALIDATION"),
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------- models and splits


def discover() -> list[ModelInfo]:
    """Every registered model class once (first name wins), classified."""
    from warprec.recommenders.base_recommender import IterativeRecommender, hyperparameters
    from warprec.utils.registry import model_registry

    try:
        from warprec_models_neural._sequential import SequentialRecommender
    except ImportError:  # the neural plugin is not installed: nothing is sequential
        SequentialRecommender = ()  # type: ignore[assignment,misc]
    seen: set[type] = set()
    found = []
    for entry in sorted(model_registry.entries(), key=lambda e: e.name.lower()):
        cls = entry.load()
        if cls in seen:
            continue
        seen.add(cls)
        described = hyperparameters(cls)
        defaults = {k: v["default"] for k, v in described.items() if "default" in v}
        missing = [k for k, v in described.items() if "default" not in v]
        sequential = bool(SequentialRecommender) and issubclass(cls, SequentialRecommender)
        found.append(ModelInfo(
            name=entry.name, provider=entry.source.name,
            kind="sequential" if sequential else "general",
            iterative=issubclass(cls, IterativeRecommender), defaults=defaults,
            skip=f"needs {', '.join(missing)} (no default)" if missing else None))
    return found


def find(models: list[ModelInfo], key: str) -> ModelInfo:
    """The model (or variant row) called ``key``."""
    for info in models:
        if info.name == key:
            return info
    name, fixed = VARIANTS[key]
    base = find(models, name)
    return ModelInfo(base.name, base.provider, base.kind, base.iterative,
                     {**base.defaults, **fixed}, label=key, fixed=fixed)


def data_folder(given: Path | None) -> Path:
    """The folder holding ml-100k.tsv."""
    if given is not None:
        return given
    out = subprocess.run(["bash", DATA_SCRIPT], check=True, capture_output=True,
                         text=True).stdout
    return Path(out.strip().splitlines()[-1])


@dataclass(frozen=True)
class Setting:
    """One split a run reads: its kind, the seed of the general split and whether it
    keeps a validation part."""

    kind: str  # "general", "sequential" or "anchor"
    seed: int = SPLIT_SEED
    validation: bool = True

    @property
    def folder(self) -> str:
        """The split's folder under ``--work``/splits (the first seed with validation:
        the kind's name, as before seeds existed)."""
        if self.kind != "general" or (self.seed == SPLIT_SEED and self.validation):
            return self.kind
        return f"general-{self.seed}" + ("" if self.validation else "-noval")

    @property
    def key(self) -> str:
        """The results cache's key prefix of its rows."""
        return self.folder


def make_splits(data: Path, work: Path, settings: list[Setting]) -> dict[str, Any]:
    """Write the splits of ``settings`` (each once) and return the manifest (sizes,
    SHA-256 per split folder)."""
    manifest_path = work / "splits" / "manifest.json"
    manifest: dict[str, Any] = (json.loads(manifest_path.read_text())
                                if manifest_path.exists() else
                                {"source": str(data / "ml-100k.tsv"),
                                 "split_seed": SPLIT_SEED})
    missing = [s for s in settings if s.kind != "anchor" and s.folder not in manifest]
    if not missing:
        return manifest
    import pandas as pd
    from warprec.data.splitting import RandomHoldoutPerUser, TemporalLeaveKOut

    frame = pd.read_csv(data / "ml-100k.tsv", sep="\t")
    for setting in missing:
        splitter = (TemporalLeaveKOut(test_k=1, validation_k=1)
                    if setting.kind == "sequential" else
                    RandomHoldoutPerUser(TEST_RATIO,
                                         VALIDATION_RATIO if setting.validation else 0.0,
                                         seed=setting.seed))
        manifest[setting.folder] = write_split(splitter.split(frame),
                                               work / "splits" / setting.folder)
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return manifest


def write_split(split: Any, folder: Path) -> dict[str, Any]:
    """Save a split's parts as TSV files (no validation file when it has none)."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    sizes = {}
    for part in ("train", "validation", "test"):
        rows = getattr(split, part)
        if rows is None:
            continue
        path = folder / f"{part}.tsv"
        rows.to_csv(path, sep="\t", index=False)
        digest.update(path.read_bytes())
        sizes[part] = len(rows)
    return {"sizes": sizes, "sha256": digest.hexdigest()[:16]}


# ---------------------------------------------------------------- one model (worker)


def experiment_config(info: ModelInfo, setting: Setting, args: argparse.Namespace,
                      params: dict[str, Any], data: Path) -> dict[str, Any]:
    """The run's config mapping (what a YAML file would hold)."""
    kind = setting.kind
    block: dict[str, Any] = dict(params)
    if args.max_epochs is not None and info.iterative:
        block["epochs"] = min(args.max_epochs, int(params.get("epochs",
                                                              info.defaults.get("epochs", 1))))
    if info.iterative and setting.validation:
        block["early_stopping"] = {"monitor": "score", "patience": args.patience}
    # General split: every model is tested after fitting on train + validation.
    # Sequential: the models read the validation item as history instead (no refit).
    # Without validation there is nothing to refit on.
    block["optimization"] = {"refit": setting.validation and (
        kind != "sequential" or not info.iterative)}
    if kind == "anchor":
        reader = {"local_path": str(data / "ml-100k.tsv"), "rating_type": "implicit"}
        splitter = {"test_splitting": {"strategy": "random_holdout", "ratio": 0.2, "seed": 42},
                    "validation_splitting": None}
        block["optimization"] = {}
    else:
        reader = {"loading_strategy": "split", "rating_type": "implicit",
                  "split": {"local_path": str(args.work / "splits" / setting.folder),
                            "ext": ".tsv",
                            "sep": "\t", "header": True}}
        splitter = {}
    return {
        "reader": reader, "splitter": splitter, "models": {info.name: block},
        "evaluation": {"top_k": [10], "metrics": ["nDCG", "Recall"],
                       "validation_metric": "nDCG@10"},
        "writer": {"dataset_name": "ml100k", "local_experiment_path": str(args.work / "runs")},
        "general": {"device": "cpu", "seed": MODEL_SEED, "threads": args.threads},
    }


def worker(setting: Setting, name: str, args: argparse.Namespace) -> None:
    """Run one model in this process and print its result line."""
    kind = setting.kind
    from warprec.experiment import run as run_module
    from warprec.experiment import trials
    from warprec.recommenders.trainer import Trainer

    info = find(discover(), name)
    params = {**json.loads(args.params).get(info.name, {}), **(info.fixed or {})}
    if kind == "anchor":  # WarpRec's measured setting, whatever EASE's default
        params = {"l2": 500.0}
    fits: list[dict[str, Any]] = []
    histories: list[Any] = []
    fit_model = trials.fit_model
    trainer_fit = Trainer.fit

    def timed_fit(*a: Any, **kw: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        model, fit = fit_model(*a, **kw)
        fits.append({"split": kw.get("split"), "wall": time.perf_counter() - wall,
                     "cpu": time.process_time() - cpu, **fit})
        return model, fit

    def recorded_fit(self: Trainer) -> Any:
        history = trainer_fit(self)
        histories.append(history)
        return history

    # Measured from outside the framework: the fit's process CPU time (all threads) and
    # the validation curve of each training run.
    trials.fit_model = timed_fit  # type: ignore[assignment]
    Trainer.fit = recorded_fit  # type: ignore[method-assign]
    config = experiment_config(info, setting, args, params, data_folder(args.data))
    load = os.getloadavg()[0]
    folder = args.work / "runs" / f"{setting.key}-{name}"
    shutil.rmtree(folder, ignore_errors=True)  # the run wants an empty or absent folder
    outcome = run_module.run_experiment(config, folder, quiet=True)
    entry = outcome.models[0]
    curve = []
    if histories:
        curve = [round(v.get("nDCG@10", float("nan")), 4) for v in histories[0].validation]
    result = {
        "model": info.key, "kind": kind, "provider": info.provider, "iterative": info.iterative,
        "split_seed": setting.seed, "validation_split": setting.validation,
        "params": {**info.defaults, **entry["params"]}, "overrides": params,
        "max_epochs": args.max_epochs if info.iterative else None,
        "test": entry["test"], "validation": entry["validation"],
        "fit_wall": round(fits[-1]["wall"], 3), "fit_cpu": round(fits[-1]["cpu"], 3),
        "epochs": fits[-1].get("epochs"),
        "selection": ({"epochs_run": histories[0].epochs_run,
                       "best_epoch": histories[0].best_epoch,
                       "stopped_early": histories[0].stopped_early,
                       "wall": round(fits[0]["wall"], 2), "cpu": round(fits[0]["cpu"], 2),
                       "curve": curve} if histories else None),
        "threads": outcome.data.get("threads"), "load": round(load, 1),
        "load_after": round(os.getloadavg()[0], 1), "date": dt.date.today().isoformat(),
    }
    print(RESULT_TAG + json.dumps(result), flush=True)


# ---------------------------------------------------------------- driver


def run_one(setting: Setting, info: ModelInfo, args: argparse.Namespace) -> dict[str, Any]:
    """One model in a child process (bounded by ``--time-limit``)."""
    kind = setting.kind
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, info.key,
               str(setting.seed), str(int(setting.validation)),
               "--work", str(args.work), "--threads", str(args.threads),
               "--patience", str(args.patience), "--params", args.params]
    if args.data is not None:
        command += ["--data", str(args.data)]
    if args.max_epochs is not None:
        command += ["--max-epochs", str(args.max_epochs)]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    base = {"model": info.key, "kind": kind, "provider": info.provider, "load": round(load, 1),
            "date": dt.date.today().isoformat(), "threads": args.threads,
            "params": info.defaults, "iterative": info.iterative,
            "split_seed": setting.seed, "validation_split": setting.validation}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.time_limit,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {**base, "error": f"stopped at the time limit ({args.time_limit:.0f} s)"}
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            result = json.loads(line[len(RESULT_TAG):])
            result["process_wall"] = round(time.perf_counter() - started, 1)
            return result
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
    return {**base, "error": f"failed: {tail[0][:200]}"}


def show(result: dict[str, Any]) -> str:
    """One printed line."""
    if "error" in result:
        return f"{result['kind']:10s} {result['model']:10s} {result['error']}"
    where = f"{result['kind']}:{result.get('split_seed', SPLIT_SEED)}" + (
        "" if result.get("validation_split", True) else ":noval")
    test = result["test"]
    selection = result.get("selection") or {}
    epochs = (f" epochs {selection.get('best_epoch')}/{selection.get('epochs_run')}"
              if selection else "")
    return (f"{where:22s} {result['model']:10s} nDCG@10 {test['nDCG@10']:.4f} "
            f"Recall@10 {test['Recall@10']:.4f} fit {result['fit_wall']:.2f} s wall "
            f"{result['fit_cpu']:.2f} s CPU{epochs} load {result['load']}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.work = args.work.resolve()
    if args.worker:
        kind, name, seed, validation = args.worker
        worker(Setting(kind, int(seed), validation == "1"), name, args)
        return
    cache_path = args.work / "results.json"
    models = discover()
    if args.list:
        for m in models:
            print(f"{m.name:18s} {m.provider:24s} {m.kind:10s} "
                  f"{'iterative' if m.iterative else 'closed-form'} {m.skip or ''}")
        return
    args.work.mkdir(parents=True, exist_ok=True)
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    if not args.readmes_only:
        data = data_folder(args.data)
        args.data = data
        chosen = {n.lower() for n in args.models.split(",") if n}
        skipped = {n.lower() for n in args.skip.split(",") if n}
        jobs = plan_jobs(models, chosen, skipped, args)
        manifest = make_splits(data, args.work, [setting for setting, _ in jobs])
        cache["_splits"] = manifest
        print(f"{len(jobs)} runs, {args.threads} threads, load average "
              f"{os.getloadavg()[0]:.1f}; splits {json.dumps(manifest)}", flush=True)
        for setting, info in jobs:
            result = run_one(setting, info, args)
            # Re-read first: another run of this script (say, the sequential models) may
            # have added rows meanwhile.
            if cache_path.exists():
                cache = {**json.loads(cache_path.read_text()), "_splits": manifest}
            previous = cache.get(f"{setting.key}:{info.key}")
            if "error" in result and previous and "error" not in previous:
                # A rerun that failed or hit the time limit keeps the measured row
                # (its date and settings are in the row); the failure is printed.
                print(f"{show(result)} (the row of {previous.get('date')} is kept)")
                continue
            cache[f"{setting.key}:{info.key}"] = result
            cache_path.write_text(json.dumps(cache, indent=2))
            print(show(result), flush=True)
    if args.write_readmes or args.readmes_only:
        write_readmes(cache, [m.name for m in models], VARIANTS,
                      set(args.readme_blocks.split(",")))


def general_settings(args: argparse.Namespace) -> list[Setting]:
    """The general splits asked for: each seed, with and/or without validation."""
    modes = {"with": [True], "without": [False], "both": [True, False]}[args.validation]
    seeds = [int(seed) for seed in args.split_seeds.split(",") if seed]
    return [Setting("general", seed, validation) for seed in seeds for validation in modes]


def plan_jobs(models: list[ModelInfo], chosen: set[str], skipped: set[str],
              args: argparse.Namespace) -> list[tuple[Setting, ModelInfo]]:
    """(split, model) pairs to run: general models on each general split (seed by seed,
    EASE first: the reference of each), sequential ones (and Pop and EASE as references)
    on the leave-one-out split."""
    wanted = [info for info in models if not info.skip and info.name.lower() not in skipped
              and (not chosen or info.name.lower() in chosen)]
    wanted.sort(key=lambda info: info.name != "EASE")
    jobs: list[tuple[Setting, ModelInfo]] = []
    if args.kind in ("general", "all"):
        jobs += [(setting, info) for setting in general_settings(args) for info in wanted
                 if info.kind == "general"]
    sequential = Setting("sequential")
    if args.kind in ("sequential", "all") and args.validation != "without":
        jobs += [(sequential, info) for info in wanted
                 if info.kind == "sequential" or info.name in ("Pop", "EASE")]
        if not args.no_variants:
            for label, (name, _) in VARIANTS.items():
                if name in {info.name for info in wanted} or label.lower() in chosen:
                    jobs.append((sequential, find(models, label)))
    if args.anchor:
        ease = next(m for m in models if m.name == "EASE")
        jobs.append((Setting("anchor"), ease))
    return jobs


if __name__ == "__main__":
    main()
