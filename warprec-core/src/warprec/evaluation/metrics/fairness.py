"""Fairness metrics over user and item groups (WarpRec's ``fairness``).

Groups come from the evaluator's ``user_groups`` / ``item_groups`` (WarpRec's
``reader.clustering`` files, read by :mod:`warprec.data.clustering`): group ids ``1..G``,
``0`` for an id the file does not list. Without groups every user (item) is in group 1.
Per-group values are reported under ``Name_IC<g>`` (item groups), ``Name_UC<u>_IC<g>``
(user and item groups); group 0 is never reported on its own but, as in WarpRec, takes
part in the aggregates when it holds items or users.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from warprec.evaluation.metrics.accuracy import nDCG
from warprec.evaluation.metrics.base import (
    Metric,
    RankingBatch,
    UserMetric,
    dispersion,
    mean_absolute_difference,
)

__all__ = [
    "REO",
    "RSP",
    "BiasDisparityBD",
    "BiasDisparityBR",
    "BiasDisparityBS",
    "ItemMADRanking",
    "ItemMADRating",
    "UserMADRanking",
    "UserMADRating",
]


def _bincount(groups: Tensor, size: int, weights: Tensor | None = None) -> Tensor:
    return torch.bincount(groups.reshape(-1), weights=None if weights is None else
                          weights.reshape(-1).double(), minlength=size).double().cpu()  # fmt: skip


class _ItemGroupRates(Metric):
    """Per item group ``P(g) = numerator(g) / denominator(g)``; the result is
    ``std(P) / mean(P)`` over the groups with a denominator."""

    per_user = False
    higher_is_better = False

    def __init__(self, k: int | None = None) -> None:
        super().__init__(k)
        self.numerator: Tensor | None = None
        self.denominator: Tensor | None = None
        self.n_groups = 0

    def add(self, numerator: Tensor, denominator: Tensor) -> None:
        """Accumulate per-group counts (``[G + 1]``)."""
        if self.numerator is None or self.denominator is None:
            self.numerator, self.denominator = numerator, denominator
        else:
            self.numerator += numerator
            self.denominator += denominator

    def result_suffixes(self, n_user_groups: int, n_item_groups: int) -> list[str]:
        """The aggregate and ``_IC1.._ICG``."""
        return ["", *(f"_IC{g}" for g in range(1, n_item_groups + 1))]

    def compute(self) -> float:
        """The dispersion of the group rates."""
        return self.compute_all()[""]

    def compute_all(self) -> dict[str, float]:
        """The aggregate and each group's rate (NaN for a group with no denominator)."""
        if self.numerator is None or self.denominator is None:
            return {"": math.nan}
        valid = self.denominator > 0
        rates = torch.where(valid, self.numerator / self.denominator.clamp(min=1e-300), math.nan)
        values = {f"_IC{g}": float(rates[g]) for g in range(1, self.n_groups + 1)}
        values[""] = dispersion(rates[valid])
        return values


class REO(_ItemGroupRates):
    """Ranking-based equal opportunity: ``P(g) = |hits on items of g| / |relevant items
    of g|`` over all users; ``REO@k = std(P) / mean(P)``."""

    def update(self, batch: RankingBatch) -> None:
        """Count hits and relevant items per item group."""
        groups = batch.ctx.item_groups
        size = batch.ctx.n_item_groups + 1
        self.n_groups = size - 1
        hits = torch.where(batch.hits[:, : self.k] > 0, batch.top_items[:, : self.k],
                           batch.n_items)  # fmt: skip
        real_hits = hits[hits < batch.n_items]
        positives = batch.require("pos_items")
        self.add(_bincount(groups[real_hits], size),
                 _bincount(groups[positives[positives < batch.n_items]], size))  # fmt: skip


class RSP(_ItemGroupRates):
    """Ranking-based statistical parity: ``P(g) = |top-k slots holding items of g| /
    |(user, item of g) pairs that could be ranked|`` (masked items excluded);
    ``RSP@k = std(P) / mean(P)``."""

    def update(self, batch: RankingBatch) -> None:
        """Count recommended and offered items per item group."""
        groups = batch.ctx.item_groups
        size = batch.ctx.n_item_groups + 1
        self.n_groups = size - 1
        items = batch.top_items[:, : self.k]
        offered = batch.require("scores") > float("-inf")
        columns = batch.column_items().expand_as(offered)
        offered = offered & (columns < batch.n_items)
        self.add(_bincount(groups[items[items < batch.n_items]], size),
                 _bincount(groups[columns[offered]], size))  # fmt: skip


class _BiasDisparity(Metric):
    """``bias(u, c) = (n(u, c) / n(u)) / (|items of c| / |items|)`` per user group ``u`` and
    item group ``c``; reported as ``Name_UC<u>_IC<c>``."""

    per_user = False

    def __init__(self, k: int | None = None) -> None:
        super().__init__(k)
        self.counts: Tensor | None = None
        self.shape = (0, 0)

    def result_suffixes(self, n_user_groups: int, n_item_groups: int) -> list[str]:
        """``_UC<u>_IC<c>`` for every pair of groups."""
        return [
            f"_UC{u}_IC{c}" for u in range(1, n_user_groups + 1)
            for c in range(1, n_item_groups + 1)
        ]  # fmt: skip

    def compute(self) -> float:
        """Not a single number: NaN (see :meth:`compute_all`)."""
        return math.nan

    def bias(self) -> Tensor | None:
        """``[U + 1, C + 1]`` bias matrix, or None before the first batch."""
        if self.counts is None:
            return None
        return self.counts / self.counts.sum(dim=1, keepdim=True).clamp(min=1) / self.shares

    def compute_all(self) -> dict[str, float]:
        """Each pair's bias."""
        return _pairs(self.bias(), *self.shape)

    def start(self, batch: RankingBatch) -> None:
        """Set up the group shares from the context on the first batch."""
        if self.counts is None:
            ctx = batch.ctx
            self.shape = (ctx.n_user_groups, ctx.n_item_groups)
            size = (ctx.n_user_groups + 1, ctx.n_item_groups + 1)
            self.counts = torch.zeros(size, dtype=torch.float64)
            self.shares = _bincount(ctx.item_groups[:-1], size[1]) / max(ctx.n_items, 1)


def _pairs(matrix: Tensor | None, n_users: int, n_items: int) -> dict[str, float]:
    if matrix is None:
        return {}
    return {
        f"_UC{u}_IC{c}": float(matrix[u, c])
        for u in range(1, n_users + 1)
        for c in range(1, n_items + 1)
    }


class BiasDisparityBS(_BiasDisparity):
    """Bias source: ``bias(u, c)`` of the known (training) interactions; no cutoff."""

    uses_cutoff = False

    def update(self, batch: RankingBatch) -> None:
        """Count the known interactions once."""
        if self.counts is not None:
            return
        self.start(batch)
        ctx = batch.ctx
        known = ctx.known.tocoo()
        users = ctx.user_groups.cpu()[torch.from_numpy(known.row.astype(np.int64))]
        items = ctx.item_groups.cpu()[torch.from_numpy(known.col.astype(np.int64))]
        width = ctx.n_item_groups + 1
        assert self.counts is not None
        self.counts += _bincount(users * width + items, self.counts.numel()).view_as(self.counts)


class BiasDisparityBR(_BiasDisparity):
    """Bias in the recommendations: ``bias(u, c)`` of the top-k lists (each list counted
    under its user's group)."""

    def update(self, batch: RankingBatch) -> None:
        """Count the recommended items per pair of groups."""
        self.start(batch)
        ctx = batch.ctx
        items = batch.top_items[:, : self.k]
        users = ctx.user_groups[batch.users].unsqueeze(1).expand_as(items)
        real = items < batch.n_items
        width = ctx.n_item_groups + 1
        pairs = users[real] * width + ctx.item_groups[items[real]]
        assert self.counts is not None
        self.counts += _bincount(pairs, self.counts.numel()).view_as(self.counts)


class BiasDisparityBD(Metric):
    """Bias disparity ``BD(u, c) = (BR(u, c) - BS(u, c)) / BS(u, c)`` (0 where both are 0)."""

    per_user = False

    def __init__(self, k: int | None = None) -> None:
        super().__init__(k)
        self.source = BiasDisparityBS(None)
        self.recommended = BiasDisparityBR(k)

    def result_suffixes(self, n_user_groups: int, n_item_groups: int) -> list[str]:
        """``_UC<u>_IC<c>`` for every pair of groups."""
        return self.source.result_suffixes(n_user_groups, n_item_groups)

    def update(self, batch: RankingBatch) -> None:
        """Update both parts."""
        self.source.update(batch)
        self.recommended.update(batch)

    def compute(self) -> float:
        """Not a single number: NaN (see :meth:`compute_all`)."""
        return math.nan

    def compute_all(self) -> dict[str, float]:
        """Each pair's disparity."""
        source, recommended = self.source.bias(), self.recommended.bias()
        if source is None or recommended is None:
            return {}
        disparity = torch.nan_to_num((recommended - source) / source, nan=0.0,
                                     posinf=math.inf, neginf=-math.inf)  # fmt: skip
        return _pairs(disparity, *self.source.shape)


def _group_mad(values: Tensor, groups: Tensor, size: int) -> float:
    """MAD of the per-group means of ``values`` (0.0 when nothing to compare)."""
    sums = _bincount(groups, size, values)
    counts = _bincount(groups, size)
    means = sums[counts > 0] / counts[counts > 0]
    return mean_absolute_difference(means)


class _ItemMAD(Metric):
    """Mean absolute difference, over item groups, of the mean per-item value."""

    per_user = False
    higher_is_better = False

    def __init__(self, k: int | None = None) -> None:
        super().__init__(k)
        self.sums: Tensor | None = None
        self.counts: Tensor | None = None
        self.groups: Tensor | None = None
        self.size = 0

    def add(self, batch: RankingBatch, items: Tensor, values: Tensor) -> None:
        """Accumulate ``values`` on ``items`` (real items only)."""
        if self.sums is None:
            self.sums = torch.zeros(batch.n_items, dtype=torch.float64)
            self.counts = torch.zeros(batch.n_items, dtype=torch.float64)
            self.groups = batch.ctx.item_groups[:-1].cpu()
            self.size = batch.ctx.n_item_groups + 1
        assert self.counts is not None
        real = items < batch.n_items
        self.sums += _bincount(items[real], batch.n_items, values[real])
        self.counts += _bincount(items[real], batch.n_items)

    def compute(self) -> float:
        """MAD of the group means of the per-item means (0.0 when nothing was counted)."""
        if self.sums is None or self.counts is None or self.groups is None:
            return math.nan
        seen = self.counts > 0
        if not seen.any():
            return 0.0
        return _group_mad(self.sums[seen] / self.counts[seen], self.groups[seen], self.size)


class ItemMADRanking(_ItemMAD):
    """Per item, the mean graded gain (``2**(r + 1) - 1``, 0 when not relevant) over its
    top-k appearances; ``ItemMADRanking@k`` = mean absolute difference of the item-group
    means of those values."""

    def update(self, batch: RankingBatch) -> None:
        """Accumulate the gains of the recommended items."""
        self.add(batch, batch.top_items[:, : self.k], batch.top_gains(self.k))


class ItemMADRating(_ItemMAD):
    """Per item, the mean score it got where it was a hit in the top-k;
    ``ItemMADRating@k`` = mean absolute difference of the item-group means."""

    def update(self, batch: RankingBatch) -> None:
        """Accumulate the scores of the hits."""
        items = torch.where(batch.hits[:, : self.k] > 0, batch.top_items[:, : self.k],
                            batch.n_items)  # fmt: skip
        scores = batch.require("top_scores")[:, : self.k].double()
        self.add(batch, items, torch.where(items < batch.n_items, scores, 0.0))


class _UserMAD(UserMetric):
    """Mean absolute difference, over user groups, of the mean per-user value."""

    per_user = False
    higher_is_better = False

    def __init__(self, k: int | None = None) -> None:
        super().__init__(k)
        self.groups: Tensor | None = None
        self.size = 0

    def update(self, batch: RankingBatch) -> None:
        """Keep the per-user values and remember the groups."""
        if self.groups is None:
            self.groups = batch.ctx.user_groups.cpu()
            self.size = batch.ctx.n_user_groups + 1
        super().update(batch)

    def per_user_values(self) -> np.ndarray | None:  # type: ignore[override]
        """Global metric: no per-user values are reported."""
        return None

    def compute(self) -> float:
        """MAD of the user-group means (0.0 when nothing to compare)."""
        if not self._parts or self.groups is None:
            return math.nan
        values = torch.cat(self._parts).double().cpu()
        users = torch.cat(self._users).cpu()
        return _group_mad(values, self.groups[users], self.size)


class UserMADRanking(_UserMAD):
    """Per user, the graded nDCG@k (as :class:`nDCG`); ``UserMADRanking@k`` = mean
    absolute difference of the user-group means."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user nDCG@k."""
        return nDCG(self.k).user_values(batch)


class UserMADRating(_UserMAD):
    """Per user, the mean score of the top-k items; ``UserMADRating@k`` = mean absolute
    difference of the user-group means."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user mean top-k score."""
        valid = batch.valid[:, : self.k]
        scores = batch.require("top_scores")[:, : self.k].double()
        return torch.where(valid, scores, 0.0).sum(dim=1) / valid.sum(dim=1).clamp(min=1)
