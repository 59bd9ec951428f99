"""Popularity-bias metrics (WarpRec's ``bias``): the short head / long tail split of the
known interactions and how the lists treat each side.

The short head: items sorted by known popularity (descending, ties by item index), up to
and including the first one at which the cumulative count exceeds ``pop_ratio`` (default:
the evaluator's ``short_head_share``, 0.8) of all known interactions; the long tail is
the rest.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from warprec.evaluation.metrics.base import Metric, RankingBatch, UserMetric, cutoff_of, dispersion

__all__ = ["ACLT", "APLT", "ARP", "PopREO", "PopRSP"]


class _PopRatio:
    """Mixin: the ``pop_ratio`` parameter and WarpRec's ``[PopNN%]`` name decoration."""

    pop_ratio: float | None

    def decoration(self) -> str:
        """``[Pop90%]`` for an explicit ratio other than 0.8."""
        if self.pop_ratio is None or self.pop_ratio == 0.8:
            return ""
        return f"[Pop{int(self.pop_ratio * 100)}%]"

    def tail(self, batch: RankingBatch) -> Tensor:
        """``[n_items + 1]`` long-tail flags at this metric's ratio."""
        return batch.ctx.long_tail(self.pop_ratio) if batch.context else batch.long_tail


class ACLT(_PopRatio, UserMetric):
    """Average coverage of the long tail: ``ACLT@k = |L_u@k ∩ Φ|`` (a count per user)."""

    def __init__(self, k: int | None = None, pop_ratio: float | None = None) -> None:
        super().__init__(k)
        self.pop_ratio = pop_ratio

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user number of long-tail items in the top-k."""
        return self.tail(batch)[batch.top_items[:, : self.k]].sum(dim=1).double()


class APLT(ACLT):
    """Average percentage of long-tail items: ``APLT@k = |L_u@k ∩ Φ| / k``."""

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user share of long-tail items in the top-k."""
        return super().user_values(batch) / cutoff_of(self, batch)


class ARP(UserMetric):
    """Average recommendation popularity: ``ARP@k = sum_{i in L_u@k} max(pop(i), 1) / k``.

    ``pop(i)`` is the number of known (training) interactions of ``i``.
    """

    higher_is_better = False

    def user_values(self, batch: RankingBatch) -> Tensor:
        """Per-user mean popularity of the top-k."""
        items = batch.top_items[:, : self.k]
        popularity = batch.item_popularity[items].clamp(min=1)
        popularity = torch.where(batch.valid[:, : self.k], popularity, 0.0)
        return popularity.sum(dim=1) / cutoff_of(self, batch)


class _HeadTailRates(_PopRatio, Metric):
    per_user = False
    higher_is_better = False

    def __init__(self, k: int | None = None, pop_ratio: float | None = None) -> None:
        super().__init__(k)
        self.pop_ratio = pop_ratio
        self.numerator = torch.zeros(2, dtype=torch.float64)
        self.denominator = torch.zeros(2, dtype=torch.float64)

    def add(self, numerator: Tensor, denominator: Tensor) -> None:
        """Accumulate ``[head, tail]`` counts."""
        self.numerator += numerator.double().cpu()
        self.denominator += denominator.double().cpu()

    def compute(self) -> float:
        """``std / mean`` of the head and tail rates (NaN when a rate is undefined)."""
        if (self.denominator == 0).any():
            return math.nan
        return dispersion(self.numerator / self.denominator)


def _head_tail_counts(items: Tensor, tail: Tensor, n_items: int) -> Tensor:
    """``[head, tail]`` numbers of the (real) items in ``items``."""
    real = items < n_items
    in_tail = tail[items] & real
    return torch.stack([(real & ~in_tail).sum(), in_tail.sum()])


class PopREO(_HeadTailRates):
    """Popularity ranking-based equal opportunity.

    For the short head and the long tail: ``P(g) = |relevant items of g in the top-k| /
    |relevant items of g|`` over all users; ``PopREO@k = std(P) / mean(P)`` (population
    std). NaN when a group has no relevant item or no hit at all.
    """

    def update(self, batch: RankingBatch) -> None:
        """Count the relevant items and the hits of each side."""
        tail = self.tail(batch)
        items = batch.top_items[:, : self.k]
        hits = torch.where(batch.hits[:, : self.k] > 0, items, batch.n_items)
        self.add(_head_tail_counts(hits, tail, batch.n_items),
                 _head_tail_counts(batch.require("pos_items"), tail, batch.n_items))  # fmt: skip


class PopRSP(_HeadTailRates):
    """Popularity ranking-based statistical parity.

    For the short head and the long tail: ``P(g) = |top-k slots holding g| / |(user, item
    of g) pairs that could be ranked|`` (masked items excluded); ``PopRSP@k = std(P) /
    mean(P)``. NaN when a group had nothing on offer or nothing was recommended.
    """

    def update(self, batch: RankingBatch) -> None:
        """Count the recommended and the offered items of each side."""
        tail = self.tail(batch)
        offered = batch.require("scores") > float("-inf")
        columns = batch.column_items()
        column_tail = tail[columns].expand_as(offered)
        real = (columns < batch.n_items).expand_as(offered)
        available = torch.stack([(offered & real & ~column_tail).sum(),
                                 (offered & column_tail).sum()])  # fmt: skip
        self.add(_head_tail_counts(batch.top_items[:, : self.k], tail, batch.n_items), available)
