"""Fitting models and scoring trials, behind one runner interface: :class:`LocalTrials`
runs them one after another here, :class:`warprec.experiment.ray_trials.RayTrials` on
Ray Tune."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from warprec.experiment.data import RunData
from warprec.experiment.plan import ModelPlan

__all__ = ["LocalTrials", "TrialOutcome", "TrialRunner", "fit_model", "score_trial"]


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
        summary = evaluator.evaluate(model, dataset, split=data.selection_split).summary()
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
    model = plan.cls(dict(params), dataset.info(), *args, seed=opt.properties.seed,
                     device=opt.device)
    fit: dict[str, Any] = {}
    if isinstance(model, IterativeRecommender):
        history = Trainer(model, dataset, evaluator, split=split, epochs=epochs,
                          progress=plan.progress, on_evaluation=on_evaluation,
                          **trainer_options(plan, dataset, split)).fit()
        fit["best_epoch"] = history.best_epoch or history.epochs_run
        fit["epochs"] = history.epochs_run
        if history.interrupted:
            raise KeyboardInterrupt
    fit["seconds"] = time.perf_counter() - start
    return model, fit


def trainer_options(plan: ModelPlan, dataset: Any, split: str) -> dict[str, Any]:
    """The trainer's keyword arguments from the model's optimization and early stopping."""
    opt = plan.block.optimization
    options: dict[str, Any] = {"optimizer": opt.optimizer.name or "Adam",
                               "optimizer_kwargs": opt.optimizer.params or {}}
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
