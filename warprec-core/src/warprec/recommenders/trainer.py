"""The training loop of :class:`~warprec.recommenders.base_recommender.IterativeRecommender`.

A plain torch loop::

    trainer = Trainer(model, dataset, evaluator, optimizer="Adam", patience=5)
    history = trainer.fit()

What the trainer uses from the model:

- ``get_dataloader(interactions, sessions, **dataloader_kwargs)``: called once; each
  iteration over the result is one epoch.
- ``train_step(batch)``: the loss of one batch as a scalar tensor (anything else stops
  training with a :class:`TrainingError`); the trainer runs ``backward`` and the
  optimizer step.
- ``configure_optimizer()``: a custom optimizer, or ``None`` for the named one
  (``Adam``, ``AdamW``, ``SGD``, ``Adagrad``, ``RMSprop``, ``SparseAdam``) with the
  model's ``learning_rate`` and ``weight_decay``.
- ``on_epoch_start(epoch)`` / ``on_epoch_end(epoch)``: optional per-epoch hooks.
- ``epochs``, ``device`` and ``seed``.

Per batch the loop does only the step itself: the loss is summed as a tensor and read
once per epoch (when a progress bar is shown, also every ``refresh`` batches), so a NaN
or infinite loss is detected at the end of the epoch it occurred in. Every
``eval_every`` epochs the evaluator scores the validation split; early stopping watches
``monitor`` (a metric such as ``"nDCG@10"``, or ``"loss"``) and ends training after
``patience`` checks without an improvement larger than ``min_delta``.

Which weights the model keeps (``restore_best``, on by default):

- monitoring a metric: those of the best check, restored at the end, also when Ctrl-C
  interrupts training;
- monitoring the loss (no validation split, e.g. a refit): those of the last completed
  epoch. The lowest training loss does not pick a better model: a loss can rise while
  the model improves (a VAE whose KL weight grows over the epochs: MultVAE refitted on
  MovieLens-100K tested at nDCG@10 0.362 with its lowest-loss epoch's weights, 0.392
  with its last), and a refit is asked for a number of epochs, which its last weights
  are. Early stopping on the loss still ends training after ``patience`` epochs without
  a lower loss. A non-finite loss or Ctrl-C rolls back to the last completed epoch with
  a finite loss. ``history.weights_epoch`` tells which epoch the kept weights are from.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from warprec.errors import ConfigError, WarpRecError

__all__ = [
    "OPTIMIZERS",
    "Trainer",
    "TrainingError",
    "TrainingHistory",
    "build_optimizer",
    "to_device",
]

logger = logging.getLogger("warprec.trainer")

OPTIMIZERS = ("Adam", "AdamW", "SGD", "Adagrad", "RMSprop", "SparseAdam")


class TrainingError(WarpRecError, RuntimeError):
    """Training cannot go on: a malformed or non-finite loss."""


@dataclass
class TrainingHistory:
    """What happened during :meth:`Trainer.fit`."""

    monitor: str
    losses: list[float] = field(default_factory=list)
    validation: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    weights_epoch: int | None = None
    """The epoch whose weights the model holds after :meth:`Trainer.fit` (the best check's
    when monitoring a metric, the last completed epoch's when monitoring the loss; the
    last epoch run without ``restore_best``)."""
    stopped_early: bool = False
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def epochs_run(self) -> int:
        """Number of completed epochs."""
        return len(self.losses)


def build_optimizer(
    name: str,
    parameters: Any,
    learning_rate: float,
    weight_decay: float = 0.0,
    **kwargs: Any,
) -> torch.optim.Optimizer:
    """Build a torch optimizer by (case-insensitive) name."""
    by_lower = {option.lower(): option for option in OPTIMIZERS}
    canonical = by_lower.get(str(name).lower())
    if canonical is None:
        raise ConfigError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
    if canonical == "SparseAdam" and weight_decay:
        raise ConfigError("optimizer 'SparseAdam' does not support weight_decay; set it to 0")
    optimizer_cls = getattr(torch.optim, canonical)
    if canonical != "SparseAdam":
        kwargs["weight_decay"] = weight_decay
    try:
        return optimizer_cls(list(parameters), lr=learning_rate, **kwargs)
    except (TypeError, ValueError) as exc:
        # torch names a bad option or value ("Invalid learning rate: -1.0").
        raise ConfigError(
            f"optimizer {canonical!r}: {exc}; expected the arguments of torch.optim.{canonical}"
        ) from exc


def _build_scheduler(spec: Any, optimizer: torch.optim.Optimizer, mode: str) -> Any:
    if spec is None:
        return None
    if callable(spec) and not isinstance(spec, str):
        return spec(optimizer)
    options = {"name": spec} if isinstance(spec, str) else dict(spec)
    name = options.pop("name", None)
    if name == "ReduceLROnPlateau":
        options.setdefault("mode", mode)
    scheduler_cls = getattr(torch.optim.lr_scheduler, str(name), None)
    if not isinstance(scheduler_cls, type):
        raise ConfigError(
            f"unknown lr_scheduler {name!r}; expected a class of torch.optim.lr_scheduler "
            "such as 'StepLR', 'ExponentialLR', 'CosineAnnealingLR' or 'ReduceLROnPlateau'"
        )
    try:
        return scheduler_cls(optimizer, **options)
    except TypeError as exc:
        raise ConfigError(f"lr_scheduler {name!r}: {exc}") from exc


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` with every tensor moved to ``device`` (inside tuples, lists and dicts)."""
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(part, device) for part in batch)
    if isinstance(batch, dict):
        return {key: to_device(value, device) for key, value in batch.items()}
    return batch


def _batch_len(batch: Any) -> int:
    while isinstance(batch, (tuple, list)) and batch:
        batch = batch[0]
    if isinstance(batch, dict) and batch:
        return _batch_len(next(iter(batch.values())))
    return int(batch.shape[0]) if isinstance(batch, Tensor) and batch.dim() else 1


class Trainer:
    """Train an iterative model on ``dataset`` (see the module docstring).

    Args:
        model: an :class:`IterativeRecommender`.
        dataset: a :class:`warprec.data.dataset.Dataset`.
        evaluator: a :class:`warprec.evaluation.Evaluator` for validation checks, or None.
        optimizer: optimizer name (ignored when the model's ``configure_optimizer``
            returns one); ``optimizer_kwargs`` go to its constructor.
        weight_decay: overrides the model's ``weight_decay`` hyperparameter.
        lr_scheduler: ``None``, a ``torch.optim.lr_scheduler`` class name, a dict
            ``{"name": ..., **kwargs}`` or a callable ``optimizer -> scheduler``;
            stepped once per epoch (``ReduceLROnPlateau`` with the monitored value).
        epochs: overrides the model's ``epochs``.
        eval_every: epochs between validation checks.
        monitor: ``"loss"`` or a result key of the evaluator (default: its first key,
            ``"loss"`` without an evaluator or without a validation split).
        mode: ``"min"`` or ``"max"``; default ``"min"`` for the loss, ``"max"`` otherwise.
        patience: checks without improvement before stopping (``None``: never stop).
        min_delta: the smallest change that counts as an improvement.
        restore_best: keep the best check's weights (monitoring a metric) or the last
            completed epoch's (monitoring the loss: see the module docstring) when
            training ends, stops or fails; ``False``: whatever the last step left.
        progress: show a tqdm bar; ``None``: only when stderr is a terminal.
        split: ``"train"`` or ``"train_validation"`` (refit on train + validation).
        dataloader_kwargs: extra keyword arguments of ``model.get_dataloader``.
        refresh: batches between progress-bar loss updates.
        track: record the validation results every ``eval_every`` epochs even when
            ``monitor`` is the loss (training curves); needs an evaluator and a
            validation split, ignored otherwise.
        on_evaluation: called as ``on_evaluation(epoch, scores)`` after each validation
            check with its results (e.g. to report them to Ray Tune); when given, the
            validation split is scored every ``eval_every`` epochs also while ``monitor``
            is the loss.
    """

    def __init__(
        self,
        model: Any,
        dataset: Any,
        evaluator: Any = None,
        *,
        optimizer: str = "Adam",
        optimizer_kwargs: dict[str, Any] | None = None,
        weight_decay: float | None = None,
        lr_scheduler: Any = None,
        epochs: int | None = None,
        eval_every: int = 1,
        monitor: str | None = None,
        mode: str | None = None,
        patience: int | None = None,
        min_delta: float = 0.0,
        restore_best: bool = True,
        progress: bool | None = None,
        split: str = "train",
        dataloader_kwargs: dict[str, Any] | None = None,
        refresh: int = 100,
        track: bool = False,
        on_evaluation: Callable[[int, dict[str, float]], None] | None = None,
    ) -> None:
        self.model = model
        self.dataset = dataset
        # No validation checks without a validation split, or when training on it.
        validating = split == "train" and getattr(dataset, "validation", None) is not None
        self.evaluator = evaluator if validating else None
        self.optimizer_name = optimizer
        self.optimizer_kwargs = dict(optimizer_kwargs or {})
        self.weight_decay = weight_decay
        self.lr_scheduler = lr_scheduler
        self.epochs = int(epochs if epochs is not None else model.epochs)
        self.eval_every = max(1, int(eval_every))
        self.monitor = monitor or self._default_monitor()
        if self.monitor != "loss" and self.evaluator is None:
            raise ConfigError(
                f"early stopping on {self.monitor!r} needs an evaluator and a validation split"
            )
        self.mode = mode or ("min" if self.monitor == "loss" else "max")
        if self.mode not in ("min", "max"):
            raise ConfigError(f"mode must be 'min' or 'max', got {self.mode!r}")
        self.patience = patience
        self.min_delta = float(min_delta)
        self.restore_best = restore_best
        self.progress = sys.stderr.isatty() if progress is None else progress
        if split not in ("train", "train_validation"):
            raise ConfigError(f"split must be 'train' or 'train_validation', got {split!r}")
        self.split = split
        self.dataloader_kwargs = dict(dataloader_kwargs or {})
        self.refresh = max(1, int(refresh))
        self.track = bool(track)
        self.on_evaluation = on_evaluation
        self._best_state: dict[str, Any] | None = None
        self._best_state_epoch: int | None = None
        self._stale = 0

    def _default_monitor(self) -> str:
        keys = getattr(self.evaluator, "keys", None) if self.evaluator is not None else None
        return keys[0] if keys else "loss"

    def configure_optimizer(self) -> torch.optim.Optimizer:
        """The model's own optimizer, else the named one over its trainable parameters."""
        custom = self.model.configure_optimizer()
        if custom is not None:
            return custom
        decay = self.weight_decay
        if decay is None:
            decay = float(getattr(self.model, "weight_decay", 0.0))
        parameters = [p for p in self.model.parameters() if p.requires_grad]
        return build_optimizer(
            self.optimizer_name,
            parameters,
            float(self.model.learning_rate),
            decay,
            **self.optimizer_kwargs,
        )

    def fit(self) -> TrainingHistory:
        """Train for up to ``epochs`` epochs; returns the :class:`TrainingHistory`."""
        model = self.model
        model.to(model.device)
        optimizer = self.configure_optimizer()
        scheduler = _build_scheduler(self.lr_scheduler, optimizer, self.mode)
        self._best_state = None
        self._best_state_epoch = None
        self._stale = 0
        interactions = getattr(self.dataset, self.split)
        # The histories of the part trained on (a refit trains on train + validation).
        sessions = (self.dataset.sessions(self.split) if hasattr(self.dataset, "sessions")
                    else getattr(self.dataset, "train_sessions", None))
        loader = model.get_dataloader(interactions, sessions, **self.dataloader_kwargs)
        history = TrainingHistory(self.monitor)
        start = time.perf_counter()
        try:
            for epoch in range(1, self.epochs + 1):
                loss = self._run_epoch(epoch, loader, optimizer)
                history.losses.append(loss)
                if not math.isfinite(loss):
                    self._restore()
                    raise TrainingError(
                        f"{model.name}: the training loss is {loss} at epoch {epoch}; "
                        "lower the learning rate or check the model's train_step"
                    )
                if self._check(epoch, loss, history, scheduler):
                    history.stopped_early = True
                    logger.info(
                        "early stopping at epoch %d (best epoch %s)", epoch, history.best_epoch
                    )
                    break
        except KeyboardInterrupt:
            history.interrupted = True
            logger.warning("training interrupted after %d epoch(s)", history.epochs_run)
        finally:
            history.seconds = time.perf_counter() - start
        self._restore()
        history.weights_epoch = self._best_state_epoch if self.restore_best else (
            history.epochs_run or None)
        model.eval()
        return history

    def _run_epoch(self, epoch: int, loader: Any, optimizer: torch.optim.Optimizer) -> float:
        model = self.model
        device = model.device
        move = device.type != "cpu"
        model.train()
        model.on_epoch_start(epoch)
        total = torch.zeros((), device=device)
        samples = 0
        started = time.perf_counter()
        bar = tqdm(
            loader,
            total=len(loader),
            desc=f"{model.name} epoch {epoch}/{self.epochs}",
            disable=not self.progress,
            leave=False,
            dynamic_ncols=True,
        )
        for step, batch in enumerate(bar, start=1):
            if move:
                batch = to_device(batch, device)
            loss = model.train_step(batch)
            if not isinstance(loss, Tensor) or loss.dim() != 0:
                raise TrainingError(
                    f"{model.name}.train_step must return a scalar loss tensor, got "
                    f"{_describe(loss)}"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
            samples += _batch_len(batch)
            if self.progress and step % self.refresh == 0:
                elapsed = max(time.perf_counter() - started, 1e-9)
                bar.set_postfix(
                    loss=f"{total.item() / step:.4f}",
                    samples_s=f"{samples / elapsed:,.0f}",
                    refresh=False,
                )
        bar.close()
        steps = max(len(loader), 1)
        mean_loss = float(total.item()) / steps
        rate = samples / max(time.perf_counter() - started, 1e-9)
        model.on_epoch_end(epoch)
        logger.info(
            "%s epoch %d/%d: loss %.5f, %.0f samples/s",
            model.name,
            epoch,
            self.epochs,
            mean_loss,
            rate,
        )
        return mean_loss

    def _check(self, epoch: int, loss: float, history: TrainingHistory, scheduler: Any) -> bool:
        """Validate when due, track the best weights; True when training should stop."""
        due = epoch % self.eval_every == 0 or epoch == self.epochs
        value = loss
        on_metric = self.monitor != "loss"
        # Curves (track) and per-epoch reports (on_evaluation) score validation every
        # epoch; only a metric monitor decides on it.
        scoring = on_metric or self.track or self.on_evaluation is not None
        if self.evaluator is not None and scoring:
            if not due and on_metric:
                self._step_scheduler(scheduler, None)
                return False
            if due:
                summary = self._validate(epoch, history)
                if on_metric:
                    value = summary[self.monitor]
                    logger.info("epoch %d: %s = %.5f", epoch, self.monitor, value)
        self._step_scheduler(scheduler, value)
        improved = self._improved(value, history.best_value)
        # The weights kept: the best check's on a metric; on the loss, every epoch's (the
        # last completed one, whose loss is finite: fit raised before otherwise).
        if self.restore_best and (improved or not on_metric):
            self._snapshot(epoch)
        if improved:
            history.best_value, history.best_epoch = value, epoch
            self._stale = 0
            return False
        self._stale += 1
        return self.patience is not None and self._stale >= self.patience

    def _snapshot(self, epoch: int) -> None:
        self._best_state = {
            key: tensor.detach().clone() if isinstance(tensor, Tensor) else tensor
            for key, tensor in self.model.state_dict().items()
        }
        self._best_state_epoch = epoch

    def _validate(self, epoch: int, history: TrainingHistory) -> dict[str, float]:
        assert self.evaluator is not None  # the caller validates only with one
        self.model.eval()
        result = self.evaluator.evaluate(self.model, self.dataset, split="validation")
        summary = result.summary()
        if self.monitor != "loss" and self.monitor not in summary:
            raise ConfigError(
                f"monitor {self.monitor!r} is not a validation result; "
                f"expected one of {', '.join(summary)}"
            )
        history.validation.append({"epoch": epoch, **summary})
        if self.on_evaluation is not None:
            self.on_evaluation(epoch, {key: float(v) for key, v in summary.items()})
        return summary

    def _improved(self, value: float, best: float | None) -> bool:
        if not math.isfinite(value):
            return False
        if best is None:
            return True
        if self.mode == "max":
            return value > best + self.min_delta
        return value < best - self.min_delta

    @staticmethod
    def _step_scheduler(scheduler: Any, value: float | None) -> None:
        if scheduler is None:
            return
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            if value is not None:
                scheduler.step(value)
        else:
            scheduler.step()

    def _restore(self) -> None:
        if self.restore_best and self._best_state is not None:
            self.model.load_state_dict(self._best_state)


def _describe(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r}"[:80]
