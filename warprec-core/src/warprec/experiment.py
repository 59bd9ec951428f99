"""The experiment pipeline a configuration drives (``warprec run``).

config -> custom modules -> reader -> filters -> splitter -> :class:`Dataset` -> for each
model, for each trial of its search space: build, fit, evaluate on validation -> the best
trial (by the validation metric) evaluated on test, after a refit on train+validation
when asked -> results table, ``results.json``/``results.tsv``, recommendations,
checkpoints, the resolved ``config.yaml`` and ``run.log`` in a new run folder.

``results.json`` is rewritten after every model, so a run that is interrupted or whose
model fails keeps what finished; the failure is recorded in the model's entry. With
``general.backend: ray`` the trials of a search run on Ray Tune (:mod:`.ray_backend`).
"""

from __future__ import annotations

import inspect
import json
import logging
import platform
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from warprec.config import FILTER_ALIASES, Config, load_config, model_params
from warprec.errors import ConfigError, DataError, WarpRecError
from warprec.io_formats import recommendation_frame, write_split_part, write_table
from warprec.output import RunFolder, format_table, results_rows, safe_name
from warprec.report import TESTS, significance
from warprec.search import expand

__all__ = ["ExperimentResults", "check_config", "run_experiment"]

logger = logging.getLogger("warprec")

# Config strategy -> (splitter registry name, {config key: constructor argument}).
_SPLITTERS: dict[str, tuple[str, dict[str, str]]] = {
    "random_holdout": ("RandomHoldout", {"ratio": "test_ratio", "seed": "seed"}),
    "random_holdout_per_user": ("RandomHoldoutPerUser", {"ratio": "test_ratio", "seed": "seed"}),
    "temporal_holdout": ("TemporalHoldout", {"ratio": "test_ratio"}),
    "random_leave_k_out": ("RandomLeaveKOut", {"k": "test_k", "seed": "seed"}),
    "temporal_leave_k_out": ("TemporalLeaveKOut", {"k": "test_k"}),
    "timestamp_slicing": ("TimestampSlicing", {"timestamp": "test_timestamp"}),
}
_GENERIC_SPLITTER_ARGS = {"ratio": "test_ratio", "k": "test_k", "timestamp": "test_timestamp",
                          "folds": "k", "seed": "seed"}


@dataclass
class ExperimentResults:
    """What :func:`run_experiment` returns: the run folder and the ``results.json`` data."""

    path: Path
    data: dict[str, Any]

    @property
    def models(self) -> list[dict[str, Any]]:
        """One entry per model: ``model``, ``params``, ``validation``, ``test``, ``trials``..."""
        return self.data["models"]

    def __getitem__(self, model: str) -> dict[str, Any]:
        for entry in self.models:
            if entry["model"].lower() == model.lower():
                return entry
        raise KeyError(model)

    def table(self, split: str = "test") -> str:
        """The results table (one row per model, metrics as columns) as text."""
        return format_table(*results_rows(self.models, split))


@dataclass
class _Plan:
    """One configured model: its class, its config and the parameters of every trial."""

    name: str
    cls: type
    config: dict[str, Any]
    trials: list[dict[str, Any]]
    progress: bool | None = None  # per-epoch progress bar: None = when on a terminal


@dataclass
class _Data:
    """The datasets of a run: ``main`` holds train/(validation)/test; ``validation`` the
    datasets whose validation split scores the trials (one per fold for k-fold)."""

    main: Any
    validation: list[Any]
    frames: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    refit_required: bool = False


def check_config(
    source: str | Path | Mapping[str, Any], *, overrides: Mapping[str, Any] | None = None
) -> tuple[Config, dict[str, int]]:
    """Validate a configuration without running it.

    Imports the custom modules and the configured model classes (to check their
    hyperparameter names). Returns the config and the number of trials per model.
    """
    config = load_config(source, overrides=overrides)
    plans, _ = _prepare(config)
    return config, {name: len(plan.trials) for name, plan in plans.items()}


def run_experiment(
    config: str | Path | Mapping[str, Any],
    output: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    quiet: bool = False,
    raise_on_failure: bool = True,
) -> ExperimentResults:
    """Run the experiment of a YAML file or a config mapping; return its results.

    Args:
        config: a path to a YAML file or a mapping with the same layout.
        output: write the run into exactly this folder (empty or absent) instead of a
            new ``<local_experiment_path>/<dataset_name>/<run id>/``.
        overrides: dotted key paths to replace (``{"general.seed": 7}``).
        quiet: log warnings only (no progress) on stderr; ``run.log`` gets everything.
        raise_on_failure: after writing the results, re-raise the first model failure
            (the other models' results are kept on disk either way).

    Raises:
        ConfigError, DataError: invalid configuration or data (nothing is trained).
        KeyboardInterrupt: after writing the results of the models that finished.
    """
    cfg = load_config(config, overrides=overrides)
    plans, evaluator = _prepare(cfg)
    for plan in plans.values():
        plan.progress = False if quiet else None
    writer = cfg["writer"]
    with _logging(quiet) as attach_log:
        for warning in cfg.warnings:
            logger.warning("Warning: %s", warning)
        data = _load_data(cfg)
        _check_search_needs_validation(plans, data)
        # Created once config and data are known good, so a fix-and-rerun can reuse --output.
        folder = RunFolder.create(writer["local_experiment_path"], writer["dataset_name"],
                                  output)
        attach_log(folder)
        logger.info("Run folder: %s", folder.path)
        folder.write_text("config.yaml", _resolved_yaml(cfg, plans))
        if writer["save_split"]:
            _save_split(folder, data.frames, cfg)
        results = _run_models(cfg, plans, data, folder, evaluator)
        logger.debug("Results (test):\n%s", format_table(*results_rows(results["models"])))
    outcome = ExperimentResults(folder.path, results)
    failure = results.pop("_failure", None)
    if failure is not None and raise_on_failure:
        raise failure
    return outcome


# ---------------------------------------------------------------------------- planning


def _prepare(cfg: Config) -> tuple[dict[str, _Plan], Any]:
    """Plans of every model and the evaluator, checked before any data is read."""
    _check_data_steps(cfg)
    evaluator = _evaluator(cfg)
    plans = _plans(cfg)
    for name, plan in plans.items():
        opt, es = plan.config["optimization"], plan.config["early_stopping"]
        _check_device(opt["device"], cfg["general"]["device"], name)
        _warn_training_options(plan, cfg.warnings)
        opt["validation_metric"] = _result_key(
            opt["validation_metric"], evaluator, f"models.{name}.optimization.validation_metric")
        if es is not None and es["monitor"] not in ("score", "loss"):
            es["monitor"] = _result_key(es["monitor"], evaluator,
                                        f"models.{name}.early_stopping.monitor")
    return plans, evaluator


def _check_data_steps(cfg: Config) -> None:
    """Build the filters and splitters and bind the dataset options, so that their
    parameter errors come before any data is read."""
    from warprec.utils.registry import dataset_registry

    reader, splitter = cfg["reader"], cfg["splitter"]
    if reader["dataset"]:
        loader = dataset_registry.get_class(reader["dataset"])
        try:
            inspect.signature(loader).bind(**(reader["dataset_params"] or {}))
        except TypeError as exc:
            raise ConfigError(f"reader.dataset_params: {exc} (the {reader['dataset']} "
                              f"dataset takes {_signature(loader)})") from exc
    _filters(cfg)
    for part in ("test_splitting", "validation_splitting"):
        spec = splitter[part]
        if spec is not None and spec["strategy"] != "k_fold_cross_validation":
            _splitter(spec, f"splitter.{part}")


def _warn_training_options(plan: _Plan, warnings: list[str]) -> None:
    """Training options of a model that is not trained in epochs cannot apply to it."""
    from warprec.recommenders.base_recommender import IterativeRecommender

    if issubclass(plan.cls, IterativeRecommender):
        return
    opt = plan.config["optimization"]
    given = {"early_stopping": plan.config["early_stopping"] is not None,
             "optimization.optimizer": opt["optimizer"] != {"name": "Adam", "params": None},
             "optimization.lr_scheduler": opt["lr_scheduler"]["name"] is not None}
    for key in (k for k, v in given.items() if v):
        warnings.append(f"models.{plan.name}.{key}: {plan.cls.__name__} is not trained "
                        "iteratively, ignored")


def _check_device(device: str, general: str, model: str) -> None:
    from warprec.utils.device import resolve_device

    try:
        resolve_device(device)
    except ConfigError as exc:
        path = "general.device" if device == general else f"models.{model}.optimization.device"
        raise ConfigError(f"{path}: {str(exc).removeprefix('general.device: ')}") from exc


def _signature(function: Any) -> str:
    return ", ".join(inspect.signature(function).parameters)


def _result_key(value: str, evaluator: Any, path: str) -> str:
    """The evaluator's spelling of a result name (``ndcg@10`` -> ``nDCG@10``)."""
    keys = {key.lower(): key for key in evaluator.keys}
    if value.lower() not in keys:
        raise ConfigError(f"{path}: {value!r} is not an evaluation result; expected one of "
                          f"{', '.join(evaluator.keys)}")
    return keys[value.lower()]


def _plans(cfg: Config) -> dict[str, _Plan]:
    """Load every model class and expand its search space (before any data is read)."""
    from warprec.recommenders.base_recommender import hyperparameters
    from warprec.utils.registry import model_registry

    plans = {}
    for name, model_cfg in cfg["models"].items():
        try:
            cls = model_registry.get_class(name)
        except WarpRecError as exc:
            raise ConfigError(f"models.{name}: {exc}") from exc
        described = hyperparameters(cls)
        params = model_params(model_cfg)
        _check_hyperparameters(name, params, described)
        list_params = {n for n, d in described.items()
                       if str(d["type"]).lower().startswith(("list", "tuple"))}
        opt = model_cfg["optimization"]
        trials = expand(params, strategy=opt["strategy"], num_samples=opt["num_samples"],
                        seed=opt["properties"]["seed"], list_params=list_params)
        # Known only here: a list is a search space unless the hyperparameter is a list.
        if model_cfg["meta"]["load_from"] is not None and len(trials) > 1:
            raise ConfigError(f"models.{name}.meta.load_from: given with a search space of "
                              f"{len(trials)} trials; expected single hyperparameter values "
                              "when loading a checkpoint")
        plans[name] = _Plan(name, cls, model_cfg, trials)
    return plans


def _check_hyperparameters(name: str, params: Mapping[str, Any],
                           described: Mapping[str, Any]) -> None:
    import difflib

    for key in params:
        if key not in described:
            close = difflib.get_close_matches(key, list(described), n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(described) or "none"
            raise ConfigError(f"models.{name}.{key}: unknown hyperparameter of {name}{hint}; "
                              f"expected one of {known}")
    for key, spec in described.items():
        if key not in params and "default" not in spec:
            raise ConfigError(f"models.{name}.{key}: missing; {name} needs it "
                              f"(expected {spec['type']})")


def _check_search_needs_validation(plans: Mapping[str, _Plan], data: _Data) -> None:
    if data.validation:
        return
    for name, plan in plans.items():
        if len(plan.trials) > 1:
            raise ConfigError(f"models.{name}: a search of {len(plan.trials)} trials needs a "
                              "validation split to pick the best; expected "
                              "splitter.validation_splitting (or a validation file)")


def _resolved_yaml(cfg: Config, plans: Mapping[str, _Plan]) -> str:
    data = {**cfg.data, "versions": _versions(plans)}
    # Through JSON: tuples become lists and objects from a Python config their str().
    plain = json.loads(json.dumps(data, default=str))
    return yaml.safe_dump(plain, sort_keys=False, allow_unicode=True)


def _versions(plans: Mapping[str, _Plan]) -> dict[str, str]:
    """Versions of Python, torch, the core and every plugin (or module) a model came from."""
    import torch

    from warprec import plugins
    from warprec.utils.registry import model_registry

    versions = {"python": platform.python_version(), "torch": str(torch.__version__),
                "warprec-core": plugins.core_version()}
    for name in plans:
        source = model_registry.entry(name).source
        if source.kind == "plugin":
            versions[source.name] = source.version or "unknown"
        else:
            module = sys.modules.get(source.name)
            versions[f"module {source.name}"] = str(getattr(module, "__file__", "") or "")
    return versions


# -------------------------------------------------------------------------------- data


def _load_data(cfg: Config) -> _Data:
    """Read, filter and split the data; build the datasets the models train on."""
    from warprec.data.dataset import Dataset
    from warprec.data.filtering import apply_filters

    reader = cfg["reader"]
    implicit = reader["rating_type"] == "implicit"
    report: dict[str, int] = {}
    if reader["loading_strategy"] == "split":
        split = _read_split(cfg, implicit)
        report.update(split.dropped)
        train, validation, test = split.train, split.validation, split.test
        folds = None
    else:
        df = _read_table(cfg, implicit, report)
        df = apply_filters(df, _filters(cfg), report)
        if df.empty:
            raise DataError("filtering: no interactions left after the filters")
        train, validation, test, folds = _split(cfg, df)
    logger.info("Data: %d train, %s validation, %d test interactions", len(train),
                "no" if validation is None else len(validation), len(test))
    frames = {"train": train, "validation": validation, "test": test}
    if folds is not None:
        main = Dataset(train, test, None, implicit=implicit, report=report)
        fold_sets = [Dataset(t, test, v, implicit=implicit, report=report) for t, v in folds]
        data = _Data(main, fold_sets, frames, refit_required=True)
    else:
        main = Dataset(train, test, validation, implicit=implicit, report=report)
        data = _Data(main, [main] if validation is not None else [], frames)
    logger.info("Dataset: %d users, %d items", main.n_users, main.n_items)
    dropped = {key: value for key, value in main.report.items() if value}
    if dropped:
        logger.info("Rows dropped: %s", ", ".join(f"{k} {v}" for k, v in dropped.items()))
    return data


def _data_summary(data: _Data) -> dict[str, Any]:
    main = data.main
    return {"n_users": main.n_users, "n_items": main.n_items,
            **{part: None if frame is None else len(frame)
               for part, frame in data.frames.items()},
            "dropped": {key: int(value) for key, value in main.report.items() if value}}


def _resolve_path(value: str, key: str, cfg: Config) -> Path:
    """A data path: absolute, else relative to the current folder, else to the config's."""
    path = Path(value).expanduser()
    if path.is_absolute() or path.exists():
        return path
    beside = cfg.base_dir / path
    if beside.exists():
        return beside
    places = dict.fromkeys([str(Path.cwd()), str(cfg.base_dir)])
    raise DataError(f"{key}: {value!r} not found (looked in {' and '.join(places)})")


def _reader_options(cfg: Config, sep: str | None, header: bool) -> dict[str, Any]:
    reader = cfg["reader"]
    labels = reader["labels"]
    return {
        "sep": sep,
        "header": header,
        "user_col": labels["user_id_label"],
        "item_col": labels["item_id_label"],
        "rating_col": labels["rating_label"],
        "timestamp_col": labels["timestamp_label"],
        "implicit": reader["rating_type"] == "implicit",
        "duplicates": reader["duplicates"],
    }


def _read_table(cfg: Config, implicit: bool, report: dict[str, int]) -> pd.DataFrame:
    from warprec.data.reader import read_interactions
    from warprec.utils.registry import dataset_registry

    reader = cfg["reader"]
    if reader["dataset"]:
        loader = dataset_registry.get_class(reader["dataset"])
        try:
            frame = loader(**(reader["dataset_params"] or {}))
        except ConfigError as exc:
            raise ConfigError(f"reader.dataset_params: {exc}") from exc
        logger.info("Data: bundled dataset %r, %d interactions", reader["dataset"], len(frame))
        return frame
    path = _resolve_path(reader["local_path"], "reader.local_path", cfg)
    _check_format(path, reader["file_format"], "reader.file_format")
    result = read_interactions(path, **_reader_options(cfg, reader["sep"], reader["header"]))
    report.update(result.dropped)
    logger.info("Data: %s, %d interactions", path, len(result.data))
    if not implicit and result.implicit:
        raise DataError(f"{path}: rating_type is explicit but there is no rating column "
                        f"{reader['labels']['rating_label']!r}")
    return result.data


def _read_split(cfg: Config, implicit: bool) -> Any:
    from warprec.data.reader import read_split

    split = cfg["reader"]["split"]
    folder = _resolve_path(split["local_path"], "reader.split.local_path", cfg)
    for part in ("train", "test"):
        path = folder / f"{part}{split['ext']}"
        if not path.is_file():
            found = sorted(p.name for p in folder.glob(f"{part}.*"))
            raise DataError(f"reader.split.ext: no {path.name} in {folder} (found: "
                            f"{', '.join(found) or 'none'}); expected train{split['ext']}, "
                            f"test{split['ext']} and optionally validation{split['ext']}")
        _check_format(path, split["file_format"], "reader.split.file_format")
    return read_split(folder, **_reader_options(cfg, split["sep"], split["header"]))


def _check_format(path: Path, file_format: str, key: str) -> None:
    """The reader goes by the extension: refuse a file whose extension says otherwise."""
    parquet = path.suffix.lower() in (".parquet", ".pq")
    if parquet != (file_format == "parquet"):
        expected = ".parquet or .pq" if file_format == "parquet" else "a text extension"
        raise DataError(f"{key}: {file_format!r} but {path.name} has the extension "
                        f"{path.suffix or '(none)'}; expected {expected}")


def _filters(cfg: Config) -> list[Any]:
    from warprec.utils.registry import filter_registry

    filters = []
    for name, params in cfg["filtering"].items():
        target, renames = FILTER_ALIASES.get(name, (name, {}))
        kwargs = {renames.get(k, k): v for k, v in params.items()}
        try:
            filters.append(filter_registry.get(target, **kwargs))
        except (TypeError, ConfigError) as exc:
            raise ConfigError(f"filtering.{name}: {_call_error(exc)}") from exc
    return filters


def _split(cfg: Config, df: pd.DataFrame) -> tuple[Any, Any, Any, list[Any] | None]:
    splitter = cfg["splitter"]
    test_split = _splitter(splitter["test_splitting"], "splitter.test_splitting").split(df)
    train, test = test_split.train, test_split.test
    part = splitter["validation_splitting"]
    if part is None:
        return train, None, test, None
    if part["strategy"] == "k_fold_cross_validation":
        from warprec.data.splitting import KFold

        folds = [(s.train, s.test) for s in KFold(part["folds"], seed=part["seed"]).folds(train)]
        logger.info("Validation: %d-fold cross validation", part["folds"])
        return train, None, test, folds
    held = _splitter(part, "splitter.validation_splitting").split(train)
    return held.train, held.test, test, None


def _splitter(part: Mapping[str, Any], path: str) -> Any:
    from warprec.utils.registry import splitter_registry

    strategy = part["strategy"]
    target, names = _SPLITTERS.get(strategy, (strategy, _GENERIC_SPLITTER_ARGS))
    cls = splitter_registry.get_class(target)
    accepted = inspect.signature(cls).parameters
    kwargs = {arg: part[key] for key, arg in names.items()
              if part.get(key) is not None and arg in accepted}
    try:
        return cls(**kwargs)
    except (TypeError, ConfigError) as exc:
        raise ConfigError(f"{path}: {_call_error(exc)}") from exc


def _call_error(exc: Exception) -> str:
    """The message of a constructor's error, without the ``Name.__init__()`` prefix of
    a TypeError."""
    return re.sub(r"^[\w.]*\(\) ", "", str(exc))


def _save_split(folder: RunFolder, frames: Mapping[str, pd.DataFrame | None], cfg: Config
                ) -> None:
    """Write the parts with the reader's column labels, so ``loading_strategy: split``
    reads them back."""
    from warprec.data.schema import ITEM, RATING, TIMESTAMP, USER
    from warprec.data.splitting import aligned

    labels = cfg["reader"]["labels"]
    names = {USER: labels["user_id_label"], ITEM: labels["item_id_label"],
             RATING: labels["rating_label"], TIMESTAMP: labels["timestamp_label"]}
    fmt = cfg["writer"]["split"]
    for part, frame in frames.items():
        if frame is None:
            continue
        if part != "train":  # WarpRec writes the evaluation parts aligned on training
            frame = aligned(frames["train"], frame)
        with folder.open_atomic(f"split/{part}{fmt['ext']}") as handle:
            write_split_part(handle, frame, names, sep=fmt["sep"], header=fmt["header"])
    logger.info("Split written to %s", folder.path / "split")


# ------------------------------------------------------------------------------ models


def _run_models(cfg: Config, plans: Mapping[str, _Plan], data: _Data, folder: RunFolder,
                evaluator: Any) -> dict[str, Any]:
    results: dict[str, Any] = {"status": "running", "data": _data_summary(data), "models": []}
    failure: BaseException | None = None
    test_results: dict[str, Any] = {}
    for position, plan in enumerate(plans.values(), start=1):
        logger.info("[%d/%d] %s: %d trial(s)", position, len(plans), plan.name,
                    len(plan.trials))
        try:
            entry, model, test_result = _run_model(plan, data, evaluator, cfg)
            _write_model_outputs(plan, model, data, cfg, folder, entry)
            test_results[plan.name] = test_result
            del model
        except KeyboardInterrupt:
            results["models"].append(_failed_entry(plan, "interrupted", "interrupted by the "
                                                   "user (Ctrl-C)"))
            results["status"] = "interrupted"
            _write_results(folder, results, cfg)
            logger.warning("Interrupted: results of the finished models are in %s",
                           folder.path)
            raise
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            logger.info("models.%s failed: %s (going on with the next model)", plan.name,
                        message)
            logger.debug("%s", traceback.format_exc())
            results["models"].append(_failed_entry(plan, "failed", message))
            failure = failure or _prefixed(exc, plan.name)
        else:
            results["models"].append(entry)
        _write_results(folder, results, cfg)
    results["status"] = "failed" if failure is not None else "complete"
    options = cfg["evaluation"]["stat_significance"]
    if len(test_results) > 1 and any(options[flag] for flag in TESTS):
        results["significance"] = significance(test_results, options)
        logger.info("Significance: %d comparisons written to results.json",
                    len(results["significance"]))
    _write_results(folder, results, cfg)
    if failure is not None:
        results["_failure"] = failure
    return results


def _prefixed(exc: Exception, name: str) -> Exception:
    if isinstance(exc, WarpRecError) and not str(exc).startswith("models."):
        wrapped = type(exc)(f"models.{name}: {exc}")
        wrapped.__cause__ = exc
        return wrapped
    return exc


def _failed_entry(plan: _Plan, status: str, error: str) -> dict[str, Any]:
    return {"model": plan.name, "status": status, "error": error, "params": None,
            "validation": None, "test": None, "fit_seconds": None, "trials": []}


def _write_results(folder: RunFolder, results: dict[str, Any], cfg: Config) -> None:
    folder.write_json("results.json", {k: v for k, v in results.items() if k != "_failure"})
    header, rows = results_rows(results["models"], digits=None)
    lines = ["\t".join(header), *("\t".join(row) for row in rows)]
    folder.write_text("results.tsv", "\n".join(lines) + "\n")


def _evaluator(cfg: Config) -> Any:
    from warprec.evaluation import Evaluator

    ev = cfg["evaluation"]
    try:
        return Evaluator(metrics=ev["metrics"], top_k=ev["top_k"], strategy=ev["strategy"],
                         num_negatives=ev["num_negatives"], sampling=ev["negative_sampling"],
                         seed=ev["seed"], batch_size=ev["batch_size"],
                         short_head_share=ev["pop_ratio"])
    except WarpRecError as exc:
        raise ConfigError(f"evaluation: {exc}") from exc


def _run_model(plan: _Plan, data: _Data, evaluator: Any, cfg: Config
               ) -> tuple[dict[str, Any], Any, Any]:
    """Search, pick the best trial, evaluate it on test: ``(entry, model, test result)``."""
    opt = plan.config["optimization"]
    metric = opt["validation_metric"]
    maximise = opt["properties"]["mode"] == "max"
    load_from = plan.config["meta"]["load_from"]
    if load_from is not None:
        return _loaded_model(plan, data, evaluator, cfg, load_from)
    trials: list[dict[str, Any]] = []
    best: tuple[float, int, Any, Any] | None = None  # score, trial, model, fit info
    if not data.validation:
        params = plan.trials[0]
        model, fit = _fit(plan, params, data.main, evaluator, cfg, split="train")
        return _entry(plan, params, None, model, fit, data, evaluator, trials)
    on_ray = cfg["general"]["backend"] == "ray" and len(plan.trials) > 1
    if on_ray:
        from warprec.ray_backend import run_trials

        logger.info("  %s: %d trials on Ray Tune", plan.name, len(plan.trials))
        outcomes = iter(run_trials(plan, data, evaluator, cfg))
    for i, params in enumerate(plan.trials):
        logger.info("  %s trial %d/%d: %s", plan.name, i + 1, len(plan.trials), params)
        if on_ray:
            model, (scores, fit) = None, next(outcomes)
        else:
            scores, model, fit = _validate_trial(plan, params, data, evaluator, cfg)
        trials.append({"params": params, "validation": scores, "fit_seconds": fit["seconds"]})
        score = scores[metric]
        logger.info("  %s trial %d/%d: %s = %.5f", plan.name, i + 1, len(plan.trials), metric,
                    score)
        if best is None or (score > best[0] if maximise else score < best[0]):
            best = (score, i, model, fit)
    assert best is not None
    _, index, model, fit = best
    params = plan.trials[index]
    if opt["refit"] or data.refit_required:
        epochs = fit.get("best_epoch")
        model, fit = _fit(plan, params, data.main, evaluator, cfg,
                          split="train" if data.refit_required else "train_validation",
                          epochs=epochs)
    elif model is None:
        # The best trial ran on a Ray worker: train it again here, identically (same seed).
        model, fit = _fit(plan, params, data.main, evaluator, cfg, split="train")
    return _entry(plan, params, trials[index]["validation"], model, fit, data, evaluator,
                  trials)


def _validate_trial(plan: _Plan, params: dict[str, Any], data: _Data, evaluator: Any,
                    cfg: Config) -> tuple[dict[str, float], Any, dict[str, Any]]:
    """Fit on each validation dataset (one, or one per fold); mean validation scores."""
    totals: dict[str, float] = {}
    model: Any = None
    fit: dict[str, Any] = {}
    for dataset in data.validation:
        model, fit = _fit(plan, params, dataset, evaluator, cfg, split="train")
        summary = evaluator.evaluate(model, dataset, split="validation").summary()
        for key, value in summary.items():
            totals[key] = totals.get(key, 0.0) + float(value)
    scores = {key: value / len(data.validation) for key, value in totals.items()}
    # With k folds the kept model is the last fold's; a refit replaces it.
    return scores, model, fit


def _entry(plan: _Plan, params: dict[str, Any], validation: dict[str, float] | None,
           model: Any, fit: dict[str, Any], data: _Data, evaluator: Any,
           trials: list[dict[str, Any]]) -> tuple[dict[str, Any], Any, Any]:
    """The model's results entry (test evaluated here), the model and its test result."""
    result = evaluator.evaluate(model, data.main, split="test")
    test = {k: float(v) for k, v in result.summary().items()}
    logger.info("  %s test: %s", plan.name,
                ", ".join(f"{k} = {v:.5f}" for k, v in test.items()))
    entry = {"model": plan.name, "status": "ok", "error": None, "params": params,
             "validation": validation, "test": test, "fit_seconds": fit["seconds"],
             "trials": trials}
    return entry, model, result


def _fit(plan: _Plan, params: dict[str, Any], dataset: Any, evaluator: Any, cfg: Config,
         *, split: str, epochs: int | None = None) -> tuple[Any, dict[str, Any]]:
    """Build the model of one trial and train it; returns it and its fit information."""
    from warprec.recommenders.base_recommender import IterativeRecommender, needs_interactions
    from warprec.recommenders.trainer import Trainer

    opt = plan.config["optimization"]
    seed, device = opt["properties"]["seed"], opt["device"]
    interactions = getattr(dataset, split)
    start = time.perf_counter()
    args = [interactions] if needs_interactions(plan.cls) else []
    model = plan.cls(dict(params), dataset.info(), *args, seed=seed, device=device)
    fit: dict[str, Any] = {}
    if isinstance(model, IterativeRecommender):
        history = Trainer(model, dataset, evaluator, split=split, epochs=epochs,
                          progress=plan.progress,
                          **_trainer_options(plan, cfg, dataset, split)).fit()
        fit["best_epoch"] = history.best_epoch or history.epochs_run
        fit["epochs"] = history.epochs_run
        if history.interrupted:
            raise KeyboardInterrupt
    fit["seconds"] = time.perf_counter() - start
    return model, fit


def _trainer_options(plan: _Plan, cfg: Config, dataset: Any, split: str) -> dict[str, Any]:
    opt = plan.config["optimization"]
    options: dict[str, Any] = {"optimizer": opt["optimizer"]["name"],
                               "optimizer_kwargs": opt["optimizer"]["params"] or {}}
    scheduler = opt["lr_scheduler"]
    if scheduler["name"]:
        options["lr_scheduler"] = {"name": scheduler["name"], **(scheduler["params"] or {})}
    es = plan.config["early_stopping"]
    validating = split == "train" and getattr(dataset, "validation", None) is not None
    if es is None:
        options.update(monitor="loss")
        return options
    monitor = {"score": opt["validation_metric"]}.get(es["monitor"], es["monitor"])
    if monitor != "loss" and not validating:
        # A refit has no validation split: train for the epochs the best trial needed.
        options.update(monitor="loss")
        return options
    mode = None if monitor == "loss" else opt["properties"]["mode"]
    options.update(monitor=monitor, mode=mode, patience=es["patience"],
                   min_delta=es["min_delta"])
    return options


def _loaded_model(plan: _Plan, data: _Data, evaluator: Any, cfg: Config, load_from: str
                  ) -> tuple[dict[str, Any], Any, Any]:
    from warprec.recommenders.base_recommender import Recommender

    path = _resolve_path(load_from, f"models.{plan.name}.meta.load_from", cfg)
    start = time.perf_counter()
    model = Recommender.load(path, map_location=plan.config["optimization"]["device"])
    if model.n_users != data.main.n_users or model.n_items != data.main.n_items:
        raise DataError(f"models.{plan.name}.meta.load_from: the checkpoint has "
                        f"{model.n_users} users x {model.n_items} items, the data "
                        f"{data.main.n_users} x {data.main.n_items}")
    fit = {"seconds": time.perf_counter() - start}
    return _entry(plan, model.get_params(), None, model, fit, data, evaluator, [])


def _write_model_outputs(plan: _Plan, model: Any, data: _Data, cfg: Config,
                         folder: RunFolder, entry: dict[str, Any]) -> None:
    meta = plan.config["meta"]
    if meta["save_model"]:
        path = folder.write_with(f"checkpoints/{safe_name(plan.name)}.pt", model.save)
        entry["checkpoint"] = str(path.relative_to(folder.path))
    if meta["save_recs"]:
        fmt = cfg["writer"]["recommendation"]
        relative = f"recommendations/{safe_name(plan.name)}{fmt['ext']}"
        table = _recommendations(model, data.main, fmt, cfg["evaluation"]["batch_size"] or 1024)
        with folder.open_atomic(relative) as handle:
            write_table(handle, table, sep=fmt["sep"], header=fmt["header"])
        entry["recommendations"] = relative


def _recommendations(model: Any, dataset: Any, fmt: Mapping[str, Any], batch_size: int
                     ) -> pd.DataFrame:
    """Top-k of every user (training and validation items excluded), original ids."""
    import numpy as np

    k = min(fmt["k"], dataset.n_items)
    seen = dataset.train_validation.get_sparse()
    parts = []
    for start in range(0, dataset.n_users, batch_size):
        users = np.arange(start, min(start + batch_size, dataset.n_users))
        items, scores = model.recommend(users, k, exclude=seen)
        items, scores = items.cpu().numpy(), scores.cpu().numpy()
        parts.append(recommendation_frame(
            dataset.user_ids[users], dataset.item_ids[items], scores,
            user_label=fmt["user_label"], item_label=fmt["item_label"],
            rating_label=fmt["rating_label"], rank=fmt.get("rank", False)))
    return pd.concat(parts, ignore_index=True)


@contextmanager
def _logging(quiet: bool) -> Iterator[Callable[[RunFolder], None]]:
    """Log to stderr (progress, or warnings only when quiet) and, once the run folder
    exists, to its ``run.log`` (everything, the records logged before it included).

    Yields the function that attaches the run folder.
    """
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(message)s"))
    console.setLevel(logging.WARNING if quiet else logging.INFO)
    early = _Collect()
    handlers: list[logging.Handler] = [console, early]
    previous = logger.level
    logger.setLevel(logging.DEBUG)

    def attach(folder: RunFolder) -> None:
        file_handler = logging.FileHandler(folder.path / "run.log", encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        file_handler.setLevel(logging.DEBUG)
        for record in early.records:
            file_handler.handle(record)
        logger.removeHandler(early)
        logger.addHandler(file_handler)
        handlers.append(file_handler)

    for handler in handlers:
        logger.addHandler(handler)
    try:
        yield attach
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(previous)


class _Collect(logging.Handler):
    """Keeps the records logged before the run folder exists."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
