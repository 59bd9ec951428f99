"""The contract smoke check a run makes before it trains a model that is not official.

:func:`smoke_check` runs three of the conformance kit's checks (:data:`SMOKE_CHECKS`):
the ``train_step`` loss, ``predict``'s shapes and NaN-free scores, and the seen-item
masking of ``recommend``, on a small sample of the run's data (:func:`data_sample`) with
the run's hyperparameters, so that a model breaking the contract fails the run in
seconds, before its first epoch, with the message the kit gives. Training is cut to one
optimizer step on one batch, and the sample bounds the work of a model fitted in its
constructor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from warprec.data.dataset import Dataset
from warprec.data.schema import ITEM, RATING, TIMESTAMP, USER
from warprec.recommenders.base_recommender import IterativeRecommender
from warprec.testing.conformance import (
    CheckSkipped,
    ConformanceError,
    ModelChecker,
    _describe,
    _trainer,
)

__all__ = ["SMOKE_CHECKS", "data_sample", "smoke_check"]

SMOKE_CHECKS = ("train_step_loss", "predict_shapes", "topk_masks_seen")
"""The kit's checks the smoke check runs (``train_step_loss`` on iterative models only)."""


def smoke_check(model_class: type, params: dict[str, Any], dataset: Dataset, *,
                seed: int = 42, device: str = "cpu") -> None:
    """Run :data:`SMOKE_CHECKS` on ``model_class`` built with ``params`` on ``dataset``
    (best a :func:`data_sample`); an iterative model is trained one optimizer step.

    Raises :class:`~warprec.testing.ConformanceError` ``"<check>: <the kit's message>"``
    for the first check that fails (an exception of the model's ``train_step``,
    ``predict`` or ``recommend`` included), and
    :class:`~warprec.testing.conformance.CheckSkipped` when the model cannot even be
    built on ``dataset`` (hyperparameters that do not suit a sample, say).
    """
    _OneStepChecker(model_class, params, dataset=dataset, seed=seed, device=device).smoke()


def data_sample(dataset: Dataset, *, users: int = 64, items: int = 128, seed: int = 0
                ) -> Dataset:
    """A small dataset of ``dataset``'s training rows, ids and feedback kind: the training
    rows of at most ``users`` random users among the ``items`` most popular items, each
    user keeping at most half of them (so that every user has unseen items). With
    context columns, every row of the kept pairs, its context columns holding the
    category indices."""
    train = dataset.train
    popular = np.argsort(-np.bincount(train.items, minlength=dataset.n_items),
                         kind="stable")[:items]
    kept = np.isin(train.items, popular)
    candidates = np.unique(train.users[kept])
    chosen = np.random.default_rng(seed).choice(
        candidates, min(users, candidates.size), replace=False)
    kept &= np.isin(train.users, chosen)
    frame = pd.DataFrame({USER: dataset.user_ids[train.users[kept]],
                          ITEM: dataset.item_ids[train.items[kept]]})
    if train.ratings is not None:
        frame[RATING] = train.ratings[kept]
    if train.timestamps is not None:
        frame[TIMESTAMP] = train.timestamps[kept]
    frame = frame.groupby(USER, sort=False).tail(max(1, popular.size // 2))
    labels: list[str] = []
    if train.transactions is not None and dataset.context is not None:
        # Every row of the kept pairs, its context as the category indices.
        frame = _context_rows(dataset, frame)
        labels = dataset.context.labels
    return Dataset(frame.reset_index(drop=True), frame.iloc[:0], None,
                   implicit=dataset.implicit, context_labels=labels)


def _context_rows(dataset: Dataset, pairs: pd.DataFrame) -> pd.DataFrame:
    """The training rows (with their contexts) of the ``pairs`` kept by the sample."""
    rows = dataset.train.transactions
    assert rows is not None and dataset.context is not None
    keys = dataset.user_index(pairs[USER]) * (dataset.n_items + 1) + dataset.item_index(
        pairs[ITEM])
    kept = np.isin(rows.users * (dataset.n_items + 1) + rows.items, keys)
    frame = pd.DataFrame({USER: dataset.user_ids[rows.users[kept]],
                          ITEM: dataset.item_ids[rows.items[kept]]})
    if rows.ratings is not None:
        frame[RATING] = rows.ratings[kept]
    for column, label in enumerate(dataset.context.labels):
        frame[label] = rows.contexts[kept, column]
    return frame


class _OneStepChecker(ModelChecker):
    """The kit's checker with training cut to one optimizer step on the first batch,
    between the epoch hooks, as the trainer's first step runs it."""

    def smoke(self) -> None:
        """See :func:`smoke_check`."""
        try:
            model = self.build()
        except Exception as exc:
            raise CheckSkipped(f"{self.name} cannot be built on the sample: "
                               f"{_describe(exc)}") from exc
        for name in SMOKE_CHECKS:
            try:
                if name != "train_step_loss" and self._fitted is None:
                    self._fitted = self.fit(model)
                getattr(self, f"check_{name}")()
            except CheckSkipped:
                continue
            except ConformanceError as exc:
                raise ConformanceError(f"{name}: {exc}") from None
            except Exception as exc:
                raise ConformanceError(f"{name}: {_describe(exc)}") from exc

    def fit(self, model: Any) -> Any:
        if not isinstance(model, IterativeRecommender):
            return model
        model.train()
        model.on_epoch_start(1)
        batch = self._first_batch(model)
        optimizer = _trainer(model, self.dataset).configure_optimizer()
        optimizer.zero_grad()
        model.train_step(batch).backward()
        optimizer.step()
        model.on_epoch_end(1)
        return model
