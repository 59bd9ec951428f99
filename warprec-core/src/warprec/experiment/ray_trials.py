"""Search trials on Ray Tune (``general.backend: ray``; extra ``warprec-core[ray]``), and
the searches WarpRec runs there: a searcher (``strategy: hopt | optuna | bohb``) suggesting
``num_samples`` trials, a scheduler (``scheduler: asha | bohb | median``) stopping trials
early from their per-epoch validation scores.

Without a searcher the trials are exactly the parameter sets the local runner runs (one Ray
Tune trial each, in parallel), on a local Ray started here or on an existing cluster
(``general.ray_address``). Each worker rebuilds the model class from the registry
(importing the config's custom modules first), fits and scores it on validation as the
local runner does, and reports the scores. An iterative model also reports its validation
scores after every epoch but the last (with ``completed_epochs``, the schedulers' default
time), so that a scheduler can stop it; the last report, marked final, holds the scores of
the trained model, exactly the local runner's. A trial without that final report was
stopped by the scheduler: its outcome is its best per-epoch report.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from warprec.config import Config
from warprec.config.search_space import to_tune
from warprec.experiment.data import RunData
from warprec.experiment.plan import ModelPlan, searcher_class
from warprec.experiment.trials import TrialOutcome, score_trial
from warprec.output import safe_name
from warprec.utils.threads import thread_limit

__all__ = ["RayTrials"]

_PREFIX = "warprec/"  # marks our metrics among the ones Ray Tune adds to each result
_FINAL = _PREFIX + "final"  # in the last report of a trial that ran to its end
COMPLETED_EPOCHS = "completed_epochs"  # WarpRec's name of the schedulers' default time


class RayTrials:
    """Trials in parallel on Ray Tune."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def run(self, plan: ModelPlan, data: RunData, evaluator: Any) -> Iterator[TrialOutcome]:
        """Fit and score every trial of ``plan``; outcomes in trial order, no models."""
        import ray
        from ray import tune

        general = self.config.model.general
        opt = plan.block.optimization
        if not ray.is_initialized():
            ray.init(address=general.ray_address, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        setup = {"plan": dataclasses.replace(plan, cls=None, progress=False),
                 "custom_modules": general.custom_modules,
                 "base_dir": str(self.config.base_dir)}
        trainable = tune.with_parameters(_trial, setup=setup, data=data, evaluator=evaluator)
        trainable = tune.with_resources(trainable, trial_resources(plan))
        metric = _PREFIX + str(opt.validation_metric)
        mode = opt.properties.mode
        if plan.searched:
            space = to_tune(plan.block.hyperparameters, list_params=_list_params(plan))
            tune_config = tune.TuneConfig(num_samples=opt.num_samples, metric=metric, mode=mode,
                                          reuse_actors=True,
                                          search_alg=build_searcher(plan),
                                          scheduler=build_scheduler(plan))
        else:
            space = {"index": tune.grid_search(list(range(len(plan.trials))))}
            tune_config = tune.TuneConfig(num_samples=1, metric=metric, mode=mode,
                                          reuse_actors=True, scheduler=build_scheduler(plan))
        # Tune's own files (no checkpoints: trials only report scores) go to a scratch folder;
        # reused actors spare each trial a worker's start-up (imports).
        with tempfile.TemporaryDirectory(prefix="warprec-tune-") as scratch:
            tuner = tune.Tuner(
                trainable, param_space=space, tune_config=tune_config,
                run_config=tune.RunConfig(name=f"warprec-{safe_name(plan.name)}", verbose=0,
                                          storage_path=scratch),
            )
            grid = tuner.fit()
            outcomes = [_outcome(grid[i], plan, i, metric) for i in range(len(grid))]
        if plan.searched and all(o.status == "invalid" for o in outcomes):
            raise RuntimeError(f"Ray Tune trials of {plan.name}: every suggested trial was "
                               f"refused by the model; first: {outcomes[0].error}")
        yield from sorted(outcomes, key=lambda o: o.index)


def trial_resources(plan: ModelPlan) -> dict[str, float]:
    """Ray resources of each trial: ``cpu_per_trial`` CPUs and ``gpu_per_trial`` GPUs
    (default: one GPU when the model's device is cuda)."""
    from warprec.utils.device import resolve_device

    opt = plan.block.optimization
    gpus = opt.gpu_per_trial
    if gpus is None:
        gpus = 1.0 if resolve_device(str(opt.device)).type == "cuda" else 0.0
    return {"cpu": float(opt.cpu_per_trial), "gpu": float(gpus)}


def build_searcher(plan: ModelPlan) -> Any:
    """Ray Tune's searcher of the model's strategy, seeded, with WarpRec's properties."""
    opt = plan.block.optimization
    props = opt.properties
    seed = int(props.seed or 0)
    cls = searcher_class(opt.strategy)
    if opt.strategy == "hopt":
        extra = {} if props.n_startup_trials is None else \
            {"n_initial_points": props.n_startup_trials}
        return cls(random_state_seed=seed, **extra)
    if opt.strategy == "optuna":
        if props.n_startup_trials is None:
            return cls(seed=seed)
        from optuna.samplers import TPESampler

        return cls(sampler=TPESampler(seed=seed, n_startup_trials=props.n_startup_trials))
    return cls(seed=seed)


def build_scheduler(plan: ModelPlan) -> Any:
    """Ray Tune's scheduler of the model (``None`` for fifo), with WarpRec's properties;
    time is ``completed_epochs`` unless ``properties.time_attr`` says otherwise."""
    from ray.tune.schedulers import ASHAScheduler, HyperBandForBOHB, MedianStoppingRule

    opt = plan.block.optimization
    props = opt.properties
    time_attr = props.time_attr or COMPLETED_EPOCHS
    # The section's validator made sure each scheduler has the properties it needs.
    max_t, grace = int(props.max_t or 0), int(props.grace_period or 0)
    factor = float(props.reduction_factor or 0)
    if opt.scheduler == "asha":
        return ASHAScheduler(time_attr=time_attr, max_t=max_t, grace_period=grace,
                             reduction_factor=factor)
    if opt.scheduler == "bohb":
        return HyperBandForBOHB(time_attr=time_attr, max_t=max_t, reduction_factor=factor)
    if opt.scheduler == "median":
        given: dict[str, Any] = {"min_samples_required": props.min_samples_required,
                                 "min_time_slice": props.min_time_slice,
                                 "hard_stop": props.hard_stop}
        return MedianStoppingRule(time_attr=time_attr, grace_period=grace,
                                  **{k: v for k, v in given.items() if v is not None})
    return None


def _list_params(plan: ModelPlan) -> set[str]:
    from warprec.recommenders.base_recommender import hyperparameters

    cls = plan.cls
    return {n for n, d in hyperparameters(cls).items()
            if str(d["type"]).lower().startswith(("list", "tuple"))}


def _outcome(result: Any, plan: ModelPlan, position: int, metric: str) -> TrialOutcome:
    name = plan.name
    config = dict(result.config or {})
    params = None if "index" in config else _plain(config)
    index = int(config["index"]) if "index" in config else position
    if result.error is not None:
        # Ray's error text holds the worker's traceback; its last line is the exception.
        last = (str(result.error).strip().splitlines() or [""])[-1]
        if params is not None and "InvalidTrial" in last:
            return TrialOutcome(index, {}, {}, params=params, status="invalid",
                                error=last.split(": ", 1)[-1])
        raise RuntimeError(f"Ray Tune trial of {name} failed: {last}") from result.error
    metrics = result.metrics or {}
    if metrics.get(_FINAL):
        fit_prefix = _PREFIX + "fit/"
        scores = _scores(metrics)
        fit = {k[len(fit_prefix):]: v for k, v in metrics.items()
               if k.startswith(fit_prefix) and not _is_nan(v)}
        return TrialOutcome(index, scores, fit, params=_checked(plan, params))
    # Stopped by the scheduler: its best per-epoch report, as WarpRec picks it.
    history = result.metrics_dataframe
    rows = [row for row in history.to_dict("records") if not _is_nan(row.get(metric))] \
        if history is not None and metric in history else [metrics]
    pick = max if plan.block.optimization.properties.mode == "max" else min
    best = pick(rows, key=lambda row: float(row[metric]))
    fit = {"best_epoch": int(best[COMPLETED_EPOCHS]),
           "epochs": int(metrics.get(COMPLETED_EPOCHS, best[COMPLETED_EPOCHS])),
           "seconds": float(metrics.get("time_total_s", 0.0))}
    return TrialOutcome(index, _scores(best), fit, params=_checked(plan, params),
                        status="stopped")


def _scores(metrics: Mapping[str, Any]) -> dict[str, float]:
    fit_prefix = _PREFIX + "fit/"
    return {k[len(_PREFIX):]: float(v) for k, v in metrics.items()
            if k.startswith(_PREFIX) and not k.startswith(fit_prefix) and k != _FINAL
            and not _is_nan(v)}


def _checked(plan: ModelPlan, params: dict[str, Any] | None) -> Any:
    """A searcher's trial: the hyperparameters its model was built with (defaults filled
    in, as the trial validated them)."""
    if params is None:
        return None
    cls: Any = plan.cls
    return cls.validate_params(params, path=f"models.{plan.name}",
                               optimizer=plan.block.optimization.optimizer.name)


class InvalidTrial(ValueError):
    """A searcher suggested hyperparameters the model refuses (its ConfigError)."""


def _plain(value: Any) -> Any:
    """Python values of a searcher's suggestion (BOHB gives numpy scalars)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (str, bytes)) else value


def _trial(params: Mapping[str, Any], setup: Mapping[str, Any], data: Any,
           evaluator: Any) -> None:
    """One Ray Tune trial: the local runner's fit + validation, reported to Tune (per
    epoch for an iterative model, then once final)."""
    from ray import tune

    from warprec.custom_modules import import_custom_modules
    from warprec.errors import ConfigError
    from warprec.utils.registry import model_registry

    import_custom_modules(setup["custom_modules"], Path(setup["base_dir"]))
    plan = dataclasses.replace(setup["plan"], cls=model_registry.get_class(setup["plan"].name))
    if "index" in params:
        trial = plan.trials[params["index"]]
    else:
        try:
            trial = plan.cls.validate_params(_plain(dict(params)), path=f"models.{plan.name}",
                                             optimizer=plan.block.optimization.optimizer.name)
        except ConfigError as exc:
            raise InvalidTrial(str(exc)) from None
    last_epoch = int(trial.get("epochs", 0) or 0) if plan.iterative else 0

    def on_evaluation(epoch: int, scores: dict[str, float]) -> None:
        # The last epoch's scores come with the final report, once the weights are final.
        if epoch < last_epoch:
            tune.report({**{f"{_PREFIX}{k}": float(v) for k, v in scores.items()},
                         COMPLETED_EPOCHS: epoch})

    # The trial's threads are the CPUs Ray gave it (torch's and the BLAS/OpenMP pools).
    with thread_limit(int(plan.block.optimization.cpu_per_trial)):
        scores, _, fit = score_trial(plan, trial, data, evaluator,
                                     on_evaluation=on_evaluation)
    report: dict[str, Any] = {f"{_PREFIX}{k}": float(v) for k, v in scores.items()}
    report.update({f"{_PREFIX}fit/{k}": float(v) for k, v in fit.items()
                   if isinstance(v, int | float)})
    report.update({_FINAL: 1.0, COMPLETED_EPOCHS: int(fit.get("epochs", 1))})
    tune.report(report)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
