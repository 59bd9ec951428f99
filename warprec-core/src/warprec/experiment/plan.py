"""The plan of a run, built before any data is read and before anything is written.

Every model class resolved, every trial of its search space validated against the
hyperparameters' declared domains (for a sampled search, each distribution's range
too) and the model's relations between them (``Recommender.check_relations``), every
filter, splitter, metric, optimizer and scheduler name resolved with its arguments
bound, the output location checked. Any mistake is one ConfigError line.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warprec.config import Config, count_trials, expand
from warprec.config.search_space import (
    CATEGORICAL,
    SEARCHERS,
    distribution_bounds,
    is_search_space,
    to_tune,
)
from warprec.config.sections import ExperimentConfig, ModelBlock
from warprec.errors import ConfigError, RegistryError, WarpRecError
from warprec.experiment.build import (
    SPLITTERS,
    bind_dataset_params,
    build_evaluator,
    build_filters,
    build_splitter,
    check_cold_start,
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
    # The search runs on Ray Tune (general.backend ray, a searcher or a scheduler).
    ray: bool = False
    # A Ray Tune searcher (strategy hopt, optuna, bohb) suggests the trials: ``trials``
    # then holds num_samples random draws checked by the plan, and the trials run are the
    # searcher's, each checked in its trial.
    searched: bool = False

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
    splitters = {part: build_splitter(spec, f"splitter.{part}")
                 for part in ("test_splitting", "validation_splitting")
                 if (spec := getattr(cfg.splitter, part)) is not None}
    check_cold_start(splitters.get("test_splitting"), splitters.get("validation_splitting"))
    # Until the data is read, one zero row stands for reader.side's item features.
    evaluator = build_evaluator(cfg.evaluation,
                                item_features=[[0.0]] if cfg.reader.side is not None else None)
    warnings = list(config.warnings)
    models = {name: _model_plan(name, block, config, evaluator, warnings)
              for name, block in cfg.models.items()}
    check_extras(cfg)
    if any(m.ray for m in models.values()):
        check_ray_address(cfg.general.ray_address)
    if cfg.writer.report or cfg.general.mlflow is not None:
        for model_plan in models.values():
            model_plan.track = True
    destination = Path(output) if output is not None else None
    check_output(destination, Path(cfg.writer.local_experiment_path) / str(cfg.writer.dataset_name))
    return Plan(config, models, evaluator, destination, warnings)


def check_ray_address(address: str | None) -> None:
    """A ``ray://`` address (Ray Client) needs Ray's client extra: refused without it."""
    if address and address.startswith("ray://") and importlib.util.find_spec("grpc") is None:
        raise ConfigError(f"general.ray_address {address!r}: a ray:// address needs Ray's "
                          "client extra (grpcio); pip install 'ray[client]'")


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
        # An unknown name may be one a broken plugin provides; other errors say their cause.
        message, note = str(exc), failure_note() if str(exc).startswith("unknown ") else ""
        if note and not message.endswith((".", "?")):
            message += "."
        raise ConfigError(f"{path}: {message}{note}") from exc


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
    if getattr(cls, "needs_item_features", False) and config.model.reader.side is None:
        raise ConfigError(f"{path}: {name} reads item features; expected reader.side "
                          "naming a side-information file")
    if (getattr(cls, "uses_context", False) and config.model.reader.labels.context_labels
            and block.meta.save_recs):
        # As WarpRec: a recommendation file has no context to score a context-aware
        # model against.
        raise ConfigError(f"{path}.meta.save_recs: {name} scores under a context and a "
                          "recommendation file carries none (WarpRec refuses it too); "
                          "expected save_recs: false")
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
    drawn = expand(params, strategy=opt.strategy, num_samples=opt.num_samples,
                   seed=opt.properties.seed or 0, list_params=list_params)
    _check_distributions(cls, params, path, drawn[0])
    # Every trial's values, then their relations (with the configured optimizer, which
    # a model may not accept with some of its hyperparameters).
    trials = [cls.validate_params(trial, path=path, optimizer=opt.optimizer.name)
              for trial in drawn]
    if block.meta.load_from is not None and len(trials) > 1:
        raise ConfigError(f"{path}.meta.load_from: given with a search space of "
                          f"{len(trials)} trials; expected single hyperparameter values "
                          "when loading a checkpoint")
    model_plan = ModelPlan(name, cls, block, trials,
                           {"distribution": entry.source.name, "version": entry.source.version})
    model_plan.ray = _check_search(model_plan, config, list_params, warnings)
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


def _check_distributions(cls: Any, params: dict[str, Any], path: str,
                         first: dict[str, Any]) -> None:
    """A sampled hyperparameter's whole range lies in its domain, not only the draws.
    Each bound is checked with the other hyperparameters of the first trial (values
    the search takes), so that a required one that is searched too is not missing."""
    for name, value in params.items():
        bounds = distribution_bounds(value)
        if bounds is None:
            continue
        for bound in bounds:
            try:
                cls.validate_params({**first, name: bound}, path=path)
            except ConfigError as exc:
                if not str(exc).startswith(f"{path}.{name}:"):
                    continue  # another hyperparameter's draw: the trials' check names it
                raise ConfigError(f"{exc} (a bound of the distribution {value!r})") from None


# Strategy -> (modules it needs beside Ray Tune, the extra of warprec-core that brings them).
SEARCHER_EXTRAS = {"hopt": (("hyperopt",), "hopt"), "optuna": (("optuna",), "optuna"),
                   "bohb": (("hpbandster", "ConfigSpace"), "bohb")}
# Properties each scheduler or strategy reads (WarpRec's rules); others are warned about.
_SCHEDULER_PROPERTIES = {"fifo": (), "asha": ("time_attr", "max_t", "grace_period",
                                              "reduction_factor"),
                         "bohb": ("time_attr", "max_t", "reduction_factor"),
                         "median": ("time_attr", "grace_period", "min_samples_required",
                                    "min_time_slice", "hard_stop")}
_SCHEDULING_PROPERTIES = ("time_attr", "max_t", "grace_period", "reduction_factor",
                          "min_samples_required", "min_time_slice", "hard_stop")


def _check_search(plan: ModelPlan, config: Config, list_params: set[str],
                  warnings: list[str]) -> bool:
    """Check a searcher or scheduler (extras installed, backend, space, properties);
    return whether the model's search runs on Ray Tune."""
    from warprec.utils.device import resolve_device

    path = f"models.{plan.name}.optimization"
    opt, general = plan.block.optimization, config.model.general
    on_ray = general.backend == "ray"
    plan.searched = opt.strategy in SEARCHERS and any(
        is_search_space(v, list_valued=k in list_params)
        for k, v in plan.block.hyperparameters.items())
    tuned: dict[str, str] = {"strategy": opt.strategy} if opt.strategy in SEARCHERS else {}
    if opt.scheduler != "fifo":
        tuned["scheduler"] = opt.scheduler
    for key, value in tuned.items():
        if general.backend == "local" and "backend" in general.model_fields_set:
            raise ConfigError(f"{path}.{key}: {value!r} runs on Ray Tune but general.backend "
                              "is 'local'; expected general.backend: ray (or no backend)")
        modules, extra = SEARCHER_EXTRAS.get(value, ((), "ray")) if key == "strategy" \
            else ((), "ray")
        missing = [m for m in ("ray", *modules) if importlib.util.find_spec(m) is None]
        if missing:
            raise ConfigError(f"{path}.{key}: {value!r} needs {', '.join(missing)}, not "
                              f"installed; pip install 'warprec-core[{extra}]'")
        on_ray = True
    if plan.searched:
        _check_searcher_space(plan, list_params, warnings)
    props = plan.block.optimization.properties
    for key in _SCHEDULING_PROPERTIES:
        if getattr(props, key) is not None and key not in _SCHEDULER_PROPERTIES[opt.scheduler]:
            warnings.append(f"{path}.properties.{key}: not used by the {opt.scheduler!r} "
                            "scheduler, ignored")
    if props.n_startup_trials is not None and opt.strategy not in ("hopt", "optuna"):
        warnings.append(f"{path}.properties.n_startup_trials: used by strategies hopt and "
                        f"optuna only, not {opt.strategy!r}; ignored")
    if opt.strategy == "bohb" and opt.scheduler != "bohb":
        warnings.append(f"{path}.scheduler: strategy 'bohb' without scheduler 'bohb' runs "
                        "without the HyperBand early stopping BOHB is designed around")
    if opt.scheduler != "fifo" and not plan.iterative:
        warnings.append(f"{path}.scheduler: {plan.cls.__name__} is not trained iteratively; "
                        f"{opt.scheduler!r} sees one result per trial and stops none early")
    resources = {"cpu_per_trial", "gpu_per_trial"} & opt.model_fields_set
    if resources and not on_ray:
        warnings.append(f"{path}.{sorted(resources)[0]}: used by trials on Ray Tune only "
                        "(general.backend: local), ignored")
    if on_ray and opt.gpu_per_trial == 0 and resolve_device(str(opt.device)).type == "cuda":
        raise ConfigError(f"{path}.gpu_per_trial: 0 with device {opt.device!r}; expected a "
                          "GPU share > 0 for trials on Ray Tune (or no gpu_per_trial)")
    return on_ray


def _check_searcher_space(plan: ModelPlan, list_params: set[str],
                          warnings: list[str]) -> None:
    """Every searched hyperparameter is one the searcher can sample (Ray Tune's own
    conversion to the library's space), named in the error when it is not."""
    from ray.tune.search.sample import Domain

    path, strategy = f"models.{plan.name}", plan.block.optimization.strategy
    params = plan.block.hyperparameters
    for name, value in params.items():
        if (isinstance(value, list) and value and isinstance(value[0], str)
                and value[0].lower() == CATEGORICAL[1]):
            warnings.append(f"{path}.{name}: [grid, ...] is sampled as [choice, ...] by "
                            f"strategy {strategy!r} (a searcher has no grid, as in WarpRec)")
    convert = searcher_class(strategy).convert_search_space
    # Ray Tune only warns when it drops part of a distribution (Optuna's quantized log
    # distributions): sampling something else than asked is refused here instead.
    dropped = _Collect()
    ray_logger = logging.getLogger("ray.tune.search")
    for name, domain in to_tune(params, list_params=list_params).items():
        if not isinstance(domain, Domain):
            continue
        dropped.messages.clear()
        ray_logger.addHandler(dropped)
        try:
            convert({name: domain})
        except Exception as exc:  # each library words (and types) its refusal its own way
            dropped.messages.append((str(exc).strip().splitlines() or [type(exc).__name__])[0])
        finally:
            ray_logger.removeHandler(dropped)
        if dropped.messages:
            raise ConfigError(f"{path}.{name}: strategy {strategy!r} cannot sample "
                              f"{params[name]!r}: {dropped.messages[-1]}")


class _Collect(logging.Handler):
    """Keeps the warnings logged while a search space is converted."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def searcher_class(strategy: str) -> Any:
    """Ray Tune's searcher class of a strategy (hopt, optuna, bohb)."""
    if strategy == "hopt":
        from ray.tune.search.hyperopt import HyperOptSearch

        return HyperOptSearch
    if strategy == "optuna":
        from ray.tune.search.optuna import OptunaSearch

        return OptunaSearch
    from ray.tune.search.bohb import TuneBOHB

    return TuneBOHB


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
