"""The plan of a run, built before any data is read and before anything is written.

Every model class resolved, every trial of its search space validated against the
hyperparameters' declared domains (for a sampled search, each distribution's range
too), every filter, splitter, metric, optimizer and scheduler name resolved with its
arguments bound, the output location checked. Any mistake is one ConfigError line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warprec.config import Config, count_trials, expand
from warprec.config.search_space import distribution_bounds
from warprec.config.sections import ExperimentConfig, ModelBlock
from warprec.errors import ConfigError, RegistryError, WarpRecError
from warprec.experiment.build import (
    SPLITTERS,
    bind_dataset_params,
    build_evaluator,
    build_filters,
    build_splitter,
    check_training_options,
    filter_target,
)
from warprec.reporting import check_extras

__all__ = ["ModelPlan", "Plan", "check_names", "make_plan"]


@dataclass
class ModelPlan:
    """One configured model: its class, where it comes from, and every trial's
    hyperparameters (effective values: defaults filled in)."""

    name: str
    cls: type
    block: ModelBlock
    trials: list[dict[str, Any]]
    provider: dict[str, str | None]
    progress: bool | None = None  # per-epoch progress bar: None = when on a terminal
    track: bool = False  # validation results every epoch (writer.report, general.mlflow)

    @property
    def iterative(self) -> bool:
        """Whether the model trains in epochs (the trainer's options apply)."""
        from warprec.recommenders.base_recommender import IterativeRecommender

        return issubclass(self.cls, IterativeRecommender)


@dataclass
class Plan:
    """What a run will do: the config, the models, the evaluator, the output folder."""

    config: Config
    models: dict[str, ModelPlan]
    evaluator: Any
    output: Path | None
    warnings: list[str] = field(default_factory=list)


def make_plan(config: Config, output: str | Path | None = None) -> Plan:
    """Check everything that can be checked without the data; see the module docstring."""
    cfg = config.model
    check_names(cfg)
    bind_dataset_params(cfg.reader)
    build_filters(cfg.filtering)
    for part in ("test_splitting", "validation_splitting"):
        spec = getattr(cfg.splitter, part)
        if spec is not None:
            build_splitter(spec, f"splitter.{part}")
    evaluator = build_evaluator(cfg.evaluation)
    warnings = list(config.warnings)
    models = {name: _model_plan(name, block, config, evaluator, warnings)
              for name, block in cfg.models.items()}
    check_extras(cfg)
    if cfg.writer.report or cfg.general.mlflow is not None:
        for model_plan in models.values():
            model_plan.track = True
    destination = Path(output) if output is not None else None
    check_output(destination, Path(cfg.writer.local_experiment_path) / str(cfg.writer.dataset_name))
    return Plan(config, models, evaluator, destination, warnings)


def check_names(cfg: ExperimentConfig) -> None:
    """Look every name up in its registry (no model module is imported)."""
    from warprec.utils.registry import (
        dataset_registry,
        filter_registry,
        metric_registry,
        model_registry,
        splitter_registry,
    )

    if cfg.reader.dataset:
        _lookup(dataset_registry, cfg.reader.dataset, "reader.dataset")
    for name in cfg.filtering:
        _lookup(filter_registry, filter_target(name), f"filtering.{name}")
    for part in ("test_splitting", "validation_splitting"):
        split = getattr(cfg.splitter, part)
        if split is not None and split.strategy not in SPLITTERS:
            _lookup(splitter_registry, split.strategy, f"splitter.{part}.strategy")
    for i, name in enumerate(cfg.evaluation.metrics):
        _lookup(metric_registry, name, f"evaluation.metrics[{i}]")
    for i, metric in enumerate(cfg.evaluation.complex_metrics):
        _lookup(metric_registry, metric.name, f"evaluation.complex_metrics[{i}].name")
    for name in cfg.models:
        _lookup(model_registry, name, f"models.{name}")


def _lookup(registry: Any, name: str, path: str) -> None:
    from warprec.plugins import failure_note

    try:
        registry.entry(name)
    except RegistryError as exc:
        raise ConfigError(f"{path}: {exc}{failure_note()}") from exc


def _model_plan(name: str, block: ModelBlock, config: Config, evaluator: Any,
                warnings: list[str]) -> ModelPlan:
    from warprec.recommenders.base_recommender import hyperparameters
    from warprec.utils.device import resolve_device
    from warprec.utils.registry import model_registry

    path = f"models.{name}"
    try:
        entry = model_registry.entry(name)
        cls = entry.load()
    except WarpRecError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    opt = block.optimization
    try:
        resolve_device(str(opt.device))
    except ConfigError as exc:
        where = "general.device" if opt.device == config.model.general.device else \
            f"{path}.optimization.device"
        raise ConfigError(f"{where}: {str(exc).removeprefix('general.device: ')}") from exc
    params = block.hyperparameters
    list_params = {n for n, d in hyperparameters(cls).items()
                   if str(d["type"]).lower().startswith(("list", "tuple"))}
    size = count_trials(params, strategy=opt.strategy, num_samples=opt.num_samples,
                        list_params=list_params)
    limit = config.model.general.max_trials
    if size > limit:
        raise ConfigError(f"{path}: the search space has {size} trials, more than "
                          f"general.max_trials ({limit}); expected a smaller space or a "
                          "larger general.max_trials")
    _check_distributions(cls, params, path)
    trials = [cls.validate_params(trial, path=path)
              for trial in expand(params, strategy=opt.strategy, num_samples=opt.num_samples,
                                  seed=opt.properties.seed or 0, list_params=list_params)]
    if block.meta.load_from is not None and len(trials) > 1:
        raise ConfigError(f"{path}.meta.load_from: given with a search space of "
                          f"{len(trials)} trials; expected single hyperparameter values "
                          "when loading a checkpoint")
    model_plan = ModelPlan(name, cls, block, trials,
                           {"distribution": entry.source.name, "version": entry.source.version})
    if model_plan.iterative:
        check_training_options(opt, cls, f"{path}.optimization")
    else:
        _warn_training_options(model_plan, warnings)
    opt.validation_metric = result_key(str(opt.validation_metric), evaluator,
                                       f"{path}.optimization.validation_metric")
    es = block.early_stopping
    if es is not None and es.monitor not in ("score", "loss"):
        es.monitor = result_key(es.monitor, evaluator, f"{path}.early_stopping.monitor")
    return model_plan


def _check_distributions(cls: type, params: dict[str, Any], path: str) -> None:
    """A sampled hyperparameter's whole range lies in its domain, not only the draws."""
    for name, value in params.items():
        bounds = distribution_bounds(value)
        if bounds is None:
            continue
        for bound in bounds:
            try:
                cls.validate_params({**_fixed(params), name: bound}, path=path)
            except ConfigError as exc:
                raise ConfigError(f"{exc} (a bound of the distribution {value!r})") from None


def _fixed(params: dict[str, Any]) -> dict[str, Any]:
    # Only the other plain values, so that a bound is checked on its own.
    return {k: v for k, v in params.items() if not isinstance(v, list)}


def _warn_training_options(plan: ModelPlan, warnings: list[str]) -> None:
    """Training options of a model that is not trained in epochs cannot apply to it."""
    opt = plan.block.optimization
    given = {"early_stopping": plan.block.early_stopping is not None,
             "optimization.optimizer": opt.optimizer.name is not None,
             "optimization.lr_scheduler": opt.lr_scheduler.name is not None}
    for key in (k for k, v in given.items() if v):
        warnings.append(f"models.{plan.name}.{key}: {plan.cls.__name__} is not trained "
                        "iteratively, ignored")


def result_key(value: str, evaluator: Any, path: str) -> str:
    """The evaluator's spelling of a result name (``ndcg@10`` -> ``nDCG@10``)."""
    keys = {key.lower(): key for key in evaluator.keys}
    if value.lower() not in keys:
        raise ConfigError(f"{path}: {value!r} is not an evaluation result; expected one of "
                          f"{', '.join(evaluator.keys)}")
    return keys[value.lower()]


def check_output(output: Path | None, default_parent: Path) -> None:
    """The run folder can be made: ``output`` absent or an empty folder, and the nearest
    existing folder above it writable."""
    from warprec.output import LOCK_NAME

    if output is not None and (output / LOCK_NAME).exists():
        raise ConfigError(f"--output {str(output)!r}: another warprec run is writing there "
                          f"(it holds {LOCK_NAME}; a run killed with SIGKILL leaves it "
                          "behind); expected a folder no other run uses")
    if output is not None and output.exists() and (not output.is_dir()
                                                   or any(output.iterdir())):
        raise ConfigError(f"--output {str(output)!r}: exists and is not an empty folder; "
                          "expected an empty or absent folder (nothing is overwritten)")
    target = output if output is not None else default_parent
    where = "--output" if output is not None else "writer.local_experiment_path"
    existing = target
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise ConfigError(f"{where} {str(target)!r}: {str(existing)!r} is a file; expected "
                          "a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{where} {str(target)!r}: {str(existing)!r} is not writable; "
                          "expected a folder this user can write to")
