"""Fitting models and scoring trials, behind one runner interface: :class:`LocalTrials`
runs them one after another here, :class:`warprec.experiment.ray_trials.RayTrials` on
Ray Tune."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from warprec.errors import ConfigError, ModelError
from warprec.experiment.data import RunData
from warprec.experiment.plan import ModelPlan
from warprec.utils import interrupts
from warprec.utils.checks import shorten

__all__ = ["LocalTrials", "TrialOutcome", "TrialRunner", "check_defined", "fit_model",
           "score_trial"]

# Messages of failed allocations: torch ("DefaultCPUAllocator: can't allocate memory",
# "CUDA out of memory", "value cannot be converted to type int64_t without overflow",
# "Trying to create tensor with negative dimension") and numpy ("array is too big",
# "Maximum allowed size exceeded", "Unable to allocate").
# Under an address-space limit (ulimit -v) a shared library fails to map: dlopen's
# "failed to map segment", llvmlite's "Could not find/load shared object file".
_ALLOCATION = re.compile(r"alloc|out of memory|too big|too large|overflow|exceed|"
                         r"negative dimension|dimension.*(large|size)|map segment|"
                         r"load shared object", re.IGNORECASE)


@dataclass
class TrialOutcome:
    """One trial's validation scores and fit information; ``model`` is the fitted model
    when it lives in this process (``None`` for a trial run elsewhere). ``params`` are the
    trial's hyperparameters when a searcher chose them (``None``: ``plan.trials[index]``).
    ``status``: ``complete``; ``stopped`` early by a scheduler (``scores`` are its best
    per-epoch validation, at ``fit["best_epoch"]``); ``invalid`` (a searcher suggested
    hyperparameters the model refuses: ``error`` says why, no scores)."""

    index: int
    scores: dict[str, float]
    fit: dict[str, Any]
    model: Any = None
    params: dict[str, Any] | None = None
    status: str = "complete"
    error: str | None = None


class TrialRunner(Protocol):
    """Runs the trials of a model's search and yields their outcomes in trial order."""

    def run(self, plan: ModelPlan, data: RunData, evaluator: Any) -> Iterator[TrialOutcome]:
        """Fit and score every trial of ``plan`` on the validation data."""
        ...


class LocalTrials:
    """Trials one after another in this process."""

    def run(self, plan: ModelPlan, data: RunData, evaluator: Any) -> Iterator[TrialOutcome]:
        """Fit and score every trial of ``plan`` on the validation data."""
        for index, params in enumerate(plan.trials):
            scores, model, fit = score_trial(plan, params, data, evaluator)
            yield TrialOutcome(index, scores, fit, model)


def score_trial(plan: ModelPlan, params: dict[str, Any], data: RunData, evaluator: Any,
                *, on_evaluation: Any = None) -> tuple[dict[str, float], Any, dict[str, Any]]:
    """Fit on each selection dataset (the validation one, one per fold, or the main one
    when there is no validation split); mean scores on the selection split.
    ``on_evaluation`` (the trainer's per-epoch hook) applies with a single dataset only:
    fold after fold, epochs would repeat."""
    totals: dict[str, float] = {}
    model: Any = None
    fit: dict[str, Any] = {}
    datasets = data.selection_datasets
    hook = on_evaluation if len(datasets) == 1 else None
    for dataset in datasets:
        model, fit = fit_model(plan, params, dataset, evaluator, split="train",
                               on_evaluation=hook)
        result = evaluator.evaluate(model, dataset, split=data.selection_split)
        check_defined(result, f"models.{plan.name}", data.selection_split)
        summary = result.summary()
        for key, value in summary.items():
            totals[key] = totals.get(key, 0.0) + float(value)
    scores = {key: value / len(datasets) for key, value in totals.items()}
    # With k folds the kept model is the last fold's; a refit replaces it.
    return scores, model, fit


def fit_model(plan: ModelPlan, params: dict[str, Any], dataset: Any, evaluator: Any, *,
              split: str, epochs: int | None = None, on_evaluation: Any = None
              ) -> tuple[Any, dict[str, Any]]:
    """Build the model of one trial and train it; returns it and its fit information.
    ``on_evaluation`` is the trainer's per-validation hook (iterative models)."""
    from warprec.recommenders.base_recommender import IterativeRecommender, needs_interactions
    from warprec.recommenders.trainer import Trainer

    opt = plan.block.optimization
    interactions = getattr(dataset, split)
    start = time.perf_counter()
    args = [interactions] if needs_interactions(plan.cls) else []
    try:
        model = plan.cls(dict(params), dataset.info(), *args, seed=opt.properties.seed,
                         device=opt.device)
    except (MemoryError, RuntimeError, ValueError, OverflowError, TypeError, OSError) as exc:
        if not _allocation_failure(exc):
            raise
        raise ConfigError(f"models.{plan.name}: building {plan.cls.__name__} with "
                          f"{describe_params(params)} needs more memory than there is "
                          f"({type(exc).__name__}: {shorten(' '.join(str(exc).split()), 120)}"
                          "); expected smaller hyperparameters or data, or a higher memory "
                          "limit") from None
    fit: dict[str, Any] = {}
    if isinstance(model, IterativeRecommender):
        if opt.optimizer.name is not None:
            model.optimizer_config = {"name": opt.optimizer.name,
                                      "params": dict(opt.optimizer.params or {})}
        history = Trainer(model, dataset, evaluator, split=split, epochs=epochs,
                          progress=plan.progress, on_evaluation=on_evaluation,
                          **trainer_options(plan, dataset, split)).fit()
        # The epoch of the weights kept (and scored): the best check's on a metric, the
        # last one on the loss; a refit trains for this many epochs.
        fit["best_epoch"] = history.weights_epoch or history.epochs_run
        fit["epochs"] = history.epochs_run
        # Training curves (results.json "history", the report, MLflow); not numbers, so
        # the Ray runner does not report them.
        fit["history"] = {"loss": list(history.losses), "validation": history.validation}
        if history.interrupted:
            raise interrupts.interruption()
    fit["seconds"] = time.perf_counter() - start
    return model, fit


def trainer_options(plan: ModelPlan, dataset: Any, split: str) -> dict[str, Any]:
    """The trainer's keyword arguments from the model's optimization and early stopping."""
    opt = plan.block.optimization
    options: dict[str, Any] = {"optimizer": opt.optimizer.name or "Adam",
                               "optimizer_kwargs": opt.optimizer.params or {},
                               "track": plan.track}
    if opt.lr_scheduler.name:
        options["lr_scheduler"] = {"name": opt.lr_scheduler.name,
                                   **(opt.lr_scheduler.params or {})}
    es = plan.block.early_stopping
    validating = split == "train" and getattr(dataset, "validation", None) is not None
    if es is None:
        options.update(monitor="loss")
        return options
    monitor = {"score": opt.validation_metric}.get(es.monitor, es.monitor)
    if monitor != "loss" and not validating:
        # A refit has no validation split: train for the epochs the best trial needed.
        options.update(monitor="loss")
        return options
    mode = None if monitor == "loss" else opt.properties.mode
    options.update(monitor=monitor, mode=mode, patience=es.patience, min_delta=es.min_delta)
    return options


def _allocation_failure(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or bool(_ALLOCATION.search(str(exc)))


def describe_params(params: dict[str, Any]) -> str:
    """Hyperparameters for an error line (each value bounded)."""
    from warprec.utils.checks import describe

    shown = ", ".join(f"{k}={describe(v).rsplit(' (', 1)[0]}" for k, v in params.items())
    return "{" + shorten(shown, 200) + "}"


def check_defined(result: Any, path: str, split: str) -> None:
    """A per-user ranking metric (nDCG, Recall...) that is NaN although users were
    evaluated means the scores or the data were unusable: a :class:`ModelError`."""
    if not result.n_users_evaluated:
        return
    undefined = [key for key in result.per_user
                 if key in result.values and math.isnan(result.values[key])]
    if undefined:
        raise ModelError(f"{path}: {split} {', '.join(undefined[:3])} "
                         f"{'is' if len(undefined) == 1 else 'are'} NaN over "
                         f"{result.n_users_evaluated} users; expected finite scores "
                         "(the results cannot be trusted)")
